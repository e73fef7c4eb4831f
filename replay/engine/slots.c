/*
 * slots.c - checks a flattened trace and renames its slots so that a
 * concurrent replay cannot race on them.
 *
 * Why renaming: a finalised trace reuses a slot once its block is freed,
 * in recorded order, on any thread.  Edges order only "allocated in A,
 * freed in B", so if A later reuses the slot B freed, nothing stops A's
 * new block landing in the slot before B has read the old one.  We walk
 * the ops in recorded time order (honouring edges) and give each block a
 * replay slot from the free list of the thread that allocates it; a
 * freed replay slot goes to the freeing thread's list.  A slot is then
 * reused only after a free that the reusing thread itself performed (or
 * was ordered after), so one table of pointers needs no locks.
 *
 * A thread that only allocates (a producer whose blocks another thread
 * frees) would need a fresh slot per block.  Past SLOTS_SLACK times the
 * trace's slot count, a plain allocation instead takes a slot another
 * thread freed and gets an edge on that free: the free came first in
 * the recording too, so the edge follows recorded order (no cycle), the
 * table stays bounded, and the wait it may cost is counted as edge wait.
 *
 * The same walk proves the trace sound: known kinds, live slots only,
 * edges in range and on every cross-thread free, and no edge cycle (a
 * cycle would hang the replay).
 *
 * malloc_usable_size on a block of another thread is ordered after the
 * allocation (an edge) but not before the free: it is not called unless
 * the asking thread is also the one that releases the block (redis asks,
 * then frees), which the walk learns only at the release.  Until then
 * such ops wait in a chain per replay slot (usable_last, usable_prev).
 */
#include <stdlib.h>
#include <string.h>

#include "image.h"

#define SLOTS_NONE UINT32_MAX
/* Replay slots may reach 2x the trace's (+ a little per thread) before
 * allocations borrow other threads' freed slots: a measured compromise
 * between table memory and added waits. */
#define SLOTS_SLACK 2u
#define SLOTS_PER_THREAD_SLACK 64u

struct slots_walk {
    struct replay_image *image;
    const struct replay_thread_desc *desc;
    struct replay_op *ops;
    const uint64_t *times;  /* recorded time of each op */
    uint32_t trace_slots;
    uint32_t *map;          /* trace slot -> replay slot, or NONE */
    uint64_t *pos;          /* per thread: next op to walk */
    uint32_t *free_head;    /* per thread: head of its free list */
    uint32_t *next_free;    /* per replay slot: free-list link */
    uint32_t *alloc_thread; /* per replay slot: who allocated it */
    uint32_t *holder;       /* per replay slot: another thread ordered
                               after the allocation by an edge */
    uint64_t *alloc_op;     /* per replay slot: by which op (while
                               free: the op that freed it) */
    uint64_t *size;         /* per replay slot: bytes requested */
    int64_t *thread_live;   /* per thread: bytes it allocated - freed */
    uint64_t *moved;        /* per thread: bytes its ops moved since its
                               last REPLAY_OP_CLOSE_BEFORE */
    uint64_t *usable_last;  /* per replay slot: 1 + global index of the
                               newest deferred usable_size op, or 0 */
    uint32_t *usable_thread; /* per replay slot: the thread asking */
    uint64_t *usable_prev;  /* per op: 1 + the chain's previous, or 0 */
    uint32_t used, cap;     /* replay slots handed out, capacity */
    uint64_t limit;         /* past this, borrow freed slots */
    int64_t live, peak;
    char *err;
    size_t err_len;
};

static int slots_fail(struct slots_walk *w, uint32_t t, const char *what)
{
    snprintf(w->err, w->err_len, "thread %u op %llu: %s", t,
             (unsigned long long)w->pos[t], what);
    return -1;
}

static int slots_grow(struct slots_walk *w)
{
    uint32_t cap = w->cap ? w->cap * 2 : 1024;
    uint32_t *nf = realloc(w->next_free, cap * sizeof(*nf));
    if (nf)
        w->next_free = nf;
    uint32_t *at = realloc(w->alloc_thread, cap * sizeof(*at));
    if (at)
        w->alloc_thread = at;
    uint64_t *ao = realloc(w->alloc_op, cap * sizeof(*ao));
    if (ao)
        w->alloc_op = ao;
    uint64_t *sz = realloc(w->size, cap * sizeof(*sz));
    if (sz)
        w->size = sz;
    uint32_t *ho = realloc(w->holder, cap * sizeof(*ho));
    if (ho)
        w->holder = ho;
    uint64_t *ul = realloc(w->usable_last, cap * sizeof(*ul));
    if (ul)
        w->usable_last = ul;
    uint32_t *ut = realloc(w->usable_thread, cap * sizeof(*ut));
    if (ut)
        w->usable_thread = ut;
    if (!nf || !at || !ao || !sz || !ho || !ul || !ut)
        return -1;
    w->cap = cap;
    return 0;
}

/* Ends replay slot r's chain of deferred usable_size ops, making them
 * calls when the releasing thread is the one that asked. */
static void usable_settle(struct slots_walk *w, uint32_t r, uint32_t t)
{
    if (w->usable_last[r] == 0)
        return;
    int callable = w->usable_thread[r] == t;
    for (uint64_t at = w->usable_last[r]; at != 0;) {
        struct replay_op *u = &w->ops[at - 1];
        if (callable) {
            u->flags &= (uint8_t)~REPLAY_OP_NO_CALL;
            w->image->usable_size_not_called--;
        }
        at = w->usable_prev[at - 1];
    }
    w->usable_last[r] = 0;
}

/* A usable_size op of thread t on another thread's block r: deferred
 * (not called) until the walk sees who releases r. */
static int usable_defer(struct slots_walk *w, uint32_t t, uint32_t r,
                        struct replay_op *op)
{
    if (!w->usable_prev &&
        !(w->usable_prev = calloc(w->image->total_ops + 1,
                                  sizeof(*w->usable_prev))))
        return slots_fail(w, t, "out of memory deferring usable_size");
    op->flags |= REPLAY_OP_NO_CALL;
    w->image->usable_size_not_called++;
    if (w->usable_last[r] && w->usable_thread[r] != t)
        usable_settle(w, r, SLOTS_NONE);     /* another asker: dropped */
    uint64_t index = (uint64_t)(op - w->ops);
    w->usable_prev[index] = w->usable_last[r];
    w->usable_last[r] = index + 1;
    w->usable_thread[r] = t;
    return 0;
}

/* Checks and renames op's old slot; frees it if the op frees. */
static int slots_release(struct slots_walk *w, uint32_t t,
                         struct replay_op *op, int frees)
{
    uint32_t old = op->old_slot;
    if (old == TRACE_NO_SLOT)
        return 0;
    if (old >= w->trace_slots || w->map[old] == SLOTS_NONE)
        return slots_fail(w, t, "uses a slot that holds no live block");
    uint32_t r = w->map[old];
    /* Ordered after the allocation: same thread, an edge on it, or an
     * earlier op of this thread had that edge (redis asks
     * malloc_usable_size, with the edge, then frees). */
    int edge = op->dep_thread == w->alloc_thread[r] &&
               op->dep_op >= w->alloc_op[r];
    if (w->alloc_thread[r] != t && w->holder[r] != t && !edge)
        return slots_fail(w, t, "uses a block of another thread with no "
                          "dependency edge on its allocation");
    if (edge)
        w->holder[r] = t;
    op->old_slot = r;
    if (op->kind == TRACE_USABLE_SIZE && w->alloc_thread[r] != t &&
        usable_defer(w, t, r, op) != 0)
        return -1;
    if (frees) {
        usable_settle(w, r, t);
        w->alloc_op[r] = w->pos[t];
        w->map[old] = SLOTS_NONE;
        w->live -= (int64_t)w->size[r];
        w->next_free[r] = w->free_head[t];
        w->free_head[t] = r;
    }
    return 0;
}

/* A slot thread t freed, else a fresh one, else (past the limit) one
 * another thread freed, with an edge on that free. */
static uint32_t slots_pick(struct slots_walk *w, uint32_t t,
                           struct replay_op *op)
{
    uint32_t r = w->free_head[t];
    if (r != SLOTS_NONE) {
        w->free_head[t] = w->next_free[r];
        return r;
    }
    int may_borrow = w->used >= w->limit &&
                     op->dep_thread == TRACE_NO_DEP;
    for (uint32_t d = 0; may_borrow && d < w->image->thread_count; d++) {
        r = w->free_head[d];
        if (r == SLOTS_NONE)
            continue;
        w->free_head[d] = w->next_free[r];
        w->image->added_edges++;
        op->dep_thread = d;
        op->dep_op = (uint32_t)w->alloc_op[r];
        w->ops[w->desc[d].first_op + w->alloc_op[r]].flags |=
            REPLAY_OP_IS_DEP_TARGET;
        return r;
    }
    if (w->used == w->cap && slots_grow(w) != 0)
        return SLOTS_NONE;
    return w->used++;
}

/* Gives op's new block a replay slot (see slots_pick). */
static int slots_take(struct slots_walk *w, uint32_t t,
                      struct replay_op *op)
{
    uint32_t s = op->slot;
    if (s == TRACE_NO_SLOT)
        return 0;
    if (s >= w->trace_slots || w->map[s] != SLOTS_NONE)
        return slots_fail(w, t, "allocates into a slot that is live");
    uint32_t r = slots_pick(w, t, op);
    if (r == SLOTS_NONE)
        return slots_fail(w, t, "out of memory renaming slots");
    w->map[s] = r;
    w->alloc_thread[r] = t;
    w->holder[r] = SLOTS_NONE;
    w->usable_last[r] = 0;
    w->alloc_op[r] = w->pos[t];
    w->size[r] = image_requested_bytes(op);
    w->live += (int64_t)w->size[r];
    if (w->live > w->peak)
        w->peak = w->live;
    op->slot = r;
    return 0;
}

static int slots_frees(unsigned kind)
{
    return kind == TRACE_FREE || kind == TRACE_REALLOC ||
           kind == TRACE_REALLOCARRAY;
}

/*
 * What the replay would count for op: its thread's live bytes after it
 * (freed bytes leave the count of the thread that frees), and where a
 * window of the peak's log ends, as the worker once decided while it
 * ran: before an op that would bring the bytes moved (allocated plus
 * freed) since the last end to PEAK_WINDOW_BYTES, and after a block of
 * that size (its window ends at its call, peak.c).  Known here, so the
 * replay counts nothing.
 */
static void slots_count(struct slots_walk *w, uint32_t t,
                        struct replay_op *op, int64_t freed, int64_t taken)
{
    uint64_t n = (uint64_t)freed + (uint64_t)taken;
    w->thread_live[t] += taken - freed;
    op->live_after = w->thread_live[t];
    if (w->moved[t] + n >= PEAK_WINDOW_BYTES) {
        op->flags |= REPLAY_OP_CLOSE_BEFORE;
        w->moved[t] = 0;
    }
    w->moved[t] += n;
    if ((uint64_t)taken >= PEAK_WINDOW_BYTES)
        w->moved[t] = 0;
}

static int slots_apply(struct slots_walk *w, uint32_t t)
{
    struct replay_op *op = &w->ops[w->desc[t].first_op + w->pos[t]];
    if (op->kind < TRACE_MALLOC || op->kind > TRACE_THREAD_EXIT)
        return slots_fail(w, t, "has an unknown op kind");
    w->image->kind_counts[op->kind]++;
    if (op->kind == TRACE_FREE || op->kind == TRACE_USABLE_SIZE)
        op->slot = TRACE_NO_SLOT;
    int64_t before = w->live;
    if (slots_release(w, t, op, slots_frees(op->kind)) != 0)
        return -1;
    int64_t between = w->live;
    if (slots_take(w, t, op) != 0)
        return -1;
    slots_count(w, t, op, before - between, w->live - between);
    w->pos[t]++;
    return 0;
}

static int slots_runnable(const struct slots_walk *w, uint32_t t)
{
    if (w->pos[t] >= w->desc[t].op_count)
        return 0;
    const struct replay_op *op = &w->ops[w->desc[t].first_op + w->pos[t]];
    return op->dep_thread == TRACE_NO_DEP ||
           w->pos[op->dep_thread] > op->dep_op;
}

/* Walks all ops, each time the runnable one recorded earliest. */
static int slots_walk_all(struct slots_walk *w)
{
    uint32_t n = w->image->thread_count;
    for (uint64_t done = 0; done < w->image->total_ops; done++) {
        uint32_t best = SLOTS_NONE;
        uint64_t best_time = UINT64_MAX;
        for (uint32_t t = 0; t < n; t++) {
            if (!slots_runnable(w, t))
                continue;
            uint64_t at = w->times[w->desc[t].first_op + w->pos[t]];
            if (best == SLOTS_NONE || at < best_time) {
                best = t;
                best_time = at;
            }
        }
        if (best == SLOTS_NONE) {
            snprintf(w->err, w->err_len, "dependency edges form a cycle: "
                     "no thread can proceed after %llu ops",
                     (unsigned long long)done);
            return -1;
        }
        if (slots_apply(w, best) != 0)
            return -1;
    }
    return 0;
}

/* Edges in range, and the ops they point at marked as targets. */
static int slots_check_edges(struct slots_walk *w)
{
    uint32_t n = w->image->thread_count;
    for (uint32_t t = 0; t < n; t++) {
        for (uint64_t i = 0; i < w->desc[t].op_count; i++) {
            struct replay_op *op = &w->ops[w->desc[t].first_op + i];
            if (op->dep_thread == TRACE_NO_DEP)
                continue;
            w->image->trace_edges++;
            w->pos[t] = i;
            if (op->dep_thread >= n || op->dep_thread == t ||
                op->dep_op >= w->desc[op->dep_thread].op_count)
                return slots_fail(w, t, "has a dependency edge that "
                                  "points at no op of another thread");
            w->ops[w->desc[op->dep_thread].first_op + op->dep_op].flags |=
                REPLAY_OP_IS_DEP_TARGET;
        }
        w->pos[t] = 0;
    }
    return 0;
}

static void slots_free_walk(struct slots_walk *w)
{
    free(w->map);
    free(w->pos);
    free(w->free_head);
    free(w->next_free);
    free(w->alloc_thread);
    free(w->holder);
    free(w->alloc_op);
    free(w->size);
    free(w->thread_live);
    free(w->moved);
    free(w->usable_last);
    free(w->usable_thread);
    free(w->usable_prev);
}

int image_check_and_rename(struct replay_image *image,
                           struct replay_op *ops, const uint64_t *times,
                           uint32_t trace_slots, char *err,
                           size_t err_len)
{
    uint32_t n = image->thread_count;
    struct slots_walk w = {
        .image = image, .desc = replay_image_threads(image),
        .ops = ops, .times = times,
        .trace_slots = trace_slots, .err = err, .err_len = err_len,
        .map = malloc((trace_slots + 1) * sizeof(uint32_t)),
        .pos = calloc(n + 1, sizeof(uint64_t)),
        .free_head = malloc((n + 1) * sizeof(uint32_t)),
        .thread_live = calloc(n + 1, sizeof(int64_t)),
        .moved = calloc(n + 1, sizeof(uint64_t)),
    };
    int rc = -1;
    if (!w.map || !w.pos || !w.free_head || !w.thread_live || !w.moved) {
        snprintf(err, err_len, "out of memory checking the trace");
        goto out;
    }
    memset(w.map, 0xff, (trace_slots + 1) * sizeof(uint32_t));
    memset(w.free_head, 0xff, (n + 1) * sizeof(uint32_t));
    w.limit = (uint64_t)trace_slots * SLOTS_SLACK +
              (uint64_t)n * SLOTS_PER_THREAD_SLACK;
    if (slots_check_edges(&w) != 0 || slots_walk_all(&w) != 0)
        goto out;
    image->slot_count = w.used;
    image->final_live_bytes = (uint64_t)w.live;
    if (image->peak_live_bytes == 0)
        image->peak_live_bytes = (uint64_t)w.peak;
    rc = 0;
out:
    slots_free_walk(&w);
    return rc;
}
