/*
 * trace_slice.c - a time window of a finalised trace, as a valid trace.
 *
 * Each cut is a prefix length per thread.  A cut must be closed under
 * edges (an op before it never waits for an op after it), so the cuts
 * taken by time are pushed forward until they are.  A walk of the ops
 * before the start cut, in an order the edges allow, gives the blocks
 * live there, with the thread that allocated each; a walk of the
 * window gives the op that touches each of them first.  The allocating
 * thread (or, if it has no ops in the window, the first toucher's)
 * re-creates the block right after its (perhaps synthetic) thread
 * start, and the first touch gets an edge to that op, so a block in
 * flight between threads at the cut still crosses threads.  Other
 * edges into the past are dropped: later touches of the block wait on
 * in-window ops, since all touches of a block are ordered.  Slots are
 * renumbered densely in order of first use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_format.h"

#define SLICE_NONE UINT32_MAX

struct slice_block {          /* one input slot during the walks */
    uint64_t bytes;           /* requested bytes of the block it holds */
    struct trace_op make;     /* how to re-create it at the start */
    uint32_t maker;           /* input thread that allocated it */
    uint32_t home;            /* input thread that re-creates it */
    uint32_t home_op;         /* ... as its output op number home_op */
    uint32_t toucher;         /* input thread of the first touch in the */
    uint64_t touch_op;        /* window, and that op's index */
    uint8_t live, carried;
};

struct slice_ctx {
    const struct trace *in;
    uint64_t *lo, *hi;        /* per input thread: window [lo, hi) */
    uint64_t *pre;            /* per input thread: blocks it re-creates */
    uint32_t *out_thread;     /* input thread -> output, or SLICE_NONE */
    uint32_t *out_slot;       /* input slot -> output, or SLICE_NONE */
    uint32_t first_thread;    /* home of blocks untouched in the window */
    uint32_t next_slot;
    struct slice_block *blocks;
    uint64_t live_bytes, peak_bytes;
};

typedef void (*slice_visit)(struct slice_ctx *c, uint32_t th,
                            uint64_t index, const struct trace_op *op);

static uint64_t slice_op_bytes(const struct trace_op *op)
{
    uint64_t bytes;
    if (op->kind != TRACE_CALLOC && op->kind != TRACE_REALLOCARRAY)
        return op->size;
    if (__builtin_mul_overflow(op->arg, op->size, &bytes))
        return UINT64_MAX;
    return bytes;
}

/* The rule `trace check` applies: a realloc that failed keeps its
 * block, one that succeeded (or freed, at size 0) releases it. */
static int slice_releases_old(const struct trace_op *op)
{
    if (op->kind == TRACE_FREE)
        return 1;
    if (op->kind != TRACE_REALLOC && op->kind != TRACE_REALLOCARRAY)
        return 0;
    return op->slot != TRACE_NO_SLOT || slice_op_bytes(op) == 0;
}

/* Pushes cut[] forward until no op before it waits on one after it. */
static void slice_close_cut(const struct trace *t, uint64_t *cut,
                            uint64_t *checked)
{
    int changed = 1;
    memset(checked, 0, t->thread_count * sizeof(*checked));
    while (changed) {
        changed = 0;
        for (uint32_t th = 0; th < t->thread_count; th++)
            for (; checked[th] < cut[th]; checked[th]++) {
                const struct trace_op *op = &t->threads[th].ops[checked[th]];
                if (op->dep_thread == TRACE_NO_DEP ||
                    op->dep_op < cut[op->dep_thread])
                    continue;
                cut[op->dep_thread] = op->dep_op + 1;
                changed = 1;
            }
    }
}

static uint64_t slice_cut_by_time(const struct trace_thread *t,
                                  uint64_t when)
{
    uint64_t i = 0;
    while (i < t->op_count && t->ops[i].time_ns < when)
        i++;
    return i;
}

/* The thread whose next op is ready (its edge's op done) and earliest
 * in recorded time; SLICE_NONE if none is ready. */
static uint32_t slice_next_thread(const struct trace *t, const uint64_t *pos,
                                  const uint64_t *end)
{
    uint32_t best = SLICE_NONE;
    uint64_t best_time = 0;
    for (uint32_t th = 0; th < t->thread_count; th++) {
        if (pos[th] >= end[th])
            continue;
        const struct trace_op *op = &t->threads[th].ops[pos[th]];
        if (op->dep_thread != TRACE_NO_DEP &&
            op->dep_op >= pos[op->dep_thread])
            continue;
        if (best == SLICE_NONE || op->time_ns < best_time) {
            best = th;
            best_time = op->time_ns;
        }
    }
    return best;
}

/* Visits the ops in [start, end) per thread in recorded time order, each
 * after the op its edge names (ops before start count as done), so the
 * live bytes follow the recording.  -1 if the edges deadlock. */
static int slice_walk(struct slice_ctx *c, const uint64_t *start,
                      const uint64_t *end, uint64_t *pos, slice_visit visit)
{
    const struct trace *t = c->in;
    uint64_t left = 0;
    memcpy(pos, start, t->thread_count * sizeof(*pos));
    for (uint32_t th = 0; th < t->thread_count; th++)
        left += end[th] - start[th];
    for (; left > 0; left--) {
        uint32_t th = slice_next_thread(t, pos, end);
        if (th == SLICE_NONE)
            return -1;
        visit(c, th, pos[th], &t->threads[th].ops[pos[th]]);
        pos[th]++;
    }
    return 0;
}

/* Tracks which slots hold blocks, their bytes, and the peak. */
static void slice_track(struct slice_ctx *c, uint32_t th,
                        const struct trace_op *op)
{
    if (op->old_slot != TRACE_NO_SLOT && slice_releases_old(op)) {
        struct slice_block *b = &c->blocks[op->old_slot];
        c->live_bytes -= b->live ? b->bytes : 0;
        b->live = 0;
    }
    if (op->slot == TRACE_NO_SLOT)
        return;
    struct slice_block *b = &c->blocks[op->slot];
    b->live = 1;
    b->bytes = slice_op_bytes(op);
    b->make = *op;
    b->maker = th;
    c->live_bytes += b->bytes;
    if (c->live_bytes > c->peak_bytes)
        c->peak_bytes = c->live_bytes;
}

static void slice_visit_before(struct slice_ctx *c, uint32_t th,
                               uint64_t index, const struct trace_op *op)
{
    (void)index;
    slice_track(c, th, op);
}

/* In the window: notes the first touch of each carried block. */
static void slice_visit_window(struct slice_ctx *c, uint32_t th,
                               uint64_t index, const struct trace_op *op)
{
    if (op->old_slot != TRACE_NO_SLOT) {
        struct slice_block *b = &c->blocks[op->old_slot];
        if (b->carried && b->toucher == SLICE_NONE) {
            b->toucher = th;
            b->touch_op = index;
        }
    }
    slice_track(c, th, op);
}

/* The op that re-creates a carried block: its allocation, with a
 * realloc turned into a malloc of the block's present size. */
static struct trace_op slice_make_op(const struct slice_block *b)
{
    struct trace_op op = b->make;
    if (op.kind == TRACE_REALLOC || op.kind == TRACE_REALLOCARRAY) {
        op.kind = TRACE_MALLOC;
        op.size = b->bytes;
        op.arg = 0;
    }
    op.old_slot = TRACE_NO_SLOT;
    op.dep_thread = TRACE_NO_DEP;
    op.dep_op = 0;
    return op;
}

/* Marks the blocks live at the start cut, sums them, homes them. */
static uint64_t slice_carry(struct slice_ctx *c)
{
    uint64_t n = 0;
    c->live_bytes = 0;
    for (uint32_t s = 0; s < c->in->slot_count; s++) {
        struct slice_block *b = &c->blocks[s];
        b->carried = b->live;
        b->toucher = SLICE_NONE;
        c->live_bytes += b->live ? b->bytes : 0;
        n += b->live;
    }
    c->peak_bytes = c->live_bytes;
    return n;
}

/* Who re-creates each carried block: its maker if that thread is in
 * the slice, else its first toucher, else the first thread.  Each
 * thread's blocks follow its start op, in slot order. */
static void slice_count_homes(struct slice_ctx *c)
{
    for (uint32_t s = 0; s < c->in->slot_count; s++) {
        struct slice_block *b = &c->blocks[s];
        if (!b->carried)
            continue;
        b->home = b->maker;
        if (c->out_thread[b->home] == SLICE_NONE)
            b->home = b->toucher;
        if (b->home == SLICE_NONE)
            b->home = c->first_thread;
        b->home_op = (uint32_t)(1 + c->pre[b->home]++);
    }
}

static uint32_t slice_map_slot(struct slice_ctx *c, uint32_t slot)
{
    if (slot == TRACE_NO_SLOT)
        return slot;
    if (c->out_slot[slot] == SLICE_NONE)
        c->out_slot[slot] = c->next_slot++;
    return c->out_slot[slot];
}

/* Index in the output stream of input op i of thread th (i >= lo). */
static uint64_t slice_out_index(const struct slice_ctx *c, uint32_t th,
                                uint64_t i)
{
    if (c->lo[th] == 0)
        return i == 0 ? 0 : i + c->pre[th];
    return 1 + c->pre[th] + (i - c->lo[th]);
}

/* The first touch of a carried block re-created on another thread
 * waits for that op; 1 if op got that edge. */
static int slice_touch_edge(const struct slice_ctx *c, uint32_t th,
                            uint64_t index, struct trace_op *op,
                            uint32_t old_slot)
{
    if (old_slot == TRACE_NO_SLOT)
        return 0;
    const struct slice_block *b = &c->blocks[old_slot];
    if (!b->carried || b->toucher != th || b->touch_op != index ||
        b->home == th)
        return 0;
    op->dep_thread = c->out_thread[b->home];
    op->dep_op = b->home_op;
    return 1;
}

static struct trace_op slice_map_op(struct slice_ctx *c, uint32_t th,
                                    uint64_t index, uint64_t from_ns)
{
    const struct trace_op *in = &c->in->threads[th].ops[index];
    struct trace_op op = *in;
    op.time_ns = in->time_ns > from_ns ? in->time_ns - from_ns : 0;
    op.slot = slice_map_slot(c, in->slot);
    op.old_slot = slice_map_slot(c, in->old_slot);
    if (slice_touch_edge(c, th, index, &op, in->old_slot) ||
        in->dep_thread == TRACE_NO_DEP)
        return op;
    if (in->dep_op < c->lo[in->dep_thread]) {   /* into the past */
        op.dep_thread = TRACE_NO_DEP;
        op.dep_op = 0;
        return op;
    }
    op.dep_thread = c->out_thread[in->dep_thread];
    op.dep_op = (uint32_t)slice_out_index(c, in->dep_thread, in->dep_op);
    return op;
}

/* Fills one output stream: start, re-created blocks, window ops. */
static int slice_fill_thread(struct slice_ctx *c, uint32_t th,
                             struct trace_thread *out, uint64_t from_ns)
{
    const struct trace_thread *t = &c->in->threads[th];
    uint64_t lo = c->lo[th], n = 0;
    out->tid = t->tid;
    out->op_count = (lo > 0) + c->pre[th] + (c->hi[th] - lo);
    out->ops = calloc(out->op_count, sizeof(*out->ops));
    if (!out->ops)
        return -1;
    if (lo > 0) {
        struct trace_op start = { .kind = TRACE_THREAD_START,
            .slot = TRACE_NO_SLOT, .old_slot = TRACE_NO_SLOT,
            .dep_thread = TRACE_NO_DEP };
        out->ops[n++] = start;
    } else {
        out->ops[n++] = slice_map_op(c, th, lo++, from_ns);
    }
    for (uint32_t s = 0; s < c->in->slot_count; s++) {
        struct slice_block *b = &c->blocks[s];
        if (!b->carried || b->home != th)
            continue;
        out->ops[n] = slice_make_op(b);
        out->ops[n].time_ns = out->ops[0].time_ns;
        out->ops[n++].slot = slice_map_slot(c, s);
    }
    for (uint64_t i = lo; i < c->hi[th]; i++)
        out->ops[n++] = slice_map_op(c, th, i, from_ns);
    return 0;
}

static int slice_build(struct slice_ctx *c, struct trace *out,
                       uint64_t from_ns)
{
    const struct trace *in = c->in;
    out->threads = calloc(in->thread_count, sizeof(*out->threads));
    if (!out->threads)
        return -1;
    for (uint32_t th = 0; th < in->thread_count; th++) {
        uint32_t o = c->out_thread[th];
        if (o == SLICE_NONE)
            continue;
        out->thread_count = o + 1;
        if (slice_fill_thread(c, th, &out->threads[o], from_ns) < 0)
            return -1;
        struct trace_thread *ot = &out->threads[o];
        uint64_t last = ot->ops[ot->op_count - 1].time_ns;
        if (last > out->duration_ns)
            out->duration_ns = last;
    }
    out->slot_count = c->next_slot;
    out->peak_live_bytes = c->peak_bytes;
    out->time_unit_ns = in->time_unit_ns;
    return 0;
}

/* Output threads: those with ops in the window, in input order. */
static uint64_t slice_pick_threads(struct slice_ctx *c)
{
    uint32_t n = 0;
    uint64_t ops = 0;
    c->first_thread = SLICE_NONE;
    for (uint32_t th = 0; th < c->in->thread_count; th++) {
        c->out_thread[th] = SLICE_NONE;
        if (c->hi[th] <= c->lo[th])
            continue;
        if (c->first_thread == SLICE_NONE)
            c->first_thread = th;
        c->out_thread[th] = n++;
        ops += c->hi[th] - c->lo[th];
    }
    return ops;
}

static int slice_alloc_ctx(struct slice_ctx *c, const struct trace *in)
{
    size_t n = in->thread_count ? in->thread_count : 1;
    memset(c, 0, sizeof(*c));
    c->in = in;
    c->lo = calloc(n, sizeof(*c->lo));
    c->hi = calloc(n, sizeof(*c->hi));
    c->pre = calloc(n, sizeof(*c->pre));
    c->out_thread = calloc(n, sizeof(*c->out_thread));
    c->out_slot = malloc(((size_t)in->slot_count + 1) *
                         sizeof(*c->out_slot));
    c->blocks = calloc((size_t)in->slot_count + 1, sizeof(*c->blocks));
    if (!c->lo || !c->hi || !c->pre || !c->out_thread || !c->out_slot ||
        !c->blocks)
        return -1;
    memset(c->out_slot, 0xff, ((size_t)in->slot_count + 1) *
           sizeof(*c->out_slot));
    return 0;
}

static void slice_free_ctx(struct slice_ctx *c)
{
    free(c->lo);
    free(c->hi);
    free(c->pre);
    free(c->out_thread);
    free(c->out_slot);
    free(c->blocks);
}

/* Both cuts by time, then closed under edges (hi at least lo). */
static void slice_cuts(struct slice_ctx *c, uint64_t from_ns,
                       uint64_t to_ns, uint64_t *scratch)
{
    const struct trace *in = c->in;
    for (uint32_t th = 0; th < in->thread_count; th++) {
        c->lo[th] = slice_cut_by_time(&in->threads[th], from_ns);
        c->hi[th] = slice_cut_by_time(&in->threads[th], to_ns);
    }
    slice_close_cut(in, c->lo, scratch);
    for (uint32_t th = 0; th < in->thread_count; th++)
        if (c->hi[th] < c->lo[th])
            c->hi[th] = c->lo[th];
    slice_close_cut(in, c->hi, scratch);
}

/* The state at the start cut, then the first touches in the window. */
static int slice_walks(struct slice_ctx *c, const uint64_t *zero,
                       uint64_t *pos, struct trace_slice_report *r,
                       char *err, size_t err_len)
{
    if (r->window_ops == 0) {
        snprintf(err, err_len, "no ops in the time window");
        return -1;
    }
    if (slice_walk(c, zero, c->lo, pos, slice_visit_before) < 0)
        goto cycle;
    r->carried_blocks = slice_carry(c);
    r->carried_bytes = c->live_bytes;
    if (slice_walk(c, c->lo, c->hi, pos, slice_visit_window) < 0)
        goto cycle;
    return 0;
cycle:
    snprintf(err, err_len, "edges form a cycle: not a sound trace");
    return -1;
}

static int slice_run(struct slice_ctx *c, uint64_t from_ns,
                     uint64_t to_ns, struct trace_slice_report *r,
                     char *err, size_t err_len)
{
    size_t n = (size_t)c->in->thread_count + 1;
    uint64_t *pos = calloc(n, sizeof(*pos));
    uint64_t *zero = calloc(n, sizeof(*zero));
    int rc = -1;
    if (!pos || !zero) {
        snprintf(err, err_len, "out of memory");
    } else {
        slice_cuts(c, from_ns, to_ns, pos);
        r->window_ops = slice_pick_threads(c);
        rc = slice_walks(c, zero, pos, r, err, err_len);
    }
    free(pos);
    free(zero);
    return rc;
}

int trace_slice(const struct trace *in, uint64_t from_ns, uint64_t to_ns,
                struct trace *out, struct trace_slice_report *report,
                char *err, size_t err_len)
{
    struct slice_ctx c;
    struct trace_slice_report r = { 0, 0, 0 };
    memset(out, 0, sizeof(*out));
    int rc = slice_alloc_ctx(&c, in);
    if (rc < 0)
        snprintf(err, err_len, "out of memory");
    else
        rc = slice_run(&c, from_ns, to_ns, &r, err, err_len);
    if (rc == 0) {
        slice_count_homes(&c);
        out->command_line = strdup(in->command_line ? in->command_line
                                                    : "");
        out->pid = in->pid;
        out->start_unix_ns = in->start_unix_ns + from_ns;
        out->truncated = in->truncated && to_ns == TRACE_SLICE_TO_END;
        rc = out->command_line ? slice_build(&c, out, from_ns) : -1;
        if (rc < 0)
            snprintf(err, err_len, "out of memory");
    }
    slice_free_ctx(&c);
    if (rc < 0)
        trace_free(out);
    else if (report)
        *report = r;
    return rc;
}

static int slice_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t trace_slice_end_for_ops(const struct trace *in, uint64_t from_ns,
                                 uint64_t max_ops)
{
    uint64_t n = 0;
    for (uint32_t th = 0; th < in->thread_count; th++)
        n += in->threads[th].op_count;
    uint64_t *times = malloc((n ? n : 1) * sizeof(*times));
    if (!times)
        return TRACE_SLICE_TO_END;
    n = 0;
    for (uint32_t th = 0; th < in->thread_count; th++)
        for (uint64_t i = 0; i < in->threads[th].op_count; i++)
            if (in->threads[th].ops[i].time_ns >= from_ns)
                times[n++] = in->threads[th].ops[i].time_ns;
    uint64_t end = TRACE_SLICE_TO_END;
    if (n > max_ops) {
        qsort(times, n, sizeof(*times), slice_cmp_u64);
        end = times[max_ops];
    }
    free(times);
    return end;
}
