/*
 * finalize_step.c - one step of the finaliser's merge (finalize.c):
 * what a release, an acquire or a size query does to the live blocks
 * (addr_map.c), the slots and the edges.
 *
 * Steps come in stamp order across threads, each thread's in program
 * order; a realloc is two steps (its release, then its acquire).
 * Slots: each thread keeps its own stack of released slot ids and reuses
 * only those, so slot reuse never needs a cross-thread edge (a slot is
 * reused only by the thread that freed it, after the free in its own
 * program order).  Edges: each block remembers the last op that touched
 * it (allocated, realloc'd or queried), by its thread and its index in
 * that thread's output; an op on another thread waits for that op.
 * Touches of one block are thereby totally ordered, and there is no
 * other cross-thread ordering.  A step builds its thread's current op
 * (finalize_thread.cur), whose output index is the thread's emitted
 * count.
 */
#include <stdlib.h>
#include <string.h>

#include "format_internal.h"

static uint64_t op_bytes(const struct trace_event *e)
{
    if (e->kind != TRACE_CALLOC && e->kind != TRACE_REALLOCARRAY)
        return e->size;
    uint64_t bytes;
    if (__builtin_mul_overflow(e->arg, e->size, &bytes))
        return UINT64_MAX;
    return bytes;
}

static uint32_t take_slot(struct finalize_ctx *f, struct finalize_thread *t)
{
    if (t->free_count > 0)
        return t->free_slots[--t->free_count];
    return f->slot_count++;
}

static int give_slot(struct finalize_thread *t, uint32_t slot)
{
    if (t->free_count == t->free_cap) {
        size_t cap = t->free_cap ? 2 * t->free_cap : 64;
        uint32_t *grown = realloc(t->free_slots, cap * sizeof(*grown));
        if (!grown)
            return -1;
        t->free_slots = grown;
        t->free_cap = cap;
    }
    t->free_slots[t->free_count++] = slot;
    return 0;
}

/* Orders thread ti's current op after the block's last toucher. */
static void finalize_depend(struct trace_op *op,
                            const struct addr_block *b, uint32_t ti)
{
    if (b->last_thread != ti) {
        op->dep_thread = b->last_thread;
        op->dep_op = (uint32_t)b->last_op;
    }
}

static int finalize_release(struct finalize_ctx *f, uint32_t ti)
{
    struct finalize_thread *t = &f->threads[ti];
    const struct trace_event *e = &t->ev;
    if (e->old_ptr == 0)
        return 0;
    struct addr_block *b = addr_map_find(&f->map, e->old_ptr);
    if (!b) {
        f->report.dropped_frees++;
        t->cur_dropped = (e->kind == TRACE_FREE);
        return 0;
    }
    finalize_depend(t->cur, b, ti);
    t->cur->old_slot = b->slot;
    int failed_realloc = e->kind != TRACE_FREE && e->ptr == 0 &&
                         op_bytes(e) != 0;
    if (failed_realloc) {          /* the old block stays live */
        b->last_thread = ti;
        b->last_op = t->emitted;
        return 0;
    }
    f->live_bytes -= b->bytes;
    uint32_t slot = b->slot;
    addr_map_remove(&f->map, b);
    return give_slot(t, slot);
}

static void finalize_touch(struct finalize_ctx *f, uint32_t ti)
{
    struct finalize_thread *t = &f->threads[ti];
    const struct trace_event *e = &t->ev;
    struct addr_block *b = addr_map_find(&f->map, e->old_ptr);
    if (!b)
        return;
    finalize_depend(t->cur, b, ti);
    t->cur->old_slot = b->slot;
    b->last_thread = ti;
    b->last_op = t->emitted;
}

static int finalize_acquire(struct finalize_ctx *f, uint32_t ti)
{
    struct finalize_thread *t = &f->threads[ti];
    const struct trace_event *e = &t->ev;
    if (e->ptr == 0)
        return 0;
    int live;
    struct addr_block *b = addr_map_claim(&f->map, e->ptr, &live);
    if (!b)
        return -1;
    if (live) {                    /* its free was never recorded: its */
        f->report.missing_frees++; /* slot is retired, the cell reused */
        f->live_bytes -= b->bytes;
    }
    b->bytes = op_bytes(e);
    b->slot = take_slot(f, t);
    b->last_thread = ti;
    b->last_op = t->emitted;
    t->cur->slot = b->slot;
    f->live_bytes += b->bytes;
    if (f->live_bytes > f->peak_live_bytes)
        f->peak_live_bytes = f->live_bytes;
    return 0;
}

/* One merge step of thread ti's cursor event: part 0 of its op, or
 * part 1 (a realloc's acquire). */
int finalize_step(struct finalize_ctx *f, uint32_t ti, int part)
{
    const struct finalize_thread *t = &f->threads[ti];
    const struct trace_event *e = &t->ev;
    if (part == 1)
        return finalize_acquire(f, ti);
    switch (e->kind) {
    case TRACE_FREE: case TRACE_REALLOC: case TRACE_REALLOCARRAY:
        return finalize_release(f, ti);
    case TRACE_USABLE_SIZE:
        finalize_touch(f, ti);
        return 0;
    case TRACE_THREAD_START: case TRACE_THREAD_EXIT:
        return 0;
    default:
        return finalize_acquire(f, ti);
    }
}
