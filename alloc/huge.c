/*
 * huge.c - one mapping per block (policy in huge.h).  No lock: mmap and
 * munmap are thread safe, the chunk map takes atomic entries, and the
 * threshold and counters are atomics.
 */
#include "huge.h"

#include "chunk.h"
#include "config.h"
#include "os.h"

#include <string.h>

#define HUGE_HEADER_ROOM 64 /* header, padded to a cache line */

static _Atomic size_t adaptive_threshold = HUGE_THRESHOLD_START;
static _Atomic size_t bytes_in_use;

size_t huge_threshold(void)
{
    if (config.mmap_threshold_fixed)
        return config.mmap_threshold;
    return atomic_load_explicit(&adaptive_threshold, memory_order_relaxed);
}

static size_t map_size_for(size_t offset, size_t size)
{
    size_t total = offset + size;
    if (total < size || total > SIZE_MAX - OS_PAGE_SIZE)
        return 0;
    return (total + OS_PAGE_SIZE - 1) & ~(OS_PAGE_SIZE - 1);
}

void *huge_alloc(size_t size, size_t align)
{
    size_t offset = align > HUGE_HEADER_ROOM ? align : HUGE_HEADER_ROOM;
    size_t map_size = map_size_for(offset, size);
    if (map_size == 0)
        return NULL;
    size_t map_align = align > CHUNK_SIZE ? align : CHUNK_SIZE;
    struct huge_header *header = os_map_aligned(map_size, map_align);
    if (header == NULL)
        return NULL;
    header->span.kind = SPAN_HUGE;
    header->map_size = map_size;
    header->user_offset = offset;
    if (chunkmap_set(header, map_size, &header->span) != 0) {
        os_unmap(header, map_size);
        return NULL;
    }
    atomic_fetch_add_explicit(&bytes_in_use, map_size,
                              memory_order_relaxed);
    return (char *)header + offset;
}

void huge_check(const struct huge_header *header, const void *ptr)
{
    if ((const char *)header + header->user_offset != (const char *)ptr)
        os_fatal_pointer("free(): invalid pointer", ptr);
}

/* Raises the threshold past a freed block's size, as huge.h explains. */
static void adapt_threshold(size_t freed_size)
{
    if (config.mmap_threshold_fixed || freed_size > HUGE_THRESHOLD_MAX)
        return;
    size_t current = atomic_load_explicit(&adaptive_threshold,
                                          memory_order_relaxed);
    while (freed_size + 1 > current) {
        if (atomic_compare_exchange_weak_explicit(&adaptive_threshold,
                &current, freed_size + 1, memory_order_relaxed,
                memory_order_relaxed)) {
            /* Keep what the arena frees at this size for reuse, as
             * glibc's trim threshold follows its mmap threshold. */
            chunk_set_retain_limit(2 * (freed_size + 1));
            break;
        }
    }
}

void huge_free(struct huge_header *header, void *ptr)
{
    huge_check(header, ptr);
    size_t map_size = header->map_size;
    size_t usable = map_size - header->user_offset;
    chunkmap_set(header, map_size, NULL);
    atomic_fetch_sub_explicit(&bytes_in_use, map_size,
                              memory_order_relaxed);
    os_unmap(header, map_size);
    adapt_threshold(usable);
}

size_t huge_usable_size(const struct huge_header *header)
{
    return header->map_size - header->user_offset;
}

/* Unmaps the tail past new_map; the chunks it held leave the map. */
static void shrink_mapping(struct huge_header *header, size_t new_map)
{
    char *start = (char *)header;
    size_t old_map = header->map_size;
    uintptr_t kept_chunks_end = ((uintptr_t)start + new_map + CHUNK_SIZE
                                 - 1) & ~(uintptr_t)(CHUNK_SIZE - 1);
    if (kept_chunks_end < (uintptr_t)start + old_map)
        chunkmap_set((void *)kept_chunks_end,
                     (uintptr_t)start + old_map - kept_chunks_end, NULL);
    os_unmap(start + new_map, old_map - new_map);
    header->map_size = new_map;
}

/* Moves the pages to a fresh aligned range: no copying of contents. */
static struct huge_header *move_mapping(struct huge_header *header,
                                        size_t new_map)
{
    size_t old_map = header->map_size;
    char *dest = os_map_aligned(new_map, CHUNK_SIZE);
    if (dest == NULL)
        return NULL;
    chunkmap_set(header, old_map, NULL);
    if (os_move_mapping(header, old_map, dest, new_map) != 0) {
        chunkmap_set(header, old_map, &header->span);
        os_unmap(dest, new_map);
        return NULL;
    }
    header = (struct huge_header *)dest;
    header->map_size = new_map;
    chunkmap_set(header, new_map, &header->span);
    return header;
}

void *huge_realloc(struct huge_header *header, void *ptr, size_t size)
{
    huge_check(header, ptr);
    size_t offset = header->user_offset;
    size_t old_map = header->map_size;
    size_t new_map = map_size_for(offset, size);
    if (new_map == 0)
        return NULL;
    if (new_map < old_map) {
        shrink_mapping(header, new_map);
    } else if (new_map > old_map) {
        if (os_grow_in_place(header, old_map, new_map) == 0) {
            header->map_size = new_map;
            chunkmap_set(header, new_map, &header->span);
        } else {
            header = move_mapping(header, new_map);
            if (header == NULL)
                return NULL;
        }
    }
    atomic_fetch_add_explicit(&bytes_in_use, new_map - old_map,
                              memory_order_relaxed);
    return (char *)header + offset;
}

size_t huge_bytes_in_use(void)
{
    return atomic_load_explicit(&bytes_in_use, memory_order_relaxed);
}
