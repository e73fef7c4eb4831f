/*
 * alloc.h - the allocator proper: malloc, free, realloc and aligned
 * allocation by size, routed to the layer that serves each size:
 *
 *   size <= SC_POOL_MAX (4 KiB)       thread cache -> per-CPU heap pools
 *   SC_POOL_MAX < size <= SC_MAX_SIZE thread cache -> per-CPU heap's
 *                (64 KiB)             best-fit arena, blocks of the
 *                                     class size
 *   SC_MAX_SIZE < size < threshold    per-CPU heap's best-fit arena
 *   size >= threshold (128 KiB+)      its own mmap (huge.c)
 *
 * api.c wraps these as the C library's functions with errno and edge
 * cases; the fast paths below are inline so that wrapper costs nothing.
 */
#ifndef MALLARD_ALLOC_H
#define MALLARD_ALLOC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "chunkmap.h"
#include "config.h"
#include "os.h"
#include "pool.h"
#include "sizeclass.h"
#include "tcache.h"

extern _Atomic int alloc_ready;

bool alloc_init_slow(void);
/* stats.c: keeps a copy of stderr for the report at exit (MALLARD_STATS),
 * which programs that close stderr on their way out would lose. */
void stats_keep_stderr(void);

/* True once the heaps exist; initialises them on the first call. */
static inline bool alloc_ensure_init(void)
{
    if (__builtin_expect(
            atomic_load_explicit(&alloc_ready, memory_order_acquire), 1))
        return true;
    return alloc_init_slow();
}

/* Sets errno to ENOMEM when it returns NULL, so malloc() is
 * alloc_malloc() itself, with no frame of its own. */
void *alloc_large(size_t size);

/* NULL only when out of memory, with errno ENOMEM.  The classes over
 * SC_POOL_MAX take alloc_large's path through the same thread cache,
 * which checks their arena headers as it hands them out. */
static inline void *alloc_malloc(size_t size)
{
    if (__builtin_expect(size <= SC_POOL_MAX, 1))
        return tcache_alloc(sc_of_size(size), size);
    return alloc_large(size);
}

/*
 * free() of anything but a pool block: an arena block (of a class size,
 * to the thread cache), a mapped block, or a pointer that is not ours
 * (span NULL: abort).  Out of line, so the pool path below makes no
 * call and keeps no stack frame.
 */
void alloc_free_other(struct span_header *span, void *ptr);
/* A pool address that is no block's start: aborts, except in the
 * checking mode, where it is how every checked block comes back. */
void alloc_free_not_block(void *ptr);

/*
 * A pool block: the chunk map's entry carries the class (pool_tag), and
 * the pool's geometry is the class's, so the block is checked (a
 * pointer into the middle of a block, or past the last, aborts) without
 * reading the pool's header.
 */
static inline void alloc_free(void *ptr)
{
    if (ptr == NULL)
        return;
    uintptr_t entry = chunkmap_entry_of(ptr);
    unsigned tag = (unsigned)(entry & CHUNKMAP_TAG_MASK);
    if (__builtin_expect(tag != 0, 1)) {
        const struct pool_geometry *pool = &pool_geometry[tag];
        /* A pool is one chunk: the offset in the chunk is the address's
         * low bits. */
        size_t offset = ((uintptr_t)ptr & CHUNKMAP_TAG_MASK) - pool->offset;
        if (__builtin_expect(!pool_offset_is_block(offset, pool), 0)) {
            alloc_free_not_block(ptr);
            return;
        }
        tcache_free(tag - 1, ptr);
        return;
    }
    alloc_free_other(chunkmap_span(entry), ptr);
}

/* Zeroed memory for total bytes. */
void *alloc_zeroed(size_t total);
void *alloc_realloc(void *ptr, size_t size);
/* align: a power of two. */
void *alloc_aligned(size_t align, size_t size);
/* Any block but a pool block's, NULL (0) included, and every block in
 * the checking mode. */
size_t alloc_usable_size_other(const void *ptr);

/*
 * A pool block's size is its class's, which the chunk map's tag names:
 * no read of the pool's header, which a program asking for the size of
 * blocks all over its heap finds cold (redis asks before nearly every
 * free: its replay's 1.1M calls took 36 instructions each, now 22; a
 * loop over 400k blocks in random order, 2.3 -> 1.4 ns a call).
 * NULL finds no tag (no span holds page 0) and goes the slow way.
 */
static inline size_t alloc_usable_size(const void *ptr)
{
    unsigned tag = (unsigned)(chunkmap_entry_of(ptr) & CHUNKMAP_TAG_MASK);
    if (__builtin_expect(tag != 0 && !config.check, 1))
        return sc_block_size[tag - 1];
    return alloc_usable_size_other(ptr);
}
/* Gives retained free memory back to the kernel; bytes released. */
size_t alloc_trim(void);

#endif
