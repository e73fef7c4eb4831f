/*
 * cycles.c - calibration of the cycle counter and reading quantiles out
 * of the log histograms (see cycles.h for the bucket layout).
 *
 * Quantiles report the upper bound of the bucket they fall in, capped at
 * the exact maximum, so a reported p99 is never below the true one.
 */
#include "cycles.h"

/* 5 ms: clock_gettime costs ~30 ns, so the rate is good to 1e-5. */
#define CYCLES_CALIBRATE_NS 5000000u

double cycles_calibrate(void)
{
#if defined(__x86_64__)
    uint64_t t0 = cycles_monotonic_ns(), c0 = cycles_now();
    uint64_t t1;
    do {
        t1 = cycles_monotonic_ns();
    } while (t1 - t0 < CYCLES_CALIBRATE_NS);
    uint64_t c1 = cycles_now();
    return (double)(c1 - c0) / (double)(t1 - t0);
#else
    return 1.0;
#endif
}

/* Pairs read to find the overhead; the minimum settles within ~100. */
#define CYCLES_OVERHEAD_TRIES 1000

uint64_t cycles_overhead(void)
{
    uint64_t least = UINT64_MAX;
    for (int i = 0; i < CYCLES_OVERHEAD_TRIES; i++) {
        uint64_t t0 = cycles_now();
        uint64_t d = cycles_now() - t0;
        if (d < least)
            least = d;
    }
    return least;
}

uint64_t cycles_bucket_upper(unsigned b)
{
    if (b < CYCLES_EXACT_BUCKETS)
        return b;
    unsigned rel = b - CYCLES_EXACT_BUCKETS;
    unsigned msb = (rel >> CYCLES_SUB_BITS) + 3;
    uint64_t sub = rel & ((1u << CYCLES_SUB_BITS) - 1);
    uint64_t step = 1ull << (msb - CYCLES_SUB_BITS);
    uint64_t low = (1ull << msb) + sub * step;
    return low + (step - 1);
}

uint64_t cycles_quantile(const struct replay_latency *h, double q)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < REPLAY_HIST_BUCKETS; b++) {
        seen += h->buckets[b];
        if (seen >= rank) {
            uint64_t up = cycles_bucket_upper(b);
            return up < h->max_cycles ? up : h->max_cycles;
        }
    }
    return h->max_cycles;
}

void cycles_merge(struct replay_latency *into,
                  const struct replay_latency *from)
{
    into->count += from->count;
    into->sum_cycles += from->sum_cycles;
    if (from->max_cycles > into->max_cycles)
        into->max_cycles = from->max_cycles;
    for (unsigned b = 0; b < REPLAY_HIST_BUCKETS; b++)
        into->buckets[b] += from->buckets[b];
}
