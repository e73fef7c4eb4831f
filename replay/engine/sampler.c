/*
 * sampler.c - RSS and ideal live bytes over time, from a thread that
 * wakes every few milliseconds during the run.
 *
 * RSS comes from /proc/self/statm, read with pread on a descriptor
 * opened before the run (no allocation, ~10 us a read).  Live bytes are
 * the sum of the workers' own counters, each written only by its thread,
 * so the hot path has no shared counter.  When the sample table is full
 * the sampler keeps every other sample and doubles its period, so a run
 * of any length fits REPLAY_MAX_SAMPLES with even spacing.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cycles.h"
#include "run.h"

#define SAMPLER_PERIOD_NS 2000000u  /* 2 ms: 500 samples a second */
#define SAMPLER_FIELD_LEN 128       /* /proc/self/statm: one short line */
#define SAMPLER_STATUS_LEN 8192     /* /proc/self/status is ~1.5 KiB */

uint64_t sampler_rss_bytes(int statm_fd)
{
    char buf[SAMPLER_FIELD_LEN];
    ssize_t n = pread(statm_fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    strtoull(buf, &end, 10);              /* size; rss follows */
    uint64_t pages = strtoull(end, NULL, 10);
    return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

/*
 * VmHWM from /proc/self/status, in bytes; 0 if unreadable.  Read with
 * open and read into a stack buffer, not stdio: the child must not call
 * the allocator under test for itself (it may be the one that failed).
 */
uint64_t sampler_peak_rss_bytes(void)
{
    char buf[SAMPLER_STATUS_LEN];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *at = strstr(buf, "VmHWM:");
    return at ? strtoull(at + 6, NULL, 10) * 1024u : 0;
}

static int64_t sampler_live_bytes(struct replay_shared *run)
{
    int64_t sum = 0;
    for (uint32_t i = 0; i < run->worker_count; i++)
        sum += atomic_load_explicit(&run->workers[i].live,
                                    memory_order_relaxed);
    return sum;
}

static void sampler_halve(struct replay_shared *run)
{
    for (uint32_t i = 0; i < REPLAY_MAX_SAMPLES / 2; i++)
        run->samples[i] = run->samples[2 * i];
    run->sample_count = REPLAY_MAX_SAMPLES / 2;
}

void *sampler_main(void *arg)
{
    struct replay_shared *run = arg;
    edges_wait_start(run);   /* started before the clock, parked */
    uint64_t period = SAMPLER_PERIOD_NS, next = run->start_ns;
    for (;;) {
        int last = atomic_load(&run->stop_sampler) != 0;
        if (run->sample_count == REPLAY_MAX_SAMPLES) {
            sampler_halve(run);
            period *= 2;
        }
        run->samples[run->sample_count++] = (struct replay_sample){
            .time_ns = cycles_monotonic_ns() - run->start_ns,
            .rss_bytes = sampler_rss_bytes(run->statm_fd),
            .live_bytes = sampler_live_bytes(run),
        };
        if (last)
            return NULL;
        next += period;
        struct timespec ts = { .tv_sec = (time_t)(next / 1000000000u),
                               .tv_nsec = (long)(next % 1000000000u) };
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}
