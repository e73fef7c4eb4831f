/*
 * decode.c - a whole trace file into per-thread event arrays.
 *
 * Owns the meaning of each chunk's payload (header, events, child, end;
 * the finalised form's summary and ops are final_read.c's)
 * and the stream-level checks: one header first, per-thread chunk
 * sequence numbers without gaps, every field inside its chunk, no trailing
 * bytes, known op kinds and flags.  Chunk types it does not know are
 * counted and skipped, as the format promises.  Output keeps pointers;
 * finalize.c turns them into slots.
 */
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "event_codec.h"

#define DECODE_FIRST_EVENTS 1024   /* initial per-thread array length */

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

static struct trace_event *decode_slot(struct trace_raw_thread *t)
{
    if (t->count == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : DECODE_FIRST_EVENTS;
        void *grown = realloc(t->events, cap * sizeof(*t->events));
        if (!grown)
            return NULL;
        t->events = grown;
        t->cap = cap;
    }
    return &t->events[t->count++];
}

static int decode_ptr(struct decode_ctx *d, struct trace_codec_state *s,
                      uint64_t *ptr)
{
    uint64_t delta;
    if (decode_varint(d, &delta, "pointer delta") < 0)
        return -1;
    *ptr = s->prev_ptr + trace_unzigzag(delta);
    s->prev_ptr = *ptr;
    return 0;
}

/* Fields after the tag byte, in the order event_codec.h writes them. */
static int decode_fields(struct decode_ctx *d, struct trace_codec_state *s,
                         unsigned fields, unsigned tag,
                         struct trace_event *e)
{
    uint64_t dt;
    if (decode_varint(d, &dt, "time delta") < 0)
        return -1;
    e->time = s->prev_time += dt;
    if ((fields & TRACE_F_OLD) && !(tag & TRACE_EV_NULL_OLD) &&
        decode_ptr(d, s, &e->old_ptr) < 0)
        return -1;
    if ((fields & TRACE_F_ARG) && decode_varint(d, &e->arg, "arg") < 0)
        return -1;
    if ((fields & TRACE_F_SIZE) && decode_varint(d, &e->size, "size") < 0)
        return -1;
    if ((fields & TRACE_F_PTR) && !(tag & TRACE_EV_NULL_RESULT) &&
        decode_ptr(d, s, &e->ptr) < 0)
        return -1;
    if ((fields & TRACE_F_AFTER) && decode_varint(d, &dt, "end time") < 0)
        return -1;
    e->t_after = (fields & TRACE_F_AFTER) ? e->time + dt : e->time;
    return 0;
}

static int decode_event(struct decode_ctx *d, struct trace_codec_state *s,
                        struct trace_raw_thread *t)
{
    size_t at = decode_offset(d);
    unsigned tag = *d->p++;
    unsigned kind = tag & TRACE_EV_KIND_MASK;
    unsigned fields = trace_event_fields(kind);
    unsigned null_ok = ((fields & TRACE_F_OLD) ? TRACE_EV_NULL_OLD : 0) |
                       ((fields & TRACE_F_PTR) ? TRACE_EV_NULL_RESULT : 0);
    if (fields == ~0u || (tag & ~TRACE_EV_KIND_MASK & ~null_ok)) {
        trace_error(d->err, d->err_len, d->name, at, "expected an event "
                    "tag (op kind 1-13, known flags), found 0x%02x", tag);
        return -1;
    }
    struct trace_event *e = decode_slot(t);
    if (!e)
        return -1;
    memset(e, 0, sizeof(*e));
    e->kind = (uint8_t)kind;
    return decode_fields(d, s, fields, tag, e);
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
    while (d->p < d->end)
        if (decode_event(d, &s, t) < 0)
            return -1;
    if (s.prev_time > d->raw->last_clock_ns)
        d->raw->last_clock_ns = s.prev_time;
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

static int decode_all(struct trace_reader *r, struct trace_raw *raw)
{
    struct trace_chunk chunk;
    struct decode_ctx d = { raw, r->name, &chunk, NULL, NULL,
                            r->err, r->err_len };
    int more;
    while ((more = trace_reader_next(r, &chunk)) == 1) {
        raw->chunk_count++;
        raw->compressed_chunks += (chunk.flags & TRACE_CHUNK_ZSTD) != 0;
        d.p = chunk.payload;
        d.end = chunk.payload + chunk.len;
        if (decode_chunk(&d) < 0)
            return -1;
        if (d.p != d.end) {
            trace_error(d.err, d.err_len, d.name, decode_offset(&d),
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

int trace_raw_read(const char *name, const uint8_t *data, size_t size,
                   struct trace_raw *raw, char *err, size_t err_len)
{
    struct trace_reader r;
    memset(raw, 0, sizeof(*raw));
    if (trace_reader_init(&r, name, data, size, err, err_len) < 0)
        return -1;
    int rc = decode_all(&r, raw);
    trace_reader_close(&r);
    if (rc < 0) {
        trace_raw_free(raw);
        return -1;
    }
    return 0;
}

void trace_raw_free(struct trace_raw *raw)
{
    free((char *)raw->header.command_line);
    for (size_t i = 0; i < raw->thread_count; i++)
        free(raw->threads[i].events);
    free(raw->threads);
    for (size_t i = 0; i < raw->child_count; i++)
        free(raw->children[i].path);
    free(raw->children);
    final_release(raw);
    memset(raw, 0, sizeof(*raw));
}
