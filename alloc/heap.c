/*
 * heap.c - per-CPU heaps: creating them, choosing one, and moving pool
 * blocks in and out under the heap lock (design in heap.h).
 */
#include "heap.h"

#include "chunk.h"
#include "cpu.h"
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
    if (chunkmap_set(pool, CHUNK_SIZE, &pool->span) != 0) {
        chunk_free(pool, CHUNK_SIZE, source);
        return NULL;
    }
    heap->classes[size_class].pool_count++;
    heap->pool_bytes_held += CHUNK_SIZE;
    list_push(&heap->classes[size_class], pool);
    return pool;
}

unsigned heap_take_blocks(struct heap *heap, unsigned size_class,
                          void **out, unsigned max)
{
    struct heap_class *class = &heap->classes[size_class];
    unsigned taken = 0;
    while (taken < max) {
        struct pool *pool = class->with_room;
        if (pool == NULL && (pool = pool_create(heap, size_class)) == NULL)
            break;
        char *bump = pool->bump;
        taken += pool_take(pool, out + taken, max - taken);
        heap->pool_bytes_carved += (uint64_t)(pool->bump - bump);
        if (!pool_has_room(pool))
            list_remove(class, pool);
    }
    heap->pool_bytes_out += (uint64_t)taken * sc_block_size[size_class];
    return taken;
}

/*
 * An empty pool goes back to the chunk layer unless it is the last of
 * its class here: keeping one avoids a map/unmap cycle for a program
 * that frees and reallocates the same few blocks.
 */
void heap_put_block(struct heap *heap, struct pool *pool, void *block)
{
    struct heap_class *class = &heap->classes[pool->size_class];
    pool_put(pool, block);
    heap->pool_bytes_out -= pool->block_size;
    if (!pool->listed)
        list_push(class, pool);
    if (pool->used == 0 && class->pool_count > 1) {
        list_remove(class, pool);
        class->pool_count--;
        heap->pool_bytes_held -= CHUNK_SIZE;
        heap->pool_bytes_carved -= (uint64_t)(pool->bump - pool->blocks);
        chunkmap_set(pool, CHUNK_SIZE, NULL);
        chunk_free(pool, CHUNK_SIZE, (enum chunk_source)pool->source);
    }
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
