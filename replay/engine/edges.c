/*
 * edges.c - dependency edges between replay threads: publishing how far
 * a thread has got and waiting until another thread has got far enough.
 *
 * A waiter spins for EDGES_SPIN_ROUNDS (most edges are satisfied within
 * a few microseconds, and a futex sleep and wake costs more than that),
 * yields for up to EDGES_YIELD_NS, then sleeps on the futex of the
 * thread it waits for; one whose op is far off sleeps at once
 * (EDGES_FAR_OPS).
 * Measured on 2 cores under load: yielding before sleeping cut a
 * 2-thread ping-pong replay from 0.55 s to 0.08 s, larson-t2 from
 * 0.045 s to 0.026 s (1000 spins, no yield, before).
 *
 * The publisher pays for a wake-up check only on ops that some edge
 * points at (REPLAY_OP_IS_DEP_TARGET): it stores its count, then reads
 * whether anyone sleeps, with no fence between.  A fence there would
 * make sure that either the sleeper sees the new count or the
 * publisher sees the sleeper, but it cost a third of redis's none
 * replay (17.6 -> 11.7 ms without it, 2026-12-07: the count's line is
 * one the waiters read, so the store the fence waits for is a miss),
 * and membarrier(2) on the sleeper's side instead interrupts the
 * running threads at each sleep (node 10 -> 14 ms, sqlite 2.4 ->
 * 2.7).  Without it, a sleeper can read the old count while the new
 * one still sits in the publisher's store buffer, and the publisher
 * miss the sleeper; so a sleeper reads the count again EDGES_SETTLE_NS
 * later, by when the store has left the buffer (it drains in well
 * under that, and at any interrupt or exit to the hypervisor), and
 * sleeps EDGES_SLEEP_NS at most before it looks again: a wake-up
 * missed all the same would delay a replay, never hang it.
 *
 * A sleeper registers
 * the op it waits for (`wake_at`, the least of them), and the publisher
 * wakes sleepers only once that op is done: before, a thread asleep
 * until op X of another was woken, and made that thread enter the
 * kernel, at every target op before X (python's trace: 142k targets;
 * its none replay spent 8 ms of 12 in the kernel).
 * There is no global lock and no stop-the-world: a thread blocks only
 * on the one thread its next op depends on.
 */
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cycles.h"
#include "run.h"

/* ~100 pause instructions: 0.5-4 us depending on the core, about what
 * a few allocator calls on the other thread take. */
#define EDGES_SPIN_ROUNDS 100
/* Then yield, for up to this long: with more threads than cores the
 * thread we wait for may be waiting for our core, and a sleeper takes
 * tens of microseconds to wake in a VM.  On 2 cores, against 32 yields
 * at most (2026-12-07, 7-9 alternating rounds, medians): redis's none
 * replay 25 -> 17 ms and its glibc one 80 -> 55, node none 11.7 ->
 * 9.7, sqlite unchanged; 0.1 and 1 ms did about as well. */
#define EDGES_YIELD_NS 300000u
/* Unless the op waited for is further than this past the last one the
 * thread published (it publishes only edge targets, so the gap is an
 * upper bound): then straight to sleep.  sqlite's sorter threads wait
 * from the start for ops near the end of the main thread's million,
 * and their yields took the cores it needed. */
#define EDGES_FAR_OPS 4096u
/* A sleeper's second look at the count, this long after its first, and
 * the longest it sleeps between looks (see the top). */
#define EDGES_SETTLE_NS 2000u
#define EDGES_SLEEP_NS 10000000u
/* Longest a parked thread yields before sleeping until the start. */
#define EDGES_START_YIELD_NS 50000000u

static void edges_pause(void)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

/* Sleeps while *word is seen, ns at most; callers look again after. */
static void edges_futex_wait(_Atomic uint32_t *word, uint32_t seen,
                             uint64_t ns)
{
    struct timespec most = {
        .tv_sec = (time_t)(ns / 1000000000u),
        .tv_nsec = (long)(ns % 1000000000u),
    };
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, &most, NULL, 0);
}

static void edges_futex_wake_all(_Atomic uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void edges_wake_waiters(struct replay_progress *p, uint64_t done)
{
    /* no fence after the count's store (see the top): the compiler's
     * barrier only, so the reads are not made before it */
    atomic_signal_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&p->waiters, memory_order_relaxed) == 0 ||
        done <= atomic_load_explicit(&p->wake_at, memory_order_relaxed))
        return;
    /* every sleeper wakes, and those still early register again */
    atomic_store(&p->wake_at, UINT64_MAX);
    atomic_fetch_add(&p->word, 1);
    edges_futex_wake_all(&p->word);
}

/* Lowers p->wake_at to op unless a sleeper waits for an earlier one. */
static void edges_register(struct replay_progress *p, uint64_t op)
{
    uint64_t at = atomic_load(&p->wake_at);
    while (op < at && !atomic_compare_exchange_weak(&p->wake_at, &at, op))
        ;
}

static int edges_ready(struct replay_shared *run,
                       struct replay_progress *p, uint64_t op)
{
    return atomic_load_explicit(&p->done, memory_order_acquire) > op ||
           atomic_load_explicit(&run->abort, memory_order_relaxed);
}

/* Spins, then yields, while op may come soon; 1 once it is done. */
static int edges_wait_awake(struct replay_shared *run,
                            struct replay_progress *p, uint64_t op)
{
    uint64_t done = atomic_load_explicit(&p->done, memory_order_relaxed);
    if (op - done > EDGES_FAR_OPS)
        return 0;
    for (int i = 0; i < EDGES_SPIN_ROUNDS; i++) {
        edges_pause();
        if (edges_ready(run, p, op))
            return 1;
    }
    uint64_t begin = cycles_monotonic_ns();
    do {
        sched_yield();
        if (edges_ready(run, p, op))
            return 1;
    } while (cycles_monotonic_ns() - begin < EDGES_YIELD_NS);
    return 0;
}

/* 1 if op is done now or EDGES_SETTLE_NS from now (see the top). */
static int edges_settled(struct replay_shared *run,
                         struct replay_progress *p, uint64_t op)
{
    uint64_t begin = cycles_monotonic_ns();
    do {
        if (edges_ready(run, p, op))
            return 1;
        edges_pause();
    } while (cycles_monotonic_ns() - begin < EDGES_SETTLE_NS);
    return edges_ready(run, p, op);
}

uint64_t edges_wait(struct replay_shared *run, struct replay_progress *p,
                    uint64_t op)
{
    if (edges_ready(run, p, op))
        return 0;
    uint64_t begin = cycles_now();
    if (edges_wait_awake(run, p, op))
        return cycles_now() - begin;
    atomic_fetch_add(&p->waiters, 1);
    for (;;) {
        /* word before registering: a wake that erased the registration
         * bumped word after, so the futex wait returns at once */
        uint32_t seen = atomic_load(&p->word);
        edges_register(p, op);
        if (edges_settled(run, p, op))
            break;
        edges_futex_wait(&p->word, seen, EDGES_SLEEP_NS);
    }
    atomic_fetch_sub(&p->waiters, 1);
    return cycles_now() - begin;
}

/*
 * Parked threads spin, then yield, until the release: a thread asleep
 * on the futex takes tens of microseconds (more in a VM) to wake, at
 * random, which skewed the start of short runs.  Threads are created
 * just before the release, so the yielding is short; past
 * EDGES_START_YIELD_NS (a start held up) they sleep.
 */
void edges_wait_start(struct replay_shared *run)
{
    for (int i = 0; i < EDGES_SPIN_ROUNDS; i++) {
        if (atomic_load(&run->start_word))
            return;
        edges_pause();
    }
    uint64_t begin = cycles_monotonic_ns();
    while (cycles_monotonic_ns() - begin < EDGES_START_YIELD_NS) {
        if (atomic_load(&run->start_word))
            return;
        sched_yield();
    }
    while (!atomic_load(&run->start_word))
        edges_futex_wait(&run->start_word, 0, EDGES_SLEEP_NS);
}

void edges_release_start(struct replay_shared *run)
{
    atomic_store(&run->start_word, 1);
    edges_futex_wake_all(&run->start_word);
}

void edges_abort(struct replay_shared *run, enum replay_status status,
                 const char *message)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&run->failed, &expected, 1)) {
        run->status = status;
        snprintf(run->message, sizeof(run->message), "%s", message);
    }
    atomic_store(&run->abort, 1);
    for (uint32_t i = 0; i < run->worker_count; i++) {
        struct replay_progress *p =
            &run->workers[i].progress[run->workers[i].thread];
        atomic_fetch_add(&p->word, 1);
        edges_futex_wake_all(&p->word);
    }
}
