/*
 * schedule.c - see schedule.h.  Round-robin: each pass runs every thread
 * as far as its edges allow.  A pass that moves no thread while some
 * remain means the edges form a cycle, which a sound trace never has.
 */
#include <stdio.h>
#include <stdlib.h>

#include "schedule.h"

static int ready(const struct trace_op *op, const uint64_t *done)
{
    return op->dep_thread == TRACE_NO_DEP || done[op->dep_thread] >
                                             (uint64_t)op->dep_op;
}

/* Runs thread i until blocked; *moved is set if any op ran. */
static int schedule_run_thread(const struct trace *t, uint32_t i,
                               uint64_t *done, schedule_visit visit,
                               void *ctx, int *moved)
{
    const struct trace_thread *th = &t->threads[i];
    while (done[i] < th->op_count && ready(&th->ops[done[i]], done)) {
        int rc = visit(ctx, i, done[i], &th->ops[done[i]]);
        if (rc != 0)
            return rc;
        done[i]++;
        *moved = 1;
    }
    return 0;
}

int schedule_walk(const struct trace *t, schedule_visit visit, void *ctx,
                  char *err, size_t err_len)
{
    uint64_t *done = calloc(t->thread_count + 1, sizeof(*done));
    int rc = done ? 0 : -1, moved = 1, left = 1;
    while (rc == 0 && moved && left) {
        moved = left = 0;
        for (uint32_t i = 0; rc == 0 && i < t->thread_count; i++) {
            rc = schedule_run_thread(t, i, done, visit, ctx, &moved);
            left |= done[i] < t->threads[i].op_count;
        }
    }
    if (rc == 0 && left) {
        for (uint32_t i = 0; i < t->thread_count; i++)
            if (done[i] < t->threads[i].op_count) {
                snprintf(err, err_len, "thread %u op %llu: waits on an "
                         "edge that can never complete (cycle)", i,
                         (unsigned long long)done[i]);
                break;
            }
        rc = -1;
    }
    free(done);
    return rc;
}
