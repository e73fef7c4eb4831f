/*
 * worker.c - one replay thread: performs one recorded thread's ops, in
 * order, against the allocator under test.
 *
 * Per op: decode the 16-byte packed op (and its extra, if flagged), wait
 * on its edge if it has one (timed as distortion), keep the recorded gap
 * under --timing recorded, call the allocator (timing the call alone
 * with the cycle counter for a random one in about --latency-every),
 * then outside the timed call write the block as --touch asks (or fill
 * and later check it under --verify) and publish progress.  A NULL
 * where the recording got a block, a block whose contents changed, or
 * (under --verify) calloc memory that is not zero stops the run and is
 * reported as the allocator's failure.
 *
 * The loop is the harness cost that `--allocator none` measures, so it
 * does per op only what an op needs: counts by kind come from the plan
 * counted before the run (an op performed is an index passed), live
 * bytes from the image (each op's count is known before the run, so
 * the peak's windows record only where they end, peak.c), and the rare
 * parts (edges, counts, alignments, the timed call) go aside.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cycles.h"
#include "image.h"
#include "run.h"

#define WORKER_PAGE REPLAY_PAGE_BYTES /* one write per page: --touch */
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

/* A slot's block as an op finds it (the size under --verify only). */
struct replay_block {
    void *ptr;
    uint64_t size;   /* bytes requested */
};

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

/* Ends the worker's window of the peak's log at the counter reading
 * `cycles`, after its first `done` ops (peak.c counts them after the
 * run), and shows the sampler how far the thread is. */
static void worker_close_at(struct replay_worker *w, uint64_t cycles,
                            uint64_t done)
{
    peak_close(&w->peak, cycles, done);
    atomic_store_explicit(&w->live_ops, done, memory_order_relaxed);
}

/* The same now.  Out of line: rare, and its counter read costs. */
static __attribute__((noinline)) void worker_close_window(
    struct replay_worker *w, uint64_t done)
{
    worker_close_at(w, cycles_now(), done);
}

/* Records the result of op i; -1 stops the thread. */
static inline int worker_settle(struct replay_worker *w, uint64_t i,
                                const struct worker_op *op, void *p,
                                int rc, uint64_t old_size)
{
    if (op->old_slot != TRACE_NO_SLOT && op->kind != TRACE_USABLE_SIZE)
        w->block_ptr[op->old_slot] = NULL;
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
    w->block_ptr[op->slot] = p;
    if (w->verify)
        w->block_size[op->slot] = n;
    if (!p)
        return 0;
    if (n >= PEAK_WINDOW_BYTES)      /* see worker_step */
        worker_close_window(w, i + 1);
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
    worker_close_window(w, i);  /* and the wait is one (see above) */
    if (target - now > WORKER_SLEEP_MIN_NS) {
        uint64_t nap = target - now - WORKER_SLEEP_SLACK_NS;
        struct timespec ts = { .tv_sec = (time_t)(nap / 1000000000u),
                               .tv_nsec = (long)(nap % 1000000000u) };
        nanosleep(&ts, NULL);
    }
    while (cycles_monotonic_ns() < target)
        ;
    worker_close_window(w, i);
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
    return p;
}

/* After a wait of `waited` cycles: the window ends where the wait
 * began, and the wait, when nothing changed, is a window of its own (a
 * long window would spread the thread's count over time it did not
 * hold it, loosening peak.c's bounds). */
static void worker_close_wait(struct replay_worker *w, uint64_t waited,
                              uint64_t i)
{
    uint64_t now = cycles_now();
    worker_close_at(w, now - waited, i);
    worker_close_at(w, now, i);
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
            worker_close_wait(w, waited, i);
    }
    if (w->paced)
        worker_pace(w, i);
    return atomic_load_explicit(&w->run->abort, memory_order_relaxed) ?
           -1 : 0;
}

/*
 * One op, whatever it is.  A window of the peak's log ends before an op
 * the image marked (REPLAY_OP_CLOSE_BEFORE: its ops would move
 * PEAK_WINDOW_BYTES) and after the call of a block of that size, before
 * its touch: so a window moves less than that, or holds one op that
 * moves more, and a big block's moment is known to a call's length
 * (peak.c's bounds stay within a few KiB a thread).
 */
static inline int worker_step(struct replay_worker *w, uint64_t i,
                              const struct worker_op *op)
{
    if (__builtin_expect(op->flags & REPLAY_OP_EXTRA || w->paced, 0) &&
        worker_before(w, i, op) != 0)
        return -1;
    struct replay_block old = { NULL, 0 };
    /* a NO_CALL op's block may be being freed: do not even look */
    if (op->old_slot != TRACE_NO_SLOT && !(op->flags & REPLAY_OP_NO_CALL))
        old = (struct replay_block){ w->block_ptr[op->old_slot],
            w->verify ? w->block_size[op->old_slot] : 0 };
    if (w->verify && worker_check_old(w, i, op, &old) != 0)
        return -1;
    if (op->flags & REPLAY_OP_CLOSE_BEFORE)
        worker_close_window(w, i);
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
        edges_publish(mine, i + 1, op.flags & REPLAY_OP_IS_DEP_TARGET);
    }
    return i;
}
/*
 * The fast loop's state, in locals so the compiler keeps it in
 * registers (through the worker it would reload each field after every
 * store that might alias it).  It counts no bytes: the image holds each
 * op's count (peak.c), so an op is its call, its slot and its touch.
 */
struct worker_regs {
    uint64_t timed_at;       /* the op worker_step times next */
    void **block_ptr;
    char *none_base;
    const uint32_t *none_offset;
    const struct replay_alloc_api *api;
    struct replay_progress *mine;
    enum replay_touch touch;
};

#define WORKER_INLINE static inline __attribute__((always_inline))

static void worker_plain_null(struct replay_worker *w, uint64_t i,
                              const struct replay_packed_op *p)
{
    struct worker_op op;
    worker_decode(w, p, &op);
    worker_fail(w, i, &op, REPLAY_ALLOC_NULL, "returned NULL where the "
                "recording got a block");
}

/* A new block of no bytes, or of more than a page: written as --touch
 * asks, a big one's window ended at its call first (see worker_step). */
static __attribute__((noinline)) void worker_touch_rare(
    struct replay_worker *w, uint64_t i, enum replay_touch touch,
    uint8_t *q, uint64_t n)
{
    if (n >= PEAK_WINDOW_BYTES)
        worker_close_window(w, i + 1);
    worker_touch(touch, q, n);
}

/* A plain call's counter read, when it is the one to time. */
WORKER_INLINE uint64_t worker_clock(int timed)
{
    return timed ? cycles_now() : 0;
}

/* After a timed plain call begun at t0: its latency (as in
 * worker_timed_call). */
static __attribute__((noinline)) void worker_clock_end(
    struct replay_worker *w, unsigned kind, uint64_t t0)
{
    uint64_t took = cycles_now() - t0;
    cycles_record(&w->latency[kind], took > w->timer_overhead ?
                  took - w->timer_overhead : 0);
}

/* The fast loop's record of op i's new block q of n bytes in slot.
 * `pages`: --touch pages, known to the loop's copy; `small`: the image
 * says n is 1 to a page (REPLAY_PLAIN_MALLOC), so n is not read. */
WORKER_INLINE void worker_plain_new(struct replay_worker *w,
                                    const struct worker_regs *r,
                                    uint64_t i, uint32_t slot, uint8_t *q,
                                    uint64_t n, int none, int pages,
                                    int small)
{
    r->block_ptr[slot] = q;
    if (!none && !q)    /* none's blocks are never NULL */
        return;
    if (pages && (small || __builtin_expect(n - 1 < WORKER_PAGE, 1)))
        q[0] = 1;       /* worker_touch's common case, 1 to 4096 bytes */
    else
        worker_touch_rare(w, i, r->touch, q, n);
}

/* A plain malloc, realloc or realloc(NULL) (see image.c's image_plain);
 * -1 if it returned NULL.  none reads the old block's pointer too, as
 * every other allocator's replay must, and no size for a small malloc:
 * its block needs none. */
WORKER_INLINE int worker_plain_malloc(struct replay_worker *w, uint64_t i,
                                      const struct replay_packed_op *p,
                                      const struct worker_regs *r,
                                      int none, int pages, int timed,
                                      unsigned plain)
{
    int small = plain == REPLAY_PLAIN_MALLOC;
    uint64_t n = none && small ? 1 : p->size;
    int moves = plain == REPLAY_PLAIN_REALLOC;
    void **b = moves ? &r->block_ptr[p->old_slot] : NULL;
    void *q, *old = moves ? *b : NULL;
    uint64_t t0 = worker_clock(timed);
    if (none) {
        __asm__ volatile("" : : "r"(old));
        q = r->none_base + r->none_offset[i];
    } else if (small || plain == REPLAY_PLAIN_MALLOC_RARE) {
        q = r->api->malloc(n);
    } else {
        q = r->api->realloc(old, n);
    }
    if (timed)
        worker_clock_end(w, p->kind, t0);
    if (moves)   /* the old block is gone */
        *b = NULL;
    if (__builtin_expect(!none && !q && n, 0)) {
        worker_plain_null(w, i, p);
        return -1;
    }
    worker_plain_new(w, r, i, p->slot, q, n, none, pages, small);
    return 0;
}

WORKER_INLINE void worker_plain_free(struct replay_worker *w,
                                     const struct replay_packed_op *p,
                                     const struct worker_regs *r, int none,
                                     int timed)
{
    void **b = &r->block_ptr[p->old_slot];
    void *old = *b;
    *b = NULL;
    uint64_t t0 = worker_clock(timed);
    if (none)
        __asm__ volatile("" : : "r"(old));
    else
        r->api->free(old);
    if (timed)
        worker_clock_end(w, TRACE_FREE, t0);
}

/* A plain calloc (see image_plain); -1 if it returned NULL.
 * The none replay skips the zeroing, as worker_call_any does. */
WORKER_INLINE int worker_plain_calloc(struct replay_worker *w, uint64_t i,
                                      const struct replay_packed_op *p,
                                      const struct worker_regs *r,
                                      int none, int pages, int timed)
{
    const struct replay_op_extra *x = &w->extras[w->next_extra];
    uint64_t n = (uint64_t)x->arg * x->size;
    uint64_t t0 = worker_clock(timed);
    void *q = none ? r->none_base + r->none_offset[i]
                   : r->api->calloc(x->arg, x->size);
    if (timed)
        worker_clock_end(w, TRACE_CALLOC, t0);
    if (__builtin_expect(!none && !q && n, 0)) {
        worker_plain_null(w, i, p);     /* decodes the extra itself */
        return -1;
    }
    w->next_extra++;
    worker_plain_new(w, r, i, p->slot, q, n, none, pages, 0);
    return 0;
}

/* The plain calls that are neither malloc nor free, out of the loop's
 * way. */
WORKER_INLINE int worker_plain_other(struct replay_worker *w, uint64_t i,
                                     const struct replay_packed_op *p,
                                     const struct worker_regs *r, int none,
                                     int pages, int timed, unsigned plain)
{
    uint64_t t0;
    switch (plain) {
    case REPLAY_PLAIN_MALLOC_RARE:
        return worker_plain_malloc(w, i, p, r, none, pages, timed,
                                   REPLAY_PLAIN_MALLOC_RARE);
    case REPLAY_PLAIN_REALLOC:
        return worker_plain_malloc(w, i, p, r, none, pages, timed,
                                   REPLAY_PLAIN_REALLOC);
    case REPLAY_PLAIN_REALLOC_NEW:
        return worker_plain_malloc(w, i, p, r, none, pages, timed,
                                   REPLAY_PLAIN_REALLOC_NEW);
    case REPLAY_PLAIN_CALLOC:
        return worker_plain_calloc(w, i, p, r, none, pages, timed);
    case REPLAY_PLAIN_FREE_NULL:
    case REPLAY_PLAIN_USABLE:
        t0 = worker_clock(timed);
        if (none)
            ;
        else if (plain == REPLAY_PLAIN_FREE_NULL)
            r->api->free(NULL);
        else     /* its answer cannot be wrong: unused */
            r->api->usable_size(r->block_ptr[p->old_slot]);
        if (timed)
            worker_clock_end(w, p->kind, t0);
        return 0;
    default:          /* not plain, or marked */
        return 2;
    }
}

/* Op i as the plain call `plain` (see image_plain), its call timed when
 * `timed`: 0, or -1 to stop before the next op; 2 for an op that goes
 * aside (worker_aside). */
WORKER_INLINE int worker_plain(struct replay_worker *w, uint64_t i,
                               const struct replay_packed_op *p,
                               const struct worker_regs *r, int none,
                               int pages, int timed, unsigned plain)
{
    /* the two most ops are: a compare each, before a jump table */
    if (plain == REPLAY_PLAIN_FREE) {
        worker_plain_free(w, p, r, none, timed);
        return 0;
    }
    if (plain == REPLAY_PLAIN_MALLOC)
        return worker_plain_malloc(w, i, p, r, none, pages, timed,
                                   REPLAY_PLAIN_MALLOC);
    return worker_plain_other(w, i, p, r, none, pages, timed, plain);
}

/*
 * Op i when it is not a plain call, is the one to time, or is marked
 * (a window ends before it, or another thread waits on it): through
 * worker_step, or as a plain call with those around it.  0, -1 to stop
 * before the next op, 1 when another thread's failure stops this one
 * after op i.  The op to time next is left in w->until_timed.  Every
 * timed call comes here, so the loop need not look for a failure on
 * every op.
 */
WORKER_INLINE int worker_aside(struct replay_worker *w, uint64_t i,
                               const struct replay_packed_op *p,
                               const struct worker_regs *r, int none,
                               int pages)
{
    unsigned plain = p->plain & ~REPLAY_PLAIN_MARKED;
    if (plain == REPLAY_PLAIN_NOT) {
        struct worker_op op;
        w->until_timed = r->timed_at - i + 1;
        worker_decode(w, p, &op);
        int rc = worker_step(w, i, &op);
        w->until_timed += i;
        if (rc != 0)
            return rc;
        if (atomic_load_explicit(&w->run->abort, memory_order_relaxed))
            return 1;
        edges_publish(r->mine, i + 1, op.flags & REPLAY_OP_IS_DEP_TARGET);
        return 0;
    }
    int timed = i == r->timed_at;
    w->until_timed = timed ? i + worker_next_gap(w) : r->timed_at;
    if (p->flags & REPLAY_OP_CLOSE_BEFORE)
        worker_close_window(w, i);
    int rc = timed ? worker_plain(w, i, p, r, none, pages, 1, plain)
                   : worker_plain(w, i, p, r, none, pages, 0, plain);
    if (rc != 0)
        return rc;
    if (atomic_load_explicit(&w->run->abort, memory_order_relaxed))
        return 1;
    edges_publish(r->mine, i + 1, p->flags & REPLAY_OP_IS_DEP_TARGET);
    return 0;
}

/* worker_aside out of line, one copy per loop, the state passed by
 * value so that the loop's stays in registers. */
#define WORKER_ASIDE(name, none, pages)                                   \
    static __attribute__((noinline)) int name(                            \
        struct replay_worker *w, uint64_t i,                              \
        const struct replay_packed_op *p, struct worker_regs r)           \
    {                                                                     \
        return worker_aside(w, i, p, &r, none, pages);                    \
    }
WORKER_ASIDE(worker_aside_none_pages, 1, 1)
WORKER_ASIDE(worker_aside_none, 1, 0)
WORKER_ASIDE(worker_aside_pages, 0, 1)
WORKER_ASIDE(worker_aside_any, 0, 0)

/*
 * Without --verify or --timing recorded: plain ops inline with the
 * state in registers; the timed call, ops that are not plain calls and
 * marked ones go aside.  A copy for each of none or not and --touch
 * pages or not (constants in each), since this loop is what a none
 * replay measures: it does the same work per op as
 * worker_loop_general in a third of the instructions.
 */
WORKER_INLINE uint64_t worker_loop_fast(struct replay_worker *w,
                                        struct replay_progress *mine,
                                        int none, int pages)
{
    struct worker_regs r = {
        w->until_timed - 1, w->block_ptr, w->none_base, w->none_offset,
        w->api, mine, w->touch,
    };
    const struct replay_packed_op *ops = w->ops;
    uint64_t i = 0, n = w->op_count;
    while (i < n) {
        /* plain ops up to the one to time: no other test per op */
        uint64_t stop = r.timed_at < n ? r.timed_at : n;
        int rc = 0;
        for (; i < stop; i++) {
            const struct replay_packed_op *p = &ops[i];
            __builtin_prefetch(p + WORKER_AHEAD);  /* ~1 KiB ahead */
            rc = worker_plain(w, i, p, &r, none, pages, 0, p->plain);
            if (__builtin_expect(rc != 0, 0))
                break;
        }
        if (i == n)
            break;
        if (rc != -1) {   /* the op to time, or one that goes aside */
            const struct replay_packed_op *p = &ops[i];
            rc = none ? pages ? worker_aside_none_pages(w, i, p, r)
                              : worker_aside_none(w, i, p, r)
                      : pages ? worker_aside_pages(w, i, p, r)
                              : worker_aside_any(w, i, p, r);
            r.timed_at = w->until_timed;
        }
        if (__builtin_expect(rc != 0, 0))
            return i + (rc > 0);
        i++;
    }
    return i;
}

static uint64_t worker_loop(struct replay_worker *w,
                            struct replay_progress *mine)
{
    int pages = w->touch == REPLAY_TOUCH_PAGES;
    if (w->verify || w->paced)
        return worker_loop_general(w, mine);
    if (w->none_base)
        return pages ? worker_loop_fast(w, mine, 1, 1)
                     : worker_loop_fast(w, mine, 1, 0);
    return pages ? worker_loop_fast(w, mine, 0, 1)
                 : worker_loop_fast(w, mine, 0, 0);
}

void *worker_main(void *arg)
{
    struct replay_worker *w = arg;
    struct replay_progress *mine = &w->progress[w->thread];
    edges_wait_start(w->run);
    uint64_t i = worker_loop(w, mine);
    w->end_ns = cycles_monotonic_ns();
    worker_close_window(w, i);   /* the last window, to the end */
    edges_publish(mine, i, 1);   /* the last op, target or not */
    w->ops_done = i;
    worker_count(w, i);
    return NULL;
}
