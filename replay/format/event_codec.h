/*
 * event_codec.h - one event of the recorder's form: what the recorder
 * saw (struct trace_event) and its bytes inside an EVENTS chunk.
 *
 * Part of the public interface: trace_format.h includes it, because the
 * recorder inlines the encoder on its hot path; users include
 * trace_format.h, not this.  Owns which fields each op kind stores and
 * in what order; decode_events.c reads with the same table, so encoder
 * and decoder cannot drift apart.  Times are deltas
 * from the previous event of the same chunk; pointers are zigzag deltas
 * from the previous pointer of the chunk (neighbouring blocks share high
 * bits).  NULL pointers are flags in the tag byte, not deltas.  State
 * resets at every chunk, so each chunk decodes on its own.
 */
#ifndef MALLARD_TRACE_EVENT_CODEC_H
#define MALLARD_TRACE_EVENT_CODEC_H

#include "../trace.h"
#include "varint.h"

/* Event tag byte: the op kind in the low nibble, flags above it. */
#define TRACE_EV_KIND_MASK 0x0fu
#define TRACE_EV_NULL_RESULT 0x10u /* the call returned NULL / failed */
#define TRACE_EV_NULL_OLD 0x20u    /* the pointer argument was NULL */
#define TRACE_EV_KNOWN_FLAGS (TRACE_EV_NULL_RESULT | TRACE_EV_NULL_OLD)

/* One event as the recorder saw it, before pointers become slots. */
struct trace_event {
    uint64_t time;     /* clock ns: after the call for allocations,
                          before it for frees and reallocs */
    uint64_t t_after;  /* realloc family: clock ns after the call */
    uint64_t ptr;      /* result, 0 if none */
    uint64_t old_ptr;  /* freed / realloc'd / queried pointer, or 0 */
    uint64_t size;
    uint64_t arg;      /* count or alignment; see enum trace_op_kind */
    uint8_t kind;
};

/* Fields present per kind, in encoding order after the time delta. */
#define TRACE_F_OLD 0x1u    /* old_ptr */
#define TRACE_F_ARG 0x2u    /* arg */
#define TRACE_F_SIZE 0x4u   /* size */
#define TRACE_F_PTR 0x8u    /* ptr */
#define TRACE_F_AFTER 0x10u /* t_after - time */

/*
 * An EVENTS chunk's payload opens with the thread's serial (tids are
 * reused, serials not), its tid, the chunk's sequence number in the
 * thread, and the base time the first event's delta is taken from
 * (decode.c reads them in that order).  Returns the end; needs
 * TRACE_EVENTS_PREAMBLE_MAX bytes.
 */
#define TRACE_EVENTS_PREAMBLE_MAX (4 * TRACE_VARINT_MAX)
static inline uint8_t *trace_put_events_preamble(uint8_t *p, uint64_t serial,
                                                 uint64_t tid, uint64_t seq,
                                                 uint64_t base_time)
{
    p = trace_put_varint(p, serial);
    p = trace_put_varint(p, tid);
    p = trace_put_varint(p, seq);
    return trace_put_varint(p, base_time);
}

/* Tag byte + time + 4 fields + after, each at most a full varint. */
#define TRACE_EVENT_MAX_BYTES (1 + 6 * TRACE_VARINT_MAX)

struct trace_codec_state {
    uint64_t prev_time;
    uint64_t prev_ptr;
};

/*
 * Which kinds carry each field, one bit per kind.  Written as masks, not
 * a switch: compilers turn a switch into a table load that survives
 * inlining, so the recorder's encoder, inlined for a known kind, tested
 * every field at run time (callgrind: some 40 instructions an event);
 * shifts of constants fold away.
 */
#define TRACE_KIND_BIT(kind) (1u << (kind))
#define TRACE_KINDS_OLD \
    (TRACE_KIND_BIT(TRACE_REALLOC) | TRACE_KIND_BIT(TRACE_REALLOCARRAY) | \
     TRACE_KIND_BIT(TRACE_FREE) | TRACE_KIND_BIT(TRACE_USABLE_SIZE))
#define TRACE_KINDS_ARG \
    (TRACE_KIND_BIT(TRACE_CALLOC) | TRACE_KIND_BIT(TRACE_POSIX_MEMALIGN) | \
     TRACE_KIND_BIT(TRACE_ALIGNED_ALLOC) | TRACE_KIND_BIT(TRACE_MEMALIGN) | \
     TRACE_KIND_BIT(TRACE_REALLOCARRAY))
#define TRACE_KINDS_ALLOC /* size and result pointer */ \
    (TRACE_KIND_BIT(TRACE_MALLOC) | TRACE_KIND_BIT(TRACE_VALLOC) | \
     TRACE_KIND_BIT(TRACE_PVALLOC) | TRACE_KINDS_ARG | \
     TRACE_KIND_BIT(TRACE_REALLOC))
#define TRACE_KINDS_AFTER \
    (TRACE_KIND_BIT(TRACE_REALLOC) | TRACE_KIND_BIT(TRACE_REALLOCARRAY))

/* ~0u for a kind outside enum trace_op_kind: the decoder rejects it.
 * Thread start and exit carry no fields but are valid kinds. */
static inline unsigned trace_event_fields(unsigned kind)
{
    if (kind < TRACE_MALLOC || kind > TRACE_THREAD_EXIT)
        return ~0u;
    return ((TRACE_KINDS_OLD >> kind) & 1u) * TRACE_F_OLD |
           ((TRACE_KINDS_ARG >> kind) & 1u) * TRACE_F_ARG |
           ((TRACE_KINDS_ALLOC >> kind) & 1u) * (TRACE_F_SIZE | TRACE_F_PTR) |
           ((TRACE_KINDS_AFTER >> kind) & 1u) * TRACE_F_AFTER;
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
uint8_t *trace_encode_event(uint8_t *p, struct trace_codec_state *s,
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
