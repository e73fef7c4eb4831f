/*
 * pool.c - taking blocks from and returning blocks to a pool (layout and
 * invariants in pool.h).  Every function runs under the owning heap's
 * lock.
 */
#include "pool.h"

#include "os.h"

void pool_init(struct pool *pool, unsigned size_class, void *owner,
               enum chunk_source source)
{
    uint32_t block_size = sc_block_size[size_class];
    size_t offset = pool_blocks_offset(size_class);
    size_t room = CHUNK_SIZE - offset;
    pool->span.kind = SPAN_POOL;
    pool->size_class = (uint8_t)size_class;
    pool->source = (uint8_t)source;
    pool->listed = 0;
    pool->block_size = block_size;
    pool->reciprocal = sc_reciprocal[size_class];
    pool->used = 0;
    pool->blocks = (char *)pool + offset;
    pool->bump = pool->blocks;
    pool->end = pool->blocks + room / block_size * block_size;
    pool->free = NULL;
    pool->owner = owner;
    pool->prev = pool->next = NULL;
    size_t words = pool_bitmap_words(block_size);
    for (size_t i = 0; i < words; i++)
        pool->out_bits[i] = 0;
}

static void mark_out(struct pool *pool, void *block)
{
    size_t index;
    pool_block_index(pool, block, &index);
    pool->out_bits[index / 64] |= (uint64_t)1 << (index % 64);
}

unsigned pool_take(struct pool *pool, void **out, unsigned max)
{
    unsigned taken = 0;
    while (taken < max && pool->free != NULL) {
        struct block *block = pool->free;
        pool->free = block->next;
        out[taken++] = block;
    }
    while (taken < max && pool->bump < pool->end) {
        out[taken++] = pool->bump;
        pool->bump += pool->block_size;
    }
    for (unsigned i = 0; i < taken; i++)
        mark_out(pool, out[i]);
    pool->used += taken;
    return taken;
}

void pool_put(struct pool *pool, void *block)
{
    size_t index;
    if (!pool_block_index(pool, block, &index))
        os_fatal_pointer("free(): invalid pointer", block);
    uint64_t bit = (uint64_t)1 << (index % 64);
    if ((pool->out_bits[index / 64] & bit) == 0)
        os_fatal_pointer("free(): double free detected", block);
    pool->out_bits[index / 64] &= ~bit;
    struct block *freed = block;
    freed->next = pool->free;
    pool->free = freed;
    pool->used--;
}
