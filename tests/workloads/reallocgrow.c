/*
 * reallocgrow.c - strings and vectors grown with realloc.
 *
 * Each thread runs rounds; a round grows one buffer from a few bytes to
 * --max-size in one of three ways: doubling (a string builder), growing
 * by half (a C++-style vector) or appending a few bytes at a time (a log
 * line being assembled; it stops at a quarter of --max-size, as it takes
 * many more steps).  After every realloc the old contents are checked:
 * all of them when the block moved (the allocator copied them), the
 * first and last CHECK_WINDOW bytes when it grew in place.  A round ends
 * with a full check, a shrinking realloc and its check, and a free.
 */
#include "wl_opts.h"
#include "wl_pattern.h"
#include "wl_proc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* Bytes checked at each end of an in-place grown block. */
#define CHECK_WINDOW 256
/* Largest single append in the small-increment mode. */
#define APPEND_MAX 256
/* Small-increment rounds stop at max_size / APPEND_LIMIT_DIV. */
#define APPEND_LIMIT_DIV 4
#define START_SIZE 16

enum grow_mode { GROW_DOUBLE, GROW_HALF, GROW_APPEND, GROW_MODES };

static const char usage[] =
    "usage: reallocgrow [options]\n"
    "Threads grow buffers with realloc and check contents after each.\n"
    "  --threads N      threads (default 2)\n"
    "  --iterations N   rounds per thread (default 30); rounds cycle\n"
    "                   through doubling, +50% and small appends\n"
    "  --max-size B     size a round grows to (default 4M)\n"
    "  --seed N         seed for the append sizes (default 1)\n";

struct worker {
    const struct wl_opts *o;
    unsigned id;
    long reallocs, moves;
};

static void check_after_realloc(const unsigned char *buf, size_t len,
                                uint64_t seed, int moved)
{
    if (moved || len <= 2 * CHECK_WINDOW) {
        wl_expect_intact(wl_check(buf, len, seed), buf, len,
                         "realloc'd buffer");
        return;
    }
    wl_expect_intact(wl_check_range(buf, 0, CHECK_WINDOW, seed), buf, len,
                     "head of realloc'd buffer");
    wl_expect_intact(wl_check_range(buf, len - CHECK_WINDOW, CHECK_WINDOW,
                                    seed), buf, len,
                     "tail of realloc'd buffer");
}

static size_t next_size(enum grow_mode mode, size_t len, uint64_t *rng)
{
    switch (mode) {
    case GROW_DOUBLE: return 2 * len;
    case GROW_HALF: return len + len / 2;
    default: return len + wl_rand_size(rng, 1, APPEND_MAX);
    }
}

/* Realloc `buf` from `len` to `want` bytes and check what was kept. */
static unsigned char *resize(struct worker *w, unsigned char *buf,
                             size_t len, size_t want, uint64_t seed)
{
    unsigned char *grown = realloc(buf, want);
    if (!grown)
        wl_fail("realloc(%p, %zu) returned NULL", (void *)buf, want);
    w->reallocs++;
    w->moves += grown != buf;
    check_after_realloc(grown, len < want ? len : want, seed, grown != buf);
    return grown;
}

static void one_round(struct worker *w, long round, uint64_t *rng)
{
    enum grow_mode mode = (enum grow_mode)(round % GROW_MODES);
    size_t limit = (size_t)w->o->max_size;
    if (mode == GROW_APPEND)
        limit /= APPEND_LIMIT_DIV;
    uint64_t seed = wl_seed(w->id, (uint64_t)round);
    size_t len = START_SIZE;
    unsigned char *buf = wl_malloc(len);
    wl_fill(buf, len, seed);
    while (len < limit) {
        size_t want = next_size(mode, len, rng);
        if (want > limit)
            want = limit;
        buf = resize(w, buf, len, want, seed);
        wl_fill_range(buf, len, want - len, seed);
        len = want;
    }
    wl_expect_intact(wl_check(buf, len, seed), buf, len, "grown buffer");
    buf = resize(w, buf, len, len / 2, seed);
    free(buf);
}

static void *worker_main(void *p)
{
    struct worker *w = p;
    uint64_t rng = w->o->seed ^ ((uint64_t)w->id << 32);
    for (long round = 0; round < w->o->iterations; round++)
        one_round(w, round, &rng);
    return NULL;
}

int main(int argc, char **argv)
{
    struct wl_opts o = { .threads = 2, .iterations = 30,
                         .max_size = 4L << 20, .seed = 1 };
    wl_set_name(argv[0]);
    wl_opts_parse(&o, argc, argv, WL_OPT_THREADS | WL_OPT_ITERATIONS |
                  WL_OPT_MAX_SIZE | WL_OPT_SEED, usage);
    if (o.max_size < 2 * START_SIZE * APPEND_LIMIT_DIV)
        wl_fail("--max-size must be at least %d bytes",
                2 * START_SIZE * APPEND_LIMIT_DIV);
    pthread_t *t = wl_malloc(sizeof *t * (size_t)o.threads);
    struct worker *w = wl_malloc(sizeof *w * (size_t)o.threads);
    double start = wl_now();
    for (long i = 0; i < o.threads; i++) {
        w[i] = (struct worker){ .o = &o, .id = (unsigned)i };
        if (pthread_create(&t[i], NULL, worker_main, &w[i]) != 0)
            wl_fail("cannot start thread %ld", i);
    }
    long reallocs = 0, moves = 0;
    for (long i = 0; i < o.threads; i++) {
        pthread_join(t[i], NULL);
        reallocs += w[i].reallocs;
        moves += w[i].moves;
    }
    printf("reallocgrow: ok: %ld reallocs (%ld moved) by %ld threads in "
           "%.3f s\n", reallocs, moves, o.threads, wl_now() - start);
    free(w);
    free(t);
    return 0;
}
