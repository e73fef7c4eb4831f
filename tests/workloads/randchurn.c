/*
 * randchurn.c - blocks of random sizes replaced one at a time.
 *
 * Each thread keeps --live blocks in a table and, --iterations times,
 * frees the block of one slot and puts a new block of a random size in
 * [--min-size, --max-size] there.  --case fifo replaces the slots in
 * turn (every block lives the same number of steps: a queue, a cache
 * with a fixed lifetime); --case random picks the slot at random
 * (lifetimes spread out).  A new block gets the pattern in its first and
 * last HEAD_BYTES and one byte on every page between (a program that
 * uses its memory, without timing a memset); both ends are checked
 * before the block is freed.
 *
 * What it shows: the time per replacement, and the peak RSS growth
 * against the peak of the bytes live.  Segregated size classes hold
 * about the sum of each class's own peak, best fit with coalescing
 * about the peak of the total: a ring of 256 blocks of 1-16 KiB is
 * where they differ most (docs/benchmarks.md).
 */
#include "wl_opts.h"
#include "wl_pattern.h"
#include "wl_proc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_BYTES 64   /* patterned and checked at each end */
#define PAGE 4096

static const char usage[] =
    "usage: randchurn [options]\n"
    "Threads replace blocks of random sizes, one slot at a time.\n"
    "  --threads N      threads, each with its own table (default 1)\n"
    "  --iterations N   replacements per thread (default 1000000)\n"
    "  --live N         blocks each thread keeps (default 256)\n"
    "  --min-size B     smallest block (default 16)\n"
    "  --max-size B     largest block (default 16K)\n"
    "  --case ORDER     fifo (slots in turn) or random (default fifo)\n"
    "  --seed N         seed for the sizes (default 1)\n";

struct slot {
    unsigned char *block;
    size_t size;
    uint64_t seed;
};

struct worker {
    const struct wl_opts *o;
    unsigned id;
    int fifo;
    size_t live_bytes, peak_live;
};

static void put_block(struct slot *s, size_t size, uint64_t seed)
{
    unsigned char *block = wl_malloc(size);
    size_t head = size < 2 * HEAD_BYTES ? size : HEAD_BYTES;
    wl_fill_range(block, 0, head, seed);
    for (size_t at = head; at + HEAD_BYTES < size; at += PAGE)
        block[at] = (unsigned char)seed;
    if (size > head)
        wl_fill_range(block, size - head, head, seed);
    *s = (struct slot){ .block = block, .size = size, .seed = seed };
}

static void drop_block(struct slot *s)
{
    size_t head = s->size < 2 * HEAD_BYTES ? s->size : HEAD_BYTES;
    wl_expect_intact(wl_check_range(s->block, 0, head, s->seed),
                     s->block, s->size, "head of block");
    if (s->size > head)
        wl_expect_intact(wl_check_range(s->block, s->size - head, head,
                                        s->seed),
                         s->block, s->size, "tail of block");
    free(s->block);
    s->block = NULL;
}

static void *worker_main(void *p)
{
    struct worker *w = p;
    const struct wl_opts *o = w->o;
    uint64_t rng = o->seed ^ ((uint64_t)w->id << 32);
    size_t live = (size_t)o->live;
    struct slot *slots = calloc(live, sizeof *slots);
    if (slots == NULL)
        wl_fail("out of memory for %zu slots", live);
    for (long i = 0; i < o->iterations; i++) {
        size_t k = w->fifo ? (size_t)i % live : wl_rand(&rng) % live;
        if (slots[k].block != NULL) {
            w->live_bytes -= slots[k].size;
            drop_block(&slots[k]);
        }
        size_t size = wl_rand_size(&rng, (size_t)o->min_size,
                                   (size_t)o->max_size);
        put_block(&slots[k], size, wl_seed(w->id, (uint64_t)i));
        w->live_bytes += size;
        if (w->live_bytes > w->peak_live)
            w->peak_live = w->live_bytes;
    }
    for (size_t k = 0; k < live; k++)
        if (slots[k].block != NULL)
            drop_block(&slots[k]);
    free(slots);
    return NULL;
}

static int parse_order(const char *kase)
{
    if (kase == NULL || strcmp(kase, "fifo") == 0)
        return 1;
    if (strcmp(kase, "random") == 0)
        return 0;
    wl_fail("--case must be fifo or random, not '%s'", kase);
}

static void report(const struct wl_opts *o, const struct worker *w,
                   int fifo, double seconds, long rss_growth_kib)
{
    size_t peak_live = 0;
    for (long i = 0; i < o->threads; i++)
        peak_live += w[i].peak_live;
    double kib = (double)peak_live / 1024.0;
    printf("randchurn: ok: %ld threads x %ld replacements, %ld live, "
           "%ld-%ld bytes, %s: %.1f ns a replacement; peak live %.0f KiB "
           "(sum over threads), peak RSS growth %ld KiB, %.3f of live\n",
           o->threads, o->iterations, o->live, o->min_size, o->max_size,
           fifo ? "fifo" : "random",
           seconds * 1e9 / (double)o->iterations, kib, rss_growth_kib,
           kib > 0 ? (double)rss_growth_kib / kib : 0.0);
}

int main(int argc, char **argv)
{
    struct wl_opts o = { .threads = 1, .iterations = 1000000, .live = 256,
                         .min_size = 16, .max_size = 16 << 10, .seed = 1 };
    wl_set_name(argv[0]);
    wl_opts_parse(&o, argc, argv, WL_OPT_THREADS | WL_OPT_ITERATIONS |
                  WL_OPT_LIVE | WL_OPT_MIN_SIZE | WL_OPT_MAX_SIZE |
                  WL_OPT_CASE | WL_OPT_SEED, usage);
    int fifo = parse_order(o.kase);
    if (o.min_size < 1 || o.min_size > o.max_size)
        wl_fail("need 1 <= --min-size <= --max-size");
    pthread_t *t = wl_malloc(sizeof *t * (size_t)o.threads);
    struct worker *w = wl_malloc(sizeof *w * (size_t)o.threads);
    long hwm_before = wl_hwm_kib();
    double start = wl_now();
    for (long i = 0; i < o.threads; i++) {
        w[i] = (struct worker){ .o = &o, .id = (unsigned)i, .fifo = fifo };
        if (pthread_create(&t[i], NULL, worker_main, &w[i]) != 0)
            wl_fail("cannot start thread %ld", i);
    }
    for (long i = 0; i < o.threads; i++)
        pthread_join(t[i], NULL);
    double seconds = wl_now() - start;
    report(&o, w, fifo, seconds, wl_hwm_kib() - hwm_before);
    free(w);
    free(t);
    return 0;
}
