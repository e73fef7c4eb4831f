/*
 * stamp.c - which threads may take bare (unordered) time stamps.
 *
 * record_stamp() (record.h) reads the TSC with a bare rdtsc while the
 * calling thread is the only one that stamps, and with an ordered read
 * otherwise; record.h explains why that keeps the ordering rule.  Here
 * is the bookkeeping behind "the only one":
 *
 *   stamp_threads       threads that have stamped and not yet exited;
 *   record_stamp_epoch  bumped after every change of stamp_threads.
 *
 * A thread is alone at epoch E if it read E and then read
 * stamp_threads == 1 while counted itself.  Changes go count first,
 * epoch second, and the check reads them in the other order, so a
 * check that sees the new epoch also sees the new count: no thread can
 * join unseen.  Each transition to alone is itself an ordered stamp
 * followed by lfence, so no later bare rdtsc can run ahead of the
 * loads that saw the other threads gone.
 */
#include "record.h"

atomic_uint_fast64_t record_stamp_epoch = 1;
RECORD_TLS uint_fast64_t record_tls_alone_epoch;
uint64_t record_dense_ticks;         /* set with the TSC clock */
RECORD_TLS uint64_t record_tls_last_stamp;
RECORD_TLS unsigned record_tls_carry;

static atomic_int stamp_threads;
static RECORD_TLS int stamp_counted;     /* this thread is in the count */

static void stamp_change_count(int delta)
{
    atomic_fetch_add(&stamp_threads, delta);
    atomic_fetch_add(&record_stamp_epoch, 1);
}

uint64_t record_stamp_slow(void)
{
    if (RECORD_UNLIKELY(!stamp_counted)) {
        stamp_counted = 1;
        stamp_change_count(1);
    }
    uint_fast64_t epoch = atomic_load(&record_stamp_epoch);
    int alone = record_clock_tsc && atomic_load(&stamp_threads) == 1;
    record_tls_alone_epoch = alone ? epoch : 0;
    uint64_t now = record_now();
    record_tls_last_stamp = now;     /* carries start from here */
    record_tls_carry = 0;
#ifdef RECORD_HAVE_TSC
    if (alone)
        _mm_lfence();  /* later bare stamps wait for this one */
#endif
    return now;
}

/* After the exiting thread's last stamp: the others may be alone now. */
void record_stamp_thread_exit(void)
{
    record_tls_alone_epoch = 0;
    if (stamp_counted) {
        stamp_counted = 0;
        stamp_change_count(-1);
    }
}

/* A fork child has one thread, the caller: it recounts from scratch. */
void record_stamp_after_fork(void)
{
    atomic_store(&stamp_threads, stamp_counted);
    atomic_fetch_add(&record_stamp_epoch, 1);
    record_tls_alone_epoch = 0;
}
