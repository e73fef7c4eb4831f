/*
 * test_sizeclass.c - every size maps to the smallest class that holds
 * it; classes keep waste low; reciprocals divide exactly in a pool.
 */
#include "check.h"
#include "chunkmap.h"
#include "sizeclass.h"

static void test_every_size_gets_smallest_fitting_class(void)
{
    for (size_t size = 0; size <= SC_MAX_SIZE; size++) {
        unsigned c = sc_of_size(size);
        CHECK(c < SC_COUNT);
        if (c >= SC_COUNT)
            return;
        CHECK(sc_block_size[c] >= size);
        if (c > 0)
            CHECK(sc_block_size[c - 1] < (size ? size : 1));
    }
}

static void test_classes_are_aligned_and_waste_is_bounded(void)
{
    for (unsigned c = 0; c < SC_COUNT; c++) {
        CHECK(sc_block_size[c] % 16 == 0);
        if (c > 0) {
            CHECK(sc_block_size[c] > sc_block_size[c - 1]);
            /* The worst request is one byte over the previous class. */
            size_t worst = sc_block_size[c - 1] + 1;
            if (worst > 1024)   /* eighths, and one extra class */
                CHECK((sc_block_size[c] - worst) * 8 <
                      sc_block_size[c]);
            else if (worst > 128)
                CHECK((sc_block_size[c] - worst) * 4 <
                      sc_block_size[c]);
        }
    }
    CHECK(sc_block_size[SC_COUNT - 1] == SC_MAX_SIZE);
    CHECK(sc_block_size[SC_LOOKUP_CLASSES - 1] == SC_LOOKUP_MAX);
}

/* Exact to 16 KiB (sizeclass.h); only pool classes (to 4 KiB) use it. */
static void test_reciprocal_divides_exactly_within_a_pool(void)
{
    for (unsigned c = 0; c < SC_LOOKUP_CLASSES; c++) {
        uint64_t size = sc_block_size[c];
        for (uint64_t offset = 0; offset < CHUNK_SIZE; offset++) {
            uint64_t index = (offset * sc_reciprocal[c]) >> 32;
            if (index != offset / size) {
                CHECK(index == offset / size);
                return;
            }
        }
    }
}

int main(void)
{
    test_every_size_gets_smallest_fitting_class();
    test_classes_are_aligned_and_waste_is_bounded();
    test_reciprocal_divides_exactly_within_a_pool();
    CHECK_DONE();
}
