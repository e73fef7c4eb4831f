/*
 * crossing.c - which frees release a block that another thread
 * allocated, for `trace info` and `trace stats`.
 *
 * An op's own edge is not the whole answer: the edge sits on a block's
 * first touch on the new thread, which may be a malloc_usable_size
 * before the free (redis does this).  A finalised trace reuses a slot
 * only on the thread that freed it, so walking each thread in its own
 * order suffices: a thread "holds" a slot from its own allocation to its
 * release; any touch that carries an edge means the block came from
 * elsewhere, and a release of a slot the thread does not hold crosses.
 */
#include <stdlib.h>

#include "cli.h"

#define HOLDER_NONE 0u

static int releases_block(const struct trace_op *op)
{
    return op->old_slot != TRACE_NO_SLOT && op->kind != TRACE_USABLE_SIZE;
}

/* Walks one thread; holder[] maps slot -> index + 1 of the holder. */
static uint64_t thread_crossings(const struct trace_thread *th,
                                 uint32_t self, uint32_t *holder,
                                 uint32_t slot_count)
{
    uint64_t crossed = 0;
    for (uint64_t j = 0; j < th->op_count; j++) {
        const struct trace_op *op = &th->ops[j];
        uint32_t old = op->old_slot;
        if (old != TRACE_NO_SLOT && old < slot_count) {
            if (op->dep_thread != TRACE_NO_DEP)
                holder[old] = HOLDER_NONE;     /* handed over */
            if (releases_block(op)) {
                crossed += holder[old] != self + 1;
                holder[old] = HOLDER_NONE;
            }
        }
        if (op->slot != TRACE_NO_SLOT && op->slot < slot_count)
            holder[op->slot] = self + 1;
    }
    return crossed;
}

int cli_count_crossings(const struct trace *t, uint64_t *per_thread)
{
    uint32_t *holder = calloc((size_t)t->slot_count + 1, sizeof(*holder));
    if (holder == NULL)
        return -1;
    for (uint32_t i = 0; i < t->thread_count; i++)
        per_thread[i] = thread_crossings(&t->threads[i], i, holder,
                                         t->slot_count);
    free(holder);
    return 0;
}
