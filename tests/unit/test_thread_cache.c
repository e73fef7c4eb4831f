/*
 * test_thread_cache.c - with the thread cache on, a malloc/free loop
 * rarely touches a heap lock; with MALLARD_THREAD_CACHE=0 every call
 * takes one (the course requirement: a lock on every allocation and
 * free).  The test reads the same setting to know what to expect.  Also:
 * a thread's cached blocks go back to the heaps when it exits, and of
 * a class over 2 KiB a thread keeps one block at most (tcache.c).
 */
#include "check.h"
#include "mallard.h"

#include <pthread.h>
#include <stdbool.h>

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
    test_lock_use_follows_the_setting(cache_on);
    test_big_classes_cache_one_block(cache_on);
    test_exiting_thread_returns_its_cache();
    CHECK_DONE();
}
