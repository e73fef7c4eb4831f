/*
 * test_pool.c - pools carve fixed-size blocks in order from just past
 * their header, hand out the lowest free block first, fill to capacity
 * and no further, give back the pages no block out touches, and abort
 * on a double or misaligned free; free()'s check of a block from the
 * class's geometry accepts exactly the blocks' starts.
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

/* Lowest first, not last freed first: what packs a shrinking class
 * at the bottom of its pool and leaves whole pages free above. */
static void test_lowest_free_block_first(void)
{
    struct pool *pool = new_pool(sc_of_size(64));
    void *blocks[200];
    CHECK(pool_take(pool, blocks, 200) == 200);
    pool_put(pool, blocks[150]);
    pool_put(pool, blocks[3]);
    pool_put(pool, blocks[70]);
    void *again[3];
    CHECK(pool_take(pool, again, 3) == 3);
    CHECK(again[0] == blocks[3] && again[1] == blocks[70] &&
          again[2] == blocks[150]);
    void *next;
    CHECK(pool_take(pool, &next, 1) == 1);
    CHECK((char *)next == (char *)blocks[199] + 64);
}

static void test_pool_fills_to_capacity(void)
{
    for (unsigned c = 0; c < SC_COUNT; c++) {
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
        CHECK(block != NULL && (char *)block + sc_block_size[c] <=
              (char *)pool + CHUNK_SIZE);
        chunk_free(pool, CHUNK_SIZE, (enum chunk_source)pool->source);
    }
}

/*
 * A class that shrank gives back the pages no block out of the pool
 * touches, highest first and at most as many as asked; they read as
 * zero when handed out again, and blocks still out keep their bytes.
 */
static void test_free_pages_go_back(void)
{
    enum { COUNT = 40 };
    unsigned c = sc_of_size(4096);
    struct pool *pool = new_pool(c);
    size_t size = sc_block_size[c];
    void *blocks[COUNT];
    CHECK(pool_take(pool, blocks, COUNT) == COUNT);
    for (int i = 0; i < COUNT; i++)
        memset(blocks[i], 0x5a, size);
    for (int i = 10; i < COUNT; i++)
        pool_put(pool, blocks[i]);
    pool_mark(pool, 0);
    CHECK(pool_wants_decommit(pool));
    size_t before = pool_free_resident(pool);
    CHECK(pool_decommit_free_pages(pool, 4) == 4);
    CHECK(pool_free_resident(pool) == before - 4 * OS_PAGE_SIZE);
    size_t rest = pool_decommit_free_pages(pool, 64);
    CHECK(rest >= 20);
    CHECK(pool_decommit_free_pages(pool, 64) == 0);
    CHECK(!pool_wants_decommit(pool));
    for (int i = 0; i < 10; i++)
        CHECK(((unsigned char *)blocks[i])[size - 1] == 0x5a &&
              ((unsigned char *)blocks[i])[0] == 0x5a);
    void *again[COUNT - 10];
    CHECK(pool_take(pool, again, COUNT - 10) == COUNT - 10);
    CHECK(again[0] == blocks[10]);
    CHECK(((unsigned char *)again[COUNT - 11])[0] == 0);   /* went back */
    CHECK(pool->decommitted == 0);       /* all handed out again */
    chunk_free(pool, CHUNK_SIZE, (enum chunk_source)pool->source);
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

/* Every address of a chunk, and the header's, checked against the
 * definition: a block start, at or past the first block, before the
 * end of the last. */
static void test_geometry_accepts_exactly_block_starts(void)
{
    pool_init_geometry();
    for (unsigned c = 0; c < SC_POOL_COUNT; c++) {
        const struct pool_geometry *g = &pool_geometry[pool_tag(c)];
        size_t size = sc_block_size[c];
        size_t first = pool_blocks_offset(c);
        size_t capacity = (CHUNK_SIZE - first) / size;
        CHECK(g->offset == first && g->capacity == capacity);
        for (size_t at = 0; at < CHUNK_SIZE; at++) {
            size_t offset = at - first;  /* wraps below the first */
            bool expected = at >= first && offset % size == 0 &&
                            offset / size < capacity;
            if (pool_offset_is_block(offset, g) != expected) {
                CHECK(pool_offset_is_block(offset, g) == expected);
                return;
            }
        }
    }
}

int main(void)
{
    test_blocks_are_carved_in_order_past_the_header();
    test_lowest_free_block_first();
    test_pool_fills_to_capacity();
    test_free_pages_go_back();
    test_pool_header_packing();
    test_bad_returns_abort_naming_the_pointer();
    test_geometry_accepts_exactly_block_starts();
    CHECK_DONE();
}
