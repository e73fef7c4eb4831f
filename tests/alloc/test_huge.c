/*
 * test_huge.c - calloc of a size served by a cached (freed,
 * dirty) mapping still returns zeroes.  Run with a fixed threshold
 * (MALLARD_MMAP_THRESHOLD=256k), so freed mapped blocks are cached
 * rather than raising the threshold.
 */
#include "check.h"
#include "mallard.h"

#define MIB ((size_t)1 << 20)

int main(void)
{
    for (int round = 0; round < 4; round++) {
        size_t size = MIB + (size_t)round * 4096;
        unsigned char *dirty = mallard_malloc(size);
        CHECK(dirty != NULL);
        memset(dirty, 0xa5, size);
        mallard_free(dirty);            /* kept in the mapping cache */
        struct mallard_stats stats;
        mallard_stats(&stats);
        CHECK(stats.bytes_retained >= MIB);
        unsigned char *clean = mallard_calloc(1, size);
        CHECK(clean != NULL);
        size_t nonzero = 0;
        for (size_t i = 0; i < size; i++)
            nonzero += clean[i] != 0;
        CHECK(nonzero == 0);
        mallard_free(clean);
    }
    CHECK_DONE();
}
