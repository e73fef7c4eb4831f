/*
 * test_policy.c - which source serves what, read from mallard_stats():
 * small and mid sizes from the program break (or mmap when MALLARD_SBRK=0
 * is set; the test reads the same setting), large blocks from their own
 * mmap, the threshold adapting upwards, a mapping it has passed kept
 * for the arena (up to the memory in use a moment before), and memory
 * going back.
 */
#include "check.h"
#include "mallard.h"

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <time.h>

#define KIB ((size_t)1024)
#define MIB (KIB * KIB)
/* A block no thread cache keeps (over SC_MAX_SIZE) and no mapping of
 * its own serves (under the mmap threshold): each malloc and free of
 * it takes the heap lock, whose traffic ticks the heap's aging. */
#define TRAFFIC_BYTES (80 * KIB)

static struct mallard_stats now(void)
{
    struct mallard_stats stats;
    CHECK(mallard_stats(&stats) == 0);
    return stats;
}

static void test_one_heap_per_configured_cpu(void)
{
    CHECK(now().heap_count == (uint32_t)get_nprocs_conf());
}

static void test_small_blocks_come_from_the_break(bool sbrk_allowed)
{
    struct mallard_stats before = now();
    void *blocks[200];
    for (int i = 0; i < 200; i++)
        blocks[i] = mallard_malloc(64 + (size_t)i * 200);
    struct mallard_stats after = now();
    if (sbrk_allowed) {
        CHECK(after.bytes_from_sbrk > before.bytes_from_sbrk);
        CHECK(after.bytes_from_mmap - before.bytes_from_mmap < 2 * MIB);
    } else {
        CHECK(after.bytes_from_sbrk == 0);
        CHECK(after.bytes_from_mmap > before.bytes_from_mmap);
    }
    CHECK(after.bytes_in_mapped == before.bytes_in_mapped);
    for (int i = 0; i < 200; i++)
        mallard_free(blocks[i]);
}

static void test_large_blocks_get_their_own_mapping(void)
{
    struct mallard_stats before = now();
    CHECK(before.mmap_threshold == 128 * KIB);
    void *large = mallard_malloc(1 * MIB);
    struct mallard_stats held = now();
    CHECK(held.bytes_in_mapped >= before.bytes_in_mapped + MIB);
    uint64_t returned = held.bytes_returned;
    mallard_free(large);
    struct mallard_stats after = now();
    CHECK(after.bytes_in_mapped == before.bytes_in_mapped);
    /* Kept a moment for reuse (huge.c's cache), or unmapped ... */
    CHECK(after.bytes_retained >= MIB ||
          after.bytes_returned >= returned + MIB);
    /* ... and unmapped for certain by malloc_trim. */
    mallard_malloc_trim(0);
    CHECK(now().bytes_returned >= returned + MIB);
    /* Freeing a 1 MiB mapping raised the threshold above it ... */
    CHECK(after.mmap_threshold > MIB);
    /* ... so the next such block comes from the arena, unmapped. */
    void *again = mallard_malloc(1 * MIB);
    CHECK(now().bytes_in_mapped == before.bytes_in_mapped);
    mallard_free(again);
}

/*
 * A mapped block whose free raises the threshold past its size is not
 * unmapped: the span layer adopts it,
 * resident, for the arena's next blocks that size, and gives it back
 * like any span (here malloc_trim).
 */
static void test_outgrown_mapping_is_kept_for_the_arena(void)
{
    size_t size = 4 * MIB;
    CHECK(now().mmap_threshold <= size);
    char *big = mallard_malloc(size);
    CHECK(big != NULL);
    memset(big, 1, size);
    uint64_t returned = now().bytes_returned;
    mallard_free(big);
    struct mallard_stats after = now();
    CHECK(after.mmap_threshold > size);
    CHECK(after.bytes_returned == returned);
    CHECK(after.bytes_retained >= size);
    unsigned char resident;
    void *page = (void *)((uintptr_t)big & ~(uintptr_t)4095);
    CHECK(mincore(page, 4096, &resident) == 0 && (resident & 1));
    mallard_malloc_trim(0);
    CHECK(now().bytes_returned >= returned + size);
}

/*
 * Maps COUNT blocks over the threshold, frees them and checks what is
 * kept (see below).  Returns false, checking nothing, when the frees
 * took so long (a loaded machine) that the first adopted mapping could
 * have aged past the span layer's 100 ms for them.
 */
static bool free_mappings_and_check(void)
{
    enum { COUNT = 6 };
    mallard_malloc_trim(0);
    size_t size = now().mmap_threshold + 2 * MIB;
    char *blocks[COUNT];
    for (int i = 0; i < COUNT; i++) {
        blocks[i] = mallard_malloc(size);
        CHECK(blocks[i] != NULL);
    }
    CHECK(now().bytes_in_mapped >= COUNT * size);
    uint64_t returned = now().bytes_returned;
    uint64_t start = check_now_ns();
    for (int i = 0; i < COUNT; i++)
        mallard_free(blocks[i]);
    struct mallard_stats after = now();
    bool in_time = check_now_ns() - start < 50 * 1000 * 1000;
    if (in_time) {
        CHECK(after.mmap_threshold > size);
        CHECK(after.bytes_returned == returned);
        CHECK(after.bytes_retained >= COUNT * size);
    }
    mallard_malloc_trim(0);
    CHECK(now().bytes_returned >= returned + COUNT * size);
    return in_time;
}

/*
 * Big blocks mapped on their own are memory in use: freed once the
 * threshold has passed them, they stay resident for the arena up to
 * what was in use a moment before.  With only the spans counted, all
 * but twice a threshold's worth were unmapped at once (an image
 * pipeline then faulted them in again from the break).
 */
static void test_freed_mappings_kept_up_to_what_was_in_use(void)
{
    CHECK_IN_TIME(free_mappings_and_check());
}

/*
 * Freed spans are kept for reuse (up to what brings the memory held an
 * eighth over the recent peak in use; beyond, the break's top is
 * trimmed) and go back once unused for a second (chunk.h); malloc_trim
 * gives back everything retained.
 */
static void test_freed_memory_goes_back(void)
{
    enum { COUNT = 512 };
    static void *blocks[COUNT];
    for (int i = 0; i < COUNT; i++) {
        blocks[i] = mallard_malloc(64 * KIB);   /* 32 MiB in all */
        memset(blocks[i], 1, 64 * KIB);
    }
    uint64_t returned = now().bytes_returned;
    for (int i = 0; i < COUNT; i++)
        mallard_free(blocks[i]);
    struct mallard_stats after = now();
    CHECK(after.bytes_in_use < 1 * MIB);
    /* Kept for reuse for now: at most the spans those blocks took. */
    CHECK(after.bytes_retained <= 64 * MIB);
    /* A second later, the next span taken sends the idle ones back. */
    struct timespec second = { 1, 200000000 };
    nanosleep(&second, NULL);
    void *a = mallard_malloc(900 * KIB), *b = mallard_malloc(900 * KIB);
    struct mallard_stats idle = now();
    CHECK(idle.bytes_retained <= 2 * MIB);
    CHECK(idle.bytes_returned - returned >= 24 * MIB);
    mallard_free(a);
    mallard_free(b);
    mallard_malloc_trim(0);
    CHECK(now().bytes_retained <= 64 * KIB);
}

/*
 * A program that shrank and goes on with work its existing pools and
 * arena region serve (no span taken or freed) still gives the idle
 * memory back: the heaps' unlocks tick the release of pools that stay
 * empty (heap_decommit_tick) and the chunk layer's decay.
 */
static void test_idle_spans_go_back_without_span_traffic(void)
{
    enum { COUNT = 8192, PAIRS = 40000 };
    static void *blocks[COUNT];
    mallard_free(mallard_malloc(TRAFFIC_BYTES));   /* the arena's region */
    for (int i = 0; i < COUNT; i++) {
        blocks[i] = mallard_malloc(4000);       /* 32 MiB of pools */
        memset(blocks[i], 1, 4000);
    }
    uint64_t returned = now().bytes_returned;
    for (int i = 0; i < COUNT; i++)
        mallard_free(blocks[i]);
    /* Heap lock traffic only, no span taken or freed. */
    for (int i = 0; i < PAIRS; i++) {
        char *block = mallard_malloc(TRAFFIC_BYTES);
        block[0] = 1;
        mallard_free(block);
    }
    struct mallard_stats freed = now();
    CHECK(freed.bytes_retained + freed.bytes_returned - returned >=
          24 * MIB);
    struct timespec second = { 1, 200000000 };
    nanosleep(&second, NULL);
    for (int i = 0; i < 1000; i++) {
        char *block = mallard_malloc(TRAFFIC_BYTES);  /* heap lock, no span */
        block[0] = 1;
        mallard_free(block);
    }
    struct mallard_stats later = now();
    CHECK(later.bytes_retained <= 2 * MIB);
    CHECK(later.bytes_returned - returned >= 24 * MIB);
}

static uint64_t pool_bytes_decommitted(void)
{
    struct mallard_heap_stats heaps[256];
    size_t count = mallard_heap_stats(heaps, 256);
    uint64_t sum = 0;
    for (size_t i = 0; i < count && i < 256; i++)
        sum += heaps[i].pool_bytes_decommitted;
    return sum;
}

/*
 * A class that shrank but keeps a few blocks in each of its pools gives
 * the free pages back to the kernel once its use has stayed low for a
 * while of heap lock traffic.  The thread is pinned, so the traffic
 * ticks the heap that owns the pools.
 */
static void test_free_pool_pages_go_back(void)
{
    enum { COUNT = 2000, KEEP_EVERY = 100, PAIRS = 40000 };
    static void *blocks[COUNT];
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
    for (int i = 0; i < COUNT; i++) {
        blocks[i] = mallard_malloc(2000);       /* 4 MiB of pools */
        memset(blocks[i], 1, 2000);
    }
    uint64_t before = pool_bytes_decommitted();
    uint64_t returned = now().bytes_returned;
    for (int i = 0; i < COUNT; i++)
        if (i % KEEP_EVERY != 0)
            mallard_free(blocks[i]);
    for (int i = 0; i < PAIRS; i++) {
        char *block = mallard_malloc(TRAFFIC_BYTES);  /* heap lock traffic */
        block[0] = 1;
        mallard_free(block);
    }
    CHECK(pool_bytes_decommitted() - before >= 2 * MIB);
    CHECK(now().bytes_returned - returned >= 2 * MIB);
    for (int i = 0; i < COUNT; i += KEEP_EVERY)
        CHECK(((unsigned char *)blocks[i])[1999] == 1);
    for (int i = 0; i < COUNT; i += KEEP_EVERY)
        mallard_free(blocks[i]);
}

/*
 * A block resized by realloc to more than four times its size goes
 * where any block that size goes: under the threshold (raised past
 * 4 MiB by the tests before), the arena, not a mapping of its own as a
 * block growing by steps gets (alloc.c, move_block).
 */
static void test_realloc_far_past_its_size_is_a_new_block(void)
{
    CHECK(now().mmap_threshold > 2 * MIB);
    size_t mapped = now().bytes_in_mapped;
    unsigned char *block = mallard_malloc(100 * KIB);
    CHECK(block != NULL);
    memset(block, 0x5c, 100 * KIB);
    block = mallard_realloc(block, 2 * MIB);
    CHECK(block != NULL);
    CHECK_MSG(now().bytes_in_mapped == mapped, "%zu bytes mapped, not %zu",
              now().bytes_in_mapped, mapped);
    size_t kept = 0;
    for (size_t i = 0; block != NULL && i < 100 * KIB; i++)
        kept += block[i] == 0x5c;
    CHECK(kept == 100 * KIB);
    mallard_free(block);
}

int main(void)
{
    const char *sbrk = getenv("MALLARD_SBRK");
    bool sbrk_allowed = !(sbrk && sbrk[0] == '0');
    test_one_heap_per_configured_cpu();
    test_small_blocks_come_from_the_break(sbrk_allowed);
    test_large_blocks_get_their_own_mapping();
    test_outgrown_mapping_is_kept_for_the_arena();
    test_realloc_far_past_its_size_is_a_new_block();
    test_freed_mappings_kept_up_to_what_was_in_use();
    test_freed_memory_goes_back();
    test_idle_spans_go_back_without_span_traffic();
    test_free_pool_pages_go_back();
    CHECK_DONE();
}
