/*
 * pool.c - taking blocks from and returning blocks to a pool, and giving
 * its free pages back (layout and invariants in pool.h).  Every function
 * runs under the owning heap's lock.
 */
#include "pool.h"

#include "os.h"

#define PAGES_PER_POOL (CHUNK_SIZE / OS_PAGE_SIZE)

_Static_assert(PAGES_PER_POOL <= 64, "one bit a page in decommitted");

/* Bits 0 to last (inclusive) set; last < 64. */
static uint64_t bits_upto(size_t last)
{
    return last == 63 ? ~(uint64_t)0 : ((uint64_t)2 << last) - 1;
}

struct pool_geometry pool_geometry[SC_POOL_COUNT + 1];

/* The inverse of odd modulo 2^64, by Newton's iteration: each step
 * doubles the bits that are right, from the 3 that odd itself gets. */
static uint64_t inverse_of_odd(uint64_t odd)
{
    uint64_t inverse = odd;
    for (int i = 0; i < 5; i++)
        inverse *= 2 - odd * inverse;
    return inverse;
}

void pool_init_geometry(void)
{
    for (unsigned c = 0; c < SC_POOL_COUNT; c++) {
        size_t offset = pool_blocks_offset(c);
        uint32_t size = sc_block_size[c];
        unsigned shift = (unsigned)__builtin_ctz(size);
        struct pool_geometry *g = &pool_geometry[pool_tag(c)];
        g->inverse = inverse_of_odd(size >> shift);
        g->offset = (uint32_t)offset;
        g->capacity = (uint16_t)((CHUNK_SIZE - offset) / size);
        g->shift = (uint8_t)shift;
    }
}

void pool_init(struct pool *pool, unsigned size_class, void *owner,
               enum chunk_source source)
{
    uint32_t block_size = sc_block_size[size_class];
    size_t offset = pool_blocks_offset(size_class);
    size_t capacity = (CHUNK_SIZE - offset) / block_size;
    pool->span.kind = SPAN_POOL;
    pool->size_class = (uint8_t)size_class;
    pool->source = (uint8_t)source;
    pool->listed = 0;
    pool->block_size = block_size;
    pool->reciprocal = sc_reciprocal[size_class];
    pool->used = 0;
    pool->capacity = (uint32_t)capacity;
    pool->carved = 0;
    pool->first_word = 0;
    pool->keep_free = 0;
    pool->peak_used = 0;
    pool->mark_tick = 0;
    pool->decommit_tick = 0;
    pool->decommit_wait = 0;     /* the owner sets it */
    pool->decommitted = 0;
    pool->blocks = (char *)pool + offset;
    pool->end = pool->blocks + capacity * block_size;
    pool->blocks_bytes = (uint32_t)(capacity * block_size);
    pool_set_owner(pool, owner);
    pool->prev = pool->next = NULL;
    /* Bits past the last block read as out: never found free.  (The
     * bitmap is sized for a whole chunk of blocks, so whole words past
     * the header's share can lie beyond the last block.) */
    size_t words = pool_bitmap_words(block_size);
    for (size_t i = 0; i < words; i++)
        pool_set_bits(pool, i, i < capacity / 64 ? 0 : ~(uint64_t)0);
    if (capacity % 64 != 0)
        pool_set_bits(pool, capacity / 64,
                      ~(uint64_t)0 << (capacity % 64));
}

/* The chunk's pages that the block at index overlaps, as a page mask. */
static uint64_t pages_of_block(const struct pool *pool, size_t index)
{
    size_t start = (size_t)(pool->blocks - (const char *)pool) +
                   index * pool->block_size;
    size_t first = start / OS_PAGE_SIZE;
    size_t last = (start + pool->block_size - 1) / OS_PAGE_SIZE;
    return bits_upto(last) & (~(uint64_t)0 << first);
}

/* Takes the free blocks of one bitmap word, lowest first. */
static unsigned take_from_word(struct pool *pool, size_t word, void **out,
                               unsigned max)
{
    uint64_t word_bits = pool_bits(pool, word);
    uint64_t free_bits = ~word_bits;
    unsigned taken = 0;
    size_t index = 0;
    while (free_bits != 0 && taken < max) {
        uint64_t lowest = free_bits & -free_bits;
        index = word * 64 + (size_t)__builtin_ctzll(free_bits);
        free_bits ^= lowest;
        word_bits |= lowest;
        out[taken++] = pool->blocks + index * pool->block_size;
        if (pool->decommitted != 0)   /* the program will touch it */
            pool->decommitted &= ~pages_of_block(pool, index);
    }
    pool_set_bits(pool, word, word_bits);
    if (taken != 0 && index >= pool->carved)
        pool->carved = (uint32_t)index + 1;
    return taken;
}

unsigned pool_take(struct pool *pool, void **out, unsigned max)
{
    size_t words = pool_bitmap_words(pool->block_size);
    size_t word = pool->first_word;
    unsigned taken = 0;
    while (taken < max && word < words) {
        taken += take_from_word(pool, word, out + taken, max - taken);
        if (pool_bits(pool, word) == ~(uint64_t)0)
            word++;
        else
            break;
    }
    pool->first_word = (uint32_t)word;
    pool->used += taken;
    if (pool->used > pool->peak_used)
        pool->peak_used = pool->used;
    if (pool->keep_free != 0) {   /* only after a decommit */
        size_t free_resident = pool_free_resident(pool);
        if (pool->keep_free > free_resident)
            pool->keep_free = (uint32_t)free_resident;
    }
    return taken;
}

void pool_put(struct pool *pool, void *block)
{
    size_t index;
    if (!pool_block_index(pool, block, &index))
        os_fatal_pointer("free(): invalid pointer", block);
    uint64_t bit = (uint64_t)1 << (index % 64);
    uint64_t out = pool_bits(pool, index / 64);
    if ((out & bit) == 0)
        os_fatal_pointer("free(): double free detected", block);
    pool_set_bits(pool, index / 64, out & ~bit);
    if (index / 64 < pool->first_word)
        pool->first_word = (uint32_t)(index / 64);
    pool->used--;
}

/* Pages from page 0 up to the one holding the last carved byte. */
static size_t carved_pages(const struct pool *pool)
{
    size_t end = (size_t)(pool->blocks - (const char *)pool) +
                 (size_t)pool->carved * pool->block_size;
    return (end + OS_PAGE_SIZE - 1) / OS_PAGE_SIZE;
}

size_t pool_free_resident(const struct pool *pool)
{
    size_t pages = carved_pages(pool) -
                   (size_t)__builtin_popcountll(pool->decommitted);
    size_t resident = pages * OS_PAGE_SIZE;
    size_t in_use = (size_t)pool->used * pool->block_size +
                    (size_t)(pool->blocks - (const char *)pool);
    return resident > in_use ? resident - in_use : 0;
}

/* Whether any bit from first to last (inclusive) is set. */
static bool any_out(const struct pool *pool, size_t first, size_t last)
{
    size_t word = first / 64, last_word = last / 64;
    uint64_t mask = ~(uint64_t)0 << (first % 64);
    for (; word < last_word; word++, mask = ~(uint64_t)0)
        if (pool_bits(pool, word) & mask)
            return true;
    return (pool_bits(pool, word) & mask & bits_upto(last % 64)) != 0;
}

/* The carved pages, page 0 aside, that no block out of the pool
 * overlaps and that are still resident, as a page mask. */
static uint64_t free_page_mask(const struct pool *pool)
{
    size_t offset = (size_t)(pool->blocks - (const char *)pool);
    size_t pages = carved_pages(pool);
    uint64_t mask = 0;
    for (size_t page = 1; page < pages; page++) {
        if (pool->decommitted & ((uint64_t)1 << page))
            continue;
        size_t start = page * OS_PAGE_SIZE;
        size_t first = start < offset ? 0
                                      : (start - offset) / pool->block_size;
        size_t last = (start + OS_PAGE_SIZE - 1 - offset) /
                      pool->block_size;
        if (last >= pool->carved)
            last = pool->carved - 1;
        if (!any_out(pool, first, last))
            mask |= (uint64_t)1 << page;
    }
    return mask;
}

size_t pool_decommit_free_pages(struct pool *pool, size_t max_pages)
{
    uint64_t mask = free_page_mask(pool);
    bool whole = (size_t)__builtin_popcountll(mask) <= max_pages;
    size_t given = 0;
    /* One madvise per run of free pages, from the top.  Page 0 is never
     * in the mask, so a run is at most 63 pages long. */
    while (mask != 0 && given < max_pages) {
        size_t last = 63 - (size_t)__builtin_clzll(mask);
        size_t run = (size_t)__builtin_clzll(~(mask << (63 - last)));
        if (run > max_pages - given)
            run = max_pages - given;
        size_t first = last + 1 - run;
        os_decommit((char *)pool + first * OS_PAGE_SIZE,
                    run * OS_PAGE_SIZE);
        uint64_t run_bits = (((uint64_t)1 << run) - 1) << first;
        pool->decommitted |= run_bits;
        mask &= ~run_bits;
        given += run;
    }
    /* What a whole pass left free sits on pages still in use. */
    if (whole)
        pool->keep_free = (uint32_t)pool_free_resident(pool);
    return given;
}
