/*
 * tcache.c - the per-thread cache's slow paths: refill, spill, and the
 * thread-exit flush (design in tcache.h).
 */
#include "tcache.h"

#include "alloc.h"
#include "config.h"
#include "heap.h"
#include "heapcheck.h"
#include "os.h"

#include <errno.h>
#include <pthread.h>

__thread struct tcache tcache_self
    __attribute__((tls_model("initial-exec")));
uint64_t tcache_key;

static pthread_key_t exit_key;

void tcache_bad_entry(const void *block)
{
    os_fatal_pointer("malloc(): double free or use after free of a "
                     "cached block", block);
}

void tcache_bad_header(const void *block)
{
    os_fatal_pointer("malloc(): corrupted header of a cached block",
                     block);
}

/* Aborts if block, which carries the cache's key, is in bin. */
static void check_not_cached(const struct tcache_bin *bin, void *block)
{
    for (struct tcache_entry *at = bin->head; at != NULL; at = at->next)
        if (at == block)
            os_fatal_pointer("free(): double free detected in thread "
                             "cache", block);
}

/*
 * A class whose bin would hold fewer than two blocks (over 2 KiB with
 * 4 KiB bins) caches one block, and only in a thread that has allocated
 * from that class (tcache_alloc_slow raises its limit from 0 to 1):
 * enough for a thread that frees and mallocs such a buffer over and
 * over (30 ns a pair with the lock, 5 without), while a thread that only
 * frees them (a consumer) holds back none: with one per class it sat on
 * a block of each of some 35 classes, ~280 KiB, a third of what Mallard
 * kept beyond glibc on prodcons --threads 1 with a short queue, and
 * took a lock per free all the same (each free spilled the last).
 * Two per class cost prodcons with 16 producers and 16 consumers on 16
 * cores 52.9 MiB against 36.7 with none (glibc 26.7).
 */
static uint16_t bin_limit(unsigned size_class)
{
    uint32_t limit = TCACHE_BIN_BYTES / sc_block_size[size_class];
    return (uint16_t)(limit > TCACHE_BIN_START_MAX ? TCACHE_BIN_START_MAX :
                      limit < 2 ? 0 : limit);
}

static void set_limit(struct tcache *cache, unsigned size_class,
                      uint32_t limit)
{
    cache->bins[size_class].limit = (uint16_t)limit;
}

/* The limit a bin starts from once its class is in use; growth is
 * counted above it. */
static uint32_t start_limit(unsigned size_class)
{
    uint32_t limit = bin_limit(size_class);
    return limit ? limit : 1;
}

static void spill(unsigned size_class, struct tcache_bin *bin,
                  uint32_t keep);

/*
 * Takes back the growth of bins the thread has not refilled in its last
 * TCACHE_IDLE_REFILLS refills: their limits return to the start, their
 * blocks above it to the heaps.  Run when a bouncing bin finds the
 * thread's growth budget spent, so the budget follows the classes a
 * program uses now, not the first it used (git log -p walks through
 * most classes of 2-16 KiB in turn).
 */
static void reclaim_idle_growth(struct tcache *cache)
{
    for (unsigned c = 0; c < SC_COUNT; c++) {
        struct tcache_bin *bin = &cache->bins[c];
        uint32_t start = start_limit(c);
        if (bin->limit <= start ||
            cache->refills - cache->last_refill[c] < TCACHE_IDLE_REFILLS)
            continue;
        cache->grown_bytes -= (bin->limit - start) * sc_block_size[c];
        set_limit(cache, c, start);
        if (bin->count > start)
            spill(c, bin, start);
    }
}

/*
 * A refill of a bin that spilled since its last refill: the program
 * keeps more of the class in flight than the bin holds, and each bounce
 * costs a lock round trip.  Doubles the limit within the bin's and the
 * thread's bounds (tcache.h).
 */
static void grow_bouncing_bin(struct tcache *cache, unsigned size_class)
{
    struct tcache_bin *bin = &cache->bins[size_class];
    uint32_t size = sc_block_size[size_class];
    uint32_t most = TCACHE_BIN_GROWN_BYTES / size;
    if (most > TCACHE_BIN_MAX)
        most = TCACHE_BIN_MAX;
    uint32_t grown = bin->limit * 2u;
    if (grown > most)
        grown = most;
    uint32_t added = (grown - bin->limit) * size;
    if (cache->grown_bytes + added > TCACHE_THREAD_BYTES)
        reclaim_idle_growth(cache);
    if (grown > bin->limit &&
        cache->grown_bytes + added <= TCACHE_THREAD_BYTES) {
        cache->grown_bytes += added;
        set_limit(cache, size_class, grown);
    }
    bin->spilled = 0;
}

static void activate(struct tcache *cache)
{
    bool on = config.thread_cache;
    cache->grown_bytes = 0;
    for (unsigned c = 0; c < SC_COUNT; c++) {
        set_limit(cache, c, on ? bin_limit(c) : 0);
        cache->bins[c].batch = TCACHE_FIRST_BATCH;
    }
    cache->state = on ? TCACHE_ACTIVE : TCACHE_OFF;
    /* The key's destructor empties the cache when the thread exits. */
    if (on)
        pthread_setspecific(exit_key, cache);
}

/* Returns pool blocks to their heaps, locking each owner heap once per
 * run. */
static void return_pool_blocks(struct tcache_entry *list)
{
    struct heap *locked = NULL;
    while (list != NULL) {
        struct tcache_entry *next = list->next;
        struct pool *pool = pool_of_block(list);
        /* Holding its lock, a heap the pool names stays its owner. */
        if (pool_owner(pool) != locked) {
            if (locked)
                heap_unlock(locked);
            locked = heap_lock_owner(&pool->span);
        }
        list->key = 0;
        heap_put_block(locked, pool, list);
        list = next;
    }
    if (locked)
        heap_unlock(locked);
}

/* An arena block of a class over SC_POOL_MAX goes back to its region
 * (the owner heap's lock is taken there). */
static void free_arena_block(void *block)
{
    heap_free_span(chunkmap_lookup(block), block);
}

static void return_blocks(unsigned size_class, struct tcache_entry *list)
{
    if (size_class < SC_POOL_COUNT) {
        return_pool_blocks(list);
        return;
    }
    while (list != NULL) {              /* arena blocks: one or two */
        struct tcache_entry *next = list->next;
        list->key = 0;
        free_arena_block(list);
        list = next;
    }
}

/* Keeps the first keep entries of bin, returning the rest. */
static void spill(unsigned size_class, struct tcache_bin *bin,
                  uint32_t keep)
{
    struct tcache_entry *rest = bin->head;
    if (keep == 0) {
        bin->head = NULL;
    } else {
        struct tcache_entry *last = bin->head;
        for (uint32_t i = 1; i < keep; i++)
            last = last->next;
        rest = last->next;
        last->next = NULL;
    }
    bin->count = keep;
    return_blocks(size_class, rest);
}

/* Up to want blocks of size_class from heap (locked): from its pools,
 * or for the classes over SC_POOL_MAX one block of the class size from
 * its arena. */
static unsigned take_blocks(struct heap *heap, unsigned size_class,
                            void **out, unsigned want)
{
    if (size_class < SC_POOL_COUNT)
        return heap_take_blocks(heap, size_class, out, want);
    out[0] = heap_arena_alloc(heap, sc_block_size[size_class], 0);
    return out[0] != NULL;
}

/* Blocks the next refill of bin takes; the batch doubles each refill
 * up to half the bin, so a class touched once costs a block or two. */
static unsigned refill_count(struct tcache_bin *bin)
{
    unsigned most = bin->limit / 2;
    if (most > TCACHE_BATCH_MAX)
        most = TCACHE_BATCH_MAX;
    if (most == 0)
        return 1;
    if (bin->batch >= most)
        return most;
    unsigned want = bin->batch;
    bin->batch *= 2;
    return want;
}

/*
 * A cached block of one of the next TCACHE_STEAL_CLASSES classes, for
 * a class over SC_POOL_MAX whose bin is empty, or NULL.  A program that
 * walks through the big classes (git log -p: buffers of 10-30 KiB, a
 * little bigger or smaller each time) would otherwise take a new block
 * from the arena under the lock while the bin just above holds one:
 * the cache then sits on a block of every class it passed.  The block
 * goes back to its own class's bin when freed (its header's size).
 */
static void *steal_bigger_block(unsigned size_class, size_t size)
{
    unsigned last = size_class + TCACHE_STEAL_CLASSES;
    if (last >= SC_COUNT)
        last = SC_COUNT - 1;
    for (unsigned c = size_class + 1; c <= last; c++)
        if (tcache_self.bins[c].head != NULL)
            return tcache_alloc_arena_class(c, size);
    return NULL;
}

void *tcache_alloc_slow(unsigned size_class, size_t size)
{
    if (!alloc_ensure_init()) {
        errno = ENOMEM;
        return NULL;
    }
    if (config.check)
        return heapcheck_malloc(size);
    struct tcache *cache = &tcache_self;
    if (cache->state == TCACHE_UNSET)
        activate(cache);
    struct tcache_bin *bin = &cache->bins[size_class];
    if (cache->state == TCACHE_ACTIVE && size_class >= SC_POOL_COUNT) {
        void *block = steal_bigger_block(size_class, size);
        if (block != NULL)
            return block;
    }
    if (cache->state == TCACHE_ACTIVE) {
        if (bin->limit == 0)
            set_limit(cache, size_class, 1); /* a big class in use */
        else if (bin->spilled)
            grow_bouncing_bin(cache, size_class);
        cache->last_refill[size_class] = ++cache->refills;
        bin->allocated = 1;     /* the thread allocates from this class */
    }
    void *batch[TCACHE_BATCH_MAX];
    unsigned want = refill_count(bin);
    struct heap *heap = heap_for_this_cpu();
    heap_lock(heap);
    unsigned got = take_blocks(heap, size_class, batch, want);
    heap_unlock(heap);
    if (got == 0) {
        errno = ENOMEM;
        return NULL;
    }
    for (unsigned i = got - 1; i > 0; i--)
        tcache_bin_push(bin, batch[i]);
    return batch[0];
}

static void free_to_heap(unsigned size_class, void *block)
{
    if (size_class >= SC_POOL_COUNT) {
        free_arena_block(block);
        return;
    }
    struct pool *pool = pool_of_block(block);
    struct heap *owner = heap_lock_owner(&pool->span);
    heap_put_block(owner, pool, block);
    heap_unlock(owner);
}

/* A block that is back in its pool (its bit) or its arena (its header
 * says free) was freed twice, its first free having left the bin in a
 * spill: caching it would let the heap and the bin both hand it out.
 * Only the slow path looks (a load the fast path does without); a bin
 * of one block, as the big classes start with, takes it at every other
 * free.  (An arena block merged into the free block before it has its
 * header cleared by arena_free for this.) */
static void check_still_out(unsigned size_class, void *block)
{
    size_t index;
    bool back;
    if (size_class < SC_POOL_COUNT) {
        struct pool *pool = pool_of_block(block);
        back = pool_block_index(pool, block, &index) &&
               !pool_block_is_out(pool, index);
    } else {
        back = arena_block_size_unlocked(block) == 0;
    }
    if (back)
        os_fatal_pointer("free(): double free detected", block);
}

void tcache_free_slow(unsigned size_class, void *block)
{
    if (config.check) {     /* not a checked block: heapcheck_free says so */
        heapcheck_free(block);
        return;
    }
    struct tcache *cache = &tcache_self;
    if (cache->state == TCACHE_UNSET && alloc_ensure_init())
        activate(cache);
    struct tcache_bin *bin = &cache->bins[size_class];
    if (cache->state != TCACHE_ACTIVE || bin->limit == 0) {
        free_to_heap(size_class, block);
        return;
    }
    /* Before a spill: it would hand back the cached copy of a block
     * freed twice and clear its key, hiding the second free. */
    if (((struct tcache_entry *)block)->key == tcache_key)
        check_not_cached(bin, block);
    check_still_out(size_class, block);
    if (bin->count >= bin->limit) {
        spill(size_class, bin, bin->allocated ? bin->limit / 2 : 0);
        bin->spilled |= bin->allocated;
        bin->allocated = 0;
    }
    tcache_bin_push(bin, block);
}

/* pthread key destructor: the thread is exiting. */
static void flush_at_thread_exit(void *value)
{
    struct tcache *cache = value;
    for (unsigned c = 0; c < SC_COUNT; c++) {
        spill(c, &cache->bins[c], 0);
        cache->bins[c].limit = 0;
    }
    cache->state = TCACHE_OFF;
}

bool tcache_init_global(void)
{
    return pthread_key_create(&exit_key, flush_at_thread_exit) == 0;
}
