/*
 * pool.h - a pool: one chunk (256 KiB) of fixed-size blocks of a single
 * size class, owned by one heap.
 *
 * Layout: a header (this struct, with a bitmap of one bit per block the
 * class fits in a chunk), then blocks from `blocks` to `end`.  The blocks
 * start at pool_blocks_offset(): past the header, at a multiple of the
 * largest power of two dividing the block size (up to a page) and of a
 * cache line.  So a block of a class whose size is a multiple of a power
 * of two up to a page is aligned to it (memalign relies on this), and
 * the header shares its page with the first blocks: a whole header page
 * cost 4 KiB per pool in use, some 200 KiB a heap once a program had
 * touched most classes.
 *
 * Free blocks are found in the bitmap, lowest address first; nothing is
 * written into a free block.  Lowest first packs the blocks in use
 * towards the bottom of the pool, so a class that shrinks leaves whole
 * free pages at the top, and because free blocks hold no links those
 * pages can be given back to the kernel (pool_decommit_free_pages) and
 * come back zeroed when a block on them is handed out again: memory a
 * class no longer needs can then serve another class, once the class
 * has stayed small for a while (heap.c says when).
 * A fresh pool costs one resident page until it is used: blocks past
 * `carved` were never handed out, so never touched by us.
 *
 * Invariants (all under the owning heap's lock, except the immutable
 * fields size_class, block_size, reciprocal, blocks, end that the free
 * fast path reads while the pool holds one of its blocks):
 *  - owner changes only with both the old and the new owner's locks
 *    held (a heap adopting the pool: heap.c), so whoever holds the lock
 *    of the heap that owner names may rely on it until unlocking;
 *  - a block's bit in out_bits is set iff the block is out of the pool
 *    (with the program or in a thread cache); a free of a block whose
 *    bit is clear is a double free; the bits past the last block are
 *    set, so they never look free; the bits change under the lock, but
 *    the thread that holds a block may read its bit without it (no one
 *    else changes that bit while the block is out);
 *  - used counts the set bits of real blocks;
 *  - every out_bits word below first_word is all ones;
 *  - blocks at index carved and above were never handed out;
 *  - bit p of decommitted: page p of the chunk was given back and no
 *    block on it was handed out since (page 0, the header's, never is).
 */
#ifndef MALLARD_POOL_H
#define MALLARD_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "os.h"
#include "sizeclass.h"

#define POOL_HEADER_ALIGN 64 /* the first block starts a cache line */

struct pool {
    struct span_header span; /* kind = SPAN_POOL */
    uint8_t size_class;
    uint8_t source;          /* enum chunk_source */
    uint8_t listed;          /* on the heap's list of pools with room */
    uint32_t block_size;
    uint32_t reciprocal;     /* sc_reciprocal[size_class] */
    uint32_t blocks_bytes;   /* end - blocks */
    /* The fields above and these three are what pool_block_index and
     * the thread cache's spill read (the free fast path reads none:
     * pool_geometry): one cache line, one miss on a cold header. */
    char *blocks;            /* first block */
    char *end;               /* end of the last whole block */
    _Atomic(void *) owner;   /* struct heap *: pool_owner() */
    uint32_t used;           /* blocks out of the pool */
    uint32_t capacity;       /* blocks that fit */
    uint32_t carved;         /* blocks ever handed out: [0, carved) */
    uint32_t first_word;     /* out_bits words below it are full */
    uint32_t keep_free;      /* free resident bytes after the last
                                decommit (pool_wants_decommit) */
    uint32_t peak_used;      /* most blocks out since mark_tick */
    uint32_t mark_tick;      /* the owner's decay tick of the mark */
    uint32_t decommit_tick;  /* ... of the last decommit */
    uint32_t decommit_wait;  /* ticks of low use before a decommit */
    uint64_t decommitted;    /* pages given back, one bit a page */
    struct pool *prev, *next;/* the owner's list of pools with room */
    /* CHUNK_SIZE / block_size bits.  Atomic only so that free() may
     * read a block's bit without the lock (pool_block_is_out); every
     * access is relaxed, plain loads and stores in the machine code. */
    _Atomic uint64_t out_bits[];
};
_Static_assert(offsetof(struct pool, owner) + sizeof(void *) <= 64,
               "a pool's most read fields share its first cache line");

/* Words of out_bits a pool of blocks of block_size needs. */
static inline size_t pool_bitmap_words(size_t block_size)
{
    return (CHUNK_SIZE / block_size + 63) / 64;
}

/* Where a pool of the class's blocks start, from the chunk's start. */
static inline size_t pool_blocks_offset(unsigned size_class)
{
    size_t block_size = sc_block_size[size_class];
    size_t header = sizeof(struct pool) +
                    pool_bitmap_words(block_size) * sizeof(uint64_t);
    size_t align = block_size & -block_size; /* lowest set bit */
    if (align > OS_PAGE_SIZE)
        align = OS_PAGE_SIZE;
    if (align < POOL_HEADER_ALIGN)
        align = POOL_HEADER_ALIGN;
    return (header + align - 1) & ~(align - 1);
}

/*
 * Where a pool of each class keeps its blocks, from the chunk's start:
 * the same for every pool of the class, so free() checks a block from
 * the chunk map's tag and this table, without the pool's header.
 * Indexed by the tag (pool_tag: the class plus one; entry 0 unused), so
 * free() needs no subtraction.  Filled by pool_init_geometry() before
 * the first pool exists.
 *
 * The check is one multiply (pool_offset_is_block): with the block size
 * 2^shift x odd and inverse the odd part's inverse modulo 2^64,
 * rotr(offset x inverse, shift) is offset / size when size divides
 * offset, and above (2^64 - 1) / size otherwise (the divisibility test
 * compilers emit for x % size == 0), so one compare against the
 * capacity rejects an address inside a block, past the last block or,
 * wrapping, before the first.  It replaced a reciprocal's division and
 * a multiply back (two dependent multiplies, then two compares): with
 * the table's loads, perf put some 40% of free()'s samples in gcc's
 * replay on that chain.
 */
struct pool_geometry {
    uint64_t inverse;      /* of the block size's odd part, mod 2^64 */
    uint32_t offset;       /* pool_blocks_offset() */
    uint16_t capacity;     /* blocks in a pool (at most 2^14) */
    uint8_t shift;         /* trailing zero bits of the block size */
};
/* Hidden, as the build makes every definition: said here too, so that
 * free() addresses the table directly, not through the GOT. */
extern struct pool_geometry pool_geometry[SC_POOL_COUNT + 1]
    __attribute__((visibility("hidden")));
void pool_init_geometry(void);

/* True when offset (from a pool's first block) is a block's start. */
static inline bool pool_offset_is_block(size_t offset,
                                        const struct pool_geometry *g)
{
    uint64_t scaled = (uint64_t)offset * g->inverse;
    unsigned shift = g->shift;
    uint64_t index = (scaled >> shift) | (scaled << ((64 - shift) & 63));
    return index < g->capacity;
}

/* The chunk map's tag of a pool of size_class (never 0). */
static inline unsigned pool_tag(unsigned size_class)
{
    return size_class + 1;
}

void pool_init(struct pool *pool, unsigned size_class, void *owner,
               enum chunk_source source);

/* Moves up to max blocks out of the pool into out[]; returns how many. */
unsigned pool_take(struct pool *pool, void **out, unsigned max);

/* Returns a block; aborts on a double free or a misaligned pointer. */
void pool_put(struct pool *pool, void *block);

/*
 * Gives back to the kernel up to max_pages pages of the pool, highest
 * first (lowest-first allocation reaches them last), among those no
 * block out of the pool touches; page 0, the header's, never goes.
 * Returns the pages given back.  Costs a scan of the bitmap and one
 * madvise per run of such pages.
 */
size_t pool_decommit_free_pages(struct pool *pool, size_t max_pages);

/* Resident bytes of the pool not in blocks that are out (an upper
 * bound: the carved pages less those given back, less the blocks out). */
size_t pool_free_resident(const struct pool *pool);

/*
 * Whether a decommit is worth its system call and the page faults that
 * follow when the class grows again: the resident bytes exceed what the
 * most blocks out since the mark needed, plus what the last decommit
 * left free (blocks on pages still in use), by POOL_DECOMMIT_MIN plus
 * an eighth.  The slack keeps a class that frees and allocates around a
 * steady level from giving pages back and faulting them in over and
 * over; judging by the peak since the mark, not by the blocks out now,
 * keeps a dip between two peaks from doing the same.
 */
#define POOL_DECOMMIT_MIN ((size_t)16 << 10)
static inline bool pool_wants_decommit(const struct pool *pool)
{
    size_t in_use = (size_t)pool->used * pool->block_size;
    size_t peak = (size_t)pool->peak_used * pool->block_size;
    return pool_free_resident(pool) >
           (peak - in_use) + pool->keep_free + POOL_DECOMMIT_MIN + peak / 8;
}

/* Starts a new window for peak_used at the owner's decay tick. */
static inline void pool_mark(struct pool *pool, uint32_t tick)
{
    pool->peak_used = pool->used;
    pool->mark_tick = tick;
}

/* The pool a pool block belongs to: a pool is one chunk, aligned to its
 * size, with its header at the start, so no chunk map lookup is needed
 * once a block is known to be a pool's (a thread cache bin of a class
 * up to SC_POOL_MAX holds only pool blocks). */
static inline struct pool *pool_of_block(const void *block)
{
    return (struct pool *)((uintptr_t)block & ~(uintptr_t)(CHUNK_SIZE - 1));
}

/* The heap owning the pool (struct heap *).  Read without a lock it may
 * be stale: lock the heap it names, then check it again (heap.h's
 * heap_lock_owner). */
static inline void *pool_owner(const struct pool *pool)
{
    return atomic_load_explicit(&((struct pool *)pool)->owner,
                                memory_order_relaxed);
}

static inline void pool_set_owner(struct pool *pool, void *owner)
{
    atomic_store_explicit(&pool->owner, owner, memory_order_relaxed);
}

/* A word of the bitmap (relaxed: see out_bits). */
static inline uint64_t pool_bits(const struct pool *pool, size_t word)
{
    return atomic_load_explicit(&pool->out_bits[word],
                                memory_order_relaxed);
}

static inline void pool_set_bits(struct pool *pool, size_t word,
                                 uint64_t bits)
{
    atomic_store_explicit(&pool->out_bits[word], bits,
                          memory_order_relaxed);
}

/* Whether the block at index is out of the pool.  Without the lock this
 * is exact for a block the caller holds; for a block freed twice it may
 * be stale, which can only miss the double free, never report one. */
static inline bool pool_block_is_out(const struct pool *pool, size_t index)
{
    return (pool_bits(pool, index / 64) >> (index % 64)) & 1;
}

static inline bool pool_has_room(const struct pool *pool)
{
    return pool->used < pool->capacity;
}

/* The index of the block offset bytes past a pool's first block; false
 * when that is no block boundary.  One unsigned compare checks both
 * ends: an address below the first block wraps to a huge offset. */
static inline bool pool_offset_index(size_t offset, uint32_t blocks_bytes,
                                     uint32_t block_size,
                                     uint32_t reciprocal, size_t *index)
{
    size_t found = (size_t)(((uint64_t)offset * reciprocal) >> 32);
    *index = found;
    return offset < blocks_bytes && found * block_size == offset;
}

/* Index of block in pool; false when block is not a block boundary. */
static inline bool pool_block_index(const struct pool *pool,
                                    const void *block, size_t *index)
{
    return pool_offset_index((uintptr_t)block - (uintptr_t)pool->blocks,
                             pool->blocks_bytes, pool->block_size,
                             pool->reciprocal, index);
}

#endif
