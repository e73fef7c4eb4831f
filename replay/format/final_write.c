/*
 * final_write.c - writing the finalised form of a trace: the file as a
 * whole (trace_write_final, for a struct trace in memory) and the
 * pieces finalize_stream.c drives as the merge completes ops
 * (final_write_init, final_write_ops, final_write_file).
 *
 * Order: file header, HEADER (as recorded), SUMMARY, each thread's OPS
 * chunks, CHILD chunks, END if the recording had one.  Chunks are zstd
 * compressed one by one where that pays, so damage stays local to one
 * chunk.  This runs after the program ended (`mallard record`, `mallard
 * trace finalize`), never inside it: the recorder stays free of zstd.
 * Output goes to a temporary file renamed into place, so the input and
 * the output may be the same path and a failure leaves no half trace.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "format_internal.h"

#define FINAL_COLUMN_BYTES (FINAL_CHUNK_OPS * TRACE_OP_COL_MAX)
/* Thread, first op, count, base time, all column lengths but one. */
#define FINAL_PREAMBLE_MAX ((3 + TRACE_COLUMNS) * TRACE_VARINT_MAX)
/* The payload buffer: a whole OPS chunk, or any small chunk. */
#define FINAL_CHUNK_RAW \
    (FINAL_PREAMBLE_MAX + TRACE_COLUMNS * FINAL_COLUMN_BYTES)
#define FINAL_SUMMARY_FIELDS 7

/* Appends len bytes to k; 0 or -1 (out of memory). */
static int final_keep(struct final_bytes *k, const uint8_t *p, size_t len)
{
    if (k->len + len > k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 1 << 16;
        while (cap < k->len + len)
            cap *= 2;
        uint8_t *grown = realloc(k->data, cap);
        if (!grown)
            return -1;
        k->data = grown;
        k->cap = cap;
    }
    memcpy(k->data + k->len, p, len);
    k->len += len;
    return 0;
}

static int final_put_chunk(struct final_out *o, unsigned type,
                           const uint8_t *payload, size_t len)
{
    size_t need = TRACE_CHUNK_HEADER_SIZE + ZSTD_compressBound(len);
    if (need > o->zcap) {
        uint8_t *grown = realloc(o->zbuf, need);
        if (!grown)
            return -1;
        o->zbuf = grown;
        o->zcap = need;
    }
    uint8_t *out = o->zbuf + TRACE_CHUNK_HEADER_SIZE;
    size_t stored = ZSTD_compressCCtx(o->zctx, out,
                                      need - TRACE_CHUNK_HEADER_SIZE,
                                      payload, len, o->level);
    unsigned flags = TRACE_CHUNK_ZSTD;
    if (ZSTD_isError(stored) || stored >= len) {   /* does not pay */
        memcpy(out, payload, len);
        stored = len;
        flags = 0;
    }
    trace_seal_chunk(o->zbuf, type, flags, stored, len);
    size_t total = TRACE_CHUNK_HEADER_SIZE + stored;
    if (o->keep)
        return final_keep(o->keep, o->zbuf, total);
    return fwrite(o->zbuf, 1, total, o->file) == total ? 0 : -1;
}

/* Runs of equal times pay when most ops share their time with the one
 * before (sqlite3 at 1 us: 44 KB -> 30 KB); where few do, a run before
 * every delta only adds a byte (images400 grew 6%), so such a chunk
 * keeps a delta per op (OPS_RANKED). */
static int final_times_repeat(const struct final_out *o,
                              const struct trace_op *ops, uint64_t n)
{
    uint64_t same = 0, prev = trace_div(&o->unit_div, ops[0].time_ns);
    for (uint64_t i = 1; i < n; i++) {
        uint64_t t = trace_div(&o->unit_div, ops[i].time_ns);
        same += t == prev;
        prev = t;
    }
    return 2 * same >= n;
}

/* One OPS chunk, column by column. */
int final_write_ops(struct final_out *o, uint32_t index,
                    const struct trace_op *ops, uint64_t first, uint64_t n)
{
    uint8_t *col[TRACE_COLUMNS];
    struct trace_op_state s = { .unit = o->unit,
                                .unit_div = o->unit_div,
                                .prev_time = ops[0].time_ns / o->unit,
                                .ranked = 1 };
    s.time_runs = final_times_repeat(o, ops, n);
    uint8_t *p = o->buf;
    for (int c = 0; c < TRACE_COLUMNS; c++)
        col[c] = o->cols[c];
    for (uint64_t i = 0; i < n; i++)
        trace_encode_op(col, &s, &ops[i]);
    trace_encode_ops_end(col, &s);
    p = trace_put_varint(p, index);
    p = trace_put_varint(p, first);
    p = trace_put_varint(p, n);
    p = trace_put_varint(p, ops[0].time_ns / o->unit);
    for (int c = 0; c < TRACE_COLUMNS - 1; c++)
        p = trace_put_varint(p, (uint64_t)(col[c] - o->cols[c]));
    for (int c = 0; c < TRACE_COLUMNS; c++) {
        size_t len = (size_t)(col[c] - o->cols[c]);
        memcpy(p, o->cols[c], len);
        p += len;
    }
    return final_put_chunk(o, s.time_runs ? TRACE_CHUNK_OPS_RUNS
                                          : TRACE_CHUNK_OPS_RANKED,
                           o->buf, (size_t)(p - o->buf));
}

static int final_put_thread(struct final_out *o, uint32_t index,
                            const struct trace_thread *t)
{
    for (uint64_t i = 0; i < t->op_count; i += FINAL_CHUNK_OPS) {
        uint64_t n = t->op_count - i;
        if (final_write_ops(o, index, &t->ops[i], i,
                            n < FINAL_CHUNK_OPS ? n : FINAL_CHUNK_OPS) < 0)
            return -1;
    }
    return 0;
}

/* The OPS chunks of a trace in memory (ctx). */
static int final_put_threads(struct final_out *o, void *ctx)
{
    const struct trace *t = ctx;
    for (uint32_t i = 0; i < t->thread_count; i++)
        if (final_put_thread(o, i, &t->threads[i]) < 0)
            return -1;
    return 0;
}

static int final_put_summary(struct final_out *o, const struct trace *t)
{
    size_t cap = (FINAL_SUMMARY_FIELDS + 2 * (size_t)t->thread_count) *
                 TRACE_VARINT_MAX;
    uint8_t *buf = malloc(cap), *p = buf;
    if (!buf)
        return -1;
    p = trace_put_varint(p, t->thread_count);
    p = trace_put_varint(p, t->slot_count);
    p = trace_put_varint(p, t->peak_live_bytes);
    p = trace_put_varint(p, t->dropped_frees);
    p = trace_put_varint(p, t->truncated != 0);
    p = trace_put_varint(p, t->duration_ns);
    p = trace_put_varint(p, o->unit);
    for (uint32_t i = 0; i < t->thread_count; i++) {
        p = trace_put_varint(p, t->threads[i].tid);
        p = trace_put_varint(p, t->threads[i].op_count);
    }
    int rc = final_put_chunk(o, TRACE_CHUNK_SUMMARY, buf,
                             (size_t)(p - buf));
    free(buf);
    return rc;
}

/* Header, children and end: small chunks, built in o->buf. */
static int final_put_small(struct final_out *o, const struct trace_raw *raw,
                           int end)
{
    size_t len;
    if (!end) {
        len = trace_encode_header(o->buf, FINAL_CHUNK_RAW, &raw->header);
        return len ? final_put_chunk(o, TRACE_CHUNK_HEADER, o->buf, len)
                   : -1;
    }
    for (size_t i = 0; i < raw->child_count; i++) {
        len = trace_encode_child(o->buf, FINAL_CHUNK_RAW,
                                 raw->children[i].pid,
                                 raw->children[i].path);
        if (!len || final_put_chunk(o, TRACE_CHUNK_CHILD, o->buf, len) < 0)
            return -1;
    }
    if (!raw->have_end)
        return 0;
    len = trace_encode_end(o->buf, FINAL_CHUNK_RAW, raw->end_flags,
                           raw->end_clock_ns, raw->events_lost);
    return final_put_chunk(o, TRACE_CHUNK_END, o->buf, len);
}

static int final_put_all(struct final_out *o, const struct trace_raw *raw,
                         const struct trace *t,
                         int (*put_threads)(struct final_out *, void *),
                         void *ctx)
{
    uint8_t head[TRACE_FILE_HEADER_SIZE];
    trace_put_file_header(head);
    if (fwrite(head, 1, sizeof(head), o->file) != sizeof(head) ||
        final_put_small(o, raw, 0) < 0 || final_put_summary(o, t) < 0 ||
        put_threads(o, ctx) < 0)
        return -1;
    return final_put_small(o, raw, 1);
}

int final_write_init(struct final_out *o, int level, uint64_t unit)
{
    int have_cols = 1;
    memset(o, 0, sizeof(*o));
    o->level = level;
    o->unit = unit ? unit : 1;
    o->unit_div = trace_div_by(o->unit);
    o->buf = malloc(FINAL_CHUNK_RAW);
    o->zctx = ZSTD_createCCtx();
    for (int c = 0; c < TRACE_COLUMNS; c++)
        have_cols &= (o->cols[c] = malloc(FINAL_COLUMN_BYTES)) != NULL;
    return o->buf && o->zctx && have_cols ? 0 : -1;
}

void final_write_release(struct final_out *o)
{
    free(o->buf);
    free(o->zbuf);
    ZSTD_freeCCtx(o->zctx);
    for (int c = 0; c < TRACE_COLUMNS; c++)
        free(o->cols[c]);
    memset(o, 0, sizeof(*o));
}

int final_write_file(const char *path, struct final_out *o,
                     const struct trace_raw *raw, const struct trace *t,
                     int (*put_threads)(struct final_out *o, void *ctx),
                     void *ctx, char *err, size_t err_len)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        trace_error(err, err_len, path, 0, "a shorter path");
        return -1;
    }
    o->keep = NULL;
    o->file = fopen(tmp, "wb");
    int rc = o->file ? final_put_all(o, raw, t, put_threads, ctx) : -1;
    if (o->file && fclose(o->file) != 0)
        rc = -1;
    o->file = NULL;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0) {
        trace_error(err, err_len, path, 0, "cannot write the finalised "
                    "trace: %s", strerror(errno));
        unlink(tmp);
    }
    return rc;
}

int trace_write_final(const char *path, const struct trace_raw *raw,
                      const struct trace *t, int level, uint64_t unit,
                      char *err, size_t err_len)
{
    struct final_out o;
    int rc = final_write_init(&o, level, unit);
    if (rc < 0)
        trace_error(err, err_len, path, 0, "out of memory writing");
    else
        rc = final_write_file(path, &o, raw, t, final_put_threads,
                              (void *)t, err, err_len);
    final_write_release(&o);
    return rc;
}
