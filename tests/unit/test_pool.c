/*
 * test_pool.c - pools carve fixed-size blocks lazily, in order from
 * just past their header, hand back the last freed block first, fill to
 * capacity, and abort on a double or misaligned free.
 */
#include "check.h"
#include "chunk.h"
#include "pool.h"

#include <signal.h>
#include <stdint.h>

static struct pool *new_pool(unsigned size_class)
{
    enum chunk_source source;
    struct pool *pool = chunk_alloc(CHUNK_SIZE, &source);
    CHECK(pool != NULL);
    CHECK(((uintptr_t)pool & (CHUNK_SIZE - 1)) == 0);
    pool_init(pool, size_class, NULL, source);
    return pool;
}

static void test_blocks_are_carved_in_order_past_the_header(void)
{
    struct pool *pool = new_pool(sc_of_size(100));
    void *blocks[3];
    CHECK(pool_take(pool, blocks, 3) == 3);
    CHECK((char *)blocks[0] ==
          (char *)pool + pool_blocks_offset(sc_of_size(100)));
    CHECK((char *)blocks[1] == (char *)blocks[0] + 112);
    CHECK((char *)blocks[2] == (char *)blocks[1] + 112);
    CHECK(pool->used == 3);
    pool_put(pool, blocks[1]);
    CHECK(pool->used == 2);
    void *again;
    CHECK(pool_take(pool, &again, 1) == 1);
    CHECK(again == blocks[1]);
}

static void test_pool_fills_to_capacity(void)
{
    for (unsigned c = 0; c < SC_COUNT; c += 5) {
        struct pool *pool = new_pool(c);
        size_t capacity =
            (CHUNK_SIZE - pool_blocks_offset(c)) / sc_block_size[c];
        size_t taken = 0;
        void *block;
        while (pool_take(pool, &block, 1) == 1)
            taken++;
        CHECK(taken == capacity);
        CHECK(!pool_has_room(pool));
        CHECK(pool->used == capacity);
    }
}

/*
 * The header and its bitmap fit before the first block; blocks keep the
 * alignment memalign counts on; and unless the class needs page-aligned
 * blocks, the header does not take a page of its own.
 */
static void test_pool_header_packing(void)
{
    for (unsigned c = 0; c < SC_COUNT; c++) {
        size_t size = sc_block_size[c];
        size_t offset = pool_blocks_offset(c);
        size_t bitmap = (CHUNK_SIZE / size + 63) / 64 * 8;
        CHECK(offset >= sizeof(struct pool) + bitmap);
        CHECK(offset % 64 == 0);
        for (size_t align = 16; align <= OS_PAGE_SIZE; align *= 2)
            if (size % align == 0)
                CHECK(offset % align == 0);
        if (size % OS_PAGE_SIZE != 0)
            CHECK(offset < OS_PAGE_SIZE);
    }
}

static void double_put(void *arg)
{
    struct pool *pool = arg;
    void *block;
    pool_take(pool, &block, 1);
    pool_put(pool, block);
    pool_put(pool, block);
}

static void misaligned_put(void *arg)
{
    struct pool *pool = arg;
    void *block;
    pool_take(pool, &block, 1);
    pool_put(pool, (char *)block + 8);
}

static void test_bad_returns_abort_naming_the_pointer(void)
{
    char text[512];
    struct pool *pool = new_pool(sc_of_size(64));
    int status = run_in_child(double_put, pool, text, sizeof(text));
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(text, "double free") != NULL);
    CHECK(strstr(text, "0x") != NULL);
    status = run_in_child(misaligned_put, pool, text, sizeof(text));
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(text, "invalid pointer") != NULL);
}

int main(void)
{
    test_blocks_are_carved_in_order_past_the_header();
    test_pool_fills_to_capacity();
    test_pool_header_packing();
    test_bad_returns_abort_naming_the_pointer();
    CHECK_DONE();
}
