/*
 * cycles.h - the cycle counter that times each allocator call, and the
 * latency histogram it feeds.
 *
 * On x86-64 the counter is rdtsc, unfenced: lfence around it pins it in
 * order but, measured here, adds more to a ~10 ns call than it removes
 * in error (and costs every timed op).  No system call, and
 * constant-rate on every CPU this project runs on, so one calibration
 * against CLOCK_MONOTONIC per run turns cycles into ns.  Elsewhere it
 * falls back to clock_gettime and a rate of 1 cycle per ns.
 *
 * Histogram buckets are logarithmic: values below 8 exact, then four
 * buckets per power of two (at most 19% relative error), so 256 buckets
 * cover 2^64 cycles and one add is a clz and a shift.
 */
#ifndef MALLARD_REPLAY_CYCLES_H
#define MALLARD_REPLAY_CYCLES_H

#include <stdint.h>
#include <time.h>

#include "engine.h"

#if defined(__x86_64__)
#include <x86intrin.h>
static inline uint64_t cycles_now(void) { return __rdtsc(); }
#else
static inline uint64_t cycles_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

static inline uint64_t cycles_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define CYCLES_EXACT_BUCKETS 8  /* values 0..7 get a bucket each */
#define CYCLES_SUB_BITS 2       /* 4 buckets per power of two */

static inline unsigned cycles_bucket(uint64_t c)
{
    if (c < CYCLES_EXACT_BUCKETS)
        return (unsigned)c;
    unsigned msb = 63u - (unsigned)__builtin_clzll(c);
    unsigned sub = (unsigned)(c >> (msb - CYCLES_SUB_BITS)) &
                   ((1u << CYCLES_SUB_BITS) - 1);
    return CYCLES_EXACT_BUCKETS + ((msb - 3) << CYCLES_SUB_BITS) + sub;
}

static inline void cycles_record(struct replay_latency *h, uint64_t c)
{
    h->count++;
    h->sum_cycles += c;
    if (c > h->max_cycles)
        h->max_cycles = c;
    h->buckets[cycles_bucket(c)]++;
}

/* Measures the counter's rate; takes CYCLES_CALIBRATE_NS. */
double cycles_calibrate(void);
/* The least a back-to-back pair of reads measures: what a timed call
 * reads on top of the call itself, subtracted from every sample. */
uint64_t cycles_overhead(void);
/* Largest value that falls in bucket b (the bound we report). */
uint64_t cycles_bucket_upper(unsigned b);
/* Value at fraction q (0..1] of the histogram, in cycles. */
uint64_t cycles_quantile(const struct replay_latency *h, double q);
void cycles_merge(struct replay_latency *into,
                  const struct replay_latency *from);

#endif
