/*
 * wl_pattern.h - block contents and random numbers for the workloads.
 *
 * Owns: the byte pattern every workload writes into a block and checks
 * before freeing it, and the small deterministic random generator that
 * picks sizes.  Invariant: the byte at offset i of a block filled with
 * seed s depends only on (s, i), so a block can be filled piecewise (as
 * reallocgrow appends) and checked whole, and two blocks with different
 * seeds differ almost everywhere, which catches blocks handed out twice.
 * Why: one pattern shared by all programs keeps each program about its
 * allocation shape, not about how it verifies memory.
 */
#ifndef WL_PATTERN_H
#define WL_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* Seed for the block that thread `thread` made as its `index`th. */
uint64_t wl_seed(unsigned thread, uint64_t index);

/* Write the pattern for `seed` into bytes [from, from + len) of `base`. */
void wl_fill_range(void *base, size_t from, size_t len, uint64_t seed);

/* Write the pattern for `seed` over all `len` bytes of `block`. */
void wl_fill(void *block, size_t len, uint64_t seed);

/*
 * Check bytes [from, from + len) of `base` against `seed`.  Returns the
 * offset of the first wrong byte, or SIZE_MAX when all are right.
 */
size_t wl_check_range(const void *base, size_t from, size_t len,
                      uint64_t seed);

/* Check a whole block; SIZE_MAX when right, else the first bad offset. */
size_t wl_check(const void *block, size_t len, uint64_t seed);

/* Next value of a splitmix64 generator whose state is *state. */
uint64_t wl_rand(uint64_t *state);

/* A random size in [min, max], both inclusive. */
size_t wl_rand_size(uint64_t *state, size_t min, size_t max);

#endif
