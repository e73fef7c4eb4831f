/*
 * sizeclass.h - the size classes served from pools.
 *
 * Sizes up to 128 bytes step by 16 (the alignment every block must
 * have), giving classes 16, 32, ..., 128.  Up to 1 KiB there are four
 * classes per doubling: for a size in (2^k, 2^(k+1)] the classes are
 * 2^k + j * 2^(k-2) for j = 1..4, so a block wastes at most a fifth of
 * itself (at 2^k + 1 rounded up to 1.25 * 2^k).  From 1 KiB to
 * SC_MAX_SIZE there are eight, 2^k + j * 2^(k-3), wasting at most a
 * ninth, and one more just above the power of two, 2^k + 2^(k-6).
 * Programs often ask for a power of two plus a small header (sqlite3's
 * 1032- and 4368-byte page buffers are half its memory; a page plus 16
 * bytes is a common buffer): the coarser quarter steps rounded those up
 * by 24% and 17%, eighths still by 12% (1032 -> 1152, 2.5 MiB of
 * sqlite3's peak), the extra class by under 2% (1032 -> 1040).  More
 * classes mean more partly used pools, but pools take their chunks
 * untouched (chunk.h), so an idle class costs little resident memory.
 * Classes over SC_POOL_MAX are served by the arena (below); larger
 * requests go to the best-fit arena or to mmap.
 *
 *   class:  0   1   ...  7    8    9   ...  19    20    21    22  ...  73
 *   bytes:  16  32  ...  128  160  192 ...  1024  1040  1152  1280 ... 65536
 */
#ifndef MALLARD_SIZECLASS_H
#define MALLARD_SIZECLASS_H

#include <stddef.h>
#include <stdint.h>

#define SC_COUNT 74
#define SC_MAX_SIZE ((size_t)65536)
/* Sizes to here find their class in one table load (sc_lookup); the
 * classes above, to SC_MAX_SIZE, by their power of two (sc_of_size). */
#define SC_LOOKUP_MAX ((size_t)16384)
#define SC_LOOKUP_CLASSES 56u
/*
 * Classes up to SC_POOL_MAX come from pools; the classes above it are
 * blocks of exactly the class size from the best-fit arena, which the
 * thread cache keeps like pool blocks (tcache.h).  In pools, classes of
 * 4-16 KiB held the sum of each class's own peak (a ring of 256 blocks
 * of 1-16 KiB: 1.95 times the live bytes, glibc 1.08); the arena
 * coalesces, and with the cache in front a buffer freed and allocated
 * again costs no lock.  The classes reach 64 KiB because programs churn
 * buffers that size (git's delta windows and zlib streams: 42,000 of
 * 16-64 KiB in a pack-objects run), which otherwise take the heap lock
 * at every malloc and free.
 */
#define SC_POOL_COUNT 38
#define SC_POOL_MAX ((size_t)4096)

extern const uint32_t sc_block_size[SC_COUNT];

/* The classes of all sizes up to SC_LOOKUP_MAX, by (size + 15) / 16: one
 * load (a 1 KiB table whose first line serves every size to 1 KiB)
 * instead of branches on the size, which a program asking for sizes of
 * every regime in turn mispredicted (a random-size malloc and free
 * loop: 7.5 ns a pair against glibc's 5.9), or a bit scan and shifts
 * for sizes over 1 KiB. */
#define SC_LOOKUP_COUNT (SC_LOOKUP_MAX / 16 + 1)
extern const uint8_t sc_lookup[SC_LOOKUP_COUNT];

/*
 * The class of a request of size bytes; size <= SC_MAX_SIZE.  Above
 * SC_LOOKUP_MAX a size in (2^k, 2^(k+1)] has the class 2^k + 2^(k-6)
 * if it fits, else 2^k + j * 2^(k-3) for the least j that holds it; the
 * nine classes of each doubling follow on from SC_LOOKUP_CLASSES.  (A
 * caller that knows size <= SC_LOOKUP_MAX, as malloc's pool path does,
 * compiles to the table load alone.)
 */
static inline unsigned sc_of_size(size_t size)
{
    if (__builtin_expect(size <= SC_LOOKUP_MAX, 1))
        return sc_lookup[(size + 15) >> 4];
    unsigned k = 63u - (unsigned)__builtin_clzll(size - 1);
    size_t base = (size_t)1 << k;
    unsigned first = SC_LOOKUP_CLASSES + (k - 14u) * 9u;
    if (size <= base + (base >> 6))
        return first;
    return first + (unsigned)((size - base + (base >> 3) - 1) >> (k - 3));
}

/*
 * ceil(2^32 / block size): (offset * recip) >> 32 equals offset / size
 * for every offset below 2^18 (a pool) and size up to 2^14, because the
 * rounding error stays below 2^18 / 2^32 <= 1 / size.  (Only the pool
 * classes use it; the arena classes' entries complete the table.)
 */
extern const uint32_t sc_reciprocal[SC_COUNT];

#endif
