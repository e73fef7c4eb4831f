/*
 * huge.h - blocks at or above the mmap threshold, each in its own
 * mapping, returned to the kernel with munmap as soon as they are freed.
 *
 * Why a threshold: a mapping costs two system calls and page faults on
 * first touch, cheap next to a multi-megabyte block's use but dear for
 * small ones; and a block in its own mapping gives its memory back the
 * moment it is freed, where one in the arena may be pinned by neighbours.
 * The threshold starts at HUGE_THRESHOLD_START (glibc's choice, which its
 * authors measured) and adapts as glibc's does: freeing a mapped block of
 * up to HUGE_THRESHOLD_MAX raises the threshold above that block's size,
 * on the evidence that the program allocates and frees blocks that big
 * over and over, which the arena then serves without system calls.
 *
 * A few freed mappings are kept for reuse for up to a second (huge.c);
 * one whose size the threshold has passed goes to the span layer, which
 * serves the arena's blocks of that size from it (chunk.h).
 *
 * The mapping starts at a CHUNK_SIZE boundary (so the chunk map finds
 * it) with a header; the block follows at user_offset (64, or more for
 * a larger alignment).
 */
#ifndef MALLARD_HUGE_H
#define MALLARD_HUGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "chunkmap.h"

#define HUGE_THRESHOLD_START ((size_t)128 << 10)
#define HUGE_THRESHOLD_MIN ((size_t)32 << 10)  /* above the pool classes */
#define HUGE_THRESHOLD_MAX ((size_t)32 << 20)  /* glibc's 64-bit maximum */

struct huge_header {
    struct span_header span; /* kind = SPAN_HUGE */
    size_t map_size;         /* bytes mapped, from the header on */
    size_t user_offset;      /* where the block starts */
    size_t requested;        /* size last asked for (realloc growth) */
    bool growing;            /* mapped for a block realloc grows */
};

/* The current threshold: requests of this size or more are mapped. */
size_t huge_threshold(void);
/* Fixes the threshold at bytes (clamped to MIN..MAX): adaptation stops,
 * and freed memory up to twice the threshold is kept for reuse. */
void huge_fix_threshold(size_t bytes);

void *huge_alloc(size_t size, size_t align);
/* Zeroed: memset only when the mapping came from the cache. */
void *huge_alloc_zeroed(size_t size);
/* For realloc growth: may hand a bigger cached mapping, whole. */
void *huge_alloc_growing(size_t size);
void huge_free(struct huge_header *header, void *ptr);
size_t huge_usable_size(const struct huge_header *header);
/* Grows or shrinks keeping the contents; NULL (old block intact) on
 * failure.  Moves pages with mremap rather than copying them. */
void *huge_realloc(struct huge_header *header, void *ptr, size_t size);
/* Aborts unless ptr is the block of header. */
void huge_check(const struct huge_header *header, const void *ptr);

/* Counters for mallard_stats(). */
size_t huge_bytes_in_use(void);
size_t huge_blocks_in_use(void);
/* Freed mappings kept for reuse, and giving them all back. */
size_t huge_cached_bytes(void);
void huge_release_cached(void);

void huge_fork_prepare(void);
void huge_fork_parent(void);
void huge_fork_child(void);

#endif
