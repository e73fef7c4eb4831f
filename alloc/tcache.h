/*
 * tcache.h - the per-thread cache in front of the heaps.
 *
 * Each thread keeps, per size class, a list of free blocks it may hand
 * out or take back without any lock (as glibc's tcache).  Lists refill
 * from, and spill half their blocks back to, the blocks' heaps in
 * batches, so one lock round trip serves many calls.  A bin's limit
 * starts small and grows only while the bin bounces, within a per-thread
 * budget for growth (below), which bounds what a thread can hold back
 * from other threads.  A refill starts at TCACHE_FIRST_BATCH blocks and doubles
 * with each refill, so a class a program touches once costs it one or
 * two blocks, not half a bin of pages.
 *
 * A full bin spills half its blocks, or all of them when the thread has
 * taken none from it since the last spill: a thread that only frees
 * blocks of a class (a consumer) would otherwise sit on a full bin of
 * every class, pinning pools that the producing thread must then grow.
 *
 * With MALLARD_THREAD_CACHE=0 every limit is 0: no block is ever cached
 * and every malloc and free takes a heap lock.  When a thread exits its
 * cache is emptied into the heaps and switched off the same way.
 *
 * Classes too big for two blocks in a bin start with one, and only in
 * a thread that allocates them (tcache.c).  The classes over SC_POOL_MAX
 * hold arena blocks of exactly the class size (sizeclass.h): a refill
 * takes one from the heap's arena, a spill frees it there.
 *
 * A cached block holds {next, key}: key == tcache_key marks "in some
 * thread cache".  free() of a block carrying the key looks for it in
 * the bin (found: a double free, abort).  malloc checks the key of every
 * block it pops: a block without it was written after its free (a use
 * after free), or is the second copy of a block freed twice whose first
 * copy had left the bin; abort.  The slow path of free also checks a
 * pool block's bit in its pool (tcache.c).
 */
#ifndef MALLARD_TCACHE_H
#define MALLARD_TCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "pool.h"
#include "sizeclass.h"

/*
 * A bin starts at TCACHE_BIN_BYTES of blocks (at least 2, at most
 * TCACHE_BIN_START_MAX), enough for most classes of most programs; a
 * class over 2 KiB starts at one block once the thread allocates from
 * it.  A bin that bounces (it spilled to its heap and then ran dry, so
 * the program keeps more blocks of the class in flight than the bin
 * holds) doubles its limit, up to TCACHE_BIN_GROWN_BYTES and
 * TCACHE_BIN_MAX blocks, while what growth added to all the thread's
 * bins stays within TCACHE_THREAD_BYTES.  The budget counts growth only:
 * the start limits are bounded already, and a program that touches
 * every class (a compiler, git) would otherwise spend the budget on one
 * block of each big class and never grow the bins it churns.  A grown
 * bin idle for TCACHE_IDLE_REFILLS of the thread's refills gives its
 * growth back when a bouncing bin finds the budget spent, so the budget
 * follows the classes in use now.  A thread thus holds back at most its
 * start limits plus the budget, however many classes it uses; the
 * figures behind the values are in docs/benchmarks.md.
 */
#define TCACHE_BIN_BYTES (4u << 10)
#define TCACHE_BIN_START_MAX 128u
#define TCACHE_BIN_GROWN_BYTES (256u << 10)
#define TCACHE_BIN_MAX 8192u           /* bounds the cost of a spill */
#define TCACHE_THREAD_BYTES (512u << 10)
/* A grown bin not refilled in this many of the thread's refills gives
 * its growth back when another bin needs it (tcache.c). */
#define TCACHE_IDLE_REFILLS 256u
/* A miss in a class over SC_POOL_MAX takes a cached block of up to
 * this many classes above (eight a doubling: at most some 25% bigger)
 * before the heap (tcache.c). */
#define TCACHE_STEAL_CLASSES 2u
#define TCACHE_FIRST_BATCH 2u
#define TCACHE_BATCH_MAX 256u          /* blocks moved under one lock */

struct tcache_entry {
    struct tcache_entry *next;
    uint64_t key;
};

struct tcache_bin {
    struct tcache_entry *head;
    uint16_t count;
    uint16_t limit;
    uint16_t batch;     /* blocks per refill: doubles up to limit / 2 */
    uint8_t allocated;  /* nonzero: a block was taken since the last
                           spill (so the thread does allocate here) */
    uint8_t spilled;    /* spilled since the last refill: a refill now
                           means the bin is too small (it bounces) */
};

enum tcache_state { TCACHE_UNSET = 0, TCACHE_ACTIVE, TCACHE_OFF };

struct tcache {
    struct tcache_bin bins[SC_COUNT];
    int state;           /* enum tcache_state */
    uint32_t grown_bytes; /* sum over bins of what growth added to
                             their limits, x block size */
    uint32_t refills;     /* refills so far (wraps; only differences
                             are read) */
    uint32_t last_refill[SC_COUNT]; /* refills at the bin's last one */
};

extern __thread struct tcache tcache_self
    __attribute__((tls_model("initial-exec")));
extern uint64_t tcache_key;

/* Refills the bin (or, uncached, takes one block); NULL when out of
 * memory.  size is what the program asked for, which only the checking
 * mode (heapcheck.h), served from here, needs. */
void *tcache_alloc_slow(unsigned size_class, size_t size);
/* Frees a block of size_class when its bin is full, the cache is off,
 * or the block carries the key (maybe a double free: it looks). */
void tcache_free_slow(unsigned size_class, void *block);

/* Puts a free block at the head of bin, marked as cached. */
static inline void tcache_bin_push(struct tcache_bin *bin, void *block)
{
    struct tcache_entry *entry = block;
    entry->next = bin->head;
    entry->key = tcache_key;
    bin->head = entry;
    bin->count++;
}

/* A popped block without the key: it was handed out already (freed
 * twice) or written after it was freed.  Aborts. */
_Noreturn void tcache_bad_entry(const void *block);

/* Takes entry, the head of bin, out of the bin. */
static inline void *tcache_pop(struct tcache_bin *bin,
                               struct tcache_entry *entry)
{
    bin->head = entry->next;
    bin->count--;
    bin->allocated = 1;
    entry->key = 0;
    return entry;
}

/* A cached arena block whose header no longer says "in use, at least
 * the class size" (written over while cached).  Aborts. */
_Noreturn void tcache_bad_header(const void *block);

/*
 * A block of size_class from the bin, else from the slow path.  With
 * arena_class (a constant at every call) the block is an arena block
 * with a header right before it (the classes over SC_POOL_MAX): a write
 * before the block, or past the end of the one before, while it sat in
 * the cache is caught here.  Blocks from a refill are fresh.
 */
static inline void *tcache_take(unsigned size_class, size_t size,
                                bool arena_class)
{
    struct tcache_bin *bin = &tcache_self.bins[size_class];
    struct tcache_entry *entry = bin->head;
    if (__builtin_expect(entry == NULL, 0))
        return tcache_alloc_slow(size_class, size);
    if (__builtin_expect(entry->key != tcache_key, 0))
        tcache_bad_entry(entry);
    if (arena_class && __builtin_expect(arena_block_size_unlocked(entry) <
                            sc_block_size[size_class] + ARENA_HEADER, 0))
        tcache_bad_header(entry);
    return tcache_pop(bin, entry);
}

static inline void *tcache_alloc(unsigned size_class, size_t size)
{
    return tcache_take(size_class, size, false);
}

static inline void *tcache_alloc_arena_class(unsigned size_class,
                                             size_t size)
{
    return tcache_take(size_class, size, true);
}

/* Frees a block of size_class: a pool block, or an arena block of
 * exactly the class size (classes from SC_POOL_COUNT on). */
static inline void tcache_free(unsigned size_class, void *block)
{
    struct tcache_bin *bin = &tcache_self.bins[size_class];
    struct tcache_entry *entry = block;
    if (__builtin_expect(bin->count >= bin->limit ||
                         entry->key == tcache_key, 0)) {
        tcache_free_slow(size_class, block);
        return;
    }
    tcache_bin_push(bin, entry);
}

/* Creates the thread-exit hook; called once from initialisation. */
bool tcache_init_global(void);

#endif
