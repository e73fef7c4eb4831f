/*
 * test_heapcheck.c - the heap-checking mode (MALLARD_CHECK=1,
 * alloc/heapcheck.h).  main() sets the variable before the first
 * allocation, which is when the allocator reads its settings.  Each
 * misuse runs in a child that must abort with a message naming what
 * happened; the blocks of a well-behaved program must behave exactly as
 * without the checks.
 */
#include "check.h"
#include "mallard.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Small (pool), a class over 4 KiB (arena), arena, own mapping. */
static const size_t sizes[] = { 8, 4096, 9000, 256 << 10 };
#define SIZE_COUNT (sizeof(sizes) / sizeof(sizes[0]))

static bool all_zero(const unsigned char *bytes, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (bytes[i] != 0)
            return false;
    return true;
}

static void test_blocks_behave(void)
{
    for (size_t i = 0; i < SIZE_COUNT; i++) {
        size_t size = sizes[i];
        unsigned char *block = mallard_malloc(size);
        CHECK(block != NULL && ((uintptr_t)block & 15) == 0);
        CHECK(all_zero(block, size));
        CHECK(mallard_malloc_usable_size(block) == size);
        memset(block, 0x5a, size);
        unsigned char *grown = mallard_realloc(block, size * 2);
        CHECK(grown != NULL && grown[0] == 0x5a && grown[size - 1] == 0x5a);
        CHECK(all_zero(grown + size, size));
        CHECK(mallard_malloc_usable_size(grown) == size * 2);
        unsigned char *shrunk = mallard_realloc(grown, size / 2);
        CHECK(shrunk == grown && shrunk[size / 2 - 1] == 0x5a);
        CHECK(mallard_malloc_usable_size(shrunk) == size / 2);
        mallard_free(shrunk);
        void *aligned = NULL;
        CHECK(mallard_posix_memalign(&aligned, 4096, size) == 0);
        CHECK(((uintptr_t)aligned & 4095) == 0);
        mallard_free(aligned);
    }
    unsigned char *zeroed = mallard_calloc(100, 10);
    CHECK(zeroed != NULL && all_zero(zeroed, 1000));
    mallard_free(zeroed);
    CHECK(mallard_malloc(SIZE_MAX / 2) == NULL);
}

/* A freed block is zeroed and not handed out again at once. */
static void test_freed_blocks_wait(void)
{
    for (size_t i = 0; i < SIZE_COUNT; i++) {
        unsigned char *block = mallard_malloc(sizes[i]);
        memset(block, 0x77, sizes[i]);
        mallard_free(block);
        CHECK(all_zero(block, sizes[i]));
        void *next = mallard_malloc(sizes[i]);
        CHECK(next != block);
        mallard_free(next);
    }
    CHECK(mallard_malloc_trim(0) >= 0);     /* empties the quarantine */
}

static void *churn(void *seed)
{
    uintptr_t state = (uintptr_t)seed;
    void *live[64] = { 0 };
    for (int round = 0; round < 20000; round++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        unsigned slot = (unsigned)(state >> 58);
        mallard_free(live[slot]);
        live[slot] = mallard_malloc((state >> 32) % 3000);
    }
    for (int i = 0; i < 64; i++)
        mallard_free(live[i]);
    return NULL;
}

static void test_threads(void)
{
    pthread_t threads[4];
    for (uintptr_t i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, churn, (void *)(i + 1));
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
}

struct misuse {
    void (*run)(size_t size);
    const char *message;
};

static void overflow_by_one(size_t size)
{
    char *volatile block = mallard_malloc(size);
    block[size] ^= 'A';
    mallard_free(block);
}

static void overflow_by_32(size_t size)
{
    char *volatile block = mallard_malloc(size);
    block[size + 31] ^= 'A';
    mallard_free(block);
}

/* Never freed: the next malloc looks at the newest blocks. */
static void overflow_unfreed(size_t size)
{
    char *volatile block = mallard_malloc(size);
    memset(block, 0, size + 16);
    mallard_free(mallard_malloc(1));
}

static void underflow_by_one(size_t size)
{
    char *volatile block = mallard_malloc(size);
    block[-1] ^= 'A';
    mallard_free(block);
}

static void underflow_by_32(size_t size)
{
    char *volatile block = mallard_malloc(size);
    block[-32] ^= 'A';
    mallard_free(block);
}

/* The old tail canary moves with the size: a write past the new end
 * of a shrunk block is caught. */
static void overflow_after_shrink(size_t size)
{
    char *volatile block = mallard_realloc(mallard_malloc(size), size / 2);
    block[size / 2] ^= 'A';
    mallard_free(block);
}

static void double_free(size_t size)
{
    char *volatile block = mallard_malloc(size);
    mallard_free(block);
    mallard_free(block);
}

static void free_inside(size_t size)
{
    char *volatile block = mallard_malloc(size);
    mallard_free(block + 16);
}

/* Written right after free: found by the next call. */
static void write_after_free(size_t size)
{
    char *volatile block = mallard_malloc(size);
    mallard_free(block);
    block[0] = 1;
    mallard_free(mallard_malloc(size));
}

/* Written far into the block, long after: found when the block leaves
 * the quarantine. */
static void late_write_after_free(size_t size)
{
    char *volatile block = mallard_malloc(size);
    mallard_free(block);
    for (int i = 0; i < 20; i++)
        mallard_free(mallard_malloc(size));
    block[size - 1] = 1;
    for (int i = 0; i < 3000; i++)
        mallard_free(mallard_malloc(size));
}

static const struct misuse misuses[] = {
    { overflow_by_one, "free(): write past the end of block" },
    { overflow_by_32, "free(): write past the end of block" },
    { overflow_unfreed, "malloc(): write past the end of block" },
    { overflow_after_shrink, "free(): write past the end of block" },
    { underflow_by_one, "free(): write before the start of block" },
    { underflow_by_32, "free(): invalid pointer, or a write before" },
    { double_free, "free(): double free" },
    { free_inside, "free(): invalid pointer" },
    { write_after_free, "malloc(): write after free to block" },
    { late_write_after_free, "free(): write after free to block" },
};

static void run_misuse(void *arg)
{
    const size_t *pair = arg;   /* misuse index, size */
    misuses[pair[0]].run(pair[1]);
}

static void test_misuse_aborts(void)
{
    size_t count = sizeof(misuses) / sizeof(misuses[0]);
    for (size_t m = 0; m < count; m++)
        for (size_t i = 0; i < SIZE_COUNT; i++) {
            size_t pair[2] = { m, sizes[i] };
            char text[512];
            int status = run_in_child(run_misuse, pair, text, sizeof(text));
            bool ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
                      strstr(text, misuses[m].message) != NULL &&
                      strstr(text, "0x") != NULL;
            if (!ok)
                fprintf(stderr, "misuse %zu, %zu bytes: status %d, '%s'\n",
                        m, sizes[i], status, text);
            CHECK(ok);
        }
}

int main(void)
{
    setenv("MALLARD_CHECK", "1", 1);
    test_blocks_behave();
    test_freed_blocks_wait();
    test_threads();
    test_misuse_aborts();
    CHECK_DONE();
}
