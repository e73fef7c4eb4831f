/*
 * clock.c - the recorder's clock: the TSC where the kernel trusts it
 * (all CPUs' counters agree), else CLOCK_MONOTONIC; its calibration at
 * start and over the whole run (a CLOCK chunk at the end).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "record.h"
#include "session.h"

#ifdef RECORD_HAVE_TSC
#include <cpuid.h>
#endif

/* Calibration: TSC ticks counted against CLOCK_MONOTONIC over this
 * long a spin at start (each end is read to within some 50 ns, so good
 * to about 5e-4), then again over the whole run when it ends, which a
 * CLOCK chunk records; only a trace cut short keeps the quick one.
 * 200 us is 0.1% of a 0.2 s sqlite3 run. */
#define CLOCK_CALIBRATE_NS 200000u
#define CLOCK_SOURCE_FILE \
    "/sys/devices/system/clocksource/clocksource0/current_clocksource"
/* CPUID 0x80000007 EDX bit 8: the TSC ticks at a constant rate in every
 * power state; 0x80000001 EDX bit 27: rdtscp exists. */
#define CLOCK_CPUID_POWER 0x80000007u
#define CLOCK_INVARIANT_TSC (1u << 8)
#define CLOCK_CPUID_EXT 0x80000001u
#define CLOCK_RDTSCP (1u << 27)

int record_clock_tsc;
static uint64_t clock_rate_hz = TRACE_NS_PER_SEC;

uint64_t clock_hz(void)
{
    return clock_rate_hz;
}
static uint64_t clock_tsc0, clock_mono0;   /* calibration start */

static uint64_t clock_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * TRACE_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t record_now(void)
{
#ifdef RECORD_HAVE_TSC
    if (RECORD_LIKELY(record_clock_tsc)) {
        unsigned aux;
        return __rdtscp(&aux);
    }
#endif
    return clock_monotonic_ns();
}

#ifdef RECORD_HAVE_TSC
/* The TSC is used only where the kernel keeps CLOCK_MONOTONIC on it:
 * then it has checked that all CPUs' counters agree, which is what
 * stamps from different threads need. */
static int clock_tsc_trusted(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(CLOCK_CPUID_POWER, &a, &b, &c, &d) ||
        !(d & CLOCK_INVARIANT_TSC) ||
        !__get_cpuid(CLOCK_CPUID_EXT, &a, &b, &c, &d) ||
        !(d & CLOCK_RDTSCP))
        return 0;
    char name[16] = { 0 };
    int fd = open(CLOCK_SOURCE_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, name, sizeof(name) - 1);
    close(fd);
    return n >= 3 && strncmp(name, "tsc", 3) == 0 &&
           (name[3] == '\n' || name[3] == '\0');
}

/* TSC ticks per second since the calibration started. */
static uint64_t clock_tsc_hz(uint64_t *elapsed_ns)
{
    unsigned aux;
    uint64_t t1 = __rdtscp(&aux);
    uint64_t m1 = clock_monotonic_ns();
    *elapsed_ns = m1 - clock_mono0;
    if (*elapsed_ns == 0)
        return 0;
    return (uint64_t)((unsigned __int128)(t1 - clock_tsc0) *
                      TRACE_NS_PER_SEC / *elapsed_ns);
}

static uint64_t clock_calibrate(void)
{
    unsigned aux;
    uint64_t elapsed, hz;
    clock_mono0 = clock_monotonic_ns();
    clock_tsc0 = __rdtscp(&aux);
    do
        hz = clock_tsc_hz(&elapsed);
    while (elapsed < CLOCK_CALIBRATE_NS);
    return hz;
}
#endif

/* At the end: the frequency over the whole run, if that is longer. */
void clock_write_final(void)
{
#ifdef RECORD_HAVE_TSC
    uint64_t elapsed, hz;
    uint8_t payload[TRACE_VARINT_MAX];
    if (!record_clock_tsc)
        return;
    hz = clock_tsc_hz(&elapsed);
    if (elapsed <= CLOCK_CALIBRATE_NS || hz == 0)
        return;
    session_write_small(TRACE_CHUNK_CLOCK, payload,
                        trace_encode_clock(payload, sizeof(payload), hz));
#endif
}

/* Once per process tree (a fork child keeps its parent's choice). */
void clock_choose(void)
{
    static int chosen;
    if (chosen)
        return;
    chosen = 1;
#ifdef RECORD_HAVE_TSC
    if (getenv("MALLARD_RECORD_CLOCK_MONOTONIC") || !clock_tsc_trusted())
        return;
    clock_rate_hz = clock_calibrate();
    record_clock_tsc = clock_rate_hz > 0;
    record_dense_ticks = clock_rate_hz / (TRACE_NS_PER_SEC /
                                             RECORD_DENSE_NS);
#endif
}
