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
 * touched most classes.  Blocks are carved lazily: `bump` marks the
 * first block never handed out, so a fresh pool costs one resident page
 * until it is used.
 *
 * Invariants (all under the owning heap's lock, except the immutable
 * fields size_class, block_size, reciprocal, blocks, end that the free
 * fast path reads while the pool holds one of its blocks):
 *  - a block's bit in out_bits is set iff the block is out of the pool
 *    (with the program or in a thread cache); a free of a block whose
 *    bit is clear is a double free;
 *  - used counts the set bits.
 */
#ifndef MALLARD_POOL_H
#define MALLARD_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "os.h"
#include "sizeclass.h"

#define POOL_HEADER_ALIGN 64 /* the first block starts a cache line */

struct block {
    struct block *next; /* only while the block is free */
};

struct pool {
    struct span_header span; /* kind = SPAN_POOL */
    uint8_t size_class;
    uint8_t source;          /* enum chunk_source */
    uint8_t listed;          /* on the heap's list of pools with room */
    uint32_t block_size;
    uint32_t reciprocal;     /* sc_reciprocal[size_class] */
    uint32_t used;           /* blocks out of the pool */
    char *blocks;            /* first block */
    char *bump;              /* first block never handed out */
    char *end;               /* end of the last whole block */
    struct block *free;      /* returned blocks, last in first out */
    void *owner;             /* struct heap * */
    struct pool *prev, *next;/* the owner's list of pools with room */
    uint64_t out_bits[];      /* CHUNK_SIZE / block_size bits */
};

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

void pool_init(struct pool *pool, unsigned size_class, void *owner,
               enum chunk_source source);

/* Moves up to max blocks out of the pool into out[]; returns how many. */
unsigned pool_take(struct pool *pool, void **out, unsigned max);

/* Returns a block; aborts on a double free or a misaligned pointer. */
void pool_put(struct pool *pool, void *block);

/* The pool a pool block belongs to: a pool is one chunk, aligned to its
 * size, with its header at the start, so no chunk map lookup is needed
 * once a block is known to be a pool's (a thread cache holds only pool
 * blocks). */
static inline struct pool *pool_of_block(const void *block)
{
    return (struct pool *)((uintptr_t)block & ~(uintptr_t)(CHUNK_SIZE - 1));
}

static inline bool pool_has_room(const struct pool *pool)
{
    return pool->free != NULL || pool->bump < pool->end;
}

/* Index of block in pool; false when block is not a block boundary. */
static inline bool pool_block_index(const struct pool *pool,
                                    const void *block, size_t *index)
{
    size_t offset = (size_t)((const char *)block - pool->blocks);
    size_t found = (size_t)(((uint64_t)offset * pool->reciprocal) >> 32);
    *index = found;
    return (const char *)block >= pool->blocks &&
           (const char *)block < pool->end &&
           found * pool->block_size == offset;
}

#endif
