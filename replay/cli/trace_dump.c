/*
 * trace_dump.c - `mallard trace dump FILE`: the finalised trace as text,
 * one op per line, thread by thread, tab-separated so that awk and the
 * tests can read it.  "-" marks an absent slot or edge.
 */
#include <stdint.h>

#include "cli.h"

static void dump_u32(uint32_t v, uint32_t none, char tail)
{
    if (v == none)
        printf("-%c", tail);
    else
        printf("%u%c", v, tail);
}

static void dump_op(uint32_t thread, uint64_t tid, uint64_t index,
                    const struct trace_op *op)
{
    printf("%u\t%llu\t%llu\t%llu\t%s\t%llu\t%llu\t", thread,
           (unsigned long long)tid, (unsigned long long)index,
           (unsigned long long)op->time_ns, trace_op_name(op->kind),
           (unsigned long long)op->size, (unsigned long long)op->arg);
    dump_u32(op->slot, TRACE_NO_SLOT, '\t');
    dump_u32(op->old_slot, TRACE_NO_SLOT, '\t');
    if (op->dep_thread == TRACE_NO_DEP)
        printf("-\n");
    else
        printf("%u:%u\n", op->dep_thread, op->dep_op);
}

static const char dump_usage[] =
    "usage: mallard trace dump FILE\n"
    "One op per line: thread tid index time_ns op size arg "
    "slot old_slot dep\n(dep is THREAD:OP, the op it waits "
    "for; '-' for none).\n";

int trace_cmd_dump(int argc, char **argv)
{
    struct cli_trace ct;
    int rc = cli_trace_open(argc, argv, dump_usage, &ct);
    if (rc >= 0)
        return rc;
    printf("# thread\ttid\tindex\ttime_ns\top\tsize\targ\tslot\t"
           "old_slot\tdep\n");
    for (uint32_t i = 0; i < ct.trace.thread_count; i++) {
        const struct trace_thread *t = &ct.trace.threads[i];
        for (uint64_t j = 0; j < t->op_count; j++)
            dump_op(i, t->tid, j, &t->ops[j]);
    }
    cli_trace_free(&ct);
    return 0;
}
