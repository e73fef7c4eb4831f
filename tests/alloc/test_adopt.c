/*
 * test_adopt.c - a heap adopts pools and arena regions with room from
 * another heap before it takes new memory (heap.c: pool_adopt,
 * region_adopt), so a thread that moves between CPUs does not fill a
 * second set of pools and regions.  Run with MALLARD_THREAD_CACHE=0, so
 * that every malloc and free reaches the heap of the thread's CPU.
 *
 * The thread fills pools and regions on CPU 0, frees every other block
 * (so they are half used and nothing merges or empties), then on CPU 1
 * allocates as many blocks again: the heaps together must hold no more
 * pool or region bytes than before, and every block must then free
 * cleanly, whichever heap owns its pool or region now.  Then two
 * threads hop between the two CPUs while they allocate, swap blocks
 * through shared slots and free each other's, so pools and regions
 * change owner while frees look their owner up (run under TSan too).
 */
#include "check.h"
#include "mallard.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/sysinfo.h>

#define MAX_HEAPS 1024
#define POOL_BLOCKS 4096       /* 256 B: four pools' worth */
#define POOL_BLOCK_BYTES 256
#define ARENA_BLOCKS 256       /* 8 KiB, arena blocks: eight regions */
#define ARENA_BLOCK_BYTES (8 << 10)

static struct mallard_heap_stats heaps[MAX_HEAPS];
static void *pool_blocks[POOL_BLOCKS + POOL_BLOCKS / 2];
static void *arena_blocks[ARENA_BLOCKS + ARENA_BLOCKS / 2];

static int pin_to(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof(one), &one);
}

/* Pool and region bytes held by all heaps together. */
static void held_bytes(uint64_t *pool_held, uint64_t *arena_held)
{
    size_t count = mallard_heap_stats(heaps, MAX_HEAPS);
    *pool_held = *arena_held = 0;
    for (size_t h = 0; h < count && h < MAX_HEAPS; h++) {
        *pool_held += heaps[h].pool_bytes_held;
        *arena_held += heaps[h].arena_bytes_held;
    }
}

static void fill(void **blocks, size_t from, size_t to, size_t bytes)
{
    for (size_t i = from; i < to; i++) {
        blocks[i] = mallard_malloc(bytes);
        CHECK(blocks[i] != NULL);
        ((char *)blocks[i])[0] = (char)i;
    }
}

/* Frees blocks[i] for odd i below count, leaving each pool and region
 * half used with no two free blocks side by side. */
static void free_odd(void **blocks, size_t count)
{
    for (size_t i = 1; i < count; i += 2) {
        mallard_free(blocks[i]);
        blocks[i] = NULL;
    }
}

static void free_all(void **blocks, size_t count)
{
    for (size_t i = 0; i < count; i++)
        mallard_free(blocks[i]);
}

#define HOP_THREADS 2
#define HOP_ROUNDS 40000
#define HOP_EVERY 64          /* operations between two hops */
#define HOP_SLOTS 512

static _Atomic(void *) hop_slots[HOP_SLOTS];

/* Sizes from every kind of block: pools, cached arena classes,
 * uncached arena blocks. */
static size_t hop_size(uint64_t random)
{
    static const size_t sizes[] = { 24, 256, 1000, 3000, 6000, 20000,
                                    90000 };
    return sizes[random % (sizeof(sizes) / sizeof(sizes[0]))];
}

static void *hopper(void *arg)
{
    uint64_t random = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < HOP_ROUNDS; i++) {
        if (i % HOP_EVERY == 0)
            pin_to((i / HOP_EVERY + (int)(uintptr_t)arg) % 2);
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        char *block = mallard_malloc(hop_size(random >> 8));
        CHECK(block != NULL);
        block[0] = 1;
        mallard_free(atomic_exchange(&hop_slots[random % HOP_SLOTS],
                                     block));
    }
    return NULL;
}

static void check_hopping_threads(void)
{
    pthread_t threads[HOP_THREADS];
    for (uintptr_t t = 0; t < HOP_THREADS; t++)
        CHECK(pthread_create(&threads[t], NULL, hopper, (void *)t) == 0);
    for (int t = 0; t < HOP_THREADS; t++)
        pthread_join(threads[t], NULL);
    for (int s = 0; s < HOP_SLOTS; s++)
        mallard_free(atomic_exchange(&hop_slots[s], NULL));
}

int main(void)
{
    if (get_nprocs_conf() < 2 || pin_to(0) != 0 || pin_to(1) != 0) {
        printf("SKIP: needs CPUs 0 and 1 in the affinity mask\n");
        return 77;      /* meson: skipped */
    }
    pin_to(0);
    fill(pool_blocks, 0, POOL_BLOCKS, POOL_BLOCK_BYTES);
    fill(arena_blocks, 0, ARENA_BLOCKS, ARENA_BLOCK_BYTES);
    free_odd(pool_blocks, POOL_BLOCKS);
    free_odd(arena_blocks, ARENA_BLOCKS);
    uint64_t pool_before, arena_before, pool_after, arena_after;
    held_bytes(&pool_before, &arena_before);
    pin_to(1);
    fill(pool_blocks, POOL_BLOCKS, POOL_BLOCKS + POOL_BLOCKS / 2,
         POOL_BLOCK_BYTES);
    fill(arena_blocks, ARENA_BLOCKS, ARENA_BLOCKS + ARENA_BLOCKS / 2,
         ARENA_BLOCK_BYTES);
    held_bytes(&pool_after, &arena_after);
    CHECK_MSG(pool_after == pool_before, "pools %llu -> %llu bytes",
              (unsigned long long)pool_before,
              (unsigned long long)pool_after);
    CHECK_MSG(arena_after == arena_before, "regions %llu -> %llu bytes",
              (unsigned long long)arena_before,
              (unsigned long long)arena_after);
    pin_to(0);          /* frees from the other CPU, into adopted memory */
    free_all(pool_blocks, POOL_BLOCKS + POOL_BLOCKS / 2);
    free_all(arena_blocks, ARENA_BLOCKS + ARENA_BLOCKS / 2);
    check_hopping_threads();
    struct mallard_stats stats;
    mallard_stats(&stats);
    CHECK_MSG(stats.bytes_in_use == 0, "%llu bytes still in use",
              (unsigned long long)stats.bytes_in_use);
    CHECK_DONE();
}
