/*
 * builder.h - builds finalised traces in memory for the replay engine's
 * tests and its synthetic driver, without the trace format module.
 *
 * The builder hands out slots the way a finaliser does (one free list
 * shared by all threads, in recorded order), so cross-thread slot reuse
 * happens as in real traces.  It keeps the counts a replay must match:
 * ops per kind, peak and final requested bytes live.
 */
#ifndef MALLARD_TEST_REPLAY_BUILDER_H
#define MALLARD_TEST_REPLAY_BUILDER_H

#include "engine.h"

struct builder {
    struct trace trace;
    uint64_t *op_cap;        /* per thread: capacity of its op array */
    uint64_t *slot_size;     /* per slot: bytes requested, if live */
    uint32_t *free_slots;    /* slots free for reuse (a stack) */
    uint32_t free_count, slot_cap;
    uint64_t clock_ns;       /* recorded time of the next op */
    int64_t live, peak;
    uint64_t kind_counts[REPLAY_KIND_SLOTS];
};

void builder_init(struct builder *b, uint32_t threads);
void builder_free(struct builder *b);

/* Appends an op to thread t; returns its index in that thread. */
uint64_t builder_op(struct builder *b, uint32_t t, struct trace_op op);
/* Allocation ops take a free slot; returns that slot. */
uint32_t builder_alloc(struct builder *b, uint32_t t, unsigned kind,
                       uint64_t size, uint64_t arg, uint64_t *op_index);
void builder_release(struct builder *b, uint32_t t, unsigned kind,
                     uint32_t slot, uint32_t dep_thread, uint64_t dep_op);

/* One thread, every call kind, `rounds` times. */
void builder_mixed(struct builder *b, uint64_t rounds);
/*
 * `threads` threads; in each round every thread allocates `per_round`
 * blocks and frees those its left neighbour allocated the round before
 * (a dependency edge each), so blocks cross threads all the time.
 */
void builder_cross(struct builder *b, uint32_t threads, uint64_t rounds,
                   uint32_t per_round);
/*
 * Two threads; each round thread 0 allocates two blocks, thread 1 asks
 * malloc_usable_size of both (an edge on each allocation) and frees the
 * first; thread 0 frees the second.  Only the first question has its
 * free after it on the same thread.
 */
void builder_usable_cross(struct builder *b, uint64_t rounds);

/* Default options for the tests: glibc, one run, one instance. */
void builder_options(struct replay_options *opt);

#endif
