/*
 * op_codec.h - the encoding of finalised ops inside an OPS chunk.
 *
 * An OPS chunk stores its ops column by column: all tags, then all time
 * deltas, sizes and args, slots, edges.  Each column is homogeneous, so
 * zstd (applied per chunk) finds far more repetition than in
 * interleaved records (larson, 400,000 ops: 1.23 MB -> 0.84 MB).
 * The finalised form stores slots, not pointers, each as a guess and a
 * correction that is usually 0.  Two codings of the slots, by chunk type:
 * - OPS (type 6, read only): an allocation's slot as a distance from the
 *   slot this thread released last (or after an allocation of s, s + 1);
 *   an old slot as its plain number.
 * - OPS_RANKED (type 7, read only) and OPS_RUNS (type 9, written): the
 *   finaliser gives a thread back the
 *   slots it released, last released first, so an allocation's guess is
 *   the top of a stack of the chunk's released slots (sqlite3: the
 *   correction is 0 for all but a handful of 608,000 allocations); an
 *   old slot is its rank among the chunk's most recently allocated or
 *   queried slots (blocks mostly die young: ranks 0-2 cover 99.8%), or
 *   TRACE_OP_RECENT + the slot if it is not among them.  On sqlite3 this
 *   took the two slot columns from 20.7 KB to 5.8 KB compressed.
 * Times are counted in the trace's time unit (see the SUMMARY chunk) as
 * zigzag deltas.  At a microsecond most deltas are 0 (sqlite3 makes
 * 4 calls a microsecond), so OPS_RUNS stores the time column as runs:
 * the number of ops whose delta is 0, then the next delta (zigzag, less
 * 1), ..., and the run that ends the chunk (sqlite3: 44 KB -> 30 KB).
 * An edge's op index as a zigzag delta from the previous
 * edge's.  All state resets at every chunk, so each decodes on its own.
 */
#ifndef MALLARD_TRACE_OP_CODEC_H
#define MALLARD_TRACE_OP_CODEC_H

#include <string.h>

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

/* Old slots ranked among this many recent slots: 16 holds the ranks of
 * 99.8% of sqlite3's frees, and keeps the search short. */
#define TRACE_OP_RECENT 16
/* Released slots kept for guessing (a ring: the oldest falls out). */
#define TRACE_OP_RELEASED 64

/*
 * x / d by a multiply: with m = (2^64 - 1) / d, the high half of x * m
 * is x / d or one short, which one comparison corrects.  Encoding
 * divided every op's time by the unit, and the streaming finaliser
 * every stamp by the clock's rate (a 128-bit division): together some
 * 100 cycles an op, a fifth of the encoder's time on larson.
 */
struct trace_div {
    uint64_t d, m;
};

static inline struct trace_div trace_div_by(uint64_t d)
{
    return (struct trace_div){ d, UINT64_MAX / d };
}

static inline uint64_t trace_div(const struct trace_div *v, uint64_t x)
{
    uint64_t q = (uint64_t)(((unsigned __int128)x * v->m) >> 64);
    return x - q * v->d >= v->d ? q + 1 : q;
}

struct trace_op_state {
    uint64_t unit;              /* ns per time unit, >= 1 */
    uint64_t prev_time;         /* in units */
    uint64_t prev_dep_op;
    uint32_t slot_hint;         /* OPS */
    int ranked;                 /* OPS_RANKED: the fields below */
    int time_runs;              /* OPS_RUNS: times as runs of deltas 0 */
    uint64_t time_run;          /* ops with delta 0 not yet written/read */
    uint32_t fresh;             /* one past the highest slot seen */
    unsigned recent_count, released_count, released_top;
    uint32_t recent[TRACE_OP_RECENT];     /* most recent first */
    uint32_t released[TRACE_OP_RELEASED];
};

/* Rank of slot among the recent ones, which it leaves; -1 if absent. */
static inline int trace_op_recent_take(struct trace_op_state *s,
                                       uint32_t slot)
{
    for (unsigned i = 0; i < s->recent_count; i++)
        if (s->recent[i] == slot) {
            memmove(&s->recent[i], &s->recent[i + 1],
                    (s->recent_count - i - 1) * sizeof(s->recent[0]));
            s->recent_count--;
            return (int)i;
        }
    return -1;
}

static inline void trace_op_recent_put(struct trace_op_state *s,
                                       uint32_t slot)
{
    unsigned keep = s->recent_count < TRACE_OP_RECENT ? s->recent_count
                                                      : TRACE_OP_RECENT - 1;
    memmove(&s->recent[1], &s->recent[0], keep * sizeof(s->recent[0]));
    s->recent[0] = slot;
    s->recent_count = keep + 1;
}

static inline uint32_t trace_op_slot_guess(const struct trace_op_state *s)
{
    return s->released_count ? s->released[s->released_top] : s->fresh;
}

/* After the old slot of op (kind) is known: queried blocks stay live and
 * recent; any other op released it. */
static inline void trace_op_ranked_old(struct trace_op_state *s,
                                       unsigned kind, uint32_t old)
{
    if (kind == TRACE_USABLE_SIZE) {
        trace_op_recent_put(s, old);
        return;
    }
    s->released_top = (s->released_top + 1) % TRACE_OP_RELEASED;
    s->released[s->released_top] = old;
    if (s->released_count < TRACE_OP_RELEASED)
        s->released_count++;
}

/* After an op's new slot is known. */
static inline void trace_op_ranked_slot(struct trace_op_state *s,
                                        uint32_t slot)
{
    if (s->released_count && s->released[s->released_top] == slot) {
        s->released_top = (s->released_top + TRACE_OP_RELEASED - 1) %
                          TRACE_OP_RELEASED;
        s->released_count--;
    }
    if (slot >= s->fresh)
        s->fresh = slot + 1;
    trace_op_recent_put(s, slot);
}

static inline void trace_op_update_hint(struct trace_op_state *s,
                                        const struct trace_op *op)
{
    if (op->slot != TRACE_NO_SLOT)
        s->slot_hint = op->slot + 1;
    else if (op->old_slot != TRACE_NO_SLOT && op->kind != TRACE_USABLE_SIZE)
        s->slot_hint = op->old_slot;
}

static inline void trace_encode_slots(uint8_t *col[TRACE_COLUMNS],
                                      struct trace_op_state *s,
                                      const struct trace_op *op)
{
    if (op->old_slot != TRACE_NO_SLOT) {
        uint64_t v = op->old_slot;
        if (s->ranked) {
            int rank = trace_op_recent_take(s, op->old_slot);
            v = rank >= 0 ? (uint64_t)rank : TRACE_OP_RECENT + v;
            trace_op_ranked_old(s, op->kind, op->old_slot);
        }
        col[TRACE_COL_OLD] = trace_put_varint(col[TRACE_COL_OLD], v);
    }
    if (op->slot != TRACE_NO_SLOT) {
        uint32_t guess = s->ranked ? trace_op_slot_guess(s) : s->slot_hint;
        col[TRACE_COL_SLOT] = trace_put_varint(col[TRACE_COL_SLOT],
            trace_zigzag((uint64_t)op->slot - guess));
        if (s->ranked)
            trace_op_ranked_slot(s, op->slot);
    }
    if (!s->ranked)
        trace_op_update_hint(s, op);
}

/* The time column's codings of an op's zigzag time delta dt: one
 * varint an op, or (OPS_RUNS) runs of zero deltas, *run counting the
 * zeros not yet written. */
static inline uint8_t *trace_encode_time_runs(uint8_t *col, uint64_t *run,
                                              uint64_t dt)
{
    if (dt == 0) {
        ++*run;
        return col;
    }
    col = trace_put_varint(col, *run);
    *run = 0;
    return trace_put_varint(col, dt - 1);
}

/* An op's columns but the time's. */
static inline void trace_encode_op_fields(uint8_t *col[TRACE_COLUMNS],
                                          struct trace_op_state *s,
                                          const struct trace_op *op)
{
    unsigned fields = trace_event_fields(op->kind);
    unsigned tag = op->kind;
    if (op->old_slot == TRACE_NO_SLOT)
        tag |= TRACE_OP_NO_OLD;
    if (fields & TRACE_F_ARG)
        col[TRACE_COL_SIZE] = trace_put_varint(col[TRACE_COL_SIZE], op->arg);
    if (fields & TRACE_F_SIZE)
        col[TRACE_COL_SIZE] = trace_put_varint(col[TRACE_COL_SIZE],
                                               op->size);
    if (op->slot == TRACE_NO_SLOT)
        tag |= TRACE_OP_NO_SLOT;
    trace_encode_slots(col, s, op);
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
