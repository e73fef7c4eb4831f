/*
 * trace_check.c - `mallard trace check FILE`: full validation.  Exit 0
 * only if the file is sound at every level: chunks and checksums (by
 * loading), thread structure, slot and edge ranges, and a replay walk in
 * which every freed, realloc'd or queried slot is live and no slot is
 * allocated twice, with edges that cannot deadlock.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "schedule.h"

struct check_ctx {
    const struct trace *t;
    uint8_t *live;            /* per slot: 1 while it holds a block */
    char msg[CLI_ERR_MAX];
};

static int check_fail(struct check_ctx *c, uint32_t th, uint64_t i,
                      const char *what, uint32_t value)
{
    snprintf(c->msg, sizeof(c->msg), "thread %u op %llu: expected %s "
             "(found %u)", th, (unsigned long long)i, what, value);
    return 1;
}

static int check_op_shape(struct check_ctx *c, uint32_t th, uint64_t i)
{
    const struct trace_thread *t = &c->t->threads[th];
    const struct trace_op *op = &t->ops[i];
    if (op->kind < TRACE_MALLOC || op->kind > TRACE_THREAD_EXIT)
        return check_fail(c, th, i, "an op kind 1-13", op->kind);
    if ((i == 0) != (op->kind == TRACE_THREAD_START))
        return check_fail(c, th, i, "thread_start first and only first",
                          op->kind);
    if (op->kind == TRACE_THREAD_EXIT && i + 1 != t->op_count)
        return check_fail(c, th, i, "thread_exit last", op->kind);
    if (op->slot != TRACE_NO_SLOT && op->slot >= c->t->slot_count)
        return check_fail(c, th, i, "a slot below slot_count", op->slot);
    if (op->old_slot != TRACE_NO_SLOT && op->old_slot >= c->t->slot_count)
        return check_fail(c, th, i, "an old slot below slot_count",
                          op->old_slot);
    if (op->dep_thread == TRACE_NO_DEP)
        return 0;
    if (op->dep_thread >= c->t->thread_count || op->dep_thread == th)
        return check_fail(c, th, i, "an edge to another thread",
                          op->dep_thread);
    if (op->dep_op >= c->t->threads[op->dep_thread].op_count)
        return check_fail(c, th, i, "an edge to an existing op",
                          op->dep_op);
    return 0;
}

static int releases_old(const struct trace_op *op)
{
    if (op->kind == TRACE_FREE)
        return 1;
    if (op->kind != TRACE_REALLOC && op->kind != TRACE_REALLOCARRAY)
        return 0;
    uint64_t n = op->kind == TRACE_REALLOC ? 1 : op->arg;
    return op->slot != TRACE_NO_SLOT || n * op->size == 0;
}

static int check_visit(void *ctx, uint32_t th, uint64_t i,
                       const struct trace_op *op)
{
    struct check_ctx *c = ctx;
    if (op->old_slot != TRACE_NO_SLOT) {
        if (!c->live[op->old_slot])
            return check_fail(c, th, i, "a live old slot", op->old_slot);
        if (releases_old(op))
            c->live[op->old_slot] = 0;
    }
    if (op->slot != TRACE_NO_SLOT) {
        if (c->live[op->slot])
            return check_fail(c, th, i, "a free slot to allocate into",
                              op->slot);
        c->live[op->slot] = 1;
    }
    return 0;
}

static int check_trace(struct check_ctx *c)
{
    for (uint32_t th = 0; th < c->t->thread_count; th++)
        for (uint64_t i = 0; i < c->t->threads[th].op_count; i++)
            if (check_op_shape(c, th, i))
                return -1;
    c->live = calloc((size_t)c->t->slot_count + 1, 1);
    if (!c->live) {
        snprintf(c->msg, sizeof(c->msg), "out of memory");
        return -1;
    }
    int rc = schedule_walk(c->t, check_visit, c, c->msg, sizeof(c->msg));
    free(c->live);
    return rc == 0 ? 0 : -1;
}

static const char check_usage[] =
    "usage: mallard trace check FILE\nValidates every chunk, "
    "the thread streams, slots and edges.\nExit status 0 only"
    " if the trace is sound.\n";

int trace_cmd_check(int argc, char **argv)
{
    struct cli_trace ct;
    int rc = cli_trace_open(argc, argv, check_usage, &ct);
    if (rc >= 0)
        return rc;
    struct check_ctx c = { .t = &ct.trace };
    rc = check_trace(&c);
    uint64_t ops = 0;
    for (uint32_t i = 0; i < ct.trace.thread_count; i++)
        ops += ct.trace.threads[i].op_count;
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", argv[1], c.msg);
    else
        printf("%s: sound: %llu ops, %u thread%s, %u slots%s\n", argv[1],
               (unsigned long long)ops, ct.trace.thread_count,
               ct.trace.thread_count == 1 ? "" : "s", ct.trace.slot_count,
               ct.trace.truncated ? ", truncated" : "");
    cli_trace_free(&ct);
    return rc < 0 ? 1 : 0;
}
