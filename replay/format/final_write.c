/*
 * final_write.c - writing the finalised form of a trace: the file as a
 * whole (trace_write_final, for a struct trace in memory) and the
 * pieces finalize_stream.c drives as the merge completes ops
 * (final_write_init, final_chunk_add, final_write_file).
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
/* The least a chunk's column buffer holds: some hundreds of ops (a
 * thread of a few ops needs no more). */
#define FINAL_CHUNK_FIRST_BYTES 4096
/* A thread's kept chunks start with room for a few compressed chunks
 * (64 Ki larson ops: some 350 KB), which it touches only as it fills:
 * grown from 64 KiB, the copies faulted in a megabyte a thread. */
#define FINAL_KEEP_FIRST_BYTES ((size_t)2 << 20)

/* Room in k for len more bytes; 0 or -1 (out of memory). */
static int final_keep_room(struct final_bytes *k, size_t len)
{
    if (k->len + len <= k->cap)
        return 0;
    size_t cap = k->cap ? 2 * k->cap : FINAL_KEEP_FIRST_BYTES;
    while (cap < k->len + len)
        cap *= 2;
    uint8_t *grown = realloc(k->data, cap);
    if (!grown)
        return -1;
    k->data = grown;
    k->cap = cap;
    return 0;
}

/* Room for a chunk of a len-byte payload, compressed or not: in the
 * kept bytes (compressed in place, not copied there), or o->zbuf. */
static uint8_t *final_chunk_room(struct final_out *o, size_t len)
{
    size_t need = TRACE_CHUNK_HEADER_SIZE + ZSTD_compressBound(len);
    if (o->keep)
        return final_keep_room(o->keep, need) < 0
                   ? NULL : o->keep->data + o->keep->len;
    if (need > o->zcap) {
        uint8_t *grown = realloc(o->zbuf, need);
        if (!grown)
            return NULL;
        o->zbuf = grown;
        o->zcap = need;
    }
    return o->zbuf;
}

static int final_put_chunk(struct final_out *o, unsigned type,
                           const uint8_t *payload, size_t len)
{
    uint8_t *chunk = final_chunk_room(o, len);
    if (!chunk)
        return -1;
    uint8_t *out = chunk + TRACE_CHUNK_HEADER_SIZE;
    size_t stored = ZSTD_compressCCtx(o->zctx, out, ZSTD_compressBound(len),
                                      payload, len, o->level);
    unsigned flags = TRACE_CHUNK_ZSTD;
    if (ZSTD_isError(stored) || stored >= len) {   /* does not pay */
        memcpy(out, payload, len);
        stored = len;
        flags = 0;
    }
    trace_seal_chunk(chunk, type, flags, stored, len);
    size_t total = TRACE_CHUNK_HEADER_SIZE + stored;
    if (o->keep) {
        o->keep->len += total;
        return 0;
    }
    return fwrite(chunk, 1, total, o->file) == total ? 0 : -1;
}

/* Room in every column of c for `ops` more ops. */
static int final_chunk_reserve(struct final_chunk *c, uint64_t ops)
{
    size_t need = (size_t)ops * TRACE_OP_COL_MAX, most = 0;
    for (int k = 0; c->cap && k < FINAL_CHUNK_COLS; k++)
        if ((size_t)(c->at[k] - c->col[k]) > most)
            most = (size_t)(c->at[k] - c->col[k]);
    if (c->cap - most >= need)
        return 0;
    size_t cap = c->cap ? 2 * c->cap : FINAL_CHUNK_FIRST_BYTES;
    if (cap < most + need)
        cap = most + need;
    for (int k = 0; k < FINAL_CHUNK_COLS; k++) {
        size_t used = c->cap ? (size_t)(c->at[k] - c->col[k]) : 0;
        uint8_t *grown = realloc(c->col[k], cap);
        if (!grown)
            return -1;
        c->col[k] = grown;
        c->at[k] = grown + used;
    }
    c->cap = cap;
    return 0;
}

/* Encodes op into c's columns, its time in both codings. */
static inline void final_chunk_put(const struct final_out *o,
                                   struct final_chunk *c,
                                   const struct trace_op *op)
{
    uint64_t t = trace_div(&o->unit_div, op->time_ns);
    if (c->n == 0) {           /* each chunk decodes on its own */
        c->s = (struct trace_op_state){ .ranked = 1 };
        c->base_time = c->s.prev_time = t;
    }
    uint64_t dt = trace_zigzag(t - c->s.prev_time);
    c->same += c->n > 0 && dt == 0;
    c->s.prev_time = t;
    c->at[TRACE_COL_TIME] = trace_put_varint(c->at[TRACE_COL_TIME], dt);
    c->at[FINAL_COL_RUNS] = trace_encode_time_runs(c->at[FINAL_COL_RUNS],
                                                   &c->s.time_run, dt);
    trace_encode_op_fields(c->at, &c->s, op);
    c->n++;
}

/* Writes c's ops as one chunk and starts the next.  Runs of equal
 * times pay when most ops share their time with the one before
 * (sqlite3 at 1 us: 44 KB -> 30 KB); where few do, a run before every
 * delta only adds a byte (images400 grew 6%), so such a chunk keeps a
 * delta per op (OPS_RANKED). */
static int final_chunk_write(struct final_out *o, struct final_chunk *c,
                             uint32_t index)
{
    int runs = 2 * c->same >= c->n;
    uint8_t *col[TRACE_COLUMNS], *end[TRACE_COLUMNS], *p = o->buf;
    if (runs)                  /* the run that ends the chunk */
        c->at[FINAL_COL_RUNS] = trace_put_varint(c->at[FINAL_COL_RUNS],
                                                 c->s.time_run);
    for (int k = 0; k < TRACE_COLUMNS; k++) {
        int from = k == TRACE_COL_TIME && runs ? FINAL_COL_RUNS : k;
        col[k] = c->col[from];
        end[k] = c->at[from];
    }
    p = trace_put_varint(p, index);
    p = trace_put_varint(p, c->first);
    p = trace_put_varint(p, c->n);
    p = trace_put_varint(p, c->base_time);
    for (int k = 0; k < TRACE_COLUMNS - 1; k++)
        p = trace_put_varint(p, (uint64_t)(end[k] - col[k]));
    for (int k = 0; k < TRACE_COLUMNS; k++) {
        memcpy(p, col[k], (size_t)(end[k] - col[k]));
        p += end[k] - col[k];
    }
    c->first += c->n;
    c->n = c->same = 0;
    for (int k = 0; k < FINAL_CHUNK_COLS; k++)
        c->at[k] = c->col[k];
    return final_put_chunk(o, runs ? TRACE_CHUNK_OPS_RUNS
                                   : TRACE_CHUNK_OPS_RANKED,
                           o->buf, (size_t)(p - o->buf));
}

int final_chunk_open(struct final_chunk *c, uint64_t ops)
{
    /* a chunk's worth at most: the columns restart when one is full */
    return final_chunk_reserve(c, ops < FINAL_CHUNK_OPS ? ops
                                                        : FINAL_CHUNK_OPS);
}

int final_chunk_add(struct final_out *o, struct final_chunk *c,
                    uint32_t index, const struct trace_op *ops, uint64_t n)
{
    if (n == 0)
        return 0;
    if (final_chunk_open(c, n) < 0)
        return -1;
    for (uint64_t i = 0; i < n; i++) {
        final_chunk_put(o, c, &ops[i]);
        if (c->n == FINAL_CHUNK_OPS && final_chunk_write(o, c, index) < 0)
            return -1;
    }
    return 0;
}

int final_chunk_end(struct final_out *o, struct final_chunk *c,
                    uint32_t index)
{
    return c->n ? final_chunk_write(o, c, index) : 0;
}

void final_chunk_release(struct final_chunk *c)
{
    for (int k = 0; k < FINAL_CHUNK_COLS; k++)
        free(c->col[k]);
    memset(c, 0, sizeof(*c));
}

static int final_put_thread(struct final_out *o, uint32_t index,
                            const struct trace_thread *t)
{
    struct final_chunk c = { 0 };
    int rc = final_chunk_add(o, &c, index, t->ops, t->op_count);
    if (rc == 0)
        rc = final_chunk_end(o, &c, index);
    final_chunk_release(&c);
    return rc;
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
    memset(o, 0, sizeof(*o));
    o->level = level;
    o->unit = unit ? unit : 1;
    o->unit_div = trace_div_by(o->unit);
    o->buf = malloc(FINAL_CHUNK_RAW);
    o->zctx = ZSTD_createCCtx();
    return o->buf && o->zctx ? 0 : -1;
}

void final_write_release(struct final_out *o)
{
    free(o->buf);
    free(o->zbuf);
    ZSTD_freeCCtx(o->zctx);
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
