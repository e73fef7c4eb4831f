/*
 * huge.c - one mapping per block (policy in huge.h).  Mapping and
 * unmapping take no lock: mmap and munmap are thread safe, the chunk map
 * takes atomic entries, and the threshold and counters are atomics.
 *
 * A small cache keeps a few freed mappings for reuse, as the span layer
 * keeps freed spans: a program that allocates, fills and frees the same
 * big buffer over and over (or grows one with realloc) would otherwise
 * fault every page in again each time.  Entries go back after
 * CHUNK_DECAY_NS unused, and the cache holds at most as much as the span
 * layer's retain floor.  Its lock is taken once per large free or
 * allocation, next to a system call that costs far more.
 */
#include "huge.h"

#include "chunk.h"
#include "lock.h"
#include "os.h"

#include <stdbool.h>
#include <string.h>

#define HUGE_HEADER_ROOM 64 /* header, padded to a cache line */
#define HUGE_CACHE_SLOTS 8  /* a few buffers in flight at once */

static _Atomic size_t adaptive_threshold = HUGE_THRESHOLD_START;
/* Set by MALLARD_MMAP_THRESHOLD or mallopt(M_MMAP_THRESHOLD): the
 * threshold stays where it was put. */
static _Atomic bool threshold_fixed;
static _Atomic size_t bytes_in_use;
static _Atomic size_t blocks_in_use;

struct cached_mapping {
    char *start;        /* NULL: slot empty */
    size_t size;
    uint64_t freed_ns;
};

/* Adds and takes mapped bytes in use, and tells the span layer, whose
 * retain limit follows the recent peak of all memory in use. */
static void count_mapped(size_t added, size_t taken)
{
    size_t before = atomic_fetch_add_explicit(&bytes_in_use, added - taken,
                                              memory_order_relaxed);
    chunk_note_mapped_in_use(before + added - taken);
}

static struct lock cache_lock = LOCK_INIT;
static struct cached_mapping cache[HUGE_CACHE_SLOTS];
static size_t cache_bytes;

/* The most the cache may hold: 4 MiB, or twice the threshold (what
 * glibc would keep at its heap top). */
#define HUGE_CACHE_MIN ((size_t)4 << 20)

static size_t cache_limit(void)
{
    size_t twice = 2 * huge_threshold();
    return twice > HUGE_CACHE_MIN ? twice : HUGE_CACHE_MIN;
}

static void cache_evict(struct cached_mapping *slot)
{
    os_unmap(slot->start, slot->size);
    cache_bytes -= slot->size;
    slot->start = NULL;
}

/* Unmaps entries unused for CHUNK_DECAY_NS (all of them if force). */
static void cache_expire(uint64_t now, bool force)
{
    for (int i = 0; i < HUGE_CACHE_SLOTS; i++) {
        struct cached_mapping *slot = &cache[i];
        if (slot->start &&
            (force || now - slot->freed_ns > CHUNK_DECAY_NS))
            cache_evict(slot);
    }
}

/* Unmaps cached mappings smaller than bytes: once the threshold passes
 * their size, no mapped block will ask for them again. */
static void cache_drop_below(size_t bytes)
{
    lock_acquire(&cache_lock);
    for (int i = 0; i < HUGE_CACHE_SLOTS; i++)
        if (cache[i].start && cache[i].size < bytes)
            cache_evict(&cache[i]);
    lock_release(&cache_lock);
}

/* Keeps a freed mapping for reuse; false when it does not fit. */
static bool cache_put(char *start, size_t size)
{
    uint64_t now = os_now_ns();
    bool kept = false;
    lock_acquire(&cache_lock);
    cache_expire(now, false);
    for (int i = 0; i < HUGE_CACHE_SLOTS && !kept; i++) {
        if (cache[i].start == NULL && cache_bytes + size <= cache_limit()) {
            cache[i] = (struct cached_mapping){ start, size, now };
            cache_bytes += size;
            kept = true;
        }
    }
    lock_release(&cache_lock);
    return kept;
}

/*
 * The smallest cached mapping of at least *size bytes, and at most twice
 * that unless whole (so a small block does not pin a big mapping),
 * trimmed to *size; whole keeps all of it (for a block about to grow
 * into it) and reports its size in *size.
 */
static char *cache_take(size_t *size, bool whole)
{
    size_t want = *size;
    struct cached_mapping *best = NULL;
    lock_acquire(&cache_lock);
    for (int i = 0; i < HUGE_CACHE_SLOTS; i++) {
        struct cached_mapping *slot = &cache[i];
        if (slot->start && slot->size >= want &&
            (whole || slot->size / 2 <= want) &&
            (best == NULL || slot->size < best->size))
            best = slot;
    }
    char *start = best ? best->start : NULL;
    size_t cached = best ? best->size : 0;
    if (best) {
        best->start = NULL;
        cache_bytes -= cached;
    }
    lock_release(&cache_lock);
    if (start && whole)
        *size = cached;
    else if (start && cached > want)
        os_unmap(start + want, cached - want);
    return start;
}

size_t huge_cached_bytes(void)
{
    lock_acquire(&cache_lock);
    size_t bytes = cache_bytes;
    lock_release(&cache_lock);
    return bytes;
}

void huge_release_cached(void)
{
    lock_acquire(&cache_lock);
    cache_expire(0, true);
    lock_release(&cache_lock);
}

void huge_fork_prepare(void)
{
    lock_acquire(&cache_lock);
}

void huge_fork_parent(void)
{
    lock_release(&cache_lock);
}

void huge_fork_child(void)
{
    lock_reset(&cache_lock);
}

size_t huge_threshold(void)
{
    return atomic_load_explicit(&adaptive_threshold, memory_order_relaxed);
}

void huge_fix_threshold(size_t bytes)
{
    if (bytes < HUGE_THRESHOLD_MIN)
        bytes = HUGE_THRESHOLD_MIN;
    if (bytes > HUGE_THRESHOLD_MAX)
        bytes = HUGE_THRESHOLD_MAX;
    atomic_store_explicit(&threshold_fixed, true, memory_order_relaxed);
    atomic_store_explicit(&adaptive_threshold, bytes, memory_order_relaxed);
    chunk_set_retain_limit(2 * bytes);
    cache_drop_below(bytes);
}

/*
 * Whole chunks: the tail past the block is never touched (no memory),
 * and mappings of whole chunks come out aligned from a plain mmap (see
 * os_map_aligned).
 */
static size_t map_size_for(size_t offset, size_t size)
{
    size_t total = offset + size;
    if (total < size || total > SIZE_MAX - CHUNK_SIZE)
        return 0;
    return (total + CHUNK_SIZE - 1) & ~(CHUNK_SIZE - 1);
}

/* Gives a mapping its header and publishes it in the chunk map. */
static void *huge_publish(struct huge_header *header, size_t map_size,
                          size_t offset, size_t size)
{
    header->span.kind = SPAN_HUGE;
    header->map_size = map_size;
    header->user_offset = offset;
    header->requested = size;
    header->growing = false;
    if (chunkmap_set(header, map_size, &header->span) != 0) {
        os_unmap(header, map_size);
        return NULL;
    }
    atomic_fetch_add_explicit(&blocks_in_use, 1, memory_order_relaxed);
    count_mapped(map_size, 0);
    return (char *)header + offset;
}

/*
 * A mapping of *map_size bytes aligned to map_align: a cached one when
 * the alignment is a chunk's (whole: all of it, *map_size updated; see
 * cache_take), else a fresh one.  *from_cache tells which: only a
 * cached mapping holds old data.
 */
static struct huge_header *take_mapping(size_t *map_size, size_t map_align,
                                        bool whole, bool *from_cache)
{
    struct huge_header *header = NULL;
    if (map_align == CHUNK_SIZE)
        header = (struct huge_header *)cache_take(map_size, whole);
    *from_cache = header != NULL;
    /* Not for a block about to grow: a gathered mapping is several of
     * the kernel's, which mremap may not grow or move as one. */
    if (header == NULL && map_align == CHUNK_SIZE && !whole)
        header = chunk_take_gathered(*map_size, from_cache);
    if (header == NULL)
        header = os_map_aligned(*map_size, map_align);
    return header;
}

/*
 * A block of size bytes aligned to align in a mapping of its own (whole:
 * see cache_take); *cached tells whether the mapping came from the
 * cache, holding old data.
 */
static void *map_block(size_t size, size_t align, bool whole, bool *cached)
{
    size_t offset = align > HUGE_HEADER_ROOM ? align : HUGE_HEADER_ROOM;
    size_t map_size = map_size_for(offset, size);
    if (map_size == 0)
        return NULL;
    size_t map_align = align > CHUNK_SIZE ? align : CHUNK_SIZE;
    struct huge_header *header = take_mapping(&map_size, map_align, whole,
                                              cached);
    if (header == NULL)
        return NULL;
    return huge_publish(header, map_size, offset, size);
}

void *huge_alloc(size_t size, size_t align)
{
    bool cached;
    return map_block(size, align, false, &cached);
}

/*
 * Zeroed memory: a fresh mapping is zero already (no memset of pages
 * nobody touched); only a cached one, dirty, is cleared.
 */
void *huge_alloc_zeroed(size_t size)
{
    bool dirty;
    void *block = map_block(size, 0, false, &dirty);
    if (block != NULL && dirty)
        memset(block, 0, size);
    return block;
}

/*
 * For a block realloc is growing: any cached mapping big enough is
 * taken whole, pages already resident, so the growth to come touches
 * memory faulted in before instead of new zero pages (glibc's heap top
 * gives a growing block the same).
 */
void *huge_alloc_growing(size_t size)
{
    bool cached;
    char *block = map_block(size, 0, true, &cached);
    if (block != NULL)
        ((struct huge_header *)(block - HUGE_HEADER_ROOM))->growing = true;
    return block;
}

void huge_check(const struct huge_header *header, const void *ptr)
{
    if ((const char *)header + header->user_offset != (const char *)ptr)
        os_fatal_pointer("free(): invalid pointer", ptr);
}

/*
 * Raises the threshold past a freed block's size, as huge.h explains;
 * returns true when it did.
 */
static bool adapt_threshold(size_t freed_size)
{
    if (atomic_load_explicit(&threshold_fixed, memory_order_relaxed) ||
        freed_size > HUGE_THRESHOLD_MAX)
        return false;
    size_t current = atomic_load_explicit(&adaptive_threshold,
                                          memory_order_relaxed);
    while (freed_size + 1 > current) {
        if (atomic_compare_exchange_weak_explicit(&adaptive_threshold,
                &current, freed_size + 1, memory_order_relaxed,
                memory_order_relaxed)) {
            /* Keep what the arena frees at this size for reuse, as
             * glibc's trim threshold (twice its mmap threshold) does:
             * with one threshold's worth, images --threads 1 took 3x
             * the page faults and 1.7x the time. */
            chunk_set_retain_limit(2 * (freed_size + 1));
            cache_drop_below(freed_size + 1);
            return true;
        }
    }
    return false;
}

void huge_free(struct huge_header *header, void *ptr)
{
    huge_check(header, ptr);
    size_t map_size = header->map_size;
    size_t usable = map_size - header->user_offset;
    chunkmap_set(header, map_size, NULL);
    atomic_fetch_sub_explicit(&blocks_in_use, 1, memory_order_relaxed);
    count_mapped(0, map_size);
    /* Below the threshold (it rose past this size now or since the block
     * was mapped), such blocks come from the arena: a cached mapping of
     * this size would only wait to expire, unless a growing realloc takes
     * it (mappings made for one are kept).  images --threads 1 held an
     * 8 MiB mapping so for its whole run.  The span layer takes it
     * instead, where the arena's next blocks of that size find it
     * resident (chunk_adopt_mapping). */
    bool outgrown = adapt_threshold(usable) ||
                    (usable < huge_threshold() && !header->growing);
    if (outgrown)
        chunk_adopt_mapping(header, map_size);
    else if (!cache_put((char *)header, map_size))
        os_unmap(header, map_size);
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
    /* Room already mapped serves growth, and a small shrink. */
    if (new_map <= old_map &&
        (size >= header->requested || new_map >= old_map / 2)) {
        header->requested = size;
        return ptr;
    }
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
    header->requested = size;
    count_mapped(new_map, old_map);
    return (char *)header + offset;
}

size_t huge_bytes_in_use(void)
{
    return atomic_load_explicit(&bytes_in_use, memory_order_relaxed);
}

size_t huge_blocks_in_use(void)
{
    return atomic_load_explicit(&blocks_in_use, memory_order_relaxed);
}
