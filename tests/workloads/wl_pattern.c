/*
 * wl_pattern.c - the block pattern and the random generator.
 *
 * The pattern is computed one 64-bit word at a time: word k of a block
 * with seed s is mix(s) + k * WORD_STEP.  Byte i is byte (i % 8) of word
 * i / 8 as stored in memory, so any range can be filled or checked on
 * its own.  mix() is the splitmix64 finaliser, so neighbouring seeds
 * give unrelated bases; the
 * per-word step is one add, which keeps filling and checking near memory
 * speed, and no two words of a block are equal, so a block copied to the
 * wrong offset fails its check too.
 */
#include "wl_pattern.h"

#include <string.h>

/* splitmix64's increment (the golden ratio in 64-bit fixed point). */
#define WORD_STEP UINT64_C(0x9e3779b97f4a7c15)
#define WORD_BYTES 8u

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Word `word_index` of the pattern whose base is mix(seed). */
static uint64_t word_of(uint64_t base, size_t word_index)
{
    return base + (uint64_t)word_index * WORD_STEP;
}

uint64_t wl_seed(unsigned thread, uint64_t index)
{
    return mix(((uint64_t)thread << 40) ^ index ^ UINT64_C(0x5eed));
}

/* Byte `i` of the pattern: byte i % 8 of its word in memory order. */
static unsigned char byte_at(uint64_t pat, size_t i)
{
    uint64_t word = word_of(pat, i / WORD_BYTES);
    unsigned char native[WORD_BYTES];
    memcpy(native, &word, WORD_BYTES);
    return native[i % WORD_BYTES];
}

void wl_fill_range(void *base, size_t from, size_t len, uint64_t seed)
{
    unsigned char *bytes = base;
    size_t i = from, end = from + len;
    uint64_t pat = mix(seed);

    while (i < end && i % WORD_BYTES != 0) {
        bytes[i] = byte_at(pat, i);
        i++;
    }
    for (; i + WORD_BYTES <= end; i += WORD_BYTES) {
        uint64_t word = word_of(pat, i / WORD_BYTES);
        memcpy(bytes + i, &word, WORD_BYTES);
    }
    for (; i < end; i++)
        bytes[i] = byte_at(pat, i);
}

void wl_fill(void *block, size_t len, uint64_t seed)
{
    wl_fill_range(block, 0, len, seed);
}

size_t wl_check_range(const void *base, size_t from, size_t len,
                      uint64_t seed)
{
    const unsigned char *bytes = base;
    size_t i = from, end = from + len;
    uint64_t pat = mix(seed);

    while (i < end && i % WORD_BYTES != 0) {
        if (bytes[i] != byte_at(pat, i))
            return i;
        i++;
    }
    for (; i + WORD_BYTES <= end; i += WORD_BYTES) {
        uint64_t want = word_of(pat, i / WORD_BYTES), have;
        memcpy(&have, bytes + i, WORD_BYTES);
        if (have != want)
            break;  /* the byte loop below finds the exact offset */
    }
    for (; i < end; i++)
        if (bytes[i] != byte_at(pat, i))
            return i;
    return SIZE_MAX;
}

size_t wl_check(const void *block, size_t len, uint64_t seed)
{
    return wl_check_range(block, 0, len, seed);
}

uint64_t wl_rand(uint64_t *state)
{
    *state += WORD_STEP;
    return mix(*state);
}

size_t wl_rand_size(uint64_t *state, size_t min, size_t max)
{
    if (max <= min)
        return min;
    return min + (size_t)(wl_rand(state) % (uint64_t)(max - min + 1));
}
