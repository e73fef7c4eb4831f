/*
 * finalize_merge.c - drives the finaliser: a k-way merge of the thread
 * streams by (stamp, phase), then the output layout.
 *
 * The heap holds one entry per thread whose stream is not exhausted,
 * keyed by its next step, so each thread is consumed in program order
 * while steps of different threads interleave by stamp.  Phase breaks
 * stamp ties: releases, then queries and thread marks, then acquires
 * (a free stamped at the same ns as a reuse must come first).
 * Layout: every thread opens with THREAD_START and, if it exited, ends
 * with one THREAD_EXIT (the recorder may see frees from TLS destructors
 * after its exit mark); dropped frees leave, and edges are renumbered.
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

/* Moves a thread's cursor one step and keys it; 0 when its stream is
 * exhausted. */
static int fin_advance(struct fin_thread *t)
{
    uint8_t kind = t->raw->events[t->next].kind;
    if (t->part == 0 && (kind == TRACE_REALLOC ||
                         kind == TRACE_REALLOCARRAY)) {
        t->part = 1;
    } else {
        t->part = 0;
        if (++t->next == t->raw->count)
            return 0;
    }
    fin_key(t);
    return 1;
}

static int fin_merge(struct fin_ctx *f)
{
    f->heap_len = 0;
    for (uint32_t i = 0; i < f->thread_count; i++)
        if (f->threads[i].raw->count > 0) {
            fin_key(&f->threads[i]);
            f->heap[f->heap_len++] = i;
        }
    for (size_t i = f->heap_len / 2; i-- > 0;)
        heap_sift_down(f, i);
    while (f->heap_len > 0) {
        uint32_t ti = f->heap[0];
        struct fin_thread *t = &f->threads[ti];
        if (fin_apply(f, ti, t->next, t->part) < 0)
            return -1;
        if (!fin_advance(t))
            f->heap[0] = f->heap[--f->heap_len];
        heap_sift_down(f, 0);
    }
    return 0;
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

static int fin_setup(struct fin_ctx *f, const struct trace_raw *raw)
{
    memset(f, 0, sizeof(*f));
    f->thread_count = (uint32_t)raw->thread_count;
    f->threads = calloc(raw->thread_count + 1, sizeof(*f->threads));
    f->heap = calloc(raw->thread_count + 1, sizeof(*f->heap));
    if (!f->threads || !f->heap || addr_map_init(&f->map) < 0)
        return -1;
    for (uint32_t i = 0; i < f->thread_count; i++) {
        struct fin_thread *t = &f->threads[i];
        t->raw = &raw->threads[i];
        t->ops_base = malloc((t->raw->count + 2) * sizeof(*t->ops));
        t->dropped = calloc(t->raw->count + 1, 1);
        if (!t->ops_base || !t->dropped)
            return -1;
        t->ops = t->ops_base + 1;
        for (size_t j = 0; j < t->raw->count; j++)
            fin_init_op(&t->ops[j], &t->raw->events[j], &raw->header);
    }
    return 0;
}

static void fin_teardown(struct fin_ctx *f)
{
    for (uint32_t i = 0; f->threads && i < f->thread_count; i++) {
        free(f->threads[i].ops_base);
        free(f->threads[i].dropped);
        free(f->threads[i].free_slots);
    }
    free(f->threads);
    free(f->heap);
    addr_map_destroy(&f->map);
}

/*
 * Moves thread ti's kept ops into out, in place: out takes the ops'
 * allocation, whose spare front op can hold a THREAD_START the
 * recording lacked.  Op j sits at ops_base[j + 1] and is written to
 * out[k] with k <= j + 1, so nothing is overwritten before it is read
 * (a second copy of every op cost a third of finalising's memory, and
 * on these VMs zeroing fresh pages was most of its time).
 * remap[j] = new index of op j.
 */
static int fin_layout_thread(struct fin_ctx *f, uint32_t ti,
                             struct trace_thread *out, uint32_t *remap)
{
    struct fin_thread *t = &f->threads[ti];
    size_t n = t->raw->count, k = 0, exit_at = SIZE_MAX;
    struct trace_op exit_op;
    out->tid = t->raw->tid;
    out->ops = t->ops_base;
    t->ops_base = NULL;          /* out owns it now */
    if (n == 0 || t->raw->events[0].kind != TRACE_THREAD_START) {
        memset(&out->ops[k], 0, sizeof(out->ops[k]));
        out->ops[k].time_ns = n ? t->ops[0].time_ns : 0;
        out->ops[k].kind = TRACE_THREAD_START;
        out->ops[k].slot = out->ops[k].old_slot = TRACE_NO_SLOT;
        out->ops[k].dep_thread = out->ops[k].dep_op = TRACE_NO_DEP;
        k++;
    }
    for (size_t j = 0; j < n; j++) {
        uint8_t kind = t->ops[j].kind;
        if (kind == TRACE_THREAD_EXIT) {
            exit_at = j;
            exit_op = t->ops[j];
        }
        if (t->dropped[j] || kind == TRACE_THREAD_EXIT ||
            (kind == TRACE_THREAD_START && k > 0))
            continue;
        remap[j] = (uint32_t)k;
        out->ops[k++] = t->ops[j];
    }
    if (exit_at != SIZE_MAX) {
        out->ops[k] = exit_op;
        if (k > 0 && out->ops[k - 1].time_ns > out->ops[k].time_ns)
            out->ops[k].time_ns = out->ops[k - 1].time_ns;
        remap[exit_at] = (uint32_t)k++;
    }
    out->op_count = k;
    return 0;
}

static int fin_layout(struct fin_ctx *f, struct trace *out)
{
    uint32_t **remap = calloc(f->thread_count + 1, sizeof(*remap));
    int rc = remap ? 0 : -1;
    out->threads = calloc(f->thread_count + 1, sizeof(*out->threads));
    out->thread_count = f->thread_count;
    rc |= out->threads ? 0 : -1;
    for (uint32_t i = 0; rc == 0 && i < f->thread_count; i++) {
        size_t bytes = (f->threads[i].raw->count + 1) * sizeof(**remap);
        remap[i] = malloc(bytes);
        rc = remap[i] ? fin_layout_thread(f, i, &out->threads[i], remap[i])
                      : -1;
    }
    for (uint32_t i = 0; rc == 0 && i < f->thread_count; i++)
        for (size_t j = 0; j < out->threads[i].op_count; j++) {
            struct trace_op *op = &out->threads[i].ops[j];
            if (op->dep_thread != TRACE_NO_DEP)
                op->dep_op = remap[op->dep_thread][op->dep_op];
        }
    for (uint32_t i = 0; remap && i < f->thread_count; i++)
        free(remap[i]);
    free(remap);
    return rc;
}

static void fin_summary(const struct fin_ctx *f, const struct trace_raw *raw,
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

int trace_finalize(const struct trace_raw *raw, struct trace *out,
                   struct trace_finalize_report *report, char *err,
                   size_t err_len)
{
    struct fin_ctx f;
    memset(out, 0, sizeof(*out));
    int rc = fin_setup(&f, raw);
    if (rc == 0)
        rc = fin_merge(&f);
    if (rc == 0)
        rc = fin_layout(&f, out);
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
    fin_teardown(&f);
    return rc;
}
