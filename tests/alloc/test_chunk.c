/*
 * test_chunk.c - what a reused span brings into its next life, read
 * with mincore(): chunk_alloc hands a dirty span back resident, while
 * chunk_alloc_untouched (what pools use) leaves only its front resident;
 * what is left of a span cut for a smaller request stays resident until
 * it has been unused for the decay time; retained memory over the
 * limit goes back from the top of a span, not the whole span; and the
 * per-heap figures say how many bytes pools and regions hold.
 */

#include "check.h"
#include "chunk.h"
#include "mallard.h"

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#define KIB ((size_t)1024)
#define PAGE ((size_t)4096)
#define SMALL_BLOCK (3 * KIB)     /* a pool class nothing else uses */
/* A fresh pool touches its header page and the blocks it hands out: a
 * thread cache may take a few at once, well inside this. */
#define POOL_FRONT (64 * KIB)

/* Stays on one CPU, so every block comes from the same heap. */
static void pin_to_this_cpu(void)
{
    int cpu = sched_getcpu();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu < 0 ? 0 : cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

static size_t resident_pages(uintptr_t start, size_t len)
{
    unsigned char vec[CHUNK_SIZE / PAGE];
    if (len > CHUNK_SIZE || mincore((void *)start, len, vec) != 0)
        return (size_t)-1;
    size_t count = 0;
    for (size_t i = 0; i < len / PAGE; i++)
        count += vec[i] & 1;
    return count;
}

static uintptr_t chunk_of(const void *p)
{
    return (uintptr_t)p & ~(uintptr_t)(CHUNK_SIZE - 1);
}

/* A span freed dirty and taken again: chunk_alloc hands its pages back
 * resident (no faults for an arena region about to be filled), while
 * chunk_alloc_untouched leaves only the first keep bytes resident. */
static void test_reused_span_untouched_past_keep(void)
{
    enum chunk_source source;
    char *span = chunk_alloc(CHUNK_SIZE, &source);
    CHECK(span != NULL);
    memset(span, 1, CHUNK_SIZE);
    chunk_free(span, CHUNK_SIZE, source);
    char *again = chunk_alloc(CHUNK_SIZE, &source);
    CHECK(again == span);   /* the front of the lowest fitting span */
    CHECK(resident_pages((uintptr_t)again, CHUNK_SIZE) == CHUNK_SIZE / PAGE);
    chunk_free(again, CHUNK_SIZE, source);
    char *fresh = chunk_alloc_untouched(CHUNK_SIZE, POOL_FRONT, &source);
    CHECK(fresh == span);
    CHECK(resident_pages((uintptr_t)fresh, POOL_FRONT) == POOL_FRONT / PAGE);
    CHECK(resident_pages((uintptr_t)fresh + POOL_FRONT,
                         CHUNK_SIZE - POOL_FRONT) == 0);
    CHECK(fresh[POOL_FRONT] == 0);   /* decommitted pages read as zero */
    chunk_free(fresh, CHUNK_SIZE, source);
}

/* Pools take their chunks untouched: a new pool's far pages are not
 * resident even when the span it got had been written all over. */
static void test_new_pool_is_resident_only_at_its_front(void)
{
    enum chunk_source source;
    char *span = chunk_alloc(CHUNK_SIZE, &source);
    memset(span, 1, CHUNK_SIZE);
    chunk_free(span, CHUNK_SIZE, source);
    char *small = mallard_malloc(SMALL_BLOCK);
    CHECK(small != NULL);
    uintptr_t pool = chunk_of(small);
    CHECK(resident_pages(pool + POOL_FRONT, CHUNK_SIZE - POOL_FRONT) == 0);
    mallard_free(small);
}

/* Resident pages in [start, end), whole chunks of CHUNK_SIZE. */
static size_t resident_between(uintptr_t start, uintptr_t end)
{
    size_t count = 0;
    for (uintptr_t at = start; at < end; at += CHUNK_SIZE)
        count += resident_pages(at, CHUNK_SIZE);
    return count;
}

/*
 * Frees a written span, cuts a smaller one from it and runs a decay
 * scan a tenth of a second later.  Returns the resident pages of the
 * rest that are missing, or -1 when the whole took so long (a loaded
 * machine) that the rest had aged for real.
 */
static long cut_span_and_scan(void)
{
    enum chunk_source source;
    size_t size = 64 * CHUNK_SIZE, cut = 48 * CHUNK_SIZE;
    char *span = chunk_alloc(size, &source);
    CHECK(span != NULL);
    if (span == NULL)
        return 0;
    memset(span, 1, size);
    uint64_t freed = check_now_ns();
    chunk_free(span, size, source);
    char *front = chunk_alloc(cut, &source);
    uintptr_t rest = (uintptr_t)front + cut, end = (uintptr_t)span + size;
    CHECK(front != NULL && front <= span &&
          rest >= (uintptr_t)span + CHUNK_SIZE && rest < end);
    if (front == NULL || front > span || rest >= end)
        return 0;
    struct timespec pause = { 0, 150 * 1000 * 1000 }; /* > a scan's */
    nanosleep(&pause, NULL);
    chunk_decay_tick();
    bool in_time = check_now_ns() - freed < CHUNK_DECAY_NS * 8 / 10;
    long missing = (long)((end - rest) / PAGE) -
                   (long)resident_between(rest, end);
    chunk_free(front, cut, source);
    return in_time ? missing : -1;
}

/*
 * A freed span cut for a smaller request: the rest has been unused only
 * as long as the span was, so a decay scan a tenth of a second later
 * (well inside CHUNK_DECAY_NS) leaves it resident.  The rest once got
 * a stamp of "unused since boot" and the next scan decommitted it
 * (malloc-large faulted 2.2 GB in again that way).  A try that a loaded
 * machine stretched past the decay time is tried again.
 */
static void test_rest_of_a_cut_span_keeps_its_age(void)
{
    long missing = -1;
    for (int attempt = 0; attempt < 3 && missing < 0; attempt++)
        missing = cut_span_and_scan();
    CHECK(missing == 0);
}

/* A mapping of size bytes aligned to a chunk, never touched. */
static char *map_chunk_aligned(size_t size)
{
    char *raw = mmap(NULL, size + CHUNK_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *start = (char *)chunk_of(raw + CHUNK_SIZE - 1);
    if (start > raw)
        munmap(raw, (size_t)(start - raw));
    munmap(start + size, (size_t)(raw + CHUNK_SIZE - start));
    return start;
}

static bool is_mapped(const char *page)
{
    unsigned char vec;
    return mincore((void *)page, PAGE, &vec) == 0;
}

/*
 * Adopts the two halves of a fresh mapping one after the other and
 * checks what is kept (see below).  Returns false, checking nothing,
 * when the second came so long after the first (a loaded machine) that
 * a decay scan could have given the first back for having aged.
 */
static bool adopt_halves_and_check(size_t half)
{
    chunk_release_retained();
    size_t before = chunk_retained_bytes();
    char *mapping = map_chunk_aligned(2 * half);
    CHECK(mapping != NULL);
    if (mapping == NULL)
        return true;
    uint64_t first = check_now_ns();
    chunk_adopt_mapping(mapping, half);
    size_t after_first = chunk_retained_bytes() - before;
    chunk_adopt_mapping(mapping + half, half);
    size_t kept = chunk_retained_bytes() - before;
    bool in_time = check_now_ns() - first < CHUNK_DECAY_SCAN_NS / 2;
    if (in_time) {
        CHECK(after_first == half);
        CHECK(kept >= half && kept < 2 * half);
        CHECK(is_mapped(mapping) && is_mapped(mapping + kept - PAGE));
        CHECK(!is_mapped(mapping + 2 * half - PAGE));
    }
    chunk_release_retained();
    CHECK(!is_mapped(mapping));
    return in_time;
}

/*
 * Two halves of one mapping adopted one after the other merge into one
 * free span, retained twice as much as was in use a moment before: the
 * excess goes back from the span's top, and its front stays mapped.
 * Unmapping the whole merged span to cover the excess gave back memory
 * that was in use a moment before (an image pipeline faulted it in
 * again).  The halves are 256 MiB, far above anything else retained
 * or in use here, and never touched (address space only).
 */
static void test_excess_goes_back_from_the_top_of_a_span(void)
{
    CHECK_IN_TIME(adopt_halves_and_check(1024 * CHUNK_SIZE));
}

static struct mallard_heap_stats heap_totals(void)
{
    struct mallard_heap_stats heaps[256], sum = { 0 };
    size_t count = mallard_heap_stats(heaps, 256);
    for (size_t i = 0; i < count && i < 256; i++) {
        sum.pool_bytes_out += heaps[i].pool_bytes_out;
        sum.pool_bytes_held += heaps[i].pool_bytes_held;
        sum.pool_bytes_carved += heaps[i].pool_bytes_carved;
        sum.arena_bytes_in_use += heaps[i].arena_bytes_in_use;
        sum.arena_bytes_held += heaps[i].arena_bytes_held;
    }
    return sum;
}

static void test_held_bytes_cover_what_is_in_use(void)
{
    void *blocks[64];
    for (int i = 0; i < 64; i++)
        blocks[i] = mallard_malloc(i % 2 ? 100 : 40 * KIB);
    struct mallard_heap_stats during = heap_totals();
    CHECK(during.pool_bytes_held >= during.pool_bytes_carved);
    CHECK(during.pool_bytes_carved >= during.pool_bytes_out);
    CHECK(during.arena_bytes_held >= during.arena_bytes_in_use);
    CHECK(during.pool_bytes_held % CHUNK_SIZE == 0);
    CHECK(during.arena_bytes_held % CHUNK_SIZE == 0);
    CHECK(during.arena_bytes_in_use >= 32 * 40 * KIB);
    for (int i = 0; i < 64; i++)
        mallard_free(blocks[i]);
    struct mallard_heap_stats after = heap_totals();
    CHECK(after.arena_bytes_held < during.arena_bytes_held);
}

int main(void)
{
    pin_to_this_cpu();
    test_reused_span_untouched_past_keep();
    test_new_pool_is_resident_only_at_its_front();
    test_rest_of_a_cut_span_keeps_its_age();
    test_excess_goes_back_from_the_top_of_a_span();
    test_held_bytes_cover_what_is_in_use();
    CHECK_DONE();
}
