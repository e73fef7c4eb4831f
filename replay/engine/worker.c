/*
 * worker.c - one replay thread: performs one recorded thread's ops, in
 * order, against the allocator under test.
 *
 * Per op: decode the 16-byte packed op (and its extra, if flagged), wait
 * on its edge if it has one (timed as distortion), keep the recorded gap
 * under --timing recorded, call the allocator (timing the call alone
 * with the cycle counter for a random one in about --latency-every),
 * then outside the timed call write the block as --touch asks (or fill
 * and later check it under --verify), account live bytes and publish
 * progress.  A NULL where the recording got a block, a block whose
 * contents changed, or (under --verify) calloc memory that is not zero
 * stops the run and is reported as the allocator's failure.
 *
 * The loop is the harness cost that `--allocator none` measures, so it
 * does per op only what an op needs: counts by kind come from the plan
 * counted before the run (an op performed is an index passed), and the
 * rare parts (edges, counts, alignments) sit behind one flag test.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cycles.h"
#include "image.h"
#include "run.h"

#define WORKER_PAGE 4096u            /* one write per page: --touch */
/* Ops the fast loop asks the cache for ahead of use: the stream is read
 * once, and the VM's prefetcher left ~7% of a none replay waiting on it
 * (gcc: 10.1 -> 9.4 ms) */
#define WORKER_AHEAD 64u
#define WORKER_SLEEP_MIN_NS 200000u  /* sleep only for gaps over 200 us */
#define WORKER_SLEEP_SLACK_NS 100000u /* wake early, spin the rest */

static uint8_t worker_pattern(uint64_t seed, uint64_t i)
{
    return (uint8_t)((seed * 0x9e3779b1u + i * 7u) >> 3);
}

static void worker_fill(uint8_t *p, uint64_t n, uint64_t seed)
{
    for (uint64_t i = 0; i < n; i++)
        p[i] = worker_pattern(seed, i);
}

static int worker_intact(const uint8_t *p, uint64_t n, uint64_t seed)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i] != worker_pattern(seed, i))
            return 0;
    return 1;
}

static int worker_zeroed(const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Out of line: the modes that write more than a byte a page. */
static void worker_touch_other(enum replay_touch touch, uint8_t *p,
                               uint64_t n)
{
    if (touch == REPLAY_TOUCH_FIRST)
        p[0] = 1;
    else if (touch == REPLAY_TOUCH_ALL)
        memset(p, 1, n);
}

/* Inline for the default (pages): one store for a block of a page or
 * less, which is most blocks. */
static inline void worker_touch(enum replay_touch touch, uint8_t *p,
                                uint64_t n)
{
    if (__builtin_expect(touch != REPLAY_TOUCH_PAGES, 0)) {
        if (n && touch != REPLAY_TOUCH_NONE)
            worker_touch_other(touch, p, n);
        return;
    }
    if (n == 0)
        return;
    p[0] = 1;
    for (uint64_t off = WORKER_PAGE; off < n; off += WORKER_PAGE)
        p[off] = 1;
}

/* One op, decoded from its packed form and its extra. */
struct worker_op {
    uint64_t size;      /* the size argument as recorded */
    uint64_t bytes;     /* bytes asked: calloc, reallocarray multiply */
    uint32_t arg, slot, old_slot, dep_thread, dep_op;
    unsigned kind, flags;
};

static void worker_decode_extra(struct replay_worker *w,
                                struct worker_op *op)
{
    const struct replay_op_extra *x = &w->extras[w->next_extra++];
    op->size = op->bytes = x->size;
    op->arg = x->arg;
    op->dep_thread = x->dep_thread;
    op->dep_op = x->dep_op;
    if ((op->kind == TRACE_CALLOC || op->kind == TRACE_REALLOCARRAY) &&
        __builtin_mul_overflow((uint64_t)op->arg, op->size, &op->bytes))
        op->bytes = UINT64_MAX;
}

static inline void worker_decode(struct replay_worker *w,
                                 const struct replay_packed_op *p,
                                 struct worker_op *op)
{
    op->slot = p->slot;
    op->old_slot = p->old_slot;
    op->kind = p->kind;
    op->flags = p->flags;
    op->size = op->bytes = p->size;
    op->arg = 0;
    op->dep_thread = TRACE_NO_DEP;
    if (__builtin_expect(p->flags & REPLAY_OP_EXTRA, 0))
        worker_decode_extra(w, op);
}

static void *worker_call(const struct replay_alloc_api *a,
                         const struct worker_op *op, void *old, int *rc)
{
    size_t n = (size_t)op->size, arg = (size_t)op->arg;
    void *p = NULL;
    switch (op->kind) {
    case TRACE_MALLOC: return a->malloc(n);
    case TRACE_CALLOC: return a->calloc(arg, n);
    case TRACE_REALLOC: return a->realloc(old, n);
    case TRACE_REALLOCARRAY: return a->reallocarray(old, arg, n);
    case TRACE_FREE: a->free(old); return NULL;
    case TRACE_POSIX_MEMALIGN: *rc = a->posix_memalign(&p, arg, n);
        return *rc ? NULL : p;
    case TRACE_ALIGNED_ALLOC: return a->aligned_alloc(arg, n);
    case TRACE_MEMALIGN: return a->memalign(arg, n);
    case TRACE_VALLOC: return a->valloc(n);
    case TRACE_PVALLOC: return a->pvalloc(n);
    case TRACE_USABLE_SIZE: *rc = (int)(a->usable_size(old) > 0);
        return NULL;
    default: return NULL;
    }
}

/* --allocator none: op i's place in none.c's memory; freeing is
 * nothing. */
static inline void *worker_call_none(const struct replay_worker *w,
                                     uint64_t i, const struct worker_op *op,
                                     void *old, uint64_t old_size)
{
    if (op->slot == TRACE_NO_SLOT)
        return NULL;
    void *p = w->none_base + w->none_offset[i];
    /* zeroing and copying are an allocator's work, not the harness's:
     * only --verify reads what a block holds */
    if (w->verify && op->kind != TRACE_MALLOC)
        p = none_finish_call(p, op->kind, op->bytes, old, old_size);
    return p;
}

static inline void *worker_call_any(const struct replay_worker *w,
                                    uint64_t i, const struct worker_op *op,
                                    void *old, uint64_t old_size, int *rc)
{
    if (op->flags & REPLAY_OP_NO_CALL)
        return NULL;
    if (w->none_base)
        return worker_call_none(w, i, op, old, old_size);
    return worker_call(w->api, op, old, rc);
}

static void worker_fail(struct replay_worker *w, uint64_t i,
                        const struct worker_op *op,
                        enum replay_status status, const char *what)
{
    char msg[REPLAY_MSG_LEN];
    snprintf(msg, sizeof(msg), "instance %u thread %u op %llu: %s(%llu)"
             " %s", w->instance, w->thread, (unsigned long long)i,
             replay_kind_name(op->kind), (unsigned long long)op->size, what);
    edges_abort(w->run, status, msg);
}

/* Checks the block an op is about to free or move; 0 if intact. */
static int worker_check_old(struct replay_worker *w, uint64_t i,
                            const struct worker_op *op,
                            const struct replay_block *b)
{
    if (!b->ptr || worker_intact(b->ptr, b->size, op->old_slot))
        return 0;
    worker_fail(w, i, op, REPLAY_CORRUPTION, "found the block's contents "
                "changed since it was written");
    return -1;
}

/* --verify: checks a new or moved block, then fills it. */
static int worker_verify_new(struct replay_worker *w, uint64_t i,
                             const struct worker_op *op, void *p,
                             uint64_t old_size)
{
    uint64_t n = op->bytes;
    if (op->kind == TRACE_CALLOC && !worker_zeroed(p, n)) {
        worker_fail(w, i, op, REPLAY_CORRUPTION, "returned memory that "
                    "is not zeroed");
        return -1;
    }
    int moved = op->kind == TRACE_REALLOC ||
                op->kind == TRACE_REALLOCARRAY;
    if (moved && op->old_slot != TRACE_NO_SLOT &&
        !worker_intact(p, n < old_size ? n : old_size, op->old_slot)) {
        worker_fail(w, i, op, REPLAY_CORRUPTION, "lost the block's "
                    "contents");
        return -1;
    }
    worker_fill(p, n, op->slot);
    return 0;
}

/* Closes the worker's window of the peak's log now (peak.c).  Out of
 * line: rare, and its counter read costs. */
static __attribute__((noinline)) void worker_close_now(
    struct peak_log *log, int64_t max, int64_t min, int64_t live)
{
    peak_close(log, cycles_now(), max, min, live);
}

/* Ends the worker's window at the counter reading `cycles`; the next
 * starts from the live bytes now. */
static void worker_close_at(struct replay_worker *w, uint64_t cycles)
{
    peak_close(&w->peak, cycles, w->window_max, w->window_min,
               w->live_local);
    w->window_max = w->window_min = w->live_local;
    w->window_moved = 0;
}

static void worker_close_window(struct replay_worker *w)
{
    worker_close_at(w, cycles_now());
}

/* Records the result of op i; -1 stops the thread. */
static inline int worker_settle(struct replay_worker *w, uint64_t i,
                                const struct worker_op *op, void *p,
                                int rc, uint64_t old_size)
{
    if (op->old_slot != TRACE_NO_SLOT && op->kind != TRACE_USABLE_SIZE) {
        w->blocks[op->old_slot].ptr = NULL;
        w->live_local -= (int64_t)old_size;
        if (w->live_local < w->window_min)
            w->window_min = w->live_local;
    }
    if (op->slot == TRACE_NO_SLOT) {
        if (p)   /* recorded a failure, got a block: give it back */
            w->api->free(p);
        return 0;
    }
    uint64_t n = op->bytes;
    if (__builtin_expect(!p, 0) && (n > 0 || rc != 0)) {
        worker_fail(w, i, op, REPLAY_ALLOC_NULL, "returned NULL where "
                    "the recording got a block");
        return -1;
    }
    w->blocks[op->slot] = (struct replay_block){ .ptr = p, .size = n };
    w->live_local += (int64_t)n;
    if (w->live_local > w->window_max)
        w->window_max = w->live_local;
    if (!p)
        return 0;
    if (n >= PEAK_WINDOW_BYTES)      /* see worker_window */
        worker_close_window(w);
    if (w->verify)
        return worker_verify_new(w, i, op, p, old_size);
    worker_touch(w->touch, p, n);
    return 0;
}

static void worker_pace(struct replay_worker *w, uint64_t i)
{
    uint64_t target = w->run->start_ns + w->times[i];
    uint64_t now = cycles_monotonic_ns();
    if (now >= target)
        return;
    worker_close_window(w);     /* and the wait is one (see above) */
    if (target - now > WORKER_SLEEP_MIN_NS) {
        uint64_t nap = target - now - WORKER_SLEEP_SLACK_NS;
        struct timespec ts = { .tv_sec = (time_t)(nap / 1000000000u),
                               .tv_nsec = (long)(nap % 1000000000u) };
        nanosleep(&ts, NULL);
    }
    while (cycles_monotonic_ns() < target)
        ;
    worker_close_window(w);
}

/*
 * Calls until the next timed one: uniform in 1 .. 2N-1 (mean N), so
 * that sampling cannot fall in step with a periodic trace (larson
 * alternates free and malloc: a fixed even stride would time only
 * one of them).  xorshift64 and a multiply-shift into the range: a
 * few instructions once per timed call (a 64-bit modulo here cost
 * ~40 cycles, as much as the two counter reads).
 */
static uint64_t worker_next_gap(struct replay_worker *w)
{
    if (w->latency_every <= 1)
        return 1;
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    uint64_t range = 2u * (uint64_t)w->latency_every - 1;
    return 1 + (((w->rng >> 32) * range) >> 32);
}

/* The call with the cycle counter around it (rdtsc costs ~10 ns, as
 * much as a cached malloc: hence sampling). */
static __attribute__((noinline)) void *worker_timed_call(
    struct replay_worker *w, uint64_t i, const struct worker_op *op,
    void *old, uint64_t old_size, int *rc)
{
    w->until_timed = worker_next_gap(w);
    uint64_t t0 = cycles_now();
    void *p = worker_call_any(w, i, op, old, old_size, rc);
    uint64_t took = cycles_now() - t0;
    cycles_record(&w->latency[op->kind], took > w->timer_overhead ?
                  took - w->timer_overhead : 0);
    /* t0 ends a window of the peak's log for free (peak.c): the op's
     * own change of live bytes falls in the next one */
    worker_close_at(w, t0);
    return p;
}

/* After a wait of `waited` cycles: the window ends where the wait
 * began, and the wait, when nothing changed, is a window of its own (a
 * long window would spread the thread's count over time it did not
 * hold it, loosening peak.c's bounds). */
static void worker_close_wait(struct replay_worker *w, uint64_t waited)
{
    uint64_t now = cycles_now();
    worker_close_at(w, now - waited);
    worker_close_at(w, now);
}

/* Before an op: the window closes first if the bytes the op moves
 * (its new block, the block it frees) would bring the window's to
 * PEAK_WINDOW_BYTES.  So a window moves less than that, or holds one
 * op that moves more, from just before it to just after its call (a
 * new block's window ends before it is touched): peak.c's bounds stay
 * within a few KiB a thread, and a big block's moment is known to a
 * call's length. */
static void worker_window(struct replay_worker *w,
                          const struct worker_op *op, uint64_t old_size)
{
    uint64_t n = op->slot != TRACE_NO_SLOT ? op->bytes : 0;
    if (op->old_slot != TRACE_NO_SLOT && op->kind != TRACE_USABLE_SIZE)
        n += old_size;
    if (w->window_moved + n >= PEAK_WINDOW_BYTES)
        worker_close_window(w);
    w->window_moved += n;
}

/* The rare part of a step: an edge to wait on, a gap to keep. */
static int worker_before(struct replay_worker *w, uint64_t i,
                         const struct worker_op *op)
{
    if (op->dep_thread != TRACE_NO_DEP) {
        uint64_t waited = edges_wait(w->run, &w->progress[op->dep_thread],
                                     op->dep_op);
        w->wait_cycles += waited;
        w->waits += waited != 0;
        if (waited)
            worker_close_wait(w, waited);
    }
    if (w->paced)
        worker_pace(w, i);
    return atomic_load_explicit(&w->run->abort, memory_order_relaxed) ?
           -1 : 0;
}

static inline int worker_step(struct replay_worker *w, uint64_t i,
                              const struct worker_op *op)
{
    if (__builtin_expect(op->flags & REPLAY_OP_EXTRA || w->paced, 0) &&
        worker_before(w, i, op) != 0)
        return -1;
    struct replay_block old = { NULL, 0 };
    /* a NO_CALL op's block may be being freed: do not even look */
    if (op->old_slot != TRACE_NO_SLOT && !(op->flags & REPLAY_OP_NO_CALL))
        old = w->blocks[op->old_slot];
    if (w->verify && worker_check_old(w, i, op, &old) != 0)
        return -1;
    worker_window(w, op, old.size);
    int rc = 0;
    void *p;
    if (__builtin_expect(--w->until_timed != 0, 1))
        p = worker_call_any(w, i, op, old.ptr, old.size, &rc);
    else
        p = worker_timed_call(w, i, op, old.ptr, old.size, &rc);
    return worker_settle(w, i, op, p, rc, old.size);
}

/* Ops 0..done-1 were performed: their counts, by kind and calls. */
static void worker_count(struct replay_worker *w, uint64_t done)
{
    if (done == w->op_count) {
        memcpy(w->kind_ops, w->plan->kind_ops, sizeof(w->kind_ops));
        w->calls = w->plan->calls;
        return;
    }
    for (uint64_t i = 0; i < done; i++) {
        int called = !(w->ops[i].flags & REPLAY_OP_NO_CALL);
        w->kind_ops[w->ops[i].kind] += called ||
                                       w->ops[i].kind != TRACE_USABLE_SIZE;
        w->calls += called;
    }
}

/* Every op through worker_step: --verify and --timing recorded. */
static uint64_t worker_loop_general(struct replay_worker *w,
                                    struct replay_progress *mine)
{
    uint64_t i;
    for (i = 0; i < w->op_count; i++) {
        struct worker_op op;
        worker_decode(w, &w->ops[i], &op);
        if (worker_step(w, i, &op) != 0)
            break;
        /* another thread's failure: caught here, or at its next edge */
        if (atomic_load_explicit(&w->run->abort, memory_order_relaxed))
            return i + 1;
        atomic_store_explicit(&w->live, w->live_local,
                              memory_order_relaxed);
        edges_publish(mine, i + 1, op.flags & REPLAY_OP_IS_DEP_TARGET);
    }
    return i;
}

/*
 * The fast loop's state, in locals so the compiler keeps it in
 * registers (through the worker it would reload each field after every
 * store that might alias it).
 */
struct worker_regs {
    int64_t live, window_max, window_min;
    uint64_t moved;
    uint64_t until_timed;
    struct replay_block *blocks;
    char *none_base;
    const uint32_t *none_offset;
    const struct replay_alloc_api *api;
    enum replay_touch touch;
};

/* The fast loop's worker_close_window. */
static inline void worker_regs_close(struct replay_worker *w,
                                     struct worker_regs *r)
{
    worker_close_now(&w->peak, r->window_max, r->window_min, r->live);
    r->window_max = r->window_min = r->live;
    r->moved = 0;
}

/* Before a plain op that moves n bytes: the window closes first if
 * they would bring it to PEAK_WINDOW_BYTES (see worker_step).  The
 * close also publishes live bytes for the sampler, which the fast
 * loop does not do per op. */
static inline void worker_plain_window(struct replay_worker *w,
                                       struct worker_regs *r, uint64_t n)
{
    if (__builtin_expect(r->moved + n >= PEAK_WINDOW_BYTES, 0)) {
        worker_regs_close(w, r);
        atomic_store_explicit(&w->live, r->live, memory_order_relaxed);
    }
    r->moved += n;
}

/* Op i through worker_step, with the fast loop's state handed over;
 * 1 when another thread's failure stops this one after op i.  At least
 * every timed call comes here, so the loop need not look for a failure
 * or publish live bytes on every op. */
static int worker_step_slow(struct replay_worker *w, uint64_t i,
                            struct worker_regs *r)
{
    struct worker_op op;
    w->live_local = r->live;
    w->window_max = r->window_max;
    w->window_min = r->window_min;
    w->window_moved = r->moved;
    w->until_timed = r->until_timed;
    worker_decode(w, &w->ops[i], &op);
    int rc = worker_step(w, i, &op);
    r->live = w->live_local;
    r->window_max = w->window_max;
    r->window_min = w->window_min;
    r->moved = w->window_moved;
    r->until_timed = w->until_timed;
    atomic_store_explicit(&w->live, r->live, memory_order_relaxed);
    if (rc == 0 && atomic_load_explicit(&w->run->abort,
                                        memory_order_relaxed))
        return 1;
    return rc;
}

static void worker_plain_null(struct replay_worker *w, uint64_t i,
                              const struct replay_packed_op *p)
{
    struct worker_op op;
    worker_decode(w, p, &op);
    worker_fail(w, i, &op, REPLAY_ALLOC_NULL, "returned NULL where the "
                "recording got a block");
}

/* The fast loop's record of a new block q of n bytes in slot.  A big
 * block's window ends before it is touched (page faults: long), so
 * its moment is the call's (see worker_window). */
static inline void worker_plain_new(struct replay_worker *w,
                                    struct worker_regs *r, uint32_t slot,
                                    void *q, uint64_t n)
{
    r->blocks[slot] = (struct replay_block){ .ptr = q, .size = n };
    r->live += (int64_t)n;
    if (r->live > r->window_max)
        r->window_max = r->live;
    if (!q)
        return;
    if (__builtin_expect(n >= PEAK_WINDOW_BYTES, 0))
        worker_regs_close(w, r);
    worker_touch(r->touch, q, n);
}

/* A plain malloc or realloc (see image.c's image_plain); -1 if it
 * returned NULL. */
static inline int worker_plain_malloc(struct replay_worker *w, uint64_t i,
                                      const struct replay_packed_op *p,
                                      struct worker_regs *r)
{
    uint64_t n = p->size;
    int moves = p->plain == REPLAY_PLAIN_REALLOC;
    struct replay_block *b = moves ? &r->blocks[p->old_slot] : NULL;
    worker_plain_window(w, r, moves ? n + b->size : n);
    void *q;
    if (r->none_base)
        q = r->none_base + r->none_offset[i];
    else if (p->plain == REPLAY_PLAIN_MALLOC)
        q = r->api->malloc(n);
    else
        q = r->api->realloc(moves ? b->ptr : NULL, n);
    if (moves) {   /* the old block is gone */
        r->live -= (int64_t)b->size;
        b->ptr = NULL;
        if (r->live < r->window_min)
            r->window_min = r->live;
    }
    if (__builtin_expect(!q && n, 0)) {
        worker_plain_null(w, i, p);
        return -1;
    }
    worker_plain_new(w, r, p->slot, q, n);
    return 0;
}

static inline void worker_plain_free(struct replay_worker *w,
                                     const struct replay_packed_op *p,
                                     struct worker_regs *r)
{
    struct replay_block *b = &r->blocks[p->old_slot];
    void *old = b->ptr;
    worker_plain_window(w, r, b->size);
    r->live -= (int64_t)b->size;
    b->ptr = NULL;
    if (r->live < r->window_min)
        r->window_min = r->live;
    if (!r->none_base)
        r->api->free(old);
}

/* A plain calloc (see image_plain); -1 if it returned NULL.
 * The none replay skips the zeroing, as worker_call_any does. */
static inline int worker_plain_calloc(struct replay_worker *w, uint64_t i,
                                      const struct replay_packed_op *p,
                                      struct worker_regs *r)
{
    const struct replay_op_extra *x = &w->extras[w->next_extra];
    uint64_t n = (uint64_t)x->arg * x->size;
    worker_plain_window(w, r, n);
    void *q = r->none_base ? r->none_base + r->none_offset[i]
                           : r->api->calloc(x->arg, x->size);
    if (__builtin_expect(!q && n, 0)) {
        worker_plain_null(w, i, p);     /* decodes the extra itself */
        return -1;
    }
    w->next_extra++;
    worker_plain_new(w, r, p->slot, q, n);
    return 0;
}

/* One op of the fast loop: 0, -1 to stop before the next, 1 to stop
 * after this one (see worker_step_slow).  Which plain call an op is
 * was decided with the image (image_plain); the timed call and the
 * rest take worker_step. */
static inline int worker_fast_op(struct replay_worker *w, uint64_t i,
                                 const struct replay_packed_op *p,
                                 struct worker_regs *r)
{
    if (__builtin_expect(r->until_timed <= 1 ||
                         p->plain == REPLAY_PLAIN_NOT, 0))
        return worker_step_slow(w, i, r);
    r->until_timed--;
    switch (p->plain) {
    case REPLAY_PLAIN_FREE:
        worker_plain_free(w, p, r);
        return 0;
    case REPLAY_PLAIN_CALLOC:
        return worker_plain_calloc(w, i, p, r);
    case REPLAY_PLAIN_FREE_NULL:
        if (!r->none_base)
            r->api->free(NULL);
        return 0;
    case REPLAY_PLAIN_USABLE:
        if (!r->none_base)    /* its answer cannot be wrong: unused */
            r->api->usable_size(r->blocks[p->old_slot].ptr);
        return 0;
    default:
        return worker_plain_malloc(w, i, p, r);
    }
}

/*
 * Without --verify or --timing recorded: plain ops inline with the
 * state in registers, the rest (edges, other calls, the timed call)
 * through worker_step.  Same work per op as worker_loop_general, in
 * about half the instructions, since this loop is what a none replay
 * measures.
 */
static uint64_t worker_loop_fast(struct replay_worker *w,
                                 struct replay_progress *mine)
{
    struct worker_regs r = {
        w->live_local, w->window_max, w->window_min, w->window_moved,
        w->until_timed, w->blocks,
        w->none_base, w->none_offset, w->api, w->touch,
    };
    const struct replay_packed_op *ops = w->ops;
    uint64_t i, n = w->op_count;
    for (i = 0; i < n; i++) {
        const struct replay_packed_op *p = &ops[i];
        __builtin_prefetch(p + WORKER_AHEAD);  /* ~1 KiB ahead */
        int rc = worker_fast_op(w, i, p, &r);
        if (__builtin_expect(rc != 0, 0)) {
            i += rc > 0;
            break;
        }
        edges_publish(mine, i + 1, p->flags & REPLAY_OP_IS_DEP_TARGET);
    }
    w->live_local = r.live;
    w->window_max = r.window_max;
    w->window_min = r.window_min;
    w->window_moved = r.moved;
    w->until_timed = r.until_timed;
    return i;
}

void *worker_main(void *arg)
{
    struct replay_worker *w = arg;
    struct replay_progress *mine = &w->progress[w->thread];
    edges_wait_start(w->run);
    uint64_t i = w->verify || w->paced ? worker_loop_general(w, mine)
                                       : worker_loop_fast(w, mine);
    w->end_ns = cycles_monotonic_ns();
    worker_close_window(w);      /* the last window, to the end */
    edges_publish(mine, i, 1);   /* the last op, target or not */
    w->ops_done = i;
    atomic_store_explicit(&w->live, w->live_local, memory_order_relaxed);
    worker_count(w, i);
    return NULL;
}
