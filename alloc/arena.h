/*
 * arena.h - the best-fit arena: blocks of any size between the largest
 * pool class and the mmap threshold, cut from regions of one or more
 * chunks, with splitting and coalescing.
 *
 * Each block opens with a 16-byte header (glibc-style boundary tags):
 * its size with two flags, and the previous block's size, valid only
 * while the previous block is free.  Free blocks of a heap sit in bins by
 * size (four a doubling), each bin a treap keyed by (size, address):
 * best fit is the leftmost block of the request's bin whose size is at
 * least the request, or else the leftmost of the next bin holding any,
 * i.e. the smallest that fits, and among equal sizes the lowest address
 * (which keeps the arena packed towards the region starts, as Wilson et
 * al. found address order does best).  Search, insert and remove cost
 * O(log n) expected in the number of free blocks of one bin, plus a
 * scan of a few bitmap words; the treap's priorities hash the block
 * address, so its shape is random-like without a random number
 * generator.
 *
 * Invariants: no two free blocks are adjacent (they merge on free); a
 * region ends with an in-use fence header of size 0; every function runs
 * under the owning heap's lock.  A region changes owner only with both
 * heaps' locks held (arena_adopt_fit).
 */
#ifndef MALLARD_ARENA_H
#define MALLARD_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"

#define ARENA_HEADER 16              /* boundary tag before each payload */
#define ARENA_MIN_BLOCK 32           /* header + the two treap links */
/*
 * One chunk: the same unit as a pool, so a span freed by either can serve
 * the other (with 1 MiB regions, 256 KiB holes left by pools could not
 * host regions and the program break grew instead: prodcons kept ~25%
 * more resident).
 */
#define ARENA_REGION_MIN CHUNK_SIZE
/*
 * A new region has room for this many blocks of the size that needed it.
 * Measured on the images workload (blocks of 64 KiB to 8 MiB): room for
 * 4 made blocks share regions and cut page faults to glibc's level, but
 * doubled the resident memory (holes in big regions get touched); 2 was
 * worse on both; 1 keeps memory close to glibc's.
 */
#define ARENA_REGION_BLOCKS 1

struct arena_block;
struct arena_region;

/* Bins of free blocks: four a doubling from 32 bytes (the least block)
 * up. */
#define ARENA_BINS ((64u - 5u) * 4u)
/* Free blocks smaller than this are in no bin (arena.c says why). */
#define ARENA_INDEX_MIN ((size_t)4096)
#define ARENA_BIN_WORDS ((ARENA_BINS + 63u) / 64u)

struct arena {
    struct arena_block *bins[ARENA_BINS]; /* a treap of free blocks each */
    uint64_t nonempty[ARENA_BIN_WORDS];   /* bit set: bin holds a block */
    struct arena_region *regions;
    size_t region_count;
    size_t bytes_in_use;             /* sizes of blocks handed out */
    size_t bytes_held;               /* sizes of its regions */
};

void arena_init(struct arena *arena);

/* A block of at least size bytes; NULL when out of memory.  A new
 * region, when none has room, belongs to owner (struct heap *); with
 * owner NULL, NULL when none has room. */
void *arena_alloc(struct arena *arena, void *owner, size_t size);
/* Like arena_alloc with the payload aligned to align (power of two). */
void *arena_alloc_aligned(struct arena *arena, void *owner, size_t size,
                          size_t align);
/* Frees ptr, coalescing; aborts when ptr is not an in-use block. */
void arena_free(struct arena *arena, void *ptr);
/* Resizes ptr without moving it; false when it cannot. */
bool arena_resize_in_place(struct arena *arena, void *ptr, size_t size);
/* Bytes the program may use at ptr; 0 when the block is not in use.
 * Needs no lock from the block's holder (arena_block_size_unlocked). */
size_t arena_usable_size(const void *ptr);
/*
 * The size of the block at ptr, header included, read without the heap
 * lock; 0 if the block is not in use.  Only for the thread that holds
 * the block (free, or a thread cache): its size cannot change under it,
 * only the flags.  Inline, for the thread cache's check of a block it
 * hands out: the header word right before a payload is the block's
 * size with the flags in its low 4 bits (bit 0: in use; arena.c).
 */
static inline size_t arena_block_size_unlocked(const void *ptr)
{
    size_t head = __atomic_load_n((const size_t *)ptr - 1,
                                  __ATOMIC_RELAXED);
    return (head & 1) ? head & ~(size_t)15 : 0;
}
/* The heap that owns the region holding span.  Without the owner's
 * lock it may be stale: lock it, then check again (heap.h). */
void *arena_region_owner(const struct span_header *span);
/*
 * If from has a free block fitting arena_alloc(size) (align 0) or
 * arena_alloc_aligned(size, align), moves the region holding it, with
 * every block in it, to the arena to, whose heap is owner; false when
 * from has none.  Both heaps' locks held.
 */
bool arena_adopt_fit(struct arena *to, struct arena *from, void *owner,
                     size_t size, size_t align);

#endif
