/*
 * op_codec.h - the encoding of finalised ops inside an OPS chunk.
 *
 * An OPS chunk stores its ops column by column: all tags, then all time
 * deltas, sizes and args, slots, edges.  Each column is homogeneous, so
 * zstd (applied per chunk) finds far more repetition than in
 * interleaved records (larson, 400,000 ops: 1.23 MB -> 0.84 MB).
 * The finalised form stores slots, not pointers: a free names a small
 * slot id, and an allocation's slot is stored as its distance from a
 * guess (the slot this thread released last, or after a fresh slot the
 * next fresh one); with per-thread LIFO slot reuse the distance is
 * usually 0.  Times are counted in the trace's time unit
 * (see the SUMMARY chunk) as zigzag deltas; an edge's op index as a
 * zigzag delta from the previous edge's.  State resets at every chunk.
 */
#ifndef MALLARD_TRACE_OP_CODEC_H
#define MALLARD_TRACE_OP_CODEC_H

#include "event_codec.h"

#define TRACE_OP_HAS_DEP 0x10u   /* dep_thread, dep_op follow */
#define TRACE_OP_NO_SLOT 0x20u   /* slot is TRACE_NO_SLOT */
#define TRACE_OP_NO_OLD 0x40u    /* old_slot is TRACE_NO_SLOT */
#define TRACE_OP_KNOWN_FLAGS \
    (TRACE_OP_HAS_DEP | TRACE_OP_NO_SLOT | TRACE_OP_NO_OLD)

enum trace_op_column {
    TRACE_COL_TAG,     /* one byte per op */
    TRACE_COL_TIME,    /* time delta */
    TRACE_COL_SIZE,    /* arg, size (as the kind has them) */
    TRACE_COL_OLD,     /* old slot */
    TRACE_COL_SLOT,    /* slot, as a distance from the guess */
    TRACE_COL_DEP,     /* edge thread, edge op delta */
    TRACE_COLUMNS
};

/* Bytes one op can add to each column, at most. */
#define TRACE_OP_COL_MAX (2 * TRACE_VARINT_MAX)

struct trace_op_state {
    uint64_t unit;              /* ns per time unit, >= 1 */
    uint64_t prev_time;         /* in units */
    uint64_t prev_dep_op;
    uint32_t slot_hint;
};

static inline void trace_op_update_hint(struct trace_op_state *s,
                                        const struct trace_op *op)
{
    if (op->slot != TRACE_NO_SLOT)
        s->slot_hint = op->slot + 1;
    else if (op->old_slot != TRACE_NO_SLOT && op->kind != TRACE_USABLE_SIZE)
        s->slot_hint = op->old_slot;
}

static inline void trace_encode_op(uint8_t *col[TRACE_COLUMNS],
                                   struct trace_op_state *s,
                                   const struct trace_op *op)
{
    unsigned fields = trace_event_fields(op->kind);
    unsigned tag = op->kind;
    uint64_t t = op->time_ns / s->unit;
    col[TRACE_COL_TIME] = trace_put_varint(col[TRACE_COL_TIME],
                                           trace_zigzag(t - s->prev_time));
    s->prev_time = t;
    if (op->old_slot == TRACE_NO_SLOT)
        tag |= TRACE_OP_NO_OLD;
    else
        col[TRACE_COL_OLD] = trace_put_varint(col[TRACE_COL_OLD],
                                              op->old_slot);
    if (fields & TRACE_F_ARG)
        col[TRACE_COL_SIZE] = trace_put_varint(col[TRACE_COL_SIZE], op->arg);
    if (fields & TRACE_F_SIZE)
        col[TRACE_COL_SIZE] = trace_put_varint(col[TRACE_COL_SIZE],
                                               op->size);
    if (op->slot == TRACE_NO_SLOT)
        tag |= TRACE_OP_NO_SLOT;
    else
        col[TRACE_COL_SLOT] = trace_put_varint(col[TRACE_COL_SLOT],
            trace_zigzag((uint64_t)op->slot - s->slot_hint));
    trace_op_update_hint(s, op);
    if (op->dep_thread != TRACE_NO_DEP) {
        tag |= TRACE_OP_HAS_DEP;
        col[TRACE_COL_DEP] = trace_put_varint(col[TRACE_COL_DEP],
                                              op->dep_thread);
        col[TRACE_COL_DEP] = trace_put_varint(col[TRACE_COL_DEP],
            trace_zigzag(op->dep_op - s->prev_dep_op));
        s->prev_dep_op = op->dep_op;
    }
    *col[TRACE_COL_TAG]++ = (uint8_t)tag;
}

#endif
