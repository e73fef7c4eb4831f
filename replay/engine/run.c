/*
 * run.c - one run inside the child: lays out the tables, starts one OS
 * thread per recorded thread (times --instances), releases them all at
 * once and gathers the measurements.
 *
 * Order matters for honest numbers: every table is mapped and
 * pre-faulted, every thread created and parked, and the cycle counter
 * calibrated before the clock starts; the timed region is from the
 * release of the start barrier to the last thread's end (each worker
 * reads the clock as it finishes).  CPU time and
 * page faults are getrusage deltas over the same region (they include
 * the sampler thread's small share).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cycles.h"
#include "run.h"

#define RUN_STACK_BYTES (256u << 10) /* verify and touch need little */
#define RUN_TABLES 8   /* the mappings of struct run_tables */
/* Seeds the workers' timing-gap generators (any odd constant; this
 * one is 2^64 / golden ratio, so seeds differ in many bits). */
#define RUN_RNG_SEED 0x9e3779b97f4a7c15ull

/* Shared, so that RSS counts the harness's tables apart from the
 * allocator's anonymous memory (sampler.c); populated before the run. */
static void *run_map(size_t bytes)
{
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

struct run_tables {
    struct replay_progress *progress;
    void **block_ptr;
    uint64_t *block_size;          /* --verify only */
    struct replay_worker *workers;
    struct replay_latency *latency;
    struct replay_sample *samples;
    struct replay_plan *plans;     /* per recorded thread */
    struct peak_window *windows;   /* every worker's peak log */
    size_t sizes[RUN_TABLES];
};

/*
 * The most windows thread t's peak log can need (peak.c, worker.c): one
 * per PEAK_WINDOW_BYTES moved (each byte allocated is freed at most
 * once), two per big block (one closes before it) and two per edge (a
 * wait is a window), plus the last.  More (--timing recorded's waits)
 * merge in pairs (peak_coarsen), which keeps the bounds true.
 */
static uint64_t run_windows_of(const struct replay_image *image,
                               uint32_t t)
{
    const struct replay_thread_desc *d = &replay_image_threads(image)[t];
    const struct replay_packed_op *op = replay_image_ops(image) +
                                        d->first_op;
    const struct replay_op_extra *x = replay_image_extras(image) +
                                      d->first_extra;
    uint64_t moved = 0, rare = 0;
    for (uint64_t i = 0; i < d->op_count; i++, op++) {
        uint64_t bytes = op->size;
        if (op->flags & REPLAY_OP_EXTRA) {
            bytes = x->size * (x->arg ? x->arg : 1);
            rare += x->dep_thread != TRACE_NO_DEP;
            x++;
        }
        moved += bytes < PEAK_WINDOW_BYTES ? bytes : 0;
        rare += bytes >= PEAK_WINDOW_BYTES;
    }
    uint64_t n = 2 * moved / PEAK_WINDOW_BYTES + 2 * rare + 64;
    return n < PEAK_MAX_WINDOWS ? n : PEAK_MAX_WINDOWS;
}

/* Counts each thread's ops by kind before the run (see worker.c). */
static void run_plan(const struct replay_image *image,
                     struct replay_plan *plans)
{
    const struct replay_thread_desc *desc = replay_image_threads(image);
    const struct replay_packed_op *ops = replay_image_ops(image);
    for (uint32_t t = 0; t < image->thread_count; t++) {
        const struct replay_packed_op *op = ops + desc[t].first_op;
        for (uint64_t i = 0; i < desc[t].op_count; i++, op++) {
            int called = !(op->flags & REPLAY_OP_NO_CALL);
            /* a deferred usable_size is not performed; thread start
             * and exit are performed, though not calls */
            plans[t].kind_ops[op->kind] += called ||
                                           op->kind != TRACE_USABLE_SIZE;
            plans[t].calls += called;
        }
        plans[t].windows = run_windows_of(image, t);
    }
}

static int run_map_tables(struct run_tables *t, uint32_t workers,
                          uint64_t slots, const struct replay_image *image)
{
    uint32_t threads = image->thread_count;
    t->sizes[5] = threads * sizeof(struct replay_plan);
    t->plans = run_map(t->sizes[5]);
    if (!t->plans)
        return -1;
    run_plan(image, t->plans);
    size_t windows = 0;
    for (uint32_t i = 0; i < threads; i++)
        windows += t->plans[i].windows;
    windows *= (size_t)image->options.instances;
    t->sizes[0] = workers * sizeof(struct replay_progress);
    t->sizes[1] = slots * sizeof(void *);
    t->sizes[7] = image->options.verify ? slots * sizeof(uint64_t) : 0;
    t->sizes[2] = workers * sizeof(struct replay_worker);
    t->sizes[3] = (size_t)workers * REPLAY_KIND_SLOTS *
                  sizeof(struct replay_latency);
    t->sizes[4] = REPLAY_MAX_SAMPLES * sizeof(struct replay_sample);
    t->sizes[6] = windows * sizeof(struct peak_window);
    t->progress = run_map(t->sizes[0]);
    t->block_ptr = run_map(t->sizes[1]);
    t->block_size = run_map(t->sizes[7]);
    t->workers = run_map(t->sizes[2]);
    t->latency = run_map(t->sizes[3]);
    t->samples = run_map(t->sizes[4]);
    t->windows = run_map(t->sizes[6]);
    return t->progress && t->block_ptr && t->block_size && t->workers &&
           t->latency && t->samples && t->plans && t->windows ? 0 : -1;
}

static void run_unmap_tables(struct run_tables *t)
{
    void *maps[RUN_TABLES] = { t->progress, t->block_ptr, t->workers,
                               t->latency, t->samples, t->plans,
                               t->windows, t->block_size };
    for (int i = 0; i < RUN_TABLES; i++)
        if (maps[i])
            munmap(maps[i], t->sizes[i] ? t->sizes[i] : 1);
}


/* Where worker w's thread and instance find their ops and tables. */
static void run_place_worker(struct replay_shared *run,
                             struct run_tables *t, struct replay_worker *w)
{
    const struct replay_image *image = run->image;
    const struct replay_thread_desc *d = &replay_image_threads(image)[
        w->thread];
    uint32_t n = image->thread_count;
    w->ops = replay_image_ops(image) + d->first_op;
    w->extras = replay_image_extras(image) + d->first_extra;
    w->times = replay_image_times(image) + d->first_op;
    w->live_after = replay_image_live(image) + d->first_op;
    w->op_count = d->op_count;
    w->plan = &t->plans[w->thread];
    w->progress = t->progress + (size_t)w->instance * n;
    atomic_store(&w->progress[w->thread].wake_at, UINT64_MAX);
    w->block_ptr = t->block_ptr + (size_t)w->instance * image->slot_count;
    if (image->options.verify)
        w->block_size = t->block_size +
                        (size_t)w->instance * image->slot_count;
    if (run->none.base) {
        w->none_base = run->none.base +
                       w->instance * run->none.instance_bytes;
        w->none_offset = run->none.op_offset + d->first_op;
    }
}

static void run_init_workers(struct replay_shared *run,
                             struct run_tables *t)
{
    uint32_t n = run->image->thread_count;
    struct peak_window *windows = t->windows;
    for (uint32_t i = 0; i < run->worker_count; i++) {
        struct replay_worker *w = &t->workers[i];
        w->run = run;
        w->instance = i / n;
        w->thread = i % n;
        run_place_worker(run, t, w);
        w->peak = (struct peak_log){
            .window = windows, .cap = (uint32_t)w->plan->windows };
        windows += w->peak.cap;
        w->latency = t->latency + (size_t)i * REPLAY_KIND_SLOTS;
        w->api = run->api;
        w->touch = run->opt->touch;
        w->verify = run->opt->verify;
        w->paced = run->opt->timing == REPLAY_TIMING_RECORDED;
        w->latency_every = (uint32_t)run->opt->latency_every;
        w->timer_overhead = run->timer_overhead;
        /* distinct gaps per thread, so threads do not time in step */
        w->rng = RUN_RNG_SEED * (2u * (uint64_t)i + 1);
        w->until_timed = 1 + w->rng % (uint64_t)w->latency_every;
    }
}

static int run_start_threads(struct replay_shared *run)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, RUN_STACK_BYTES);
    int rc = 0;
    for (uint32_t i = 0; i < run->worker_count && rc == 0; i++) {
        rc = pthread_create(&run->workers[i].tid, &attr, worker_main,
                            &run->workers[i]);
        if (rc != 0) {
            /* the ones started must still end: let them run to abort */
            run->worker_count = i;
            edges_abort(run, REPLAY_SETUP_FAILED,
                        "cannot start a replay thread");
        }
    }
    pthread_attr_destroy(&attr);
    return rc;
}

static uint64_t run_tv_ns(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

/* The last worker's end: the run ends there, not when join returns
 * (waking the joining thread adds tens of microseconds, at random). */
static uint64_t run_last_end(const struct replay_shared *run)
{
    uint64_t last = 0;
    for (uint32_t i = 0; i < run->worker_count; i++)
        if (run->workers[i].end_ns > last)
            last = run->workers[i].end_ns;
    return last ? last : cycles_monotonic_ns();
}

/*
 * Restarts the kernel's count of peak resident memory (VmHWM) from what
 * is resident now, so that the peak read after the run is the run's:
 * what setup held for a while and gave back (none_pack.c's walk, the
 * allocator's first steps before the run, temporary tables) is not the
 * allocator's peak.  Linux 4.0 and later; where it fails, the peak
 * counts setup too, as it did before.
 */
static void run_reset_peak_rss(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (write(fd, "5", 1) != 1) {
        /* left as it was: an upper bound of the run's peak */
    }
    close(fd);
}

/*
 * The timed region: from the release of the parked workers (and the
 * sampler, started before it) to the last worker's end.  CPU time and
 * faults are getrusage deltas around it.
 */
static void run_timed(struct replay_shared *run, struct replay_result *res)
{
    struct rusage before, after;
    pthread_t sampler;
    run_reset_peak_rss();
    res->baseline_rss_bytes = sampler_rss_bytes(run->statm_fd,
                                                &res->baseline_anon_bytes);
    int sampling = pthread_create(&sampler, NULL, sampler_main, run) == 0;
    getrusage(RUSAGE_SELF, &before);
    uint64_t start_cycles = cycles_now();
    for (uint32_t i = 0; i < run->worker_count; i++)
        run->workers[i].peak.start_cycles = start_cycles;
    run->start_ns = cycles_monotonic_ns();
    edges_release_start(run);
    for (uint32_t i = 0; i < run->worker_count; i++)
        pthread_join(run->workers[i].tid, NULL);
    res->wall_ns = run_last_end(run) - run->start_ns;
    getrusage(RUSAGE_SELF, &after);
    atomic_store(&run->stop_sampler, 1);
    if (sampling)
        pthread_join(sampler, NULL);
    res->user_ns = run_tv_ns(after.ru_utime) - run_tv_ns(before.ru_utime);
    res->sys_ns = run_tv_ns(after.ru_stime) - run_tv_ns(before.ru_stime);
    res->minor_faults = (uint64_t)(after.ru_minflt - before.ru_minflt);
    res->major_faults = (uint64_t)(after.ru_majflt - before.ru_majflt);
}

static void run_collect(struct replay_shared *run, struct replay_result *res)
{
    res->peak_rss_bytes = sampler_peak_rss_bytes(&res->peak_anon_bytes);
    res->sample_count = run->sample_count;
    for (uint32_t i = 0; i < run->sample_count; i++)
        if (run->samples[i].live_bytes > res->sampled_peak_live_bytes)
            res->sampled_peak_live_bytes = run->samples[i].live_bytes;
    uint64_t wait_cycles = 0;
    for (uint32_t i = 0; i < run->worker_count; i++) {
        struct replay_worker *w = &run->workers[i];
        for (unsigned k = 0; k < REPLAY_KIND_SLOTS; k++) {
            cycles_merge(&res->latency[k], &w->latency[k]);
            res->kind_ops[k] += w->kind_ops[k];
        }
        res->ops += w->ops_done;
        res->calls += w->calls;
        res->final_live_bytes += worker_live_at(w, w->ops_done);
        peak_fill(&w->peak, w->ops, w->extras, w->live_after);
        res->edge_waits += w->waits;
        wait_cycles += w->wait_cycles;
    }
    res->edge_wait_ns = (uint64_t)((double)wait_cycles /
                                   res->cycles_per_ns);
    res->replay_peak_live_low = res->replay_peak_live_high = -1;
    peak_bounds(run->workers, run->worker_count,
                &res->replay_peak_live_low, &res->replay_peak_live_high);
    res->exact_peak_live_bytes =
        res->replay_peak_live_low == res->replay_peak_live_high ?
        res->replay_peak_live_high : -1;
    res->peak_live_bytes = run->image->peak_live_bytes *
                           (uint64_t)run->image->options.instances;
    if (atomic_load(&run->failed)) {
        res->status = run->status;
        snprintf(res->message, sizeof(res->message), "%s", run->message);
    }
}

static void run_fill_identity(const struct replay_image *image,
                              struct replay_result *res)
{
    res->threads = image->thread_count;
    res->instances = (uint32_t)image->options.instances;
    res->cycles_per_ns = cycles_calibrate();
    res->timer_overhead_cycles = cycles_overhead();
}

/* After a good run: frees what the trace left live, so an in-process
 * replay (the tests) leaves nothing behind.  Not timed. */
static void run_free_leftovers(struct replay_shared *run,
                               struct run_tables *t, uint64_t slots)
{
    /* none's blocks are slot memory, unmapped whole */
    if (run->status != REPLAY_OK || atomic_load(&run->failed) ||
        run->none.base)
        return;
    for (uint64_t i = 0; i < slots; i++)
        if (t->block_ptr[i])
            run->api->free(t->block_ptr[i]);
}

/* libc's entries; for none, none.c's memory or, where that would be too
 * large, bump.c (said in the result's library field). */
static const struct replay_alloc_api *run_pick_api(
    const struct replay_image *image, struct none_memory *none,
    struct replay_result *res)
{
    uint32_t k = (uint32_t)image->options.instances;
    if (!image->options.bump ||
        none_setup(none, image, k, image->options.verify) == 0)
        return libc_api();
    snprintf(res->library_resolved, sizeof(res->library_resolved),
             "(none: bump allocator in replayer; its blocks would need "
             "too much memory)");
    return bump_api();
}

int replay_run(const struct replay_image *image, struct replay_result *res,
               struct replay_sample *samples)
{
    struct run_tables t = { 0 };
    struct replay_shared run = {
        .image = image, .opt = &image->options, .statm_fd = -1,
        .worker_count = image->thread_count *
                        (uint32_t)image->options.instances,
    };
    memset(res, 0, sizeof(*res));
    run_fill_identity(image, res);
    run.timer_overhead = res->timer_overhead_cycles;
    run.api = run_pick_api(image, &run.none, res);
    run.statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    uint64_t slots = (uint64_t)image->slot_count *
                     (uint64_t)image->options.instances;
    if (!run.api || run_map_tables(&t, run.worker_count, slots,
                                   image) != 0) {
        res->status = REPLAY_SETUP_FAILED;
        snprintf(res->message, sizeof(res->message),
                 "cannot map the replay tables: %s", strerror(errno));
        run_unmap_tables(&t);
        none_teardown(&run.none);
        return -1;
    }
    run.workers = t.workers;
    run.samples = t.samples;
    run_init_workers(&run, &t);
    if (run_start_threads(&run) != 0)
        edges_release_start(&run);
    run_timed(&run, res);
    run_collect(&run, res);
    run_free_leftovers(&run, &t, slots);
    if (run.statm_fd >= 0)
        close(run.statm_fd);
    if (samples)
        memcpy(samples, t.samples,
               run.sample_count * sizeof(struct replay_sample));
    run_unmap_tables(&t);
    none_teardown(&run.none);
    return res->status == REPLAY_OK ? 0 : -1;
}
