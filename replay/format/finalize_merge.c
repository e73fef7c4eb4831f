/*
 * finalize_merge.c - drives the finaliser: a k-way merge of the thread
 * streams by (stamp, phase), each op laid out as it completes.
 *
 * The heap holds one entry per thread whose stream is not exhausted,
 * keyed by its next step, so each thread is consumed in program order
 * while steps of different threads interleave by stamp.  Phase breaks
 * stamp ties: releases, then queries and thread marks, then acquires
 * (a free stamped at the same ns as a reuse must come first).
 * Layout, as ops complete: every thread opens with THREAD_START and, if
 * it exited, ends with one THREAD_EXIT (the recorder may see frees from
 * TLS destructors after its exit mark); dropped frees and repeated
 * starts leave.  An op's output index is known when it is built (the
 * ops its thread output before it), so edges need no renumbering.
 */
#include <stdlib.h>
#include <string.h>

#include "finalize_merge.h"

enum fin_phase { FIN_RELEASE, FIN_MARK, FIN_ACQUIRE };

/* Sets the cached key of thread t's cursor (next, part). */
static void fin_key(struct fin_thread *t)
{
    const struct trace_event *e = &t->raw->events[t->next];
    if (t->part == 1) {
        t->key_time = e->t_after;
        t->key_phase = FIN_ACQUIRE;
        return;
    }
    t->key_time = e->time;
    switch (e->kind) {
    case TRACE_FREE: case TRACE_REALLOC: case TRACE_REALLOCARRAY:
        t->key_phase = FIN_RELEASE;
        break;
    case TRACE_USABLE_SIZE: case TRACE_THREAD_START: case TRACE_THREAD_EXIT:
        t->key_phase = FIN_MARK;
        break;
    default:
        t->key_phase = FIN_ACQUIRE;
    }
}

static int fin_less(const struct fin_ctx *f, uint32_t a, uint32_t b)
{
    const struct fin_thread *ta = &f->threads[a], *tb = &f->threads[b];
    if (ta->key_time != tb->key_time)
        return ta->key_time < tb->key_time;
    if (ta->key_phase != tb->key_phase)
        return ta->key_phase < tb->key_phase;
    return a < b;
}

static void heap_sift_down(struct fin_ctx *f, size_t i)
{
    for (;;) {
        size_t least = i, l = 2 * i + 1, r = l + 1;
        if (l < f->heap_len && fin_less(f, f->heap[l], f->heap[least]))
            least = l;
        if (r < f->heap_len && fin_less(f, f->heap[r], f->heap[least]))
            least = r;
        if (least == i)
            return;
        uint32_t tmp = f->heap[i];
        f->heap[i] = f->heap[least];
        f->heap[least] = tmp;
        i = least;
    }
}

static void fin_init_op(struct trace_op *op, const struct trace_event *e,
                        const struct trace_header_info *h)
{
    memset(op, 0, sizeof(*op));
    op->time_ns = trace_clock_ns(h, h->start_clock_ns, e->time);
    op->size = e->size;
    op->arg = e->arg;
    op->kind = e->kind;
    op->slot = op->old_slot = TRACE_NO_SLOT;
    op->dep_thread = op->dep_op = TRACE_NO_DEP;
}

static int fin_emit(struct fin_ctx *f, uint32_t ti, const struct trace_op *op)
{
    struct fin_thread *t = &f->threads[ti];
    t->emitted++;
    t->last_time_ns = op->time_ns;
    return f->sink.put(f->sink.ctx, ti, op);
}

/* Thread ti's current op is complete: output it, hold it back (the
 * exit mark) or drop it. */
static int fin_finish_op(struct fin_ctx *f, uint32_t ti)
{
    struct fin_thread *t = &f->threads[ti];
    uint8_t kind = t->cur.kind;
    if (kind == TRACE_THREAD_EXIT) {
        t->have_exit = 1;          /* the last mark wins */
        t->exit_op = t->cur;
        return 0;
    }
    if (t->cur_dropped || (kind == TRACE_THREAD_START && t->emitted > 0))
        return 0;
    return fin_emit(f, ti, &t->cur);
}

/* Starts building the op of thread t's cursor event and keys it. */
static void fin_begin_op(struct fin_ctx *f, struct fin_thread *t)
{
    fin_init_op(&t->cur, &t->raw->events[t->next], f->header);
    t->cur_dropped = 0;
    fin_key(t);
}

/* Moves thread ti's cursor one step: 1, or 0 when its stream is
 * exhausted, or -1 if the sink failed. */
static int fin_advance(struct fin_ctx *f, uint32_t ti)
{
    struct fin_thread *t = &f->threads[ti];
    uint8_t kind = t->cur.kind;
    if (t->part == 0 && (kind == TRACE_REALLOC ||
                         kind == TRACE_REALLOCARRAY)) {
        t->part = 1;
        fin_key(t);
        return 1;
    }
    t->part = 0;
    if (fin_finish_op(f, ti) < 0)
        return -1;
    if (++t->next == t->raw->count)
        return 0;
    fin_begin_op(f, t);
    return 1;
}

static int fin_merge(struct fin_ctx *f)
{
    f->heap_len = 0;
    for (uint32_t i = 0; i < f->thread_count; i++)
        if (f->threads[i].raw->count > 0) {
            fin_begin_op(f, &f->threads[i]);
            f->heap[f->heap_len++] = i;
        }
    for (size_t i = f->heap_len / 2; i-- > 0;)
        heap_sift_down(f, i);
    while (f->heap_len > 0) {
        uint32_t ti = f->heap[0];
        if (fin_apply(f, ti, f->threads[ti].part) < 0)
            return -1;
        int more = fin_advance(f, ti);
        if (more < 0)
            return -1;
        if (!more)
            f->heap[0] = f->heap[--f->heap_len];
        heap_sift_down(f, 0);
    }
    return 0;
}

/* A thread whose recording does not open with its start mark gets one,
 * at its first event's time. */
static int fin_open_thread(struct fin_ctx *f, uint32_t ti)
{
    const struct trace_raw_thread *raw = f->threads[ti].raw;
    struct trace_op start;
    if (raw->count > 0 && raw->events[0].kind == TRACE_THREAD_START)
        return 0;
    memset(&start, 0, sizeof(start));
    if (raw->count > 0)
        start.time_ns = trace_clock_ns(f->header, f->header->start_clock_ns,
                                       raw->events[0].time);
    start.kind = TRACE_THREAD_START;
    start.slot = start.old_slot = TRACE_NO_SLOT;
    start.dep_thread = start.dep_op = TRACE_NO_DEP;
    return fin_emit(f, ti, &start);
}

/* The held-back exit marks, never earlier than the op before them. */
static int fin_close_threads(struct fin_ctx *f)
{
    for (uint32_t i = 0; i < f->thread_count; i++) {
        struct fin_thread *t = &f->threads[i];
        if (!t->have_exit)
            continue;
        if (t->exit_op.time_ns < t->last_time_ns)
            t->exit_op.time_ns = t->last_time_ns;
        if (fin_emit(f, i, &t->exit_op) < 0)
            return -1;
    }
    return 0;
}

int fin_run(struct fin_ctx *f, const struct trace_raw *raw,
            struct fin_sink sink)
{
    memset(f, 0, sizeof(*f));
    f->header = &raw->header;
    f->sink = sink;
    f->thread_count = (uint32_t)raw->thread_count;
    f->threads = calloc(raw->thread_count + 1, sizeof(*f->threads));
    f->heap = calloc(raw->thread_count + 1, sizeof(*f->heap));
    if (!f->threads || !f->heap || addr_map_init(&f->map) < 0)
        return -1;
    for (uint32_t i = 0; i < f->thread_count; i++) {
        f->threads[i].raw = &raw->threads[i];
        if (fin_open_thread(f, i) < 0)
            return -1;
    }
    if (fin_merge(f) < 0)
        return -1;
    return fin_close_threads(f);
}

void fin_done(struct fin_ctx *f)
{
    for (uint32_t i = 0; f->threads && i < f->thread_count; i++)
        free(f->threads[i].free_slots);
    free(f->threads);
    free(f->heap);
    addr_map_destroy(&f->map);
    memset(f, 0, sizeof(*f));
}

void fin_summary(const struct fin_ctx *f, const struct trace_raw *raw,
                        struct trace *out)
{
    const struct trace_header_info *h = &raw->header;
    uint64_t end = raw->have_end ? raw->end_clock_ns : raw->last_clock_ns;
    out->pid = h->pid;
    out->start_unix_ns = h->start_unix_ns;
    out->duration_ns = trace_clock_ns(h, h->start_clock_ns, end);
    out->slot_count = f->slot_count;
    out->peak_live_bytes = f->peak_live_bytes;
    out->dropped_frees = f->report.dropped_frees;
    out->truncated = !raw->have_end ||
                     (raw->end_flags & TRACE_END_TRUNCATED) ||
                     raw->events_lost > 0;
}

/* The in-memory sink: each thread's ops array holds all it can get. */
static int fin_put_in_memory(void *ctx, uint32_t thread,
                             const struct trace_op *op)
{
    struct trace_thread *t = &((struct trace *)ctx)->threads[thread];
    t->ops[t->op_count++] = *op;
    return 0;
}

/* A thread outputs at most its events and a start mark. */
static int fin_alloc_output(struct trace *out, const struct trace_raw *raw)
{
    out->thread_count = (uint32_t)raw->thread_count;
    out->threads = calloc(raw->thread_count + 1, sizeof(*out->threads));
    if (!out->threads)
        return -1;
    for (size_t i = 0; i < raw->thread_count; i++) {
        out->threads[i].tid = raw->threads[i].tid;
        out->threads[i].ops = malloc((raw->threads[i].count + 1) *
                                     sizeof(struct trace_op));
        if (!out->threads[i].ops)
            return -1;
    }
    return 0;
}

int trace_finalize(const struct trace_raw *raw, struct trace *out,
                   struct trace_finalize_report *report, char *err,
                   size_t err_len)
{
    struct fin_ctx f;
    memset(&f, 0, sizeof(f));
    memset(out, 0, sizeof(*out));
    int rc = fin_alloc_output(out, raw);
    if (rc == 0)
        rc = fin_run(&f, raw, (struct fin_sink){ fin_put_in_memory, out });
    if (rc == 0) {
        out->command_line = strdup(raw->header.command_line ?
                                   raw->header.command_line : "");
        rc = out->command_line ? 0 : -1;
    }
    if (rc == 0) {
        fin_summary(&f, raw, out);
        if (report)
            *report = f.report;
    } else {
        trace_error(err, err_len, "trace", 0, "out of memory finalising");
        trace_free(out);
    }
    fin_done(&f);
    return rc;
}
