/*
 * finalize.c - the finaliser: a recording's per-thread event streams
 * into the replay-ready form, by a k-way merge of the thread streams by
 * (stamp, phase), each op laid out as it completes; and trace_finalize,
 * which collects the ops in memory (finalize_stream.c writes them to a
 * file instead).  What one step does to blocks, slots and edges is
 * finalize_step.c's.
 *
 * The threads' streams are merged by stamp: a free is stamped before the
 * real free and an allocation after the real call returns, so when an
 * address is reused, its free always sorts before its reallocation.  A
 * realloc is two merge steps: it releases its old block at its first
 * stamp and acquires the new one at its second.
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

#include "format_internal.h"

enum finalize_phase {
    FINALIZE_RELEASE, FINALIZE_MARK, FINALIZE_ACQUIRE
};

/* Sets the key of thread ti's cursor (next, part): stamp, phase and
 * thread in one number, so the heap compares keys, not events (the
 * merge's hottest loop), and equal stamps and phases go by thread. */
static void finalize_key(struct finalize_thread *t, uint32_t ti)
{
    const struct trace_event *e = &t->ev;
    uint64_t time = e->time;
    unsigned phase = FINALIZE_ACQUIRE;
    if (t->part == 1) {
        time = e->t_after;
    } else {
        switch (e->kind) {
        case TRACE_FREE: case TRACE_REALLOC: case TRACE_REALLOCARRAY:
            phase = FINALIZE_RELEASE;
            break;
        case TRACE_USABLE_SIZE: case TRACE_THREAD_START:
        case TRACE_THREAD_EXIT:
            phase = FINALIZE_MARK;
            break;
        }
    }
    t->key = (finalize_key_t)time << 64 | (finalize_key_t)phase << 32 |
             ti;
}

static void heap_sift_down(struct finalize_ctx *f, size_t i)
{
    finalize_key_t *heap = f->heap;
    for (;;) {
        size_t least = i, l = 2 * i + 1, r = l + 1;
        if (l < f->heap_len && heap[l] < heap[least])
            least = l;
        if (r < f->heap_len && heap[r] < heap[least])
            least = r;
        if (least == i)
            return;
        finalize_key_t tmp = heap[i];
        heap[i] = heap[least];
        heap[least] = tmp;
        i = least;
    }
}

/* A field of an event the decoder has just stored, read on its own.
 * Copying fields in pairs, the compiler loads 16 bytes that two 8-byte
 * stores wrote, which the CPU cannot forward from its store buffer: it
 * waits for them to reach the cache (perf, larson 4 threads: 80% of
 * finalize_begin_op's time).  A volatile read is one load of its own
 * size. */
static inline uint64_t finalize_field(const uint64_t *field)
{
    return *(const volatile uint64_t *)field;
}

/* The op of event e, its time still a stamp (see finalize_sink). */
static void finalize_init_op(struct trace_op *op,
                             const struct trace_event *e)
{
    *op = (struct trace_op){ .time_ns = finalize_field(&e->time),
                             .size = finalize_field(&e->size),
                             .arg = finalize_field(&e->arg),
                             .kind = e->kind,
                             .slot = TRACE_NO_SLOT,
                             .old_slot = TRACE_NO_SLOT,
                             .dep_thread = TRACE_NO_DEP,
                             .dep_op = TRACE_NO_DEP };
}

/* Outputs the op built at `op`, thread ti's next place in the sink. */
static int finalize_put(struct finalize_ctx *f, uint32_t ti,
                        const struct trace_op *op)
{
    struct finalize_thread *t = &f->threads[ti];
    t->emitted++;
    t->last_stamp = op->time_ns;
    t->place = f->sink.put(f->sink.ctx, ti);
    return t->place ? 0 : -1;
}

/* Where thread ti's next op is built; NULL if out of memory. */
static struct trace_op *finalize_place(struct finalize_ctx *f, uint32_t ti)
{
    struct finalize_thread *t = &f->threads[ti];
    if (!t->place)
        t->place = f->sink.next(f->sink.ctx, ti);
    return t->place;
}

/* Outputs a copy of op, built outside the sink (the marks). */
static int finalize_emit(struct finalize_ctx *f, uint32_t ti,
                         const struct trace_op *op)
{
    struct trace_op *to = finalize_place(f, ti);
    if (!to)
        return -1;
    *to = *op;
    return finalize_put(f, ti, to);
}

/* Thread ti's current op is complete: output it, hold it back (the
 * exit mark) or drop it. */
static int finalize_finish_op(struct finalize_ctx *f, uint32_t ti)
{
    struct finalize_thread *t = &f->threads[ti];
    uint8_t kind = t->cur->kind;
    if (kind == TRACE_THREAD_EXIT) {
        t->have_exit = 1;          /* the last mark wins */
        t->exit_op = *t->cur;
        return 0;
    }
    if (t->cur_dropped || (kind == TRACE_THREAD_START && t->emitted > 0))
        return 0;
    return finalize_put(f, ti, t->cur);
}

/* Starts building the op of thread ti's cursor event, in the sink's
 * next place for the thread, and keys it; 0, or -1 (out of memory). */
static int finalize_begin_op(struct finalize_ctx *f, uint32_t ti)
{
    struct finalize_thread *t = &f->threads[ti];
    t->cur = finalize_place(f, ti);
    if (!t->cur)
        return -1;
    finalize_init_op(t->cur, &t->ev);
    t->cur_dropped = 0;
    finalize_key(t, ti);
    return 0;
}

/* Moves thread ti's cursor one step: 1, or 0 when its stream is
 * exhausted, or -1 if the sink or the decoder failed. */
static int finalize_advance(struct finalize_ctx *f, uint32_t ti)
{
    struct finalize_thread *t = &f->threads[ti];
    uint8_t kind = t->cur->kind;
    if (t->part == 0 && (kind == TRACE_REALLOC ||
                         kind == TRACE_REALLOCARRAY)) {
        t->part = 1;
        finalize_key(t, ti);
        return 1;
    }
    t->part = 0;
    if (finalize_finish_op(f, ti) < 0)
        return -1;
    int more = decode_cursor_next(&t->in, &t->ev);
    if (more > 0 && finalize_begin_op(f, ti) < 0)
        return -1;
    return more;
}

/* The least key in the heap but its top's: no other thread has an
 * earlier step. */
static finalize_key_t heap_next_least(const struct finalize_ctx *f)
{
    finalize_key_t least = ~(finalize_key_t)0;
    for (size_t i = 1; i <= 2 && i < f->heap_len; i++)
        if (f->heap[i] < least)
            least = f->heap[i];
    return least;
}

/* Steps thread ti, the heap's top, while its steps come before `limit`
 * (every other thread's next): 1, 0 when its stream is exhausted, -1
 * on failure.  A thread often makes many calls between two of the
 * others' (they take turns on the CPUs), so the heap is left alone
 * until its run ends, not sifted at every step. */
static int finalize_run_thread(struct finalize_ctx *f, uint32_t ti,
                               finalize_key_t limit)
{
    const struct finalize_thread *t = &f->threads[ti];
    int more;
    do {
        if (finalize_step(f, ti, t->part) < 0)
            return -1;
        more = finalize_advance(f, ti);
    } while (more > 0 && t->key < limit);
    return more;
}

static int finalize_merge(struct finalize_ctx *f)
{
    f->heap_len = 0;
    for (uint32_t i = 0; i < f->thread_count; i++)
        if (f->threads[i].live) {       /* ev is its first event */
            if (finalize_begin_op(f, i) < 0)
                return -1;
            f->heap[f->heap_len++] = f->threads[i].key;
        }
    for (size_t i = f->heap_len / 2; i-- > 0;)
        heap_sift_down(f, i);
    while (f->heap_len > 0) {
        uint32_t ti = (uint32_t)f->heap[0];
        int more = finalize_run_thread(f, ti, heap_next_least(f));
        if (more < 0)
            return -1;
        f->heap[0] = more ? f->threads[ti].key : f->heap[--f->heap_len];
        heap_sift_down(f, 0);
    }
    return 0;
}

/* Reads thread ti's first event into its cursor; a thread whose
 * recording does not open with its start mark gets one, at its first
 * event's time. */
static int finalize_open_thread(struct finalize_ctx *f, uint32_t ti)
{
    struct finalize_thread *t = &f->threads[ti];
    decode_cursor_init(&t->in, t->raw);
    int have = decode_cursor_next(&t->in, &t->ev);
    t->live = have > 0;
    if (have < 0 || (have && t->ev.kind == TRACE_THREAD_START))
        return have < 0 ? -1 : 0;
    struct trace_event mark = { .kind = TRACE_THREAD_START,
                                .time = have ? t->ev.time : 0 };
    struct trace_op start;
    finalize_init_op(&start, &mark);
    return finalize_emit(f, ti, &start);
}

/* The held-back exit marks, never earlier than the op before them. */
static int finalize_close_threads(struct finalize_ctx *f)
{
    for (uint32_t i = 0; i < f->thread_count; i++) {
        struct finalize_thread *t = &f->threads[i];
        if (!t->have_exit)
            continue;
        if (t->exit_op.time_ns < t->last_stamp)
            t->exit_op.time_ns = t->last_stamp;
        if (finalize_emit(f, i, &t->exit_op) < 0)
            return -1;
    }
    return 0;
}

int finalize_run(struct finalize_ctx *f, const struct trace_raw *raw,
                 struct finalize_sink sink)
{
    memset(f, 0, sizeof(*f));
    f->sink = sink;
    f->thread_count = (uint32_t)raw->thread_count;
    f->threads = calloc(raw->thread_count + 1, sizeof(*f->threads));
    f->heap = calloc(raw->thread_count + 1, sizeof(*f->heap));
    if (!f->threads || !f->heap || addr_map_init(&f->map) < 0)
        return -1;
    for (uint32_t i = 0; i < f->thread_count; i++) {
        f->threads[i].raw = &raw->threads[i];
        if (finalize_open_thread(f, i) < 0)
            return -1;
    }
    if (finalize_merge(f) < 0)
        return -1;
    for (uint32_t i = 0; i < f->thread_count; i++)
        if (f->threads[i].in.last_time > f->last_clock)
            f->last_clock = f->threads[i].in.last_time;
    return finalize_close_threads(f);
}

void finalize_done(struct finalize_ctx *f)
{
    for (uint32_t i = 0; f->threads && i < f->thread_count; i++)
        free(f->threads[i].free_slots);
    free(f->threads);
    free(f->heap);
    addr_map_destroy(&f->map);
    memset(f, 0, sizeof(*f));
}

void finalize_summary(const struct finalize_ctx *f,
                      const struct trace_raw *raw, struct trace *out)
{
    const struct trace_header_info *h = &raw->header;
    uint64_t end = raw->have_end ? raw->end_clock_ns : raw->last_clock_ns;
    if (!raw->have_end && f->last_clock > end)  /* events unchecked */
        end = f->last_clock;
    out->pid = h->pid;
    out->start_unix_ns = h->start_unix_ns;
    out->duration_ns = trace_clock_ns(h, h->start_clock_ns, end);
    out->slot_count = f->slot_count;
    out->peak_live_bytes = f->peak_live_bytes;
    out->dropped_frees = f->report.dropped_frees;
    out->time_unit_ns = 1;
    out->truncated = !raw->have_end ||
                     (raw->end_flags & TRACE_END_TRUNCATED) ||
                     raw->events_lost > 0;
}

/* The in-memory sink: each thread's ops array holds all it can get. */
struct finalize_memory {
    struct trace *out;
    const struct trace_header_info *header;
};

static struct trace_op *finalize_next_in_memory(void *ctx, uint32_t thread)
{
    struct finalize_memory *m = ctx;
    struct trace_thread *t = &m->out->threads[thread];
    return &t->ops[t->op_count];
}

static struct trace_op *finalize_put_in_memory(void *ctx, uint32_t thread)
{
    struct finalize_memory *m = ctx;
    struct trace_thread *t = &m->out->threads[thread];
    struct trace_op *kept = &t->ops[t->op_count++];
    kept->time_ns = finalize_stamp_ns(m->header, kept->time_ns);
    return kept + 1;
}

/* A thread outputs at most its events and a start mark. */
static int finalize_alloc_output(struct trace *out,
                                 const struct trace_raw *raw)
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
    struct finalize_ctx f;
    struct finalize_memory sink = { out, &raw->header };
    memset(&f, 0, sizeof(f));
    memset(out, 0, sizeof(*out));
    if (raw->pending) {        /* its counts would size the output */
        trace_error(err, err_len, "trace", 0, "events not checked: "
                    "trace_raw_to_trace checks them");
        return -1;
    }
    int rc = finalize_alloc_output(out, raw);
    if (rc == 0)
        rc = finalize_run(&f, raw, (struct finalize_sink){
                              finalize_next_in_memory,
                              finalize_put_in_memory, &sink });
    if (rc == 0) {
        out->command_line = strdup(raw->header.command_line ?
                                   raw->header.command_line : "");
        rc = out->command_line ? 0 : -1;
    }
    if (rc == 0) {
        finalize_summary(&f, raw, out);
        if (report)
            *report = f.report;
    } else {
        trace_error(err, err_len, "trace", 0, "out of memory finalising");
        trace_free(out);
    }
    finalize_done(&f);
    return rc;
}
