/*
 * event_codec.h - the encoding of one event inside an EVENTS chunk.
 *
 * Owns which fields each op kind stores and in what order; the recorder
 * inlines the encoder on its hot path and the decoder in decode.c reads
 * with the same table, so the two cannot drift apart.  Times are deltas
 * from the previous event of the same chunk; pointers are zigzag deltas
 * from the previous pointer of the chunk (neighbouring blocks share high
 * bits).  NULL pointers are flags in the tag byte, not deltas.  State
 * resets at every chunk, so each chunk decodes on its own.
 */
#ifndef MALLARD_TRACE_EVENT_CODEC_H
#define MALLARD_TRACE_EVENT_CODEC_H

#include "trace_format.h"
#include "varint.h"

/* Fields present per kind, in encoding order after the time delta. */
#define TRACE_F_OLD 0x1u    /* old_ptr */
#define TRACE_F_ARG 0x2u    /* arg */
#define TRACE_F_SIZE 0x4u   /* size */
#define TRACE_F_PTR 0x8u    /* ptr */
#define TRACE_F_AFTER 0x10u /* t_after - time */

/* Tag byte + time + 4 fields + after, each at most a full varint. */
#define TRACE_EVENT_MAX_BYTES (1 + 6 * TRACE_VARINT_MAX)

struct trace_codec_state {
    uint64_t prev_time;
    uint64_t prev_ptr;
};

/* 0 for a kind outside enum trace_op_kind: the decoder rejects it. */
static inline unsigned trace_event_fields(unsigned kind)
{
    switch (kind) {
    case TRACE_MALLOC: case TRACE_VALLOC: case TRACE_PVALLOC:
        return TRACE_F_SIZE | TRACE_F_PTR;
    case TRACE_CALLOC: case TRACE_POSIX_MEMALIGN:
    case TRACE_ALIGNED_ALLOC: case TRACE_MEMALIGN:
        return TRACE_F_ARG | TRACE_F_SIZE | TRACE_F_PTR;
    case TRACE_REALLOC:
        return TRACE_F_OLD | TRACE_F_SIZE | TRACE_F_PTR | TRACE_F_AFTER;
    case TRACE_REALLOCARRAY:
        return TRACE_F_OLD | TRACE_F_ARG | TRACE_F_SIZE | TRACE_F_PTR |
               TRACE_F_AFTER;
    case TRACE_FREE: case TRACE_USABLE_SIZE:
        return TRACE_F_OLD;
    case TRACE_THREAD_START: case TRACE_THREAD_EXIT:
        return 0; /* no fields, but a valid kind */
    default:
        return ~0u;
    }
}

static inline uint8_t *trace_put_ptr(uint8_t *p, struct trace_codec_state *s,
                                     uint64_t ptr)
{
    p = trace_put_varint(p, trace_zigzag(ptr - s->prev_ptr));
    s->prev_ptr = ptr;
    return p;
}

/* Writes at most TRACE_EVENT_MAX_BYTES at p; returns the end. */
static inline __attribute__((always_inline))
uint8_t *trace_encode_event(uint8_t *p,
                                          struct trace_codec_state *s,
                                          const struct trace_event *e)
{
    unsigned fields = trace_event_fields(e->kind);
    uint8_t *tag = p++;
    unsigned flags = e->kind;
    p = trace_put_varint(p, e->time - s->prev_time);
    s->prev_time = e->time;
    if (fields & TRACE_F_OLD) {
        if (e->old_ptr)
            p = trace_put_ptr(p, s, e->old_ptr);
        else
            flags |= TRACE_EV_NULL_OLD;
    }
    if (fields & TRACE_F_ARG)
        p = trace_put_varint(p, e->arg);
    if (fields & TRACE_F_SIZE)
        p = trace_put_varint(p, e->size);
    if (fields & TRACE_F_PTR) {
        if (e->ptr)
            p = trace_put_ptr(p, s, e->ptr);
        else
            flags |= TRACE_EV_NULL_RESULT;
    }
    if (fields & TRACE_F_AFTER)
        p = trace_put_varint(p, e->t_after - e->time);
    *tag = (uint8_t)flags;
    return p;
}

#endif
