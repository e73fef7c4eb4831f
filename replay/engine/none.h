/*
 * none.h - between none.c, which gives `--allocator none` its memory,
 * and none_pack.c, which packs the blocks of a trace into as little
 * address space as their lifetimes allow.
 */
#ifndef MALLARD_REPLAY_NONE_H
#define MALLARD_REPLAY_NONE_H

#include "engine.h"

#define NONE_PAGE 4096u
/* Past this (all instances) none's region is not worth its address
 * space and RSS (and offsets fit 32 bits): bump.c instead. */
#define NONE_MAX_BYTES ((4ull << 30) - NONE_PAGE)

static inline uint64_t none_align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

/* Alignment an op asks for (0: none beyond the minimum). */
static inline uint64_t none_op_align(const struct replay_packed_op *op,
                                     const struct replay_op_extra *x)
{
    switch (op->kind) {
    case TRACE_POSIX_MEMALIGN: case TRACE_ALIGNED_ALLOC:
    case TRACE_MEMALIGN:
        return x && x->arg && !(x->arg & (x->arg - 1)) ? x->arg : 0;
    case TRACE_VALLOC: case TRACE_PVALLOC:
        return NONE_PAGE;
    default:
        return 0;
    }
}

/* Bytes an op's block occupies (pvalloc rounds up to a page);
 * UINT64_MAX if a count times a size overflows. */
static inline uint64_t none_op_bytes(const struct replay_packed_op *op,
                                     const struct replay_op_extra *x)
{
    uint64_t n = x ? x->size : op->size;
    if (x && (op->kind == TRACE_CALLOC || op->kind == TRACE_REALLOCARRAY)
        && __builtin_mul_overflow(n, (uint64_t)x->arg, &n))
        return UINT64_MAX;
    if (op->kind == TRACE_PVALLOC)
        n = none_align_up(n, NONE_PAGE);
    return n;
}

/* One block of the trace, for none_greedy.c: when it lives, in steps
 * of none_pack.c's walk, and where the layout puts it. */
struct none_block {
    uint64_t start, end;   /* the steps that made and freed it */
    uint64_t bytes, align; /* align: 0 or 1 for none */
    uint64_t op;           /* global index of the op that made it */
    uint64_t off;          /* the layout's answer, aligned */
    double key;            /* none_greedy's order: biggest first */
};

/* Traces with more blocks than this keep the best-fit layout. */
#define NONE_GREEDY_MAX 4096u

/* Lays blocks out largest first, each at the lowest offset clear of the
 * blocks placed before it that live at the same time; returns the
 * layout's size, UINT64_MAX when out of memory. */
uint64_t none_greedy(struct none_block *blocks, size_t count);

/*
 * Packs every block of the image into one range, walking the ops in
 * recorded order (edges kept) and placing each new block best-fit in
 * the space that blocks freed before it left (or, for a trace of few
 * blocks, by none_greedy where that is smaller).  Writes each op's byte
 * offset into op_offset (by global op index; ops with no new block get
 * 0) and returns the range's size: the extent the recorded order needs,
 * which is the trace's peak of live bytes plus what best fit could not
 * fill.  Returns UINT64_MAX when the range would pass `limit` bytes or
 * memory for the walk ran out.
 */
uint64_t none_pack(const struct replay_image *image, uint32_t *op_offset,
                   uint64_t limit);

#endif
