/*
 * finalize.c - raw per-thread event streams into the replay-ready form.
 *
 * The threads' streams are merged by stamp: a free is stamped before the
 * real free and an allocation after the real call returns, so when an
 * address is reused, its free always sorts before its reallocation (on a
 * tie, releases go first).  A realloc is two merge steps: it releases its
 * old block at its first stamp and acquires the new one at its second.
 * Each thread's stream is consumed strictly in program order.
 *
 * Slots: each thread keeps its own stack of released slot ids and reuses
 * only those, so slot reuse never needs a cross-thread edge (a slot is
 * reused only by the thread that freed it, after the free in its own
 * program order).  Edges: each block remembers the last op that touched
 * it (allocated, realloc'd or queried), by its thread and its index in
 * that thread's output; an op on another thread waits for that op.
 * Touches of one block are thereby totally ordered, and there is no
 * other cross-thread ordering.  A step builds its thread's current op
 * (fin_thread.cur), whose output index is the thread's emitted count.
 */
#include <stdlib.h>
#include <string.h>

#include "addr_map.h"
#include "finalize_merge.h"

static uint64_t op_bytes(const struct trace_event *e)
{
    if (e->kind != TRACE_CALLOC && e->kind != TRACE_REALLOCARRAY)
        return e->size;
    uint64_t bytes;
    if (__builtin_mul_overflow(e->arg, e->size, &bytes))
        return UINT64_MAX;
    return bytes;
}

static uint32_t take_slot(struct fin_ctx *f, struct fin_thread *t)
{
    if (t->free_count > 0)
        return t->free_slots[--t->free_count];
    return f->slot_count++;
}

static int give_slot(struct fin_thread *t, uint32_t slot)
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
static void fin_depend(struct trace_op *op, const struct addr_block *b,
                       uint32_t ti)
{
    if (b->last_thread != ti) {
        op->dep_thread = b->last_thread;
        op->dep_op = (uint32_t)b->last_op;
    }
}

static int fin_release(struct fin_ctx *f, uint32_t ti)
{
    struct fin_thread *t = &f->threads[ti];
    const struct trace_event *e = &t->raw->events[t->next];
    if (e->old_ptr == 0)
        return 0;
    struct addr_block *b = addr_map_find(&f->map, e->old_ptr);
    if (!b) {
        f->report.dropped_frees++;
        t->cur_dropped = (e->kind == TRACE_FREE);
        return 0;
    }
    fin_depend(&t->cur, b, ti);
    t->cur.old_slot = b->slot;
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

static void fin_touch(struct fin_ctx *f, uint32_t ti)
{
    struct fin_thread *t = &f->threads[ti];
    const struct trace_event *e = &t->raw->events[t->next];
    struct addr_block *b = addr_map_find(&f->map, e->old_ptr);
    if (!b)
        return;
    fin_depend(&t->cur, b, ti);
    t->cur.old_slot = b->slot;
    b->last_thread = ti;
    b->last_op = t->emitted;
}

static int fin_acquire(struct fin_ctx *f, uint32_t ti)
{
    struct fin_thread *t = &f->threads[ti];
    const struct trace_event *e = &t->raw->events[t->next];
    if (e->ptr == 0)
        return 0;
    struct addr_block *b = addr_map_find(&f->map, e->ptr);
    if (b) {                       /* its free was never recorded */
        f->report.missing_frees++;
        f->live_bytes -= b->bytes;
        addr_map_remove(&f->map, b);
    }
    b = addr_map_insert(&f->map, e->ptr);
    if (!b)
        return -1;
    b->bytes = op_bytes(e);
    b->slot = take_slot(f, t);
    b->last_thread = ti;
    b->last_op = t->emitted;
    t->cur.slot = b->slot;
    f->live_bytes += b->bytes;
    if (f->live_bytes > f->peak_live_bytes)
        f->peak_live_bytes = f->live_bytes;
    return 0;
}

/* One merge step of thread ti's cursor event: part 0 of its op, or
 * part 1 (a realloc's acquire). */
int fin_apply(struct fin_ctx *f, uint32_t ti, int part)
{
    const struct fin_thread *t = &f->threads[ti];
    const struct trace_event *e = &t->raw->events[t->next];
    if (part == 1)
        return fin_acquire(f, ti);
    switch (e->kind) {
    case TRACE_FREE: case TRACE_REALLOC: case TRACE_REALLOCARRAY:
        return fin_release(f, ti);
    case TRACE_USABLE_SIZE:
        fin_touch(f, ti);
        return 0;
    case TRACE_THREAD_START: case TRACE_THREAD_EXIT:
        return 0;
    default:
        return fin_acquire(f, ti);
    }
}
