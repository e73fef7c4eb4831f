/*
 * heap.c - per-CPU heaps: creating them, choosing one, moving pool
 * blocks in and out under the heap lock, and serving and freeing the
 * blocks no thread cache sits in front of (design in heap.h).
 */
#include "heap.h"

#include "arena.h"
#include "chunk.h"
#include "cpu.h"
#include "huge.h"
#include "os.h"

struct heap *heap_table;
unsigned heap_count;

bool heap_init_all(void)
{
    unsigned count = cpu_count_configured();
    size_t bytes = (count * sizeof(struct heap) + OS_PAGE_SIZE - 1) &
                   ~(OS_PAGE_SIZE - 1);
    struct heap *table = os_map(bytes);
    if (table == NULL)
        return false;
    for (unsigned i = 0; i < count; i++) {
        table[i].index = i;
        arena_init(&table[i].arena);
    }
    heap_table = table;
    heap_count = count;
    return true;
}

struct heap *heap_for_this_cpu(void)
{
    unsigned cpu = cpu_current();
    /* A CPU id past the configured count (hot-plug) still gets a heap. */
    return &heap_table[cpu < heap_count ? cpu : cpu % heap_count];
}

static void list_push(struct heap_class *class, struct pool *pool)
{
    pool->prev = NULL;
    pool->next = class->with_room;
    if (class->with_room)
        class->with_room->prev = pool;
    class->with_room = pool;
    pool->listed = 1;
}

static void list_remove(struct heap_class *class, struct pool *pool)
{
    if (pool->prev)
        pool->prev->next = pool->next;
    else
        class->with_room = pool->next;
    if (pool->next)
        pool->next->prev = pool->prev;
    pool->listed = 0;
}

static struct pool *pool_create(struct heap *heap, unsigned size_class)
{
    enum chunk_source source;
    struct pool *pool = chunk_alloc_untouched(CHUNK_SIZE,
        pool_blocks_offset(size_class), &source);
    if (pool == NULL)
        return NULL;
    pool_init(pool, size_class, heap, source);
    pool->mark_tick = heap->decay_ticks;
    pool->decommit_wait = HEAP_DECOMMIT_WAIT;
    if (chunkmap_set_tagged(pool, CHUNK_SIZE, &pool->span,
                            pool_tag(size_class)) != 0) {
        chunk_free(pool, CHUNK_SIZE, source);
        return NULL;
    }
    heap->classes[size_class].pool_count++;
    heap->pool_bytes_held += CHUNK_SIZE;
    list_push(&heap->classes[size_class], pool);
    return pool;
}

/*
 * Pages given back are in use again: if that came soon after the
 * decommit, the pool's use swings, and giving pages back costs it a
 * system call and page faults for nothing; it waits twice as long
 * before the next one.  (A loop of random 1-16 KiB blocks, 100 live:
 * 34 ns an op with no decommit, 47 with a fixed wait, 9 times the page
 * faults.)  A pool that empties goes back to the span layer and starts
 * afresh.
 */
static void note_pages_back_in_use(struct heap *heap, struct pool *pool)
{
    uint32_t since = heap->decay_ticks - pool->decommit_tick;
    if (since < 4 * pool->decommit_wait &&
        pool->decommit_wait < HEAP_DECOMMIT_WAIT_MAX)
        pool->decommit_wait *= 2;
}

/*
 * The next of up to HEAP_ADOPT_PROBES other heaps whose lock is free at
 * once, locked (release it with lock_release); NULL when none is left.
 * probe counts the heaps tried (start at 0).  Only a trylock: the
 * caller holds its own heap's lock, and two heaps waiting for each
 * other's would deadlock.  The acquisition is counted but is no decay
 * tick (heap_unlock's): the heap's own next unlock does that work.
 */
static struct heap *lock_next_other(struct heap *heap, unsigned *probe)
{
    unsigned probes = heap_count - 1;
    if (probes > HEAP_ADOPT_PROBES)
        probes = HEAP_ADOPT_PROBES;
    while (*probe < probes) {
        ++*probe;
        struct heap *from = &heap_table[(heap->index + *probe) % heap_count];
        if (lock_try(&from->lock)) {
            from->lock_acquisitions++;
            return from;
        }
    }
    return NULL;
}

/* Moves pool, listed with room in from, to heap (both locks held). */
static void pool_move(struct heap *from, struct heap *heap,
                      struct pool *pool)
{
    struct heap_class *class = &from->classes[pool->size_class];
    uint64_t out = (uint64_t)pool->used * pool->block_size;
    uint64_t carved = (uint64_t)pool->carved * pool->block_size;
    list_remove(class, pool);
    class->pool_count--;
    from->pool_bytes_held -= CHUNK_SIZE;
    from->pool_bytes_out -= out;
    from->pool_bytes_carved -= carved;
    pool_set_owner(pool, heap);
    heap->classes[pool->size_class].pool_count++;
    heap->pool_bytes_held += CHUNK_SIZE;
    heap->pool_bytes_out += out;
    heap->pool_bytes_carved += carved;
    list_push(&heap->classes[pool->size_class], pool);
    /* Its decay marks counted the old owner's ticks: start afresh. */
    pool_mark(pool, heap->decay_ticks);
    pool->decommit_tick = heap->decay_ticks - 4 * pool->decommit_wait;
}

/* A pool of from's with at least a quarter of its blocks free, among
 * the first HEAP_ADOPT_SCAN it lists with room (from's lock held). */
static struct pool *roomy_pool(struct heap *from, unsigned size_class)
{
    struct pool *pool = from->classes[size_class].with_room;
    for (unsigned i = 0; pool != NULL && i < HEAP_ADOPT_SCAN; i++) {
        if (pool->capacity - pool->used >= pool->capacity / 4)
            return pool;
        pool = pool->next;
    }
    return NULL;
}

/*
 * Before it makes a new pool, a heap adopts one of the class, with room,
 * from another heap whose lock is free at that moment (trylock only:
 * this heap's lock is held, and waiting could deadlock).  A thread that
 * moves between CPUs frees its blocks into the pools of one heap and
 * would otherwise fill new pools in the next: a one-thread random-size
 * loop (mimalloc-bench's rptest) held 1.4-1.6x glibc's memory, 1.1x
 * pinned to one CPU.  The thread still takes blocks only from the heap
 * of its CPU; the adopted pool simply belongs to that heap from now on.
 */
static struct pool *pool_adopt(struct heap *heap, unsigned size_class)
{
    unsigned probe = 0;
    for (struct heap *from; (from = lock_next_other(heap, &probe));) {
        struct pool *pool = roomy_pool(from, size_class);
        if (pool != NULL)
            pool_move(from, heap, pool);
        lock_release(&from->lock);
        if (pool != NULL)
            return pool;
    }
    return NULL;
}

unsigned heap_take_blocks(struct heap *heap, unsigned size_class,
                          void **out, unsigned max)
{
    struct heap_class *class = &heap->classes[size_class];
    unsigned taken = 0;
    while (taken < max) {
        struct pool *pool = class->with_room;
        if (pool == NULL && (pool = pool_adopt(heap, size_class)) == NULL &&
            (pool = pool_create(heap, size_class)) == NULL)
            break;
        uint32_t carved = pool->carved;
        uint64_t decommitted = pool->decommitted;
        taken += pool_take(pool, out + taken, max - taken);
        if (decommitted & ~pool->decommitted)
            note_pages_back_in_use(heap, pool);
        heap->pool_bytes_carved +=
            (uint64_t)(pool->carved - carved) * pool->block_size;
        if (!pool_has_room(pool))
            list_remove(class, pool);
    }
    heap->pool_bytes_out += (uint64_t)taken * sc_block_size[size_class];
    return taken;
}

/* Hands an empty pool's chunk back to the chunk layer. */
static void pool_release(struct heap *heap, struct pool *pool)
{
    struct heap_class *class = &heap->classes[pool->size_class];
    list_remove(class, pool);
    class->pool_count--;
    heap->pool_bytes_held -= CHUNK_SIZE;
    heap->pool_bytes_carved -= (uint64_t)pool->carved * pool->block_size;
    chunkmap_set(pool, CHUNK_SIZE, NULL);
    chunk_free(pool, CHUNK_SIZE, (enum chunk_source)pool->source);
}

/*
 * An empty pool goes back to the chunk layer at once unless it is the
 * last of its class here (keeping one avoids a map/unmap cycle for a
 * program that frees and reallocates the same few blocks): another
 * class's next pool takes the chunk.  Keeping emptied pools for a few
 * decay ticks instead saved page faults in random-size loops but held
 * memory no other class could use (a ring of 256 blocks of 1-16 KiB:
 * 2.2x its live bytes against 2.0x).
 */
void heap_put_block(struct heap *heap, struct pool *pool, void *block)
{
    struct heap_class *class = &heap->classes[pool->size_class];
    pool_put(pool, block);
    heap->pool_bytes_out -= pool->block_size;
    if (!pool->listed)
        list_push(class, pool);
    if (pool->used == 0 && class->pool_count > 1)
        pool_release(heap, pool);
}

/*
 * Free pool pages go back a few at a time, on the heap's decay tick,
 * from pools whose use stayed low since their mark at least their
 * decommit_wait ticks ago (HEAP_DECOMMIT_WAIT, doubled each time pages
 * given back were wanted again soon: note_pages_back_in_use).  Giving
 * them back at every free made a class whose use swings up and down
 * give back and fault in the same pages over and over (a ring of 256
 * blocks of 1-16 KiB: 790 MB given back in 300,000 frees, 8 times
 * slower); so did a fixed wait (larson with two threads 9-14% slower).
 * At most HEAP_DECOMMIT_PAGES a tick bounds what is left of that cost.
 * The scan starts where the last one stopped, so every class has its
 * turn.
 */
static size_t decommit_pool(struct heap *heap, struct pool *pool,
                            uint32_t tick, size_t budget)
{
    if (!pool_wants_decommit(pool)) {
        pool_mark(pool, tick);      /* in use: watch it afresh */
        return 0;
    }
    if (tick - pool->mark_tick < pool->decommit_wait)
        return 0;                   /* low, but not for long yet */
    size_t given = pool_decommit_free_pages(pool, budget);
    heap->pool_bytes_decommitted += given * OS_PAGE_SIZE;
    pool->decommit_tick = tick;
    pool_mark(pool, tick);
    return given;
}

void heap_decommit_tick(struct heap *heap)
{
    uint32_t tick = ++heap->decay_ticks;
    size_t budget = HEAP_DECOMMIT_PAGES;
    unsigned scanned = 0;
    for (; scanned < SC_POOL_COUNT && budget > 0; scanned++) {
        unsigned c = (heap->decommit_class + scanned) % SC_POOL_COUNT;
        struct pool *pool = heap->classes[c].with_room;
        for (; pool != NULL && budget > 0; pool = pool->next)
            budget -= decommit_pool(heap, pool, tick, budget);
    }
    heap->decommit_class =
        (heap->decommit_class + scanned) % SC_POOL_COUNT;
}

/* malloc_trim: every free page of every pool goes to the kernel (an
 * emptied pool, unless the last of its class, went back already). */
size_t heap_trim_all(void)
{
    size_t given = 0;
    for (unsigned i = 0; i < heap_count; i++) {
        struct heap *heap = &heap_table[i];
        heap_lock(heap);
        for (unsigned c = 0; c < SC_POOL_COUNT; c++) {
            struct pool *pool = heap->classes[c].with_room;
            for (; pool != NULL; pool = pool->next) {
                size_t bytes = pool_decommit_free_pages(pool, 64) *
                               OS_PAGE_SIZE;
                heap->pool_bytes_decommitted += bytes;
                given += bytes;
            }
        }
        heap_unlock(heap);
    }
    return given;
}

void heap_fork_prepare(void)
{
    for (unsigned i = 0; i < heap_count; i++)
        lock_acquire(&heap_table[i].lock);
}

void heap_fork_parent(void)
{
    for (unsigned i = 0; i < heap_count; i++)
        lock_release(&heap_table[i].lock);
}

void heap_fork_child(void)
{
    for (unsigned i = 0; i < heap_count; i++)
        lock_reset(&heap_table[i].lock);
}

/* The owner of a pool or an arena region; may be stale unlocked. */
static struct heap *span_owner(const struct span_header *span)
{
    if (span->kind == SPAN_POOL)
        return pool_owner((const struct pool *)span);
    return arena_region_owner(span);
}

struct heap *heap_lock_owner(const struct span_header *span)
{
    for (;;) {
        struct heap *owner = span_owner(span);
        heap_lock(owner);
        if (span_owner(span) == owner)
            return owner;
        heap_unlock(owner);  /* adopted meanwhile: follow it */
    }
}

/* Adopts, from another heap whose lock is free, the region holding a
 * free block that fits the request (pool_adopt says why). */
static bool region_adopt(struct heap *heap, size_t size, size_t align)
{
    unsigned probe = 0;
    for (struct heap *from; (from = lock_next_other(heap, &probe));) {
        bool adopted = arena_adopt_fit(&heap->arena, &from->arena, heap,
                                       size, align);
        lock_release(&from->lock);
        if (adopted)
            return true;
    }
    return false;
}

static void *arena_take(struct heap *heap, bool may_grow, size_t size,
                        size_t align)
{
    void *owner = may_grow ? heap : NULL;
    if (align == 0)
        return arena_alloc(&heap->arena, owner, size);
    return arena_alloc_aligned(&heap->arena, owner, size, align);
}

void *heap_arena_alloc(struct heap *heap, size_t size, size_t align)
{
    void *block = arena_take(heap, false, size, align);
    if (block == NULL && region_adopt(heap, size, align))
        block = arena_take(heap, false, size, align);
    return block != NULL ? block : arena_take(heap, true, size, align);
}

void heap_free_span(struct span_header *span, void *ptr)
{
    if (span->kind == SPAN_HUGE) {
        huge_free((struct huge_header *)span, ptr);
        return;
    }
    struct heap *owner = heap_lock_owner(span);
    arena_free(&owner->arena, ptr);
    heap_unlock(owner);
}

void *heap_alloc_block(size_t size)
{
    if (size > PTRDIFF_MAX)
        return NULL;
    if (size >= huge_threshold())
        return huge_alloc(size, 0);
    struct heap *heap = heap_for_this_cpu();
    void *block = NULL;
    heap_lock(heap);
    if (size <= SC_POOL_MAX)
        heap_take_blocks(heap, sc_of_size(size), &block, 1);
    else
        block = heap_arena_alloc(heap, size, 0);
    heap_unlock(heap);
    return block;
}

void heap_free_block(void *block)
{
    struct span_header *span = chunkmap_lookup(block);
    if (span->kind != SPAN_POOL) {
        heap_free_span(span, block);
        return;
    }
    struct pool *pool = (struct pool *)span;
    struct heap *owner = heap_lock_owner(&pool->span);
    heap_put_block(owner, pool, block); /* may release the pool */
    heap_unlock(owner);
}

size_t heap_block_usable(const void *block)
{
    struct span_header *span = chunkmap_lookup(block);
    if (span == NULL)
        os_fatal_pointer("malloc_usable_size(): invalid pointer", block);
    if (span->kind == SPAN_POOL)
        return ((struct pool *)span)->block_size;
    if (span->kind == SPAN_ARENA)
        return arena_usable_size(block);  /* no lock: the caller holds it */
    huge_check((struct huge_header *)span, block);
    return huge_usable_size((struct huge_header *)span);
}
