/*
 * threadchurn.c - thousands of short-lived threads that allocate.
 *
 * Threads are started in batches of --threads; each mallocs --live
 * blocks, checks and frees most of them (leaving the freed blocks in
 * whatever per-thread cache the allocator keeps) and exits.  Joinable
 * threads hand KEEP_FOR_JOINER blocks to the thread that joins them,
 * which frees them after the owner is gone; every DETACH_EVERY-th thread
 * is detached and frees everything itself.  An allocator that does not
 * reclaim the caches and heaps of dead threads grows with each batch, so
 * the run fails when VmRSS at the end exceeds VmRSS after the warm-up
 * (WARMUP_DIV of the threads) by more than --bound.
 */
#include "wl_opts.h"
#include "wl_pattern.h"
#include "wl_proc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* Blocks a joinable thread leaves for its joiner to free. */
#define KEEP_FOR_JOINER 4
/* One thread in DETACH_EVERY is detached. */
#define DETACH_EVERY 4
/* RSS is first read once 1/WARMUP_DIV of the threads have run. */
#define WARMUP_DIV 10
#define KIB 1024L

static const char usage[] =
    "usage: threadchurn [options]\n"
    "Start and end many threads that allocate; RSS must stay bounded.\n"
    "  --threads N      threads alive at once (default 4)\n"
    "  --iterations N   threads in total (default 2000)\n"
    "  --live N         blocks each thread allocates (default 64)\n"
    "  --min-size B     smallest block (default 16)\n"
    "  --max-size B     largest block (default 8K)\n"
    "  --bound B        allowed RSS growth after warm-up (default 8M)\n";

struct block {
    unsigned char *mem;
    size_t size;
    uint64_t seed;
};

struct churner {
    const struct wl_opts *o;
    unsigned id;
    int detached;
    struct block kept[KEEP_FOR_JOINER];
};

static pthread_mutex_t detached_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t detached_done = PTHREAD_COND_INITIALIZER;
static long detached_running;

static void check_and_free(const struct block *b)
{
    wl_expect_intact(wl_check(b->mem, b->size, b->seed), b->mem, b->size,
                     "block");
    free(b->mem);
}

static void *churner_main(void *p)
{
    struct churner *c = p;
    long live = c->o->live;
    uint64_t rng = c->id;
    struct block *blocks = wl_malloc(sizeof *blocks * (size_t)live);
    for (long i = 0; i < live; i++) {
        struct block *b = &blocks[i];
        b->size = wl_rand_size(&rng, (size_t)c->o->min_size,
                               (size_t)c->o->max_size);
        b->mem = wl_malloc(b->size);
        b->seed = wl_seed(c->id, (uint64_t)i);
        wl_fill(b->mem, b->size, b->seed);
    }
    long keep = c->detached ? 0 : KEEP_FOR_JOINER;
    for (long i = 0; i < live; i++) {
        if (i < keep)
            c->kept[i] = blocks[i];
        else
            check_and_free(&blocks[i]);
    }
    free(blocks);
    if (c->detached) {
        pthread_mutex_lock(&detached_lock);
        detached_running--;
        pthread_cond_signal(&detached_done);
        pthread_mutex_unlock(&detached_lock);
        free(c);
    }
    return NULL;
}

static void start_detached(struct churner *c)
{
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&detached_lock);
    detached_running++;
    pthread_mutex_unlock(&detached_lock);
    if (pthread_create(&t, &attr, churner_main, c) != 0)
        wl_fail("cannot start detached thread %u", c->id);
    pthread_attr_destroy(&attr);
}

/* Run threads [first, first + count); returns when all have finished. */
static int is_detached(long id)
{
    return id % DETACH_EVERY == 0;
}

static void run_batch(const struct wl_opts *o, long first, long count,
                      pthread_t *t, struct churner **c)
{
    for (long i = 0; i < count; i++) {
        c[i] = wl_malloc(sizeof **c);
        *c[i] = (struct churner){ .o = o, .id = (unsigned)(first + i),
                                  .detached = is_detached(first + i) };
        if (c[i]->detached)
            start_detached(c[i]);
        else if (pthread_create(&t[i], NULL, churner_main, c[i]) != 0)
            wl_fail("cannot start thread %ld", first + i);
    }
    for (long i = 0; i < count; i++) {
        if (is_detached(first + i))
            continue;  /* it frees its own record, maybe already */
        pthread_join(t[i], NULL);
        long keep = o->live < KEEP_FOR_JOINER ? o->live : KEEP_FOR_JOINER;
        for (long k = 0; k < keep; k++)
            check_and_free(&c[i]->kept[k]);
        free(c[i]);
    }
    pthread_mutex_lock(&detached_lock);
    while (detached_running > 0)
        pthread_cond_wait(&detached_done, &detached_lock);
    pthread_mutex_unlock(&detached_lock);
}

int main(int argc, char **argv)
{
    struct wl_opts o = { .threads = 4, .iterations = 2000, .live = 64,
                         .min_size = 16, .max_size = 8L << 10,
                         .bound_kib = 8L << 10 };
    wl_set_name(argv[0]);
    wl_opts_parse(&o, argc, argv, WL_OPT_THREADS | WL_OPT_ITERATIONS |
                  WL_OPT_LIVE | WL_OPT_MIN_SIZE | WL_OPT_MAX_SIZE |
                  WL_OPT_BOUND, usage);
    pthread_t *t = wl_malloc(sizeof *t * (size_t)o.threads);
    struct churner **c = wl_malloc(sizeof *c * (size_t)o.threads);
    long warm_at = o.iterations / WARMUP_DIV, warm_kib = -1;
    double start = wl_now();
    for (long first = 0; first < o.iterations; first += o.threads) {
        long count = o.iterations - first < o.threads
                         ? o.iterations - first : o.threads;
        run_batch(&o, first, count, t, c);
        if (warm_kib < 0 && first + count >= warm_at)
            warm_kib = wl_rss_kib();
    }
    long end_kib = wl_rss_kib();
    printf("threadchurn: rss after warm-up %ld KiB, at end %ld KiB, "
           "bound %ld KiB\n", warm_kib, end_kib, o.bound_kib);
    if (o.bound_kib > 0 && end_kib > warm_kib + o.bound_kib)
        wl_fail("RSS grew from %ld KiB to %ld KiB over %ld threads",
                warm_kib, end_kib, o.iterations);
    printf("threadchurn: ok: %ld threads, %ld at a time, in %.3f s\n",
           o.iterations, o.threads, wl_now() - start);
    free(c);
    free(t);
    return 0;
}
