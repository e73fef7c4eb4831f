/*
 * test_arena.c - the arena picks the best fit (smallest block that
 * fits, lowest address on a tie, within a size bin and across them),
 * splits, coalesces free neighbours,
 * aligns, resizes in place and gives empty regions back.
 */
#include "arena.h"
#include "check.h"

#include <signal.h>
#include <stdint.h>

#define KIB 1024

static struct arena arena;
static int owner_token;

static void *take(size_t size)
{
    void *block = arena_alloc(&arena, &owner_token, size);
    CHECK(block != NULL);
    CHECK(((uintptr_t)block & 15) == 0);
    CHECK(arena_usable_size(block) >= size);
    CHECK(arena_usable_size(block) < size + ARENA_MIN_BLOCK + 16);
    return block;
}

static void test_best_fit_takes_smallest_then_lowest_address(void)
{
    void *a = take(48 * KIB), *gap1 = take(20 * KIB);
    void *b = take(32 * KIB), *gap2 = take(20 * KIB);
    void *c = take(40 * KIB), *gap3 = take(20 * KIB);
    void *d = take(40 * KIB), *gap4 = take(20 * KIB);
    CHECK(c < d);
    arena_free(&arena, d);
    arena_free(&arena, a);
    arena_free(&arena, c);
    arena_free(&arena, b);
    /* Free now: a 48K, b 32K, c 40K, d 40K and the region's tail. */
    CHECK(take(36 * KIB) == c);   /* 40K beats 48K; c before d */
    CHECK(take(36 * KIB) == d);
    CHECK(take(30 * KIB) == b);
    CHECK(take(46 * KIB) == a);
    void *all[] = { a, b, c, d, gap1, gap2, gap3, gap4 };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        arena_free(&arena, all[i]);
}

/*
 * Free blocks sit in bins by size: the best fit may be in the request's
 * bin past a smaller block there, or the smallest of a later bin when
 * nothing in the request's bin fits.  The blocks are carved from one
 * big free region, so its tail (~700 KiB) is bigger than them all.
 */
static void test_best_fit_across_bins(void)
{
    arena_free(&arena, take(900 * KIB));     /* one region, all free */
    void *a = take(41 * KIB), *gap1 = take(1 * KIB);
    void *b = take(47 * KIB), *gap2 = take(1 * KIB);
    void *c = take(60 * KIB), *gap3 = take(1 * KIB);
    void *d = take(100 * KIB), *gap4 = take(1 * KIB);
    void *blocks[] = { a, b, c, d };
    for (int i = 0; i < 4; i++)
        arena_free(&arena, blocks[i]);
    CHECK(take(45 * KIB) == b);   /* same bin (40-48K) as a, which is short */
    CHECK(take(42 * KIB) == c);   /* a too small: the next bin's smallest */
    CHECK(take(61 * KIB) == d);   /* c taken: its bin is empty */
    CHECK(take(40 * KIB) == a);
    void *all[] = { a, b, c, d, gap1, gap2, gap3, gap4 };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        arena_free(&arena, all[i]);
}

static void test_free_neighbours_coalesce(void)
{
    void *x = take(24 * KIB), *y = take(24 * KIB), *z = take(24 * KIB);
    void *guard = take(24 * KIB);
    size_t whole = (size_t)((char *)guard - (char *)x) - ARENA_HEADER;
    arena_free(&arena, x);
    arena_free(&arena, z);
    arena_free(&arena, y);   /* joins x and z into one block */
    void *merged = take(whole);
    CHECK(merged == x);
    arena_free(&arena, merged);
    arena_free(&arena, guard);
}

static void test_aligned_blocks(void)
{
    for (size_t align = 32; align <= 64 * KIB; align *= 2) {
        void *block = arena_alloc_aligned(&arena, &owner_token,
                                          20 * KIB, align);
        CHECK(block != NULL && ((uintptr_t)block & (align - 1)) == 0);
        CHECK(arena_usable_size(block) >= 20 * KIB);
        memset(block, 0x5a, 20 * KIB);
        arena_free(&arena, block);
    }
}

static void test_resize_in_place(void)
{
    void *block = take(20 * KIB);
    void *next = take(20 * KIB);
    arena_free(&arena, next);           /* room to grow into */
    CHECK(arena_resize_in_place(&arena, block, 36 * KIB));
    CHECK(arena_usable_size(block) >= 36 * KIB);
    CHECK(arena_resize_in_place(&arena, block, 17 * KIB));
    CHECK(arena_usable_size(block) < 18 * KIB);
    void *after = take(16 * KIB);       /* reuses the freed tail */
    CHECK((char *)after < (char *)block + 40 * KIB);
    arena_free(&arena, after);
    arena_free(&arena, block);
}

static void test_empty_regions_go_back(void)
{
    void *blocks[64];
    for (int i = 0; i < 64; i++)
        blocks[i] = take(100 * KIB);    /* several 1 MiB regions */
    CHECK(arena.region_count > 1);
    for (int i = 0; i < 64; i++)
        arena_free(&arena, blocks[i]);
    CHECK(arena.region_count == 1);
    CHECK(arena.bytes_in_use == 0);
}

static void double_free(void *unused)
{
    (void)unused;
    void *block = take(20 * KIB);
    arena_free(&arena, block);
    arena_free(&arena, block);
}

static void test_double_free_aborts(void)
{
    char text[256];
    int status = run_in_child(double_free, NULL, text, sizeof(text));
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(text, "double free") != NULL);
}

int main(void)
{
    arena_init(&arena);
    test_best_fit_across_bins();
    test_best_fit_takes_smallest_then_lowest_address();
    test_free_neighbours_coalesce();
    test_aligned_blocks();
    test_resize_in_place();
    test_empty_regions_go_back();
    test_double_free_aborts();
    CHECK(arena.bytes_in_use == 0);
    CHECK_DONE();
}
