/*
 * varint.h - LEB128 variable-length integers and zigzag signed deltas.
 *
 * Owns the integer encoding of every trace payload.  Small values (time
 * deltas, sizes, pointer deltas between neighbouring blocks) dominate a
 * trace, so 7 bits per byte with a continuation bit keeps most fields at
 * one or two bytes.  Decoding never reads past `end` and rejects values
 * longer than TRACE_VARINT_MAX bytes, so damaged input cannot overrun.
 */
#ifndef MALLARD_TRACE_VARINT_H
#define MALLARD_TRACE_VARINT_H

#include <stdint.h>

/* A uint64_t needs ceil(64 / 7) = 10 bytes at most. */
#define TRACE_VARINT_MAX 10

static inline uint8_t *trace_put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Returns 0 and advances *p, or -1 if the value is cut off or too long. */
static inline int trace_get_varint(const uint8_t **p, const uint8_t *end,
                                   uint64_t *v)
{
    const uint8_t *q = *p;
    uint64_t result = 0;
    for (unsigned shift = 0; shift < 7 * TRACE_VARINT_MAX; shift += 7) {
        if (q >= end)
            return -1;
        uint8_t byte = *q++;
        result |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *p = q;
            *v = result;
            return 0;
        }
    }
    return -1;
}

/* Zigzag maps small signed deltas (either direction) to small unsigned. */
static inline uint64_t trace_zigzag(uint64_t delta)
{
    return (delta << 1) ^ (uint64_t)((int64_t)delta >> 63);
}

static inline uint64_t trace_unzigzag(uint64_t v)
{
    return (v >> 1) ^ (uint64_t)-(int64_t)(v & 1);
}

#endif
