/*
 * prodcons.c - producer threads malloc, consumer threads free.
 *
 * Every block crosses threads: a producer mallocs it (16 B to 64 KiB by
 * default), fills it and pushes it into a bounded queue; a consumer pops
 * it, checks it and frees it.  Runs a fixed number of blocks per
 * producer, or with --seconds for a fixed time, sampling VmRSS every
 * RSS_SAMPLE_MS.  With --bound the run also checks that memory stays
 * flat: the highest RSS in the last third of the run may exceed the
 * highest RSS of the second sixth by at most the bound.  A steady stream
 * with a bounded queue needs bounded memory; growth means remote frees
 * are not reaching the memory the producers reuse.
 */
#include "wl_opts.h"
#include "wl_pattern.h"
#include "wl_proc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* How often the main thread reads VmRSS in --seconds mode. */
#define RSS_SAMPLE_MS 50
/* Upper bound on stored samples: 3600 s at 20 samples per second. */
#define RSS_SAMPLES_MAX (3600 * (1000 / RSS_SAMPLE_MS))
/* In --seconds mode RSS is printed once a second (every sample with
 * --verbose). */
#define SAMPLES_PER_REPORT (1000 / RSS_SAMPLE_MS)
/* Fewest samples that give each comparison window at least one. */
#define RSS_MIN_SAMPLES 6

static const char usage[] =
    "usage: prodcons [options]\n"
    "Producers malloc and fill blocks, consumers check and free them.\n"
    "  --threads N      producers, and as many consumers (default 2)\n"
    "  --iterations N   blocks per producer (default 100000)\n"
    "  --seconds S      run S seconds instead of --iterations\n"
    "  --min-size B     smallest block (default 16)\n"
    "  --max-size B     largest block (default 64K)\n"
    "  --slots N        queue capacity in blocks (default 256)\n"
    "  --bound B        with --seconds: fail if the RSS peak of the last\n"
    "                   third exceeds that of the second sixth by > B\n"
    "  --verbose        print every RSS sample (default: one a second)\n"
    "  --seed N         seed for the sizes (default 1)\n";

struct item {
    unsigned char *block;
    size_t size;
    unsigned producer;
    uint64_t index;
};

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t not_full, not_empty;
    struct item *items;
    long capacity, head, count;
    long producers_left;
    long pushes, depth_sum;   /* mean depth seen by pushes: the live
                                 set, which the threads' relative
                                 speeds decide, not the allocator */
};

struct shared {
    struct queue q;
    const struct wl_opts *o;
    atomic_int stop;
    atomic_long consumed;
};

struct worker {
    struct shared *sh;
    unsigned id;
};

static void queue_push(struct queue *q, const struct item *it)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == q->capacity)
        pthread_cond_wait(&q->not_full, &q->lock);
    q->items[(q->head + q->count) % q->capacity] = *it;
    q->count++;
    q->pushes++;
    q->depth_sum += q->count;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

/* Returns 0 once the queue is empty and every producer has finished. */
static int queue_pop(struct queue *q, struct item *it)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && q->producers_left > 0)
        pthread_cond_wait(&q->not_empty, &q->lock);
    int got = q->count > 0;
    if (got) {
        *it = q->items[q->head];
        q->head = (q->head + 1) % q->capacity;
        q->count--;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->lock);
    return got;
}

static void *producer_main(void *p)
{
    struct worker *w = p;
    const struct wl_opts *o = w->sh->o;
    uint64_t rng = o->seed ^ ((uint64_t)w->id << 32);
    long limit = o->seconds > 0 ? -1 : o->iterations;
    for (uint64_t i = 0; limit < 0 || (long)i < limit; i++) {
        if (limit < 0 && atomic_load(&w->sh->stop))
            break;
        struct item it = { .producer = w->id, .index = i };
        it.size = wl_rand_size(&rng, (size_t)o->min_size,
                               (size_t)o->max_size);
        it.block = wl_malloc(it.size);
        wl_fill(it.block, it.size, wl_seed(w->id, i));
        queue_push(&w->sh->q, &it);
    }
    struct queue *q = &w->sh->q;
    pthread_mutex_lock(&q->lock);
    q->producers_left--;
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

static void *consumer_main(void *p)
{
    struct worker *w = p;
    struct item it;
    while (queue_pop(&w->sh->q, &it)) {
        wl_expect_intact(wl_check(it.block, it.size,
                                  wl_seed(it.producer, it.index)),
                         it.block, it.size, "block");
        free(it.block);
        atomic_fetch_add(&w->sh->consumed, 1);
    }
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

struct rss_log {
    long *kib;
    long count;
};

/* Sample VmRSS until the run time is over, then tell producers to stop. */
static void watch_rss(struct shared *sh, struct rss_log *log)
{
    double start = wl_now(), end = start + sh->o->seconds;
    while (wl_now() < end && log->count < RSS_SAMPLES_MAX) {
        sleep_ms(RSS_SAMPLE_MS);
        long kib = wl_rss_kib();
        log->kib[log->count++] = kib;
        if (sh->o->verbose || log->count % SAMPLES_PER_REPORT == 0)
            printf("prodcons: t=%.2f s rss=%ld KiB consumed=%ld\n",
                   wl_now() - start, kib, atomic_load(&sh->consumed));
    }
    atomic_store(&sh->stop, 1);
}

static long max_between(const struct rss_log *log, long from, long to)
{
    long most = 0;
    for (long i = from; i < to; i++)
        if (log->kib[i] > most)
            most = log->kib[i];
    return most;
}

/*
 * Fails the run when late RSS outgrew early RSS by more than the bound.
 * Both sides are peaks over a window (early: the second sixth of the run,
 * after warm-up; late: the last third), because a single sample swings
 * with how full the queue happens to be at that instant.
 */
static void check_flat(const struct wl_opts *o, const struct rss_log *log)
{
    if (log->count < RSS_MIN_SAMPLES)
        wl_fail("only %ld RSS samples; use a longer --seconds",
                log->count);
    long early = max_between(log, log->count / 6, log->count / 3);
    long late = max_between(log, 2 * log->count / 3, log->count);
    printf("prodcons: rss early max %ld KiB, late max %ld KiB, "
           "bound %ld KiB\n", early, late, o->bound_kib);
    if (o->bound_kib > 0 && late > early + o->bound_kib)
        wl_fail("RSS grew from %ld KiB to %ld KiB (bound %ld KiB)",
                early, late, o->bound_kib);
}

static void start_all(struct shared *sh, pthread_t *t, struct worker *w)
{
    long n = sh->o->threads;
    for (long i = 0; i < 2 * n; i++) {
        w[i] = (struct worker){ .sh = sh, .id = (unsigned)(i % n) };
        void *(*body)(void *) = i < n ? producer_main : consumer_main;
        if (pthread_create(&t[i], NULL, body, &w[i]) != 0)
            wl_fail("cannot start thread %ld", i);
    }
}

static double run(struct shared *sh, struct rss_log *log)
{
    long n = sh->o->threads;
    pthread_t *t = wl_malloc(sizeof *t * 2 * (size_t)n);
    struct worker *w = wl_malloc(sizeof *w * 2 * (size_t)n);
    double start = wl_now();
    start_all(sh, t, w);
    if (sh->o->seconds > 0)
        watch_rss(sh, log);
    for (long i = 0; i < 2 * n; i++)
        pthread_join(t[i], NULL);
    double secs = wl_now() - start;
    free(w);
    free(t);
    return secs;
}

int main(int argc, char **argv)
{
    struct wl_opts o = { .threads = 2, .iterations = 100000,
                         .min_size = 16, .max_size = 64L << 10,
                         .slots = 256, .seed = 1 };
    wl_set_name(argv[0]);
    wl_opts_parse(&o, argc, argv, WL_OPT_THREADS | WL_OPT_ITERATIONS |
                  WL_OPT_SECONDS | WL_OPT_MIN_SIZE | WL_OPT_MAX_SIZE |
                  WL_OPT_SLOTS | WL_OPT_BOUND | WL_OPT_VERBOSE |
                  WL_OPT_SEED, usage);
    if (o.bound_kib > 0 && o.seconds <= 0)
        wl_fail("--bound needs --seconds (RSS is sampled over time)");
    struct shared sh = { .o = &o };
    pthread_mutex_init(&sh.q.lock, NULL);
    pthread_cond_init(&sh.q.not_full, NULL);
    pthread_cond_init(&sh.q.not_empty, NULL);
    sh.q.capacity = o.slots;
    sh.q.producers_left = o.threads;
    sh.q.items = wl_malloc(sizeof *sh.q.items * (size_t)o.slots);
    struct rss_log log = { .kib = wl_malloc(sizeof(long) *
                                            RSS_SAMPLES_MAX) };
    double secs = run(&sh, &log);
    if (o.seconds > 0)
        check_flat(&o, &log);
    long done = atomic_load(&sh.consumed);
    printf("prodcons: ok: %ld blocks by %ld producers in %.3f s "
           "(%.0f blocks/s), rss %ld KiB, mean queue depth %.0f\n",
           done, o.threads, secs, done / secs, wl_rss_kib(),
           (double)sh.q.depth_sum / (double)(sh.q.pushes ? sh.q.pushes : 1));
    free(log.kib);
    free(sh.q.items);
    return 0;
}
