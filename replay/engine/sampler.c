/*
 * sampler.c - RSS and ideal live bytes over time, from a thread that
 * wakes every few milliseconds during the run, and the peak.
 *
 * What is the allocator's: anonymous resident memory (heaps, mmaps,
 * the break).  The harness keeps everything big of its own (the trace
 * image, a memfd; its tables and samples, MAP_SHARED) in shared memory,
 * which the kernel counts apart from anonymous memory, and faults it
 * all in before the run, so it is out of the figure by construction,
 * not subtracted as an estimate.  What anonymous memory the harness
 * still has (thread stacks, the C library's data: a few hundred KiB)
 * is in baseline_anon_bytes.
 *
 * RSS comes from /proc/self/statm, read with pread on a descriptor
 * opened before the run (no allocation, ~10 us a read): resident less
 * shared (file and shmem pages) is the anonymous part.  Live bytes are
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

uint64_t sampler_rss_bytes(int statm_fd, uint64_t *anon_bytes)
{
    char buf[SAMPLER_FIELD_LEN];
    ssize_t n = pread(statm_fd, buf, sizeof(buf) - 1, 0);
    *anon_bytes = 0;
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    strtoull(buf, &end, 10);              /* size; rss, shared follow */
    uint64_t pages = strtoull(end, &end, 10);
    uint64_t shared = strtoull(end, NULL, 10);
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    *anon_bytes = (pages > shared ? pages - shared : 0) * page;
    return pages * page;
}

static uint64_t sampler_status_kib(const char *status, const char *key)
{
    const char *at = strstr(status, key);
    return at ? strtoull(at + strlen(key), NULL, 10) : 0;
}

/*
 * VmHWM from /proc/self/status, in bytes; 0 if unreadable; *peak_anon
 * the anonymous part of that peak: VmHWM less the file and shared
 * memory resident now, which the run does not change (all faulted in
 * before it).  Read with open and read into a stack buffer, not stdio:
 * the child must not call the allocator under test for itself (it may
 * be the one that failed).
 */
uint64_t sampler_peak_rss_bytes(uint64_t *peak_anon)
{
    char buf[SAMPLER_STATUS_LEN];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    *peak_anon = 0;
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    uint64_t hwm = sampler_status_kib(buf, "VmHWM:");
    uint64_t other = sampler_status_kib(buf, "RssFile:") +
                     sampler_status_kib(buf, "RssShmem:");
    *peak_anon = (hwm > other ? hwm - other : 0) * 1024u;
    return hwm * 1024u;
}

static int64_t sampler_live_bytes(struct replay_shared *run)
{
    int64_t sum = 0;
    for (uint32_t i = 0; i < run->worker_count; i++) {
        const struct replay_worker *w = &run->workers[i];
        sum += worker_live_at(w, atomic_load_explicit(&w->live_ops,
                                                      memory_order_relaxed));
    }
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
        struct replay_sample *s = &run->samples[run->sample_count++];
        s->time_ns = cycles_monotonic_ns() - run->start_ns;
        s->rss_bytes = sampler_rss_bytes(run->statm_fd, &s->anon_bytes);
        s->live_bytes = sampler_live_bytes(run);
        if (last)
            return NULL;
        next += period;
        struct timespec ts = { .tv_sec = (time_t)(next / 1000000000u),
                               .tv_nsec = (long)(next % 1000000000u) };
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}
