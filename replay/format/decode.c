/*
 * decode.c - a whole trace file into per-thread event arrays.
 *
 * Owns the meaning of each chunk's payload (header, events, child, end;
 * the finalised form's summary and ops are final_read.c's)
 * and the stream-level checks: one header first, per-thread chunk
 * sequence numbers without gaps, every field inside its chunk, no trailing
 * bytes, known op kinds and flags.  Chunk types it does not know are
 * counted and skipped, as the format promises.  An EVENTS chunk's
 * preamble is read here, its events by decode_events.c once every
 * chunk is read (on two cores), and left encoded for the finaliser,
 * in the input's bytes, which raw keeps (trace_raw.kept).  Output
 * keeps pointers; finalize.c turns them into slots.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "format_internal.h"

static int decode_bytes(struct decode_ctx *d, char **out, const char *what)
{
    uint64_t len;
    if (decode_varint(d, &len, what) < 0)
        return -1;
    if (len > (uint64_t)(d->end - d->p)) {
        trace_error(d->err, d->err_len, d->name, decode_offset(d),
                    "expected %llu bytes of %s inside the chunk",
                    (unsigned long long)len, what);
        return -1;
    }
    *out = malloc(len + 1);
    if (!*out)
        return -1;
    memcpy(*out, d->p, len);
    (*out)[len] = '\0';
    d->p += len;
    return 0;
}

static int decode_header(struct decode_ctx *d)
{
    struct trace_header_info *h = &d->raw->header;
    char *cmd;
    if (d->raw->have_header) {
        trace_error(d->err, d->err_len, d->name, d->chunk->offset,
                    "expected one header chunk, found a second");
        return -1;
    }
    uint64_t *fields[] = { &h->pid, &h->ppid, &h->start_unix_ns,
                           &h->start_clock_ns, &h->clock_id, &h->clock_hz,
                           &h->generation };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (decode_varint(d, fields[i], "header field") < 0)
            return -1;
    if ((h->clock_id != TRACE_CLOCK_MONOTONIC_NS &&
         h->clock_id != TRACE_CLOCK_TSC) || h->clock_hz == 0) {
        trace_error(d->err, d->err_len, d->name, decode_offset(d),
                    "expected a known clock (id 1 or 2) with a frequency");
        return -1;
    }
    if (decode_bytes(d, &cmd, "command line") < 0)
        return -1;
    h->command_line = cmd;
    h->command_len = strlen(cmd);
    d->raw->have_header = 1;
    d->raw->last_clock_ns = h->start_clock_ns;
    return 0;
}

static int decode_end(struct decode_ctx *d)
{
    struct trace_raw *raw = d->raw;
    if (decode_varint(d, &raw->end_flags, "end flags") < 0 ||
        decode_varint(d, &raw->end_clock_ns, "end time") < 0 ||
        decode_varint(d, &raw->events_lost, "lost events") < 0)
        return -1;
    raw->have_end = 1;
    return 0;
}

/* The recorder's better measure of its clock, made at the end: it
 * replaces the header's quick one (a TSC's; clock 1 is exact). */
static int decode_clock(struct decode_ctx *d)
{
    uint64_t hz;
    if (decode_varint(d, &hz, "clock frequency") < 0)
        return -1;
    if (hz == 0) {
        trace_error(d->err, d->err_len, d->name, decode_offset(d),
                    "expected a clock frequency above 0");
        return -1;
    }
    if (d->raw->header.clock_id == TRACE_CLOCK_TSC)
        d->raw->header.clock_hz = hz;
    return 0;
}

static int decode_child(struct decode_ctx *d)
{
    struct trace_raw *raw = d->raw;
    struct trace_child child;
    if (decode_varint(d, &child.pid, "child pid") < 0 ||
        decode_bytes(d, &child.path, "child trace path") < 0)
        return -1;
    struct trace_child *grown = realloc(raw->children,
        (raw->child_count + 1) * sizeof(*grown));
    if (!grown) {
        free(child.path);
        return -1;
    }
    raw->children = grown;
    raw->children[raw->child_count++] = child;
    return 0;
}

/* The thread a chunk belongs to, created on its first chunk. */
static struct trace_raw_thread *decode_thread(struct trace_raw *raw,
                                              uint64_t serial, uint64_t tid)
{
    for (size_t i = raw->thread_count; i-- > 0;)
        if (raw->threads[i].serial == serial)
            return &raw->threads[i];
    if (raw->thread_count == raw->thread_cap) {
        size_t cap = raw->thread_cap ? 2 * raw->thread_cap : 8;
        void *grown = realloc(raw->threads, cap * sizeof(*raw->threads));
        if (!grown)
            return NULL;
        raw->threads = grown;
        raw->thread_cap = cap;
    }
    struct trace_raw_thread *t = &raw->threads[raw->thread_count++];
    memset(t, 0, sizeof(*t));
    t->serial = serial;
    t->tid = tid;
    return t;
}

static int decode_events(struct decode_ctx *d)
{
    uint64_t serial, tid, seq;
    struct trace_codec_state s = { 0, 0 };
    size_t at = decode_offset(d);
    if (d->raw->final) {
        trace_error(d->err, d->err_len, d->name, d->chunk->offset,
                    "expected only ops chunks in a finalised trace");
        return -1;
    }
    if (decode_varint(d, &serial, "thread serial") < 0 ||
        decode_varint(d, &tid, "thread id") < 0 ||
        decode_varint(d, &seq, "chunk sequence") < 0 ||
        decode_varint(d, &s.prev_time, "base time") < 0)
        return -1;
    struct trace_raw_thread *t = decode_thread(d->raw, serial, tid);
    if (!t)
        return -1;
    if (seq != t->next_seq) {
        trace_error(d->err, d->err_len, d->name, at, "expected chunk %llu "
                    "of thread %llu, found chunk %llu (chunk lost)",
                    (unsigned long long)t->next_seq,
                    (unsigned long long)serial, (unsigned long long)seq);
        return -1;
    }
    t->next_seq++;
    if (decode_jobs_add(d->jobs, d, t, s.prev_time) < 0)
        return -1;
    d->p = d->end;             /* the events: decode_events.c */
    return 0;
}

static int decode_chunk(struct decode_ctx *d)
{
    if (!d->raw->have_header && d->chunk->type != TRACE_CHUNK_HEADER) {
        trace_error(d->err, d->err_len, d->name, d->chunk->offset,
                    "expected the header chunk first, found type %u",
                    d->chunk->type);
        return -1;
    }
    switch (d->chunk->type) {
    case TRACE_CHUNK_HEADER: return decode_header(d);
    case TRACE_CHUNK_EVENTS: return decode_events(d);
    case TRACE_CHUNK_CHILD: return decode_child(d);
    case TRACE_CHUNK_END: return decode_end(d);
    case TRACE_CHUNK_CLOCK: return decode_clock(d);
    case TRACE_CHUNK_SUMMARY: return final_read_summary(d);
    case TRACE_CHUNK_OPS:
    case TRACE_CHUNK_OPS_RANKED:
    case TRACE_CHUNK_OPS_RUNS: return final_read_ops(d);
    default:
        d->raw->unknown_chunks++;  /* a newer writer's: skip it */
        d->p = d->end;
        return 0;
    }
}

/* Reads every chunk, leaving the events as jobs; 0 at the file's end,
 * -1 with the error in the reader's err. */
static int decode_scan(struct trace_reader *r, struct decode_ctx *d)
{
    struct trace_chunk chunk;
    struct trace_raw *raw = d->raw;
    int more;
    d->chunk = &chunk;
    while ((more = trace_reader_next(r, &chunk)) == 1) {
        raw->chunk_count++;
        raw->compressed_chunks += (chunk.flags & TRACE_CHUNK_ZSTD) != 0;
        d->p = chunk.payload;
        d->end = chunk.payload + chunk.len;
        if (decode_chunk(d) < 0)
            return -1;
        if (d->p != d->end) {
            trace_error(d->err, d->err_len, d->name, decode_offset(d),
                        "expected the chunk to end here");
            return -1;
        }
    }
    if (more == 0 && !raw->have_header) {
        trace_error(r->err, r->err_len, r->name, r->pos,
                    "expected a header chunk, file ends");
        return -1;
    }
    return more;
}

/* The events of the chunks read are decoded even when reading stopped
 * at damage: an event error earlier in the file is the one to report. */
static int decode_all(struct trace_reader *r, struct trace_raw *raw,
                      int check)
{
    struct decode_jobs jobs = { NULL, 0, 0, 0 };
    struct decode_ctx d = { raw, &jobs, r->name, NULL, NULL, NULL,
                            r->err, r->err_len };
    int rc = decode_scan(r, &d);
    if (rc == 0 && !check)
        rc = decode_jobs_defer(&jobs, raw, r->name, r->err, r->err_len);
    else if (decode_jobs_run(&jobs, raw, r->name, r->err, r->err_len) < 0)
        rc = -1;
    decode_jobs_free(&jobs);
    return rc;
}

int decode_read(const char *name, const uint8_t *data, size_t size,
                struct trace_raw *raw, int check, char *err,
                size_t err_len)
{
    struct trace_reader r;
    memset(raw, 0, sizeof(*raw));
    if (trace_reader_init(&r, name, data, size, err, err_len) < 0)
        return -1;
    int rc = decode_all(&r, raw, check);
    trace_reader_close(&r);
    if (rc < 0) {
        trace_raw_free(raw);
        return -1;
    }
    return 0;
}

int decode_borrows(const struct trace_raw *raw)
{
    for (size_t i = 0; i < raw->thread_count; i++)
        for (size_t c = 0; c < raw->threads[i].chunk_count; c++)
            if (!raw->threads[i].chunks[c].owned)
                return 1;
    return 0;
}

/* The events are decoded when finalised, from the bytes: raw keeps a
 * copy of them, as the caller's may go before raw does. */
int trace_raw_read(const char *name, const uint8_t *data, size_t size,
                   struct trace_raw *raw, char *err, size_t err_len)
{
    uint8_t *copy = malloc(size + 1);
    if (!copy) {
        memset(raw, 0, sizeof(*raw));
        trace_error(err, err_len, name, 0, "out of memory for %zu bytes",
                    size);
        return -1;
    }
    memcpy(copy, data, size);
    if (decode_read(name, copy, size, raw, 1, err, err_len) < 0) {
        free(copy);
        return -1;
    }
    if (decode_borrows(raw)) {
        raw->kept = copy;
        raw->kept_size = size;
    } else {
        free(copy);
    }
    return 0;
}

void trace_raw_free(struct trace_raw *raw)
{
    free((char *)raw->header.command_line);
    for (size_t i = 0; i < raw->thread_count; i++) {
        for (size_t c = 0; c < raw->threads[i].chunk_count; c++)
            free(raw->threads[i].chunks[c].owned);
        free(raw->threads[i].chunks);
    }
    free(raw->threads);
    for (size_t i = 0; i < raw->child_count; i++)
        free(raw->children[i].path);
    free(raw->children);
    final_read_release(raw);
    decode_pending_free(raw);
    if (raw->kept_mapped)
        munmap(raw->kept, raw->kept_size);
    else
        free(raw->kept);
    memset(raw, 0, sizeof(*raw));
}
