/*
 * heap.h - the per-CPU heaps.
 *
 * There is one heap per configured CPU (cpu_count_configured()), each
 * with its own lock, its own pools for every size class and its own
 * best-fit arena.  A thread allocates from the heap of the CPU it runs
 * on; a block is always freed into the heap that owns its pool or
 * region, whichever thread frees it, so memory never strands in a heap
 * that stopped allocating (a producer/consumer pair keeps a flat RSS).
 * A pool or an arena region can change owner: a heap about to take new
 * memory for a pool or region first adopts one with room from another
 * heap (heap_take_blocks, heap_arena_alloc), so a thread moving between
 * CPUs does not fill a second set of them.
 *
 * Invariant: every field of a heap but `index` is read and written only
 * with the heap's lock held.
 */
#ifndef MALLARD_HEAP_H
#define MALLARD_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "chunk.h"
#include "lock.h"
#include "pool.h"
#include "sizeclass.h"

struct heap_class {
    struct pool *with_room;  /* pools of this class with free blocks */
    uint32_t pool_count;     /* all pools of this class */
};

struct heap {
    struct lock lock;
    unsigned index;
    uint64_t lock_acquisitions;
    uint64_t lock_contended;
    uint64_t pool_bytes_out;   /* pool blocks out of this heap */
    uint64_t pool_bytes_held;  /* chunks of its pools */
    uint64_t pool_bytes_carved;/* their blocks ever handed out */
    uint64_t pool_bytes_decommitted; /* free pages given back, in all */
    unsigned decommit_class;   /* where the next decommit scan starts */
    uint32_t decay_ticks;      /* decay ticks so far */
    struct heap_class classes[SC_COUNT];
    struct arena arena;
} __attribute__((aligned(64)));  /* no false sharing between heaps */

extern struct heap *heap_table;
extern unsigned heap_count;

/* Creates the heaps; false when memory for them cannot be had. */
bool heap_init_all(void);

struct heap *heap_for_this_cpu(void);

static inline void heap_lock(struct heap *heap)
{
    bool contended = lock_acquire(&heap->lock);
    heap->lock_acquisitions++;
    heap->lock_contended += contended;
}

/* Every this many acquisitions of a heap, its unlock gives back up to
 * HEAP_DECOMMIT_PAGES free pool pages (heap_decommit_tick) and lets the
 * chunk layer give back spans that have aged (chunk_decay_tick). */
#define HEAP_DECAY_TICK 256
#define HEAP_DECOMMIT_PAGES 16
#define HEAP_DECOMMIT_WAIT 16      /* ticks: 4,096 acquisitions */
#define HEAP_DECOMMIT_WAIT_MAX 4096 /* a pool's wait after backing off */

void heap_decommit_tick(struct heap *heap);     /* lock held */

static inline void heap_unlock(struct heap *heap)
{
    bool tick = heap->lock_acquisitions % HEAP_DECAY_TICK == 0;
    if (__builtin_expect(tick, 0))
        heap_decommit_tick(heap);
    lock_release(&heap->lock);
    if (__builtin_expect(tick, 0))
        chunk_decay_tick();
}

/* A heap out of pools of a class with room adopts one from another heap
 * (heap.c, pool_adopt): it looks at up to HEAP_ADOPT_PROBES other heaps
 * whose lock is free, and at the first HEAP_ADOPT_SCAN pools each lists
 * with room, for one with a quarter of its blocks free.  Every other
 * heap on machines of up to 65 CPUs: a thread moving between two CPUs
 * must find what it left on the other one, whichever two they are (a
 * probe is a load of the lock's line, a few hundred ns at most, and
 * only where a new pool or region would be made). */
#define HEAP_ADOPT_PROBES 64
#define HEAP_ADOPT_SCAN 4

/* Moves up to max blocks of size_class to out[] (lock held); a new pool
 * when needed is adopted from another heap or made. */
unsigned heap_take_blocks(struct heap *heap, unsigned size_class,
                          void **out, unsigned max);
/* Returns a block to its pool, owned by heap (lock held). */
void heap_put_block(struct heap *heap, struct pool *pool, void *block);

/* Locks the heap that owns span, a pool or an arena region, and returns
 * it: an owner changes only under its lock (a heap adopting the pool or
 * region), so it is checked again once locked. */
struct heap *heap_lock_owner(const struct span_header *span);

/*
 * A block of the heap's arena (lock held): of at least size bytes,
 * aligned to align (a power of two; 0 for the arena's own 16).  With no
 * free block that fits, the heap first adopts the region holding one
 * from another heap (HEAP_ADOPT_PROBES), then grows its arena.  NULL
 * when out of memory.
 */
void *heap_arena_alloc(struct heap *heap, size_t size, size_t align);

/* Frees ptr, a block of an arena region or a mapping of its own
 * (span: chunkmap_lookup(ptr)), under its owner heap's lock. */
void heap_free_span(struct span_header *span, void *ptr);

/*
 * One block of at least size bytes with no thread cache in front: a
 * pool block (to SC_POOL_MAX), an arena block, or a mapping of its own
 * (from the mmap threshold); NULL when out of memory.  For the sizes
 * over the cached classes and for the checking mode's raw blocks.
 */
void *heap_alloc_block(size_t size);
/* Frees a block of ours of any kind (pool, arena, mapping). */
void heap_free_block(void *block);
/* Bytes usable at a block of ours; aborts on a pointer that is not. */
size_t heap_block_usable(const void *block);

/* Gives back every free pool page; returns the bytes. */
size_t heap_trim_all(void);

void heap_fork_prepare(void);
void heap_fork_parent(void);
void heap_fork_child(void);

#endif
