/*
 * none_greedy.c - a second layout for none's blocks when a trace has
 * few of them: largest first, each at the lowest offset where it
 * overlaps no block placed before it that is live at the same time.
 *
 * Why: none_pack.c's best fit sees blocks one at a time in recorded
 * order, and a gap one image too small for the next one costs a whole
 * image (images400: 64.5 MiB of layout for 57.3 MiB live, 400 images
 * of 64 KiB-8 MiB).  Knowing every block's lifetime up front, placing
 * the big ones first lets the small ones fill around them: the usual
 * offline heuristic for buffers with known lifetimes.  Largest-first is
 * a heuristic, and which of two near-equal blocks goes first matters:
 * the first try takes sizes as they are, later ones sizes scaled by up
 * to GREEDY_JITTER at random (a fixed seed, so a layout is the same
 * every run), and the smallest layout wins (images400: 59.3 MiB on the
 * first try, 57.7 within 64).  Each try is quadratic in the number of
 * blocks, hence the bounded work and NONE_GREEDY_MAX blocks at most;
 * none_pack() keeps whichever of its layouts is smaller.
 */
#include <stdlib.h>

#include "none.h"

#define GREEDY_TRIES 64u
#define GREEDY_WORK 40000000ull     /* block pairs checked, all tries */
#define GREEDY_JITTER 0.05

/* Placed blocks by offset. */
static int greedy_by_offset(const void *a, const void *b)
{
    const struct none_block *x = *(const struct none_block *const *)a;
    const struct none_block *y = *(const struct none_block *const *)b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Biggest key first; of equal keys, the earlier-born first. */
static int greedy_by_key(const void *a, const void *b)
{
    const struct none_block *x = *(const struct none_block *const *)a;
    const struct none_block *y = *(const struct none_block *const *)b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int greedy_overlap(const struct none_block *x,
                          const struct none_block *y)
{
    return x->start < y->end && y->start < x->end;
}

/* The lowest offset for b clear of every block of near (sorted by
 * offset). */
static uint64_t greedy_lowest(const struct none_block *b,
                              struct none_block **near, size_t count)
{
    uint64_t align = b->align > 1 ? b->align : 1;
    uint64_t at = 0;
    for (size_t i = 0; i < count; i++) {
        if (near[i]->off >= at + b->bytes)
            break;                  /* b fits below this one */
        uint64_t end = near[i]->off + near[i]->bytes;
        if (end > at)
            at = none_align_up(end, align);
    }
    return at;
}

/* One try: blocks placed in the order of their keys; the layout's
 * size. */
static uint64_t greedy_try(struct none_block **order,
                           struct none_block **near, size_t count)
{
    uint64_t extent = 0;
    qsort(order, count, sizeof(*order), greedy_by_key);
    for (size_t i = 0; i < count; i++) {
        size_t n = 0;
        for (size_t j = 0; j < i; j++)
            if (greedy_overlap(order[i], order[j]))
                near[n++] = order[j];
        qsort(near, n, sizeof(*near), greedy_by_offset);
        order[i]->off = greedy_lowest(order[i], near, n);
        if (order[i]->off + order[i]->bytes > extent)
            extent = order[i]->off + order[i]->bytes;
    }
    return extent;
}

/* A uniform number in [0, 1) from xorshift64 state *rng. */
static double greedy_random(uint64_t *rng)
{
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    return (double)(*rng >> 11) / (double)(1ull << 53);
}

uint64_t none_greedy(struct none_block *blocks, size_t count)
{
    struct none_block **order = malloc((count + 1) * sizeof(*order));
    struct none_block **near = malloc((count + 1) * sizeof(*near));
    uint64_t *best_off = malloc((count + 1) * sizeof(*best_off));
    uint64_t best = UINT64_MAX, rng = 0x9e3779b97f4a7c15ull;
    uint64_t pairs = (uint64_t)count * count / 2 + 1;
    uint64_t tries = GREEDY_WORK / pairs;
    tries = tries < 1 ? 1 : tries > GREEDY_TRIES ? GREEDY_TRIES : tries;
    for (uint64_t k = 0; order && near && best_off && k < tries; k++) {
        for (size_t i = 0; i < count; i++) {
            order[i] = &blocks[i];
            blocks[i].key = (double)blocks[i].bytes *
                            (k ? 1 + GREEDY_JITTER * greedy_random(&rng)
                               : 1);
        }
        uint64_t extent = greedy_try(order, near, count);
        if (extent >= best)
            continue;
        best = extent;
        for (size_t i = 0; i < count; i++)
            best_off[i] = blocks[i].off;
    }
    for (size_t i = 0; best != UINT64_MAX && i < count; i++)
        blocks[i].off = best_off[i];
    free(order);
    free(near);
    free(best_off);
    return best;
}
