/*
 * final_read.c - reading the finalised form: a SUMMARY chunk (counts,
 * and each thread's tid and op count) and OPS chunks (see op_codec.h).
 *
 * Loading such a file skips the merge: the ops are the replay-ready
 * form already.  Everything the finaliser guarantees is re-checked on
 * the way in (slot and edge ranges, op counts, chunk continuity), so a
 * damaged or forged file is refused with an offset like any other.
 */
#include <stdlib.h>
#include <string.h>

#include "format_internal.h"

struct trace_final {
    struct trace t;
    uint64_t *expected;       /* per thread: op count the summary gave */
    uint64_t *cap;            /* per thread: allocated ops */
    uint64_t unit;            /* ns per stored time unit */
};

static int final_fail(struct decode_ctx *d, size_t at, const char *what)
{
    trace_error(d->err, d->err_len, d->name, at, "expected %s", what);
    return -1;
}

static int final_summary_threads(struct decode_ctx *d, struct trace_final *f)
{
    for (uint32_t i = 0; i < f->t.thread_count; i++)
        if (decode_varint(d, &f->t.threads[i].tid, "thread id") < 0 ||
            decode_varint(d, &f->expected[i], "op count") < 0)
            return -1;
    return 0;
}

int final_read_summary(struct decode_ctx *d)
{
    uint64_t v[7];
    const char *what[7] = { "thread count", "slot count", "peak bytes",
                            "dropped frees", "truncated", "duration",
                            "time unit" };
    if (d->raw->final || d->raw->thread_count)
        return final_fail(d, d->chunk->offset, "one summary, before ops");
    for (int i = 0; i < 7; i++)
        if (decode_varint(d, &v[i], what[i]) < 0)
            return -1;
    /* Each thread takes at least two bytes below: bounds the array. */
    if (v[0] > (uint64_t)(d->end - d->p) / 2 || v[1] > UINT32_MAX - 1 ||
        v[6] == 0 || v[6] > TRACE_NS_PER_SEC)
        return final_fail(d, decode_offset(d), "plausible counts");
    struct trace_final *f = calloc(1, sizeof(*f));
    d->raw->final = f;
    if (!f)
        return final_fail(d, d->chunk->offset, "memory for the summary");
    f->t.thread_count = (uint32_t)v[0];
    f->t.slot_count = (uint32_t)v[1];
    f->t.peak_live_bytes = v[2];
    f->t.dropped_frees = v[3];
    f->t.truncated = v[4] != 0;
    f->t.duration_ns = v[5];
    f->unit = v[6];
    f->t.time_unit_ns = v[6] ? v[6] : 1;
    f->t.threads = calloc(v[0] + 1, sizeof(*f->t.threads));
    f->expected = calloc(v[0] + 1, sizeof(*f->expected));
    f->cap = calloc(v[0] + 1, sizeof(*f->cap));
    if (!f->t.threads || !f->expected || !f->cap)
        return final_fail(d, d->chunk->offset, "memory for the summary");
    return final_summary_threads(d, f);
}

static struct trace_op *final_slot(struct trace_final *f, uint32_t th)
{
    struct trace_thread *t = &f->t.threads[th];
    if (t->op_count == f->cap[th]) {
        uint64_t cap = f->cap[th] ? 2 * f->cap[th] : 1024;
        if (cap > f->expected[th])
            cap = f->expected[th];
        void *grown = realloc(t->ops, cap * sizeof(*t->ops));
        if (!grown)
            return NULL;
        t->ops = grown;
        f->cap[th] = cap;
    }
    return &t->ops[t->op_count++];
}

static int final_slot_field(struct decode_ctx *d, const struct trace_final *f,
                            uint64_t v, uint32_t *out)
{
    if (v >= f->t.slot_count)
        return final_fail(d, decode_offset(d), "a slot below slot_count");
    *out = (uint32_t)v;
    return 0;
}

/* One cursor per column; all inside the chunk being decoded. */
struct final_cols {
    struct decode_ctx c[TRACE_COLUMNS];
};

/* OPS_RANKED: an old slot by its rank among the recent ones, or
 * TRACE_OP_RECENT + its number (op_codec.h). */
static int final_ranked_old(struct decode_ctx *d, const struct trace_final *f,
                            struct trace_op_state *s, uint64_t v,
                            struct trace_op *op)
{
    if (v < s->recent_count) {
        op->old_slot = s->recent[v];
        trace_op_recent_take(s, op->old_slot);
    } else if (v < TRACE_OP_RECENT ||
               final_slot_field(d, f, v - TRACE_OP_RECENT,
                                &op->old_slot) < 0) {
        return final_fail(d, decode_offset(d), "an old slot's rank among "
                          "the recent slots, or a slot below slot_count");
    }
    trace_op_ranked_old(s, op->kind, op->old_slot);
    return 0;
}

static int final_op_slots(struct final_cols *k, struct trace_final *f,
                          struct trace_op_state *s, unsigned tag,
                          struct trace_op *op)
{
    struct decode_ctx *d = &k->c[TRACE_COL_SLOT];
    struct decode_ctx *old = &k->c[TRACE_COL_OLD];
    uint64_t v;
    op->old_slot = op->slot = TRACE_NO_SLOT;
    if (!(tag & TRACE_OP_NO_OLD) &&
        (decode_varint(old, &v, "old slot") < 0 ||
         (s->ranked ? final_ranked_old(old, f, s, v, op)
                    : final_slot_field(old, f, v, &op->old_slot)) < 0))
        return -1;
    uint32_t guess = s->ranked ? trace_op_slot_guess(s) : s->slot_hint;
    if (!(tag & TRACE_OP_NO_SLOT) &&
        (decode_varint(d, &v, "slot") < 0 ||
         final_slot_field(d, f, guess + trace_unzigzag(v), &op->slot) < 0))
        return -1;
    if (!s->ranked)
        trace_op_update_hint(s, op);
    else if (op->slot != TRACE_NO_SLOT)
        trace_op_ranked_slot(s, op->slot);
    return 0;
}

static int final_op_dep(struct final_cols *k, struct trace_final *f,
                        struct trace_op_state *s, unsigned tag,
                        struct trace_op *op)
{
    struct decode_ctx *d = &k->c[TRACE_COL_DEP];
    uint64_t th, delta;
    op->dep_thread = op->dep_op = TRACE_NO_DEP;
    if (!(tag & TRACE_OP_HAS_DEP))
        return 0;
    if (decode_varint(d, &th, "edge thread") < 0 ||
        decode_varint(d, &delta, "edge op") < 0)
        return -1;
    uint64_t index = s->prev_dep_op + trace_unzigzag(delta);
    s->prev_dep_op = index;
    if (th >= f->t.thread_count || index >= f->expected[th])
        return final_fail(d, decode_offset(d), "an edge to an existing op");
    op->dep_thread = (uint32_t)th;
    op->dep_op = (uint32_t)index;
    return 0;
}

/* The op's time delta (zigzag): OPS and OPS_RANKED store each; OPS_RUNS
 * stores runs of 0, each followed by the next delta less 1. */
static int final_op_time(struct final_cols *k, struct trace_op_state *s,
                         uint64_t *dt)
{
    struct decode_ctx *d = &k->c[TRACE_COL_TIME];
    if (!s->time_runs)
        return decode_varint(d, dt, "time delta");
    if (s->time_run > 0) {
        s->time_run--;
        *dt = 0;
        return 0;
    }
    size_t at = decode_offset(d);
    if (decode_varint(d, dt, "time delta") < 0)
        return -1;
    if (*dt == UINT64_MAX)       /* stored less 1: it would wrap */
        return final_fail(d, at, "a time delta below 2^64 - 1");
    if (decode_varint(d, &s->time_run, "run of equal times") < 0)
        return -1;
    (*dt)++;
    return 0;
}

static int final_op(struct final_cols *k, struct trace_final *f,
                    struct trace_op_state *s, uint32_t th)
{
    struct decode_ctx *d = &k->c[TRACE_COL_TAG];
    size_t at = decode_offset(d);
    if (d->p >= d->end)
        return final_fail(d, at, "one tag per op");
    unsigned tag = *d->p++;
    unsigned kind = tag & TRACE_EV_KIND_MASK;
    unsigned fields = trace_event_fields(kind);
    unsigned must = ((fields & TRACE_F_OLD) ? 0 : TRACE_OP_NO_OLD) |
                    ((fields & TRACE_F_PTR) ? 0 : TRACE_OP_NO_SLOT);
    if (fields == ~0u || (tag & ~TRACE_EV_KIND_MASK & ~TRACE_OP_KNOWN_FLAGS)
        || (tag & must) != must)
        return final_fail(d, at, "an op tag (kind 1-13, known flags)");
    const struct trace_thread *t = &f->t.threads[th];
    if (t->op_count >= f->expected[th])
        return final_fail(d, at, "no more ops than the summary counts");
    if ((t->op_count == 0) != (kind == TRACE_THREAD_START))
        return final_fail(d, at, "thread_start first, and only first");
    if (t->op_count > 0 && t->ops[t->op_count - 1].kind == TRACE_THREAD_EXIT)
        return final_fail(d, at, "no op after thread_exit");
    struct trace_op *op = final_slot(f, th);
    uint64_t dt;
    if (!op)
        return final_fail(d, at, "memory for the ops");
    memset(op, 0, sizeof(*op));
    op->kind = (uint8_t)kind;
    struct decode_ctx *z = &k->c[TRACE_COL_SIZE];
    if (final_op_time(k, s, &dt) < 0 ||
        ((fields & TRACE_F_ARG) && decode_varint(z, &op->arg, "arg") < 0) ||
        ((fields & TRACE_F_SIZE) && decode_varint(z, &op->size, "size") < 0))
        return -1;
    s->prev_time += trace_unzigzag(dt);
    op->time_ns = s->prev_time * f->unit;
    if (final_op_slots(k, f, s, tag, op) < 0)
        return -1;
    return final_op_dep(k, f, s, tag, op);
}

/* Splits the rest of the chunk into its columns, by the stored lengths. */
static int final_split(struct decode_ctx *d, struct final_cols *k)
{
    uint64_t len[TRACE_COLUMNS];
    for (int c = 0; c < TRACE_COLUMNS - 1; c++)
        if (decode_varint(d, &len[c], "column length") < 0)
            return -1;
    const uint8_t *p = d->p;
    for (int c = 0; c < TRACE_COLUMNS; c++) {
        size_t left = (size_t)(d->end - p);
        if (c == TRACE_COLUMNS - 1)
            len[c] = left;
        if (len[c] > left)
            return final_fail(d, decode_offset(d), "columns that fit "
                              "in the chunk");
        k->c[c] = *d;
        k->c[c].p = p;
        k->c[c].end = p + len[c];
        p += len[c];
    }
    return 0;
}

int final_read_ops(struct decode_ctx *d)
{
    struct trace_final *f = d->raw->final;
    uint64_t th, first, n;
    struct final_cols k;
    if (!f)
        return final_fail(d, d->chunk->offset, "a summary before ops");
    struct trace_op_state s = {
        .unit = f->unit,
        .ranked = d->chunk->type != TRACE_CHUNK_OPS,
        .time_runs = d->chunk->type == TRACE_CHUNK_OPS_RUNS };
    if (decode_varint(d, &th, "thread index") < 0 ||
        decode_varint(d, &first, "first op index") < 0 ||
        decode_varint(d, &n, "op count") < 0 ||
        decode_varint(d, &s.prev_time, "base time") < 0)
        return -1;
    if (th >= f->t.thread_count)
        return final_fail(d, d->chunk->offset, "a thread in the summary");
    if (first != f->t.threads[th].op_count)
        return final_fail(d, d->chunk->offset, "the thread's next op "
                          "(a chunk is missing or repeated)");
    if (final_split(d, &k) < 0 ||
        (s.time_runs && decode_varint(&k.c[TRACE_COL_TIME], &s.time_run,
                                   "run of equal times") < 0))
        return -1;
    for (uint64_t i = 0; i < n; i++)
        if (final_op(&k, f, &s, (uint32_t)th) < 0)
            return -1;
    if (s.time_run != 0)
        return final_fail(&k.c[TRACE_COL_TIME],
                          decode_offset(&k.c[TRACE_COL_TIME]),
                          "no more equal times than ops");
    for (int c = 0; c < TRACE_COLUMNS; c++)
        if (k.c[c].p != k.c[c].end)
            return final_fail(&k.c[c], decode_offset(&k.c[c]),
                              "the column to end here");
    d->p = d->end;
    return 0;
}

void final_read_release(struct trace_raw *raw)
{
    struct trace_final *f = raw->final;
    if (!f)
        return;
    trace_free(&f->t);
    free(f->expected);
    free(f->cap);
    free(f);
    raw->final = NULL;
}

int final_read_take(struct trace_raw *raw, struct trace *out,
                    struct trace_finalize_report *report, char *err,
                    size_t err_len)
{
    struct trace_final *f = raw->final;
    if (report) {
        memset(report, 0, sizeof(*report));
        report->dropped_frees = f->t.dropped_frees;
    }
    for (uint32_t i = 0; i < f->t.thread_count; i++)
        if (f->t.threads[i].op_count != f->expected[i]) {
            trace_error(err, err_len, "trace", 0, "expected %llu ops of "
                        "thread %u, found %llu (ops chunks missing)",
                        (unsigned long long)f->expected[i], i,
                        (unsigned long long)f->t.threads[i].op_count);
            return -1;
        }
    *out = f->t;
    memset(&f->t, 0, sizeof(f->t));
    out->pid = raw->header.pid;
    out->start_unix_ns = raw->header.start_unix_ns;
    out->command_line = strdup(raw->header.command_line ?
                               raw->header.command_line : "");
    if (!out->command_line) {
        trace_free(out);
        return -1;
    }
    return 0;
}
