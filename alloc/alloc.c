/*
 * alloc.c - the allocator's slow paths: large and aligned requests,
 * realloc, calloc, usable size, trimming, and the checking mode's
 * entry points.  The one-time setup is init.c.
 */
#include "alloc.h"

#include "chunk.h"
#include "config.h"
#include "heap.h"
#include "heapcheck.h"
#include "huge.h"

#include <errno.h>
#include <string.h>

/* Over SC_MAX_SIZE: the arena, or a mapping of its own. */
__attribute__((noinline)) static void *uncached_block(size_t size)
{
    void *block = NULL;
    if (alloc_ensure_init()) {
        if (config.check)
            return heapcheck_malloc(size);
        block = heap_alloc_block(size);
    }
    if (block == NULL)
        errno = ENOMEM;
    return block;
}

/* The classes over SC_POOL_MAX come from the thread cache (in the
 * checking mode it is empty and its slow path serves); the path keeps
 * no stack frame, the rest is a tail call. */
void *alloc_large(size_t size)
{
    if (size <= SC_MAX_SIZE)
        return tcache_alloc_arena_class(sc_of_size(size), size);
    return uncached_block(size);
}

static _Noreturn void free_invalid(const void *ptr)
{
    os_fatal_pointer("free(): invalid pointer", ptr);
}

void alloc_free_not_block(void *ptr)
{
    if (!config.check)
        free_invalid(ptr);
    heapcheck_free(ptr);
}

/*
 * The class of an arena block of exactly a class's size (the classes
 * over SC_POOL_MAX, which the thread cache keeps), else SC_COUNT.  Reads
 * the block's header without the lock (arena_block_size_unlocked).
 */
static unsigned arena_class_of(const void *ptr)
{
    if (((uintptr_t)ptr & 15) != 0)
        return SC_COUNT;
    size_t size = arena_block_size_unlocked(ptr) - ARENA_HEADER;
    if (size <= SC_POOL_MAX || size > SC_MAX_SIZE)
        return SC_COUNT;    /* also a block not in use: size wrapped */
    unsigned size_class = sc_of_size(size);
    return sc_block_size[size_class] == size ? size_class : SC_COUNT;
}

void alloc_free_other(struct span_header *span, void *ptr)
{
    if (config.check) {
        heapcheck_free(ptr);
        return;
    }
    if (span == NULL)
        free_invalid(ptr);
    unsigned size_class = span->kind == SPAN_ARENA ? arena_class_of(ptr) :
                          SC_COUNT;
    if (size_class < SC_COUNT)
        tcache_free(size_class, ptr);
    else
        heap_free_span(span, ptr);
}

void *alloc_zeroed(size_t total)
{
    /* Fresh mappings are zero already: no memset of new pages. */
    if (total >= huge_threshold() && alloc_ensure_init() && !config.check)
        return huge_alloc_zeroed(total);
    void *block = alloc_malloc(total);
    if (block != NULL)
        memset(block, 0, total);
    return block;
}

size_t alloc_usable_size_other(const void *ptr)
{
    if (ptr == NULL)
        return 0;
    if (config.check)
        return heapcheck_usable_size(ptr);
    return heap_block_usable(ptr);
}

size_t alloc_trim(void)
{
    if (!alloc_ensure_init())
        return 0;
    if (config.check)
        heapcheck_drain();
    size_t cached = huge_cached_bytes();
    huge_release_cached();
    size_t decommitted = heap_trim_all();
    return cached + decommitted + chunk_release_retained();
}

/*
 * Moves a block's contents to a new block of size bytes.  A block that
 * grows by steps (to at most four times its size: doubling, by half,
 * appending) past HUGE_THRESHOLD_START gets its own mapping whatever
 * the adaptive threshold says: it tends to grow again, and a mapping
 * grows in place or moves by mremap, without copying.  One resized to
 * more than four times its size is a buffer taking a new size (the
 * next message, say) more than one growing: it goes where any block
 * that size goes, onto memory freed before, not onto a new mapping
 * faulted in page by page (big buffers resized at random by four
 * threads: 3.0 M page faults and 1.4x glibc's time, 1.3 M and 1.1x).
 */
static void *move_block(void *ptr, size_t old_usable, size_t size)
{
    bool by_steps = size > old_usable && size / 4 < old_usable;
    void *moved = by_steps && size >= HUGE_THRESHOLD_START ?
                  huge_alloc_growing(size) : alloc_malloc(size);
    if (moved == NULL)
        return NULL;
    memcpy(moved, ptr, old_usable < size ? old_usable : size);
    alloc_free(ptr);
    return moved;
}

/* A pool block stays put while the new size keeps it at least half
 * used; beyond that a smaller class (or a bigger one) is worth a copy. */
static void *realloc_pool(struct pool *pool, void *ptr, size_t size)
{
    size_t index;
    if (!pool_block_index(pool, ptr, &index))
        os_fatal_pointer("realloc(): invalid pointer", ptr);
    if (size <= pool->block_size && size >= pool->block_size / 2)
        return ptr;
    return move_block(ptr, pool->block_size, size);
}

/*
 * The header's flag bits change when a neighbour is freed, so even the
 * size is read under the owning heap's lock.
 */
static void *realloc_arena(struct span_header *span, void *ptr,
                           size_t size)
{
    struct heap *owner = heap_lock_owner(span);
    bool resized = size > SC_LOOKUP_MAX && size < huge_threshold() &&
                   arena_resize_in_place(&owner->arena, ptr, size);
    size_t usable = arena_usable_size(ptr);
    heap_unlock(owner);
    /* A class-sized block stays put while still at least half used. */
    bool fits = size <= SC_MAX_SIZE && size <= usable && size >= usable / 2;
    return resized || fits ? ptr : move_block(ptr, usable, size);
}

/* Large blocks keep their own mapping, grown or moved by mremap, until
 * they shrink below half the initial threshold.  A mapping the span
 * layer gathered from several (chunk.h) may be more than mremap can
 * move at once: then the block is copied. */
static void *realloc_huge(struct huge_header *header, void *ptr,
                          size_t size)
{
    void *resized = NULL;
    if (size >= HUGE_THRESHOLD_START / 2)
        resized = huge_realloc(header, ptr, size);
    if (resized != NULL)
        return resized;
    huge_check(header, ptr);
    return move_block(ptr, huge_usable_size(header), size);
}

void *alloc_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return alloc_malloc(size);
    if (size > PTRDIFF_MAX)
        return NULL;
    if (config.check)
        return heapcheck_realloc(ptr, size);
    struct span_header *span = chunkmap_lookup(ptr);
    if (span == NULL)
        os_fatal_pointer("realloc(): invalid pointer", ptr);
    if (span->kind == SPAN_POOL)
        return realloc_pool((struct pool *)span, ptr, size);
    if (span->kind == SPAN_ARENA)
        return realloc_arena(span, ptr, size);
    return realloc_huge((struct huge_header *)span, ptr, size);
}

/*
 * A pool's blocks start at a multiple of the largest power of two that
 * divides their size, up to a page (pool.h), so a block of a class whose
 * size is a multiple of align is aligned to align (for align up to a
 * page).
 * Returns SC_COUNT when no class fits.
 */
static unsigned aligned_class(size_t align, size_t size)
{
    if (align > OS_PAGE_SIZE || size > SC_POOL_MAX)
        return SC_COUNT;
    unsigned c = sc_of_size(size > align ? size : align);
    while (c < SC_POOL_COUNT && sc_block_size[c] % align != 0)
        c++;
    return c < SC_POOL_COUNT ? c : SC_COUNT;  /* arena blocks: 16 only */
}

void *alloc_aligned(size_t align, size_t size)
{
    if (align <= 16)
        return alloc_malloc(size);
    if (!alloc_ensure_init() || size > PTRDIFF_MAX || align > PTRDIFF_MAX)
        return NULL;
    if (config.check)
        return heapcheck_aligned(align, size);
    unsigned size_class = aligned_class(align, size);
    if (size_class < SC_COUNT)
        return tcache_alloc(size_class, size);
    if (size + align >= huge_threshold())
        return huge_alloc(size, align);
    struct heap *heap = heap_for_this_cpu();
    heap_lock(heap);
    void *block = heap_arena_alloc(heap, size, align);
    heap_unlock(heap);
    return block;
}
