/*
 * test_tcache.c - with the thread cache on, a malloc/free loop
 * rarely touches a heap lock; with MALLARD_THREAD_CACHE=0 every call
 * takes one (the course requirement: a lock on every allocation and
 * free).  The test reads the same setting to know what to expect.  Also:
 * a thread's cached blocks go back to the heaps when it exits, and of
 * a class over 2 KiB a thread keeps one block until it bounces, a bin
 * too small for the blocks a program keeps in flight grows, and
 * the classes over 4 KiB, arena blocks of the class size, behave as
 * pool blocks do (reuse, realloc in place, double free caught), and a
 * miss in one of them takes a cached block of a class just above.
 */
#include "check.h"
#include "mallard.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define ROUNDS 10000

static uint64_t acquisitions(void)
{
    struct mallard_stats stats;
    mallard_stats(&stats);
    return stats.lock_acquisitions;
}

static void test_lock_use_follows_the_setting(bool cache_on)
{
    uint64_t before = acquisitions();
    for (int i = 0; i < ROUNDS; i++) {
        void *block = mallard_malloc(48);
        mallard_free(block);
    }
    uint64_t taken = acquisitions() - before;
    if (cache_on)
        CHECK(taken < ROUNDS / 10);
    else
        CHECK(taken >= 2 * ROUNDS);
}

static void test_big_classes_cache_one_block(bool cache_on)
{
    void *blocks[3];
    for (int i = 0; i < 3; i++)
        blocks[i] = mallard_malloc(8192);
    uint64_t before = acquisitions();
    for (int i = 0; i < 3; i++)
        mallard_free(blocks[i]);
    CHECK(acquisitions() - before >= 2);   /* the 2nd and 3rd spill */
    before = acquisitions();
    for (int i = 0; i < ROUNDS; i++)
        mallard_free(mallard_malloc(8192));
    uint64_t taken = acquisitions() - before;
    if (cache_on)
        CHECK(taken < ROUNDS / 10);
    else
        CHECK(taken >= 2 * ROUNDS);
}

/*
 * A program that keeps more blocks of a class in flight than a bin
 * starts with (400 of 32 bytes against 128) bounces between its bin and
 * the heap; the bin grows until the rounds need no lock at all.
 */
#define BOUNCE_BLOCKS 400
static void test_bouncing_bin_grows(bool cache_on)
{
    static void *blocks[BOUNCE_BLOCKS];
    uint64_t first = 0, late = 0;
    for (int round = 0; round < 20; round++) {
        uint64_t before = acquisitions();
        for (int i = 0; i < BOUNCE_BLOCKS; i++)
            blocks[i] = mallard_malloc(32);
        for (int i = 0; i < BOUNCE_BLOCKS; i++)
            mallard_free(blocks[i]);
        uint64_t taken = acquisitions() - before;
        if (round == 0)
            first = taken;
        if (round >= 10)
            late += taken;
    }
    if (cache_on)
        CHECK(first > 0 && late == 0);
    else
        CHECK(late >= 10 * 2 * BOUNCE_BLOCKS);
}

/*
 * The growth budget is for growth: a thread that has touched every class
 * (one block each of the big ones, as git log -p does) still grows the
 * bin of a class it then churns, here 8 KiB blocks four at a time.
 */
static void test_bins_grow_after_every_class_used(bool cache_on)
{
    for (size_t size = 16; size <= 65536; size += size / 8)
        mallard_free(mallard_malloc(size));
    void *blocks[4];
    uint64_t late = 0;
    for (int round = 0; round < 40; round++) {
        uint64_t before = acquisitions();
        for (int i = 0; i < 4; i++)
            blocks[i] = mallard_malloc(8192);
        for (int i = 0; i < 4; i++)
            mallard_free(blocks[i]);
        if (round >= 20)
            late += acquisitions() - before;
    }
    if (cache_on)
        CHECK(late == 0);
    else
        CHECK(late >= 20 * 2 * 4);
}

/* Classes over 4 KiB are arena blocks of exactly the class size: the
 * cache takes them back without a lock, realloc within the class keeps
 * them, memalign does not use them (arena blocks are 16-aligned). */
static void test_arena_classes(void)
{
    char *block = mallard_malloc(6000);
    CHECK(block != NULL && mallard_malloc_usable_size(block) == 6144);
    memset(block, 7, 6000);
    CHECK(mallard_realloc(block, 5000) == block);
    char *moved = mallard_realloc(block, 7000);
    CHECK(moved != NULL && moved[0] == 7 && moved[4999] == 7);
    /* Class 7168, or a block cached by an earlier test of up to two
     * classes above (8192). */
    size_t usable = mallard_malloc_usable_size(moved);
    CHECK(usable >= 7168 && usable <= 8192);
    mallard_free(moved);
    void *aligned = NULL;
    CHECK(mallard_posix_memalign(&aligned, 8192, 6000) == 0);
    CHECK(((uintptr_t)aligned & 8191) == 0);
    mallard_free(aligned);
}

/* A miss in a class over 4 KiB takes a cached block of a class or two
 * above before the heap (a program walking through the big classes
 * would otherwise hold one of each); freed, the block goes back to the
 * bin of its own class. */
static void test_miss_takes_a_cached_bigger_block(bool cache_on)
{
    void *big = mallard_malloc(22528);
    mallard_free(big);
    void *block = mallard_malloc(18000);    /* class 18432 */
    CHECK(block != NULL && mallard_malloc_usable_size(block) >= 18000);
    if (cache_on)
        CHECK(block == big && mallard_malloc_usable_size(block) == 22528);
    mallard_free(block);
    void *again = mallard_malloc(22528);
    if (cache_on)
        CHECK(again == big);
    mallard_free(again);
}

static void free_twice(void *size)
{
    char *block = mallard_malloc(*(size_t *)size);
    mallard_free(block);
    mallard_free(block);
}

/* A bin of one block is full when the second free comes: the check
 * must come before the spill (which once handed the cached copy back
 * and let the same block out twice). */
/* Runs misuse(&size) in a child for each size: it must abort, naming a
 * double free. */
static void expect_double_free_abort(void (*misuse)(void *),
                                     const size_t *sizes, int count)
{
    for (int i = 0; i < count; i++) {
        char text[512];
        int status = run_in_child(misuse, (void *)&sizes[i], text,
                                  sizeof(text));
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
        CHECK(strstr(text, "double free") != NULL);
    }
}

static void test_double_free_into_a_full_bin_aborts(void)
{
    static const size_t sizes[] = { 3000, 6000, 200 }; /* pool, arena, small */
    expect_double_free_abort(free_twice, sizes, 3);
}

/* free(a), free(b), free(a): with a in the bin the second free finds
 * it there; with a already spilled to its pool (a bin of one block) the
 * slow path finds its bit clear.  Either way it must abort before the
 * block is handed out twice (exit 3). */
static void free_interleaved(void *size)
{
    size_t bytes = *(size_t *)size;
    char *a = mallard_malloc(bytes), *b = mallard_malloc(bytes);
    mallard_free(a);
    mallard_free(b);
    mallard_free(a);
    for (int i = 0; i < 4; i++) {
        char *again = mallard_malloc(bytes);
        memset(again, 0x5a, bytes);     /* what a program would do */
        if (again == a && i > 0)
            _exit(3);                   /* handed out twice */
    }
}

static void test_interleaved_double_free_aborts(void)
{
    static const size_t sizes[] = { 200, 3000, 6000 };
    expect_double_free_abort(free_interleaved, sizes, 3);
}

/* A class over 4 KiB is an arena block with a header: a write over the
 * header of a cached block (glibc's tst-malloc-backtrace writes the
 * word before a freed block) is caught when malloc hands it out. */
static void break_cached_header(void *size)
{
    size_t bytes = *(size_t *)size;
    char *volatile block = mallard_malloc(bytes);
    mallard_free(block);
    *(size_t *)(block - sizeof(size_t)) = 1;
    mallard_malloc(bytes);
}

static void test_broken_header_of_cached_block_aborts(void)
{
    static const size_t sizes[] = { 6000, 16384 };
    for (int i = 0; i < 2; i++) {
        char text[512];
        int status = run_in_child(break_cached_header, (void *)&sizes[i],
                                  text, sizeof(text));
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
        CHECK(strstr(text, "corrupted header") != NULL);
    }
}

static void *allocate_and_leave(void *unused)
{
    (void)unused;
    void *blocks[100];
    for (int i = 0; i < 100; i++)
        blocks[i] = mallard_malloc(200);
    for (int i = 0; i < 100; i++)
        mallard_free(blocks[i]);   /* parked in this thread's cache */
    return NULL;
}

static void test_exiting_thread_returns_its_cache(void)
{
    struct mallard_stats before, after;
    mallard_stats(&before);
    pthread_t thread;
    pthread_create(&thread, NULL, allocate_and_leave, NULL);
    pthread_join(thread, NULL);
    mallard_stats(&after);
    CHECK(after.bytes_in_use <= before.bytes_in_use);
}

int main(void)
{
    const char *setting = getenv("MALLARD_THREAD_CACHE");
    bool cache_on = !(setting && setting[0] == '0');
    mallard_free(mallard_malloc(1));   /* initialise */
    /* First: no bin of a big class holds a block yet. */
    test_miss_takes_a_cached_bigger_block(cache_on);
    test_lock_use_follows_the_setting(cache_on);
    test_big_classes_cache_one_block(cache_on);
    test_bouncing_bin_grows(cache_on);
    test_bins_grow_after_every_class_used(cache_on);
    test_arena_classes();
    test_double_free_into_a_full_bin_aborts();
    test_interleaved_double_free_aborts();
    test_broken_header_of_cached_block_aborts();
    test_exiting_thread_returns_its_cache();
    CHECK_DONE();
}
