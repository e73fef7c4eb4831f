/*
 * worker.c - one replay thread: performs one recorded thread's ops, in
 * order, against the allocator under test.
 *
 * Per op: wait on its edge if it has one (timed as distortion), keep the
 * recorded gap under --timing recorded, time the allocator call alone
 * with the cycle counter, then outside the timed call write the block
 * as --touch asks (or fill and later check it under --verify), account
 * live bytes and publish progress.  A NULL where the recording got a
 * block, a block whose contents changed, or (under --verify) calloc
 * memory that is not zero stops the run and is reported as the
 * allocator's failure.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cycles.h"
#include "image.h"
#include "run.h"

#define WORKER_PAGE 4096u            /* one write per page: --touch */
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

static void worker_touch(enum replay_touch touch, uint8_t *p, uint64_t n)
{
    if (n == 0 || touch == REPLAY_TOUCH_NONE)
        return;
    if (touch == REPLAY_TOUCH_FIRST)
        p[0] = 1;
    else if (touch == REPLAY_TOUCH_ALL)
        memset(p, 1, n);
    else
        for (uint64_t off = 0; off < n; off += WORKER_PAGE)
            p[off] = 1;
}

static void *worker_call(const struct replay_alloc_api *a,
                         const struct replay_op *op, void *old, int *rc)
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

static void worker_fail(struct replay_worker *w, uint64_t i,
                        enum replay_status status, const char *what)
{
    char msg[REPLAY_MSG_LEN];
    const struct replay_op *op = &w->ops[i];
    snprintf(msg, sizeof(msg), "instance %u thread %u op %llu: %s(%llu)"
             " %s", w->instance, w->thread, (unsigned long long)i,
             replay_kind_name(op->kind), (unsigned long long)op->size, what);
    edges_abort(w->run, status, msg);
}

/* Checks the block an op is about to free or move; 0 if intact. */
static int worker_check_old(struct replay_worker *w, uint64_t i,
                            const struct replay_block *b)
{
    const struct replay_op *op = &w->ops[i];
    if (!b->ptr || !w->verify)
        return 0;
    if (worker_intact(b->ptr, b->size, op->old_slot))
        return 0;
    worker_fail(w, i, REPLAY_CORRUPTION, "found the block's contents "
                "changed since it was written");
    return -1;
}

/* Writes a new block as --touch or --verify asks; checks a moved one. */
static int worker_after(struct replay_worker *w, uint64_t i, void *p,
                        uint64_t old_size)
{
    const struct replay_op *op = &w->ops[i];
    uint64_t n = image_requested_bytes(op);
    if (!w->verify) {
        worker_touch(w->touch, p, n);
        return 0;
    }
    if (op->kind == TRACE_CALLOC && !worker_zeroed(p, n)) {
        worker_fail(w, i, REPLAY_CORRUPTION, "returned memory that is "
                    "not zeroed");
        return -1;
    }
    int moved = op->kind == TRACE_REALLOC ||
                op->kind == TRACE_REALLOCARRAY;
    if (moved && op->old_slot != TRACE_NO_SLOT &&
        !worker_intact(p, n < old_size ? n : old_size, op->old_slot)) {
        worker_fail(w, i, REPLAY_CORRUPTION, "lost the block's contents");
        return -1;
    }
    worker_fill(p, n, op->slot);
    return 0;
}

/* Records the result of op i; -1 stops the thread. */
static int worker_settle(struct replay_worker *w, uint64_t i, void *p,
                         int rc, uint64_t old_size)
{
    const struct replay_op *op = &w->ops[i];
    if (op->old_slot != TRACE_NO_SLOT && op->kind != TRACE_USABLE_SIZE) {
        w->blocks[op->old_slot].ptr = NULL;
        w->live_local -= (int64_t)old_size;
    }
    if (op->slot == TRACE_NO_SLOT) {
        if (p)   /* recorded a failure, got a block: give it back */
            w->api->free(p);
        return 0;
    }
    uint64_t n = image_requested_bytes(op);
    if (!p && (n > 0 || rc != 0)) {
        worker_fail(w, i, REPLAY_ALLOC_NULL, "returned NULL where the "
                    "recording got a block");
        return -1;
    }
    w->blocks[op->slot] = (struct replay_block){ .ptr = p, .size = n };
    w->live_local += (int64_t)n;
    if (w->live_local > w->peak_live)
        w->peak_live = w->live_local;
    return p ? worker_after(w, i, p, old_size) : 0;
}

static void worker_pace(struct replay_worker *w, uint64_t i)
{
    uint64_t target = w->run->start_ns + w->times[i];
    uint64_t now = cycles_monotonic_ns();
    if (now >= target)
        return;
    if (target - now > WORKER_SLEEP_MIN_NS) {
        uint64_t nap = target - now - WORKER_SLEEP_SLACK_NS;
        struct timespec ts = { .tv_sec = (time_t)(nap / 1000000000u),
                               .tv_nsec = (long)(nap % 1000000000u) };
        nanosleep(&ts, NULL);
    }
    while (cycles_monotonic_ns() < target)
        ;
}

/*
 * Calls the allocator; times one call in --latency-every (each rdtsc
 * costs ~10 ns, as much as a cached malloc, so sampling is how the
 * harness stays cheap on malloc-bound traces).
 */
static void *worker_timed_call(struct replay_worker *w,
                               const struct replay_op *op, void *old,
                               int *rc)
{
    int is_call = op->kind != TRACE_THREAD_START &&
                  op->kind != TRACE_THREAD_EXIT &&
                  !(op->flags & REPLAY_OP_NO_CALL);
    w->kind_ops[op->kind]++;
    w->calls += is_call;
    if (--w->until_timed != 0)
        return is_call ? worker_call(w->api, op, old, rc) : NULL;
    w->until_timed = w->latency_every;
    uint64_t t0 = cycles_now();
    void *p = is_call ? worker_call(w->api, op, old, rc) : NULL;
    uint64_t took = cycles_now() - t0;
    cycles_record(&w->latency[op->kind], took > w->timer_overhead ?
                  took - w->timer_overhead : 0);
    return p;
}

static int worker_step(struct replay_worker *w, uint64_t i)
{
    const struct replay_op *op = &w->ops[i];
    if (op->dep_thread != TRACE_NO_DEP) {
        uint64_t waited = edges_wait(w->run, &w->progress[op->dep_thread],
                                     op->dep_op);
        w->wait_cycles += waited;
        w->waits += waited != 0;
    }
    if (w->paced)
        worker_pace(w, i);
    if (atomic_load_explicit(&w->run->abort, memory_order_relaxed))
        return -1;
    struct replay_block old = { NULL, 0 };
    /* a NO_CALL op's block may be being freed: do not even look */
    if (op->old_slot != TRACE_NO_SLOT && !(op->flags & REPLAY_OP_NO_CALL))
        old = w->blocks[op->old_slot];
    if (worker_check_old(w, i, &old) != 0)
        return -1;
    int rc = 0;
    void *p = worker_timed_call(w, op, old.ptr, &rc);
    return worker_settle(w, i, p, rc, old.size);
}

void *worker_main(void *arg)
{
    struct replay_worker *w = arg;
    struct replay_progress *mine = &w->progress[w->thread];
    edges_wait_start(w->run);
    for (uint64_t i = 0; i < w->op_count; i++) {
        if (worker_step(w, i) != 0)
            break;
        w->ops_done = i + 1;
        atomic_store_explicit(&w->live, w->live_local,
                              memory_order_relaxed);
        edges_publish(mine, i + 1,
                      w->ops[i].flags & REPLAY_OP_IS_DEP_TARGET);
    }
    return NULL;
}
