/*
 * test_replay_engine.c - the replay engine in one process (no re-exec):
 * replays perform exactly the recorded ops, reach the recorded peak of
 * live bytes, never deadlock on cross-thread frees from 1 to 64 threads,
 * multiply counts by --instances, and reject unsound traces with a
 * message.  Allocator failures across processes: test_failures.sh.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder.h"
#include "check.h"
#include "cycles.h"
#include "run.h"

#define TEST_WATCHDOG_S 100   /* a deadlock fails the test, not CI */


static struct replay_result test_result;

/* Builds the image of b's trace and replays it in this process. */
static struct replay_image *test_replay(struct builder *b,
                                        const struct replay_options *opt)
{
    char err[REPLAY_MSG_LEN] = "";
    int fd;
    struct replay_image *image = replay_image_build(&b->trace, opt, 0, &fd,
                                                    err, sizeof(err));
    CHECK_MSG(image != NULL, "image: %s", err);
    if (!image)
        return NULL;
    replay_run(image, &test_result, NULL);
    CHECK_MSG(test_result.status == REPLAY_OK, "run: %s", test_result.message);
    return image;
}

static void test_counts_are(const struct builder *b, uint64_t times)
{
    uint64_t total = 0;
    for (unsigned k = 0; k < REPLAY_KIND_SLOTS; k++) {
        CHECK_MSG(test_result.kind_ops[k] == b->kind_counts[k] * times,
              "%s: replayed %llu, recorded %llu x %llu",
              replay_kind_name(k),
              (unsigned long long)test_result.kind_ops[k],
              (unsigned long long)b->kind_counts[k],
              (unsigned long long)times);
        total += b->kind_counts[k] * times;
    }
    CHECK_MSG(test_result.ops == total, "ops %llu, expected %llu",
          (unsigned long long)test_result.ops, (unsigned long long)total);
}

/* A usable_size question on another thread's block is replayed when the
 * asking thread frees the block itself (nothing can free it between),
 * not when the owner frees it; the report counts those apart. */
static void test_cross_thread_usable_size(void)
{
    struct builder b;
    struct replay_options opt;
    builder_usable_cross(&b, 200);
    builder_options(&opt);
    struct replay_image *image = test_replay(&b, &opt);
    if (image) {
        CHECK_MSG(image->kind_counts[TRACE_USABLE_SIZE] == 400 &&
              image->usable_size_not_called == 200, "usable %llu, not "
              "called %llu", (unsigned long long)
              image->kind_counts[TRACE_USABLE_SIZE],
              (unsigned long long)image->usable_size_not_called);
        CHECK_MSG(test_result.kind_ops[TRACE_USABLE_SIZE] == 200,
              "usable_size calls %llu", (unsigned long long)
              test_result.kind_ops[TRACE_USABLE_SIZE]);
        replay_image_unmap(image);
    }
    builder_free(&b);
}

/* Every call timed by default; one in N with --latency-every N. */
static void test_latency_counts_follow_sampling(void)
{
    struct builder b;
    struct replay_options opt;
    builder_cross(&b, 2, 500, 8);
    builder_options(&opt);
    replay_image_unmap(test_replay(&b, &opt));
    for (unsigned k = 0; k < REPLAY_KIND_SLOTS; k++)
        CHECK_MSG(test_result.latency[k].count == test_result.kind_ops[k],
              "%s: %llu timed of %llu", replay_kind_name(k),
              (unsigned long long)test_result.latency[k].count,
              (unsigned long long)test_result.kind_ops[k]);
    opt.latency_every = 8;
    replay_image_unmap(test_replay(&b, &opt));
    test_counts_are(&b, 1);
    uint64_t mallocs = test_result.kind_ops[TRACE_MALLOC];
    uint64_t timed = test_result.latency[TRACE_MALLOC].count;
    CHECK_MSG(timed >= mallocs / 8 - mallocs / 40 &&
          timed <= mallocs / 8 + mallocs / 40, "timed %llu of %llu",
          (unsigned long long)timed, (unsigned long long)mallocs);
    builder_free(&b);
}

static void test_replay_performs_every_recorded_op(void)
{
    struct builder b;
    struct replay_options opt;
    builder_mixed(&b, 300);
    builder_options(&opt);
    struct replay_image *image = test_replay(&b, &opt);
    test_counts_are(&b, 1);
    CHECK_MSG(test_result.exact_peak_live_bytes == b.peak,
          "peak live %lld, recorded %lld",
          (long long)test_result.exact_peak_live_bytes, (long long)b.peak);
    CHECK_MSG(test_result.final_live_bytes == b.live, "final live %lld, "
          "recorded %lld", (long long)test_result.final_live_bytes,
          (long long)b.live);
    CHECK_MSG(test_result.peak_live_bytes == (uint64_t)b.peak, "reported "
          "peak %llu", (unsigned long long)test_result.peak_live_bytes);
    CHECK_MSG(test_result.wall_ns > 0 && test_result.peak_rss_bytes > 0,
          "wall %llu rss %llu", (unsigned long long)test_result.wall_ns,
          (unsigned long long)test_result.peak_rss_bytes);
    replay_image_unmap(image);
    builder_free(&b);
}

/*
 * The replay counts no bytes while it runs: each op's count comes from
 * the image (slots.c) and the peak's windows are filled in after the
 * run (peak.c).  Every copy of the loop (worker.c: none or not, --touch
 * pages or not, and the general one under --verify) must end its
 * windows where the counts say, so all give the recorded peak and
 * final count of a one-thread trace with every kind of op.
 */
static void test_every_loop_counts_the_recorded_peak(void)
{
    static const struct { int bump, verify, touch; } loops[] = {
        { 0, 0, REPLAY_TOUCH_PAGES }, { 0, 0, REPLAY_TOUCH_FIRST },
        { 1, 0, REPLAY_TOUCH_PAGES }, { 1, 0, REPLAY_TOUCH_NONE },
        { 0, 1, REPLAY_TOUCH_PAGES }, { 1, 1, REPLAY_TOUCH_PAGES },
    };
    struct builder b;
    struct replay_options opt;
    builder_mixed(&b, 2000);
    for (size_t k = 0; k < sizeof(loops) / sizeof(loops[0]); k++) {
        builder_options(&opt);
        opt.bump = loops[k].bump;
        opt.verify = loops[k].verify;
        opt.touch = (enum replay_touch)loops[k].touch;
        opt.latency_every = 16;
        replay_image_unmap(test_replay(&b, &opt));
        test_counts_are(&b, 1);
        CHECK_MSG(test_result.exact_peak_live_bytes == b.peak &&
              test_result.final_live_bytes == b.live, "loop %zu: peak "
              "%lld (recorded %lld), final %lld (recorded %lld)", k,
              (long long)test_result.exact_peak_live_bytes,
              (long long)b.peak, (long long)test_result.final_live_bytes,
              (long long)b.live);
    }
    builder_free(&b);
}

static void test_verify_and_touch_all_pass_on_glibc(void)
{
    struct builder b;
    struct replay_options opt;
    builder_mixed(&b, 100);
    builder_options(&opt);
    opt.verify = 1;
    opt.touch = REPLAY_TOUCH_ALL;
    replay_image_unmap(test_replay(&b, &opt));
    test_counts_are(&b, 1);
    opt.verify = 0;
    replay_image_unmap(test_replay(&b, &opt));
    test_counts_are(&b, 1);
    builder_free(&b);
}

static void test_cross_thread_frees_never_deadlock_1_to_64(void)
{
    static const uint32_t counts[] = { 1, 2, 3, 4, 8, 16, 32, 64 };
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        struct builder b;
        struct replay_options opt;
        builder_cross(&b, counts[i], 300, 8);
        builder_options(&opt);
        opt.verify = 1;
        replay_image_unmap(test_replay(&b, &opt));
        test_counts_are(&b, 1);
        CHECK_MSG(test_result.final_live_bytes == 0, "%u threads: %lld bytes "
              "left live", counts[i],
              (long long)test_result.final_live_bytes);
        CHECK_MSG(test_result.threads == counts[i], "threads %u",
              test_result.threads);
        builder_free(&b);
    }
}

/* Edges in an image: how many, and whether each waits for an op of
 * another thread recorded strictly earlier (the no-cycle argument of
 * pacing.c) that is marked as a target. */
static uint64_t test_count_edges(const struct replay_image *image)
{
    const struct replay_thread_desc *desc = replay_image_threads(image);
    const struct replay_packed_op *ops = replay_image_ops(image);
    const struct replay_op_extra *extras = replay_image_extras(image);
    const uint64_t *times = replay_image_times(image);
    uint64_t edges = 0;
    for (uint32_t t = 0; t < image->thread_count; t++) {
        uint64_t x = desc[t].first_extra;
        for (uint64_t i = 0; i < desc[t].op_count; i++) {
            uint64_t at = desc[t].first_op + i;
            if (!(ops[at].flags & REPLAY_OP_EXTRA))
                continue;
            const struct replay_op_extra *e = &extras[x++];
            if (e->dep_thread == TRACE_NO_DEP)
                continue;
            edges++;
            uint64_t target = desc[e->dep_thread].first_op + e->dep_op;
            CHECK_MSG(e->dep_thread != t && times[target] < times[at] &&
                  (ops[target].flags & REPLAY_OP_IS_DEP_TARGET),
                  "thread %u op %llu: edge to thread %u op %u", t,
                  (unsigned long long)i, e->dep_thread, e->dep_op);
        }
    }
    return edges;
}

/* --max-lead adds edges that keep threads in step, and they neither
 * deadlock nor change what is replayed. */
static void test_max_lead_paces_without_deadlock(void)
{
    static const uint32_t counts[] = { 2, 3, 8, 64 };
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        struct builder b;
        struct replay_options opt;
        builder_cross(&b, counts[i], 200, 8);
        builder_options(&opt);
        char err[REPLAY_MSG_LEN] = "";
        int fd;
        struct replay_image *plain = replay_image_build(&b.trace, &opt, 0,
                                                        &fd, err,
                                                        sizeof(err));
        CHECK_MSG(plain != NULL, "image: %s", err);
        uint64_t block_edges = plain ? test_count_edges(plain) : 0;
        /* the image tells the trace's edges from those it adds */
        CHECK_MSG(!plain || (plain->trace_edges == block_edges &&
                         plain->added_edges == 0), "%u threads: trace "
              "edges %llu of %llu, added %llu", counts[i],
              (unsigned long long)(plain ? plain->trace_edges : 0),
              (unsigned long long)block_edges,
              (unsigned long long)(plain ? plain->added_edges : 0));
        replay_image_unmap(plain);
        opt.max_lead_us = 1;   /* ten ops of this builder's clock */
        struct replay_image *paced = test_replay(&b, &opt);
        if (paced) {
            CHECK_MSG(test_count_edges(paced) > block_edges, "%u threads: no "
                  "pacing edge added", counts[i]);
            CHECK_MSG(paced->added_edges == test_count_edges(paced) -
                  block_edges, "%u threads: added edges miscounted",
                  counts[i]);
            replay_image_unmap(paced);
        }
        test_counts_are(&b, 1);
        CHECK_MSG(test_result.final_live_bytes == 0, "%u threads: %lld bytes "
              "left live", counts[i],
              (long long)test_result.final_live_bytes);
        builder_free(&b);
    }
}

static void test_instances_multiply_counts(void)
{
    struct builder b;
    struct replay_options opt;
    builder_cross(&b, 4, 200, 4);
    builder_options(&opt);
    opt.instances = 3;
    replay_image_unmap(test_replay(&b, &opt));
    test_counts_are(&b, 3);
    CHECK_MSG(test_result.peak_live_bytes == 3 * (uint64_t)b.peak,
          "peak live %llu, recorded %lld x 3",
          (unsigned long long)test_result.peak_live_bytes,
          (long long)b.peak);
    builder_free(&b);
}

static void test_none_allocator_replays_everything(void)
{
    struct builder b;
    struct replay_options opt;
    builder_cross(&b, 4, 200, 8);
    builder_options(&opt);
    opt.bump = 1;
    opt.verify = 1;
    replay_image_unmap(test_replay(&b, &opt));
    test_counts_are(&b, 1);
    builder_free(&b);
    builder_mixed(&b, 50);
    replay_image_unmap(test_replay(&b, &opt));
    test_counts_are(&b, 1);
    builder_free(&b);
}

/* The sampler's timeline: ordered, ends with what is live at the end. */
static void test_rss_timeline_tracks_live_bytes(void)
{
    static struct replay_sample samples[REPLAY_MAX_SAMPLES];
    struct builder b;
    struct replay_options opt;
    char err[REPLAY_MSG_LEN] = "";
    int fd;
    builder_mixed(&b, 3000);
    builder_options(&opt);
    struct replay_image *image = replay_image_build(&b.trace, &opt, 0, &fd,
                                                    err, sizeof(err));
    CHECK_MSG(image != NULL, "image: %s", err);
    if (!image)
        return;
    replay_run(image, &test_result, samples);
    uint32_t n = test_result.sample_count;
    CHECK_MSG(n >= 2 && n <= REPLAY_MAX_SAMPLES, "%u samples", n);
    for (uint32_t i = 1; i < n; i++)
        CHECK_MSG(samples[i].time_ns >= samples[i - 1].time_ns &&
              samples[i].rss_bytes > 0, "sample %u out of order", i);
    if (n >= 1)
        CHECK_MSG(samples[n - 1].live_bytes == b.live, "last sample live "
              "%lld, final %lld", (long long)samples[n - 1].live_bytes,
              (long long)b.live);
    replay_image_unmap(image);
    builder_free(&b);
}

static void test_every_touch_mode_replays(void)
{
    struct builder b;
    struct replay_options opt;
    builder_mixed(&b, 200);
    builder_options(&opt);
    for (int t = REPLAY_TOUCH_NONE; t <= REPLAY_TOUCH_ALL; t++) {
        opt.touch = (enum replay_touch)t;
        replay_image_unmap(test_replay(&b, &opt));
        test_counts_are(&b, 1);
    }
    builder_free(&b);
}

static void test_recorded_timing_keeps_the_gaps(void)
{
    struct builder b;
    struct replay_options opt;
    builder_cross(&b, 2, 100, 2);
    builder_options(&opt);
    opt.timing = REPLAY_TIMING_RECORDED;
    replay_image_unmap(test_replay(&b, &opt));
    CHECK_MSG(test_result.wall_ns >= b.trace.duration_ns - 100, "wall %llu ns"
          " shorter than the recording's %llu ns",
          (unsigned long long)test_result.wall_ns,
          (unsigned long long)b.trace.duration_ns);
    builder_free(&b);
}

/* A slot freed on thread 1 and reused on thread 0 must not race. */
static void test_slots_reused_across_threads_are_renamed(void)
{
    struct builder b;
    struct replay_options opt;
    builder_init(&b, 2);
    for (int r = 0; r < 2000; r++) {
        uint64_t at;
        uint32_t s = builder_alloc(&b, 0, TRACE_MALLOC, 64 + r % 100, 0,
                                   &at);
        builder_release(&b, 1, TRACE_FREE, s, 0, at);
    }
    CHECK_MSG(b.trace.slot_count == 1, "builder used %u slots",
          b.trace.slot_count);
    builder_options(&opt);
    opt.verify = 1;
    struct replay_image *image = test_replay(&b, &opt);
    /* thread 0 never frees, so past the bound it borrows thread 1's
     * freed slots (with an edge) instead of growing without end */
    CHECK_MSG(image && image->slot_count >= 2 && image->slot_count <= 2 + 2 *
          64, "renamed into %u slots", image ? image->slot_count : 0);
    test_counts_are(&b, 1);
    replay_image_unmap(image);
    builder_free(&b);
}

static void test_expect_rejected(struct builder *b, const char *why)
{
    struct replay_options opt;
    char err[REPLAY_MSG_LEN] = "";
    int fd;
    builder_options(&opt);
    struct replay_image *image = replay_image_build(&b->trace, &opt, 0,
                                                    &fd, err, sizeof(err));
    CHECK_MSG(image == NULL, "accepted a trace that %s", why);
    CHECK_MSG(strstr(err, why) != NULL, "message '%s' lacks '%s'", err, why);
    replay_image_unmap(image);
    builder_free(b);
}

static struct trace_op test_op(unsigned kind, uint32_t slot, uint32_t old,
                               uint32_t dep_thread, uint32_t dep_op)
{
    return (struct trace_op){ .kind = (uint8_t)kind, .size = 32,
        .slot = slot, .old_slot = old, .dep_thread = dep_thread,
        .dep_op = dep_op };
}

static void test_unsound_traces_are_rejected(void)
{
    struct builder b;
    builder_init(&b, 1);
    b.trace.slot_count = 4;
    builder_op(&b, 0, test_op(TRACE_FREE, TRACE_NO_SLOT, 2, TRACE_NO_DEP,
                              0));
    test_expect_rejected(&b, "holds no live block");

    builder_init(&b, 2);
    uint32_t s = builder_alloc(&b, 0, TRACE_MALLOC, 10, 0, NULL);
    builder_op(&b, 1, test_op(TRACE_FREE, TRACE_NO_SLOT, s, TRACE_NO_DEP,
                              0));
    test_expect_rejected(&b, "no dependency edge");

    builder_init(&b, 2);
    builder_op(&b, 0, test_op(TRACE_THREAD_START, TRACE_NO_SLOT,
                              TRACE_NO_SLOT, 1, 0));
    builder_op(&b, 1, test_op(TRACE_THREAD_START, TRACE_NO_SLOT,
                              TRACE_NO_SLOT, 0, 0));
    test_expect_rejected(&b, "cycle");

    builder_init(&b, 2);
    builder_op(&b, 1, test_op(TRACE_THREAD_START, TRACE_NO_SLOT,
                              TRACE_NO_SLOT, 0, 7));
    test_expect_rejected(&b, "points at no op");

    builder_init(&b, 1);
    builder_op(&b, 0, test_op(99, TRACE_NO_SLOT, TRACE_NO_SLOT,
                              TRACE_NO_DEP, 0));
    test_expect_rejected(&b, "unknown op kind");

    builder_init(&b, 1);
    b.trace.slot_count = 1;
    builder_op(&b, 0, test_op(TRACE_MALLOC, 0, TRACE_NO_SLOT,
                              TRACE_NO_DEP, 0));
    builder_op(&b, 0, test_op(TRACE_MALLOC, 0, TRACE_NO_SLOT,
                              TRACE_NO_DEP, 0));
    test_expect_rejected(&b, "slot that is live");
}

static void test_latency_quantiles_bound_the_truth(void)
{
    static struct replay_latency h;
    memset(&h, 0, sizeof(h));
    for (uint64_t v = 1; v <= 10000; v++)
        cycles_record(&h, v);
    uint64_t p50 = cycles_quantile(&h, 0.5);
    uint64_t p99 = cycles_quantile(&h, 0.99);
    CHECK_MSG(p50 >= 5000 && p50 <= 5000 * 5 / 4, "p50 %llu",
          (unsigned long long)p50);
    CHECK_MSG(p99 >= 9900 && p99 <= 10000, "p99 %llu",
          (unsigned long long)p99);
    CHECK_MSG(cycles_quantile(&h, 1.0) == 10000, "max quantile");
    for (unsigned b = 1; b < cycles_bucket(UINT64_MAX); b++)
        CHECK_MSG(cycles_bucket(cycles_bucket_upper(b)) == b &&
              cycles_bucket(cycles_bucket_upper(b) + 1) == b + 1,
              "bucket %u bounds", b);
}

/* A trace that alternates malloc and free: sampled timing must time
 * both (a fixed even stride would time only one of them). */
static void test_sampled_timing_is_not_in_step_with_the_trace(void)
{
    struct builder b;
    struct replay_options opt;
    builder_init(&b, 1);
    for (int r = 0; r < 20000; r++) {
        uint32_t s = builder_alloc(&b, 0, TRACE_MALLOC, 16 + r % 64, 0,
                                   NULL);
        builder_release(&b, 0, TRACE_FREE, s, TRACE_NO_DEP, 0);
    }
    builder_options(&opt);
    opt.latency_every = 2;
    replay_image_unmap(test_replay(&b, &opt));
    static const unsigned kinds[] = { TRACE_MALLOC, TRACE_FREE };
    for (unsigned i = 0; i < 2; i++) {
        unsigned k = kinds[i];
        uint64_t timed = test_result.latency[k].count;
        CHECK_MSG(timed > 20000 / 2 - 20000 / 10 &&
              timed < 20000 / 2 + 20000 / 10, "%s: %llu of 20000 timed",
              replay_kind_name(k), (unsigned long long)timed);
    }
    builder_free(&b);
}

/* --allocator none: slot memory per instance, contents kept. */
static void test_none_keeps_instances_apart(void)
{
    struct builder b;
    struct replay_options opt;
    builder_cross(&b, 3, 200, 8);
    builder_options(&opt);
    opt.bump = 1;
    opt.verify = 1;
    opt.instances = 4;
    replay_image_unmap(test_replay(&b, &opt));
    test_counts_are(&b, 4);
    CHECK_MSG(test_result.final_live_bytes == 0, "%lld bytes left live",
          (long long)test_result.final_live_bytes);
    builder_free(&b);
}

/* Op i of thread t waits for op `on` of thread `from`. */
static void test_edge(struct builder *b, uint32_t t, uint64_t i,
                      uint32_t from, uint64_t on)
{
    b->trace.threads[t].ops[i].dep_thread = from;
    b->trace.threads[t].ops[i].dep_op = (uint32_t)on;
}

/*
 * Two threads whose peak the edges fix, whatever the interleaving:
 * after small churn on both, thread 0 makes a (1 MiB), thread 1 then
 * makes b (2 MiB), thread 0 then frees a, thread 1 then frees b.  The
 * replay's own peak (peak.c) is exactly 3 MiB; with several threads
 * under churn its bounds lie close together.
 */
static void test_multithreaded_peak_is_exact(void)
{
    struct builder b;
    struct replay_options opt;
    builder_init(&b, 2);
    for (int i = 0; i < 3000; i++)
        for (uint32_t t = 0; t < 2; t++)
            builder_release(&b, t, TRACE_FREE, builder_alloc(&b, t,
                            TRACE_MALLOC, 16 + i % 2000, 0, NULL),
                            TRACE_NO_DEP, 0);
    uint64_t make_a, make_b, free_a;
    uint32_t a = builder_alloc(&b, 0, TRACE_MALLOC, 1 << 20, 0, &make_a);
    uint32_t s = builder_alloc(&b, 1, TRACE_MALLOC, 2 << 20, 0, &make_b);
    test_edge(&b, 1, make_b, 0, make_a);
    builder_release(&b, 0, TRACE_FREE, a, 1, make_b);
    free_a = b.trace.threads[0].op_count - 1;
    builder_release(&b, 1, TRACE_FREE, s, 0, free_a);
    builder_options(&opt);
    replay_image_unmap(test_replay(&b, &opt));
    CHECK_MSG(test_result.exact_peak_live_bytes == 3 << 20 &&
          test_result.replay_peak_live_low == 3 << 20,
          "exact %lld, bounds %lld-%lld",
          (long long)test_result.exact_peak_live_bytes,
          (long long)test_result.replay_peak_live_low,
          (long long)test_result.replay_peak_live_high);
    builder_free(&b);
    builder_cross(&b, 4, 2000, 8);
    replay_image_unmap(test_replay(&b, &opt));
    int64_t low = test_result.replay_peak_live_low;
    int64_t high = test_result.replay_peak_live_high;
    CHECK_MSG(low > 0 && low <= high && high - low <= 4 * 2 * PEAK_WINDOW_BYTES,
          "4 threads: bounds %lld-%lld", (long long)low, (long long)high);
    builder_free(&b);
}

/* A block of 2^32 bytes or more: its size travels in the op's extra;
 * none's slot memory would be too large, so bump.c serves it. */
static void test_huge_block_replays_under_none(void)
{
    struct builder b;
    struct replay_options opt;
    const uint64_t huge = 5ull << 30;
    builder_init(&b, 1);
    uint32_t s = builder_alloc(&b, 0, TRACE_MALLOC, huge, 0, NULL);
    builder_release(&b, 0, TRACE_FREE, s, TRACE_NO_DEP, 0);
    builder_options(&opt);
    opt.bump = 1;
    opt.touch = REPLAY_TOUCH_NONE;
    replay_image_unmap(test_replay(&b, &opt));
    test_counts_are(&b, 1);
    CHECK_MSG(test_result.exact_peak_live_bytes == (int64_t)huge,
          "peak live %lld", (long long)test_result.exact_peak_live_bytes);
    builder_free(&b);
}

/* The waiting thread of test_missed_wake_delays_never_hangs. */
struct test_sleeper {
    struct replay_shared *run;
    struct replay_progress *progress;
    _Atomic uint64_t returned_ns;
};

static void *test_sleeper_main(void *arg)
{
    struct test_sleeper *s = arg;
    edges_wait(s->run, s->progress, 5);
    atomic_store(&s->returned_ns, cycles_monotonic_ns());
    return NULL;
}

/* The publisher has no fence before it looks for sleepers (edges.c), so
 * a wake-up can in principle be missed: a sleeper whose op is done with
 * no wake at all (the count stored as a lost wake would leave it) must
 * still see it within its longest sleep (10 ms), not hang. */
static void test_missed_wake_delays_never_hangs(void)
{
    static struct replay_shared run;
    static struct replay_progress progress;
    struct test_sleeper s = { &run, &progress, 0 };
    pthread_t tid;
    CHECK(pthread_create(&tid, NULL, test_sleeper_main, &s) == 0);
    usleep(50000);   /* past its spins and 0.3 ms of yields: asleep */
    CHECK(atomic_load(&progress.waiters) == 1);
    uint64_t stored_ns = cycles_monotonic_ns();
    atomic_store(&progress.done, 6);   /* and no edges_wake_waiters */
    pthread_join(tid, NULL);
    uint64_t took_ns = atomic_load(&s.returned_ns) - stored_ns;
    CHECK_MSG(took_ns < 500000000u, "a missed wake-up held the sleeper "
              "%llu ms", (unsigned long long)(took_ns / 1000000));
}

int main(void)
{
    alarm(TEST_WATCHDOG_S);
    test_latency_quantiles_bound_the_truth();
    test_replay_performs_every_recorded_op();
    test_every_loop_counts_the_recorded_peak();
    test_cross_thread_usable_size();
    test_latency_counts_follow_sampling();
    test_verify_and_touch_all_pass_on_glibc();
    test_cross_thread_frees_never_deadlock_1_to_64();
    test_max_lead_paces_without_deadlock();
    test_instances_multiply_counts();
    test_none_allocator_replays_everything();
    test_sampled_timing_is_not_in_step_with_the_trace();
    test_none_keeps_instances_apart();
    test_huge_block_replays_under_none();
    test_multithreaded_peak_is_exact();
    test_recorded_timing_keeps_the_gaps();
    test_rss_timeline_tracks_live_bytes();
    test_every_touch_mode_replays();
    test_slots_reused_across_threads_are_renamed();
    test_unsound_traces_are_rejected();
    test_missed_wake_delays_never_hangs();
    if (!check_failures)
        printf("all replay engine checks passed\n");
    CHECK_DONE();
}
