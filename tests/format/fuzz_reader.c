/*
 * fuzz_reader.c - libFuzzer target for the trace reader: any bytes must
 * load or fail with a message, never crash, hang or leak (ASan and
 * UBSan are on in the fuzz build).  A successful load must satisfy the
 * finalised invariants of trace.h, which are checked here too.
 */
#include <stdio.h>
#include <stdlib.h>

#include "trace_format.h"

#define FUZZ_ERR_MAX 512

static void check_invariants(const struct trace *t)
{
    for (uint32_t i = 0; i < t->thread_count; i++)
        for (uint64_t j = 0; j < t->threads[i].op_count; j++) {
            const struct trace_op *op = &t->threads[i].ops[j];
            if (op->slot != TRACE_NO_SLOT && op->slot >= t->slot_count)
                abort();
            if (op->old_slot != TRACE_NO_SLOT &&
                op->old_slot >= t->slot_count)
                abort();
            if (op->dep_thread != TRACE_NO_DEP &&
                (op->dep_thread >= t->thread_count ||
                 op->dep_op >= t->threads[op->dep_thread].op_count))
                abort();
            if ((j == 0) != (op->kind == TRACE_THREAD_START))
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trace t;
    char err[FUZZ_ERR_MAX];
    if (trace_load_buffer("fuzz", data, size, &t, err, sizeof(err)) == 0) {
        check_invariants(&t);
        trace_free(&t);
    } else if (err[0] == '\0') {
        abort();                       /* every failure must explain */
    }
    return 0;
}
