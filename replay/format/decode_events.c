/*
 * decode_events.c - the events of a recorder's trace: checked on two
 * cores when the file is read, decoded one at a time when finalised.
 *
 * decode.c reads the file once, chunk by chunk, checking framing,
 * checksums and each EVENTS chunk's preamble (thread, sequence, base
 * time); the events themselves, nine tenths of the bytes, wait here as
 * jobs.  Chunks decode on their own (the codec's state resets at each),
 * so the jobs are split in two runs of about equal bytes, checked at
 * once by the caller and one helper thread.  Checking stores nothing
 * but each chunk's count: the events stay encoded, and the finaliser's
 * merge decodes each thread's in order through a decode_cursor, with
 * the same decoder (decode_next).  The result, and every error message,
 * is the one a single pass gives: of several damaged chunks the first
 * in the file is reported, in the words of decode_event, which runs
 * only to say what is wrong with an event decode_next refused.
 * Read unchecked (trace_raw_load_unchecked), the jobs wait in
 * decode_pending: the merge's decoding is then the only pass over the
 * events, and the check runs only to name the damage it met.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format_internal.h"

/* Below this many payload bytes a helper thread costs more than it
 * saves (and the fuzzer's small inputs stay single-threaded). */
#define DECODE_PARALLEL_MIN ((size_t)1 << 20)
#define DECODE_FIRST_CHUNKS 16     /* initial per-thread chunk list */

/* A varint; one-byte values (most time deltas and sizes) inline. */
static inline int decode_u(const uint8_t **p, const uint8_t *end,
                           uint64_t *v)
{
    if (*p < end && **p < 0x80) {
        *v = *(*p)++;
        return 0;
    }
    return trace_get_varint(p, end, v);
}

/* The fields of an event whose tag is checked, for one kind's fields
 * (a constant where inlined, so each kind's tests fold away). */
static inline __attribute__((always_inline))
const uint8_t *decode_body(const uint8_t *p, const uint8_t *end,
                           struct trace_codec_state *s,
                           struct trace_event *e, unsigned fields,
                           unsigned tag)
{
    uint64_t v;
    if (decode_u(&p, end, &v) < 0)
        return NULL;
    *e = (struct trace_event){ .kind = (uint8_t)(tag & TRACE_EV_KIND_MASK),
                               .time = s->prev_time += v };
    if ((fields & TRACE_F_OLD) && !(tag & TRACE_EV_NULL_OLD)) {
        if (decode_u(&p, end, &v) < 0)
            return NULL;
        e->old_ptr = s->prev_ptr += trace_unzigzag(v);
    }
    if ((fields & TRACE_F_ARG) && decode_u(&p, end, &e->arg) < 0)
        return NULL;
    if ((fields & TRACE_F_SIZE) && decode_u(&p, end, &e->size) < 0)
        return NULL;
    if ((fields & TRACE_F_PTR) && !(tag & TRACE_EV_NULL_RESULT)) {
        if (decode_u(&p, end, &v) < 0)
            return NULL;
        e->ptr = s->prev_ptr += trace_unzigzag(v);
    }
    e->t_after = e->time;
    if (fields & TRACE_F_AFTER) {
        if (decode_u(&p, end, &v) < 0)
            return NULL;
        e->t_after += v;
    }
    return p;
}

/* The flags a tag may carry for a kind with these fields. */
static inline unsigned decode_null_ok(unsigned fields)
{
    return ((fields & TRACE_F_OLD) ? TRACE_EV_NULL_OLD : 0) |
           ((fields & TRACE_F_PTR) ? TRACE_EV_NULL_RESULT : 0);
}

/* decode_body for kind K, with its tag checked. */
#define DECODE_KIND(K)                                                    \
    case K:                                                               \
        if (tag & ~TRACE_EV_KIND_MASK &                                   \
            ~decode_null_ok(trace_event_fields(K)))                       \
            return NULL;                                                  \
        return decode_body(p, end, s, e, trace_event_fields(K), tag)

/* One event at p (p < end) into e: the byte after it, or NULL if the
 * bytes there are not a valid event.  The fast path of both checking
 * and decoding (a case per common kind: the generic path tested every
 * field of every event); decode_event below says what is wrong. */
static inline const uint8_t *decode_next(const uint8_t *p,
                                         const uint8_t *end,
                                         struct trace_codec_state *s,
                                         struct trace_event *e)
{
    unsigned tag = *p++;
    unsigned kind = tag & TRACE_EV_KIND_MASK;
    switch (kind) {
    DECODE_KIND(TRACE_MALLOC);
    DECODE_KIND(TRACE_FREE);
    DECODE_KIND(TRACE_CALLOC);
    DECODE_KIND(TRACE_REALLOC);
    default: {
        unsigned fields = trace_event_fields(kind);
        if (fields == ~0u ||
            (tag & ~TRACE_EV_KIND_MASK & ~decode_null_ok(fields)))
            return NULL;
        return decode_body(p, end, s, e, fields, tag);
    }
    }
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
    return 0;
}

/* The slow twin of decode_next, field by field, for its messages: says
 * in err why the event at d->p is not one (-1), or decodes it (0). */
static int decode_event(struct decode_ctx *d, struct trace_codec_state *s)
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
    struct trace_event e = { .kind = (uint8_t)kind };
    return decode_fields(d, s, fields, tag, &e);
}

int decode_jobs_add(struct decode_jobs *jobs, const struct decode_ctx *d,
                    const struct trace_raw_thread *t, uint64_t base_time)
{
    if (jobs->count == jobs->cap) {
        size_t cap = jobs->cap ? 2 * jobs->cap : 64;
        void *grown = realloc(jobs->v, cap * sizeof(*jobs->v));
        if (!grown)
            return -1;
        jobs->v = grown;
        jobs->cap = cap;
    }
    struct decode_job *j = &jobs->v[jobs->count];
    memset(j, 0, sizeof(*j));
    j->thread = (size_t)(t - d->raw->threads);
    j->chunk = *d->chunk;
    j->skip = (size_t)(d->p - d->chunk->payload);
    j->base_time = base_time;
    if (d->chunk->flags & TRACE_CHUNK_ZSTD) {  /* the reader reuses it */
        if ((j->owned = malloc(d->chunk->len + 1)) == NULL)
            return -1;
        memcpy(j->owned, d->chunk->payload, d->chunk->len);
        j->chunk.payload = j->owned;
    }
    jobs->count++;
    jobs->bytes += d->chunk->len;
    return 0;
}

/* Checks job j's events and counts them; 0, or -1 with the error in
 * err. */
static int decode_job(struct decode_job *j, const char *name, char *err,
                      size_t err_len, uint64_t *last_time)
{
    const uint8_t *p = j->chunk.payload + j->skip;
    const uint8_t *end = j->chunk.payload + j->chunk.len;
    struct trace_codec_state s = { j->base_time, 0 };
    struct trace_event e;
    uint64_t n = 0;
    while (p < end) {
        struct trace_codec_state before = s;
        const uint8_t *next = decode_next(p, end, &s, &e);
        if (!next) {              /* say why, from the event's start */
            struct decode_ctx d = { NULL, NULL, name, &j->chunk, p, end,
                                    err, err_len };
            if (decode_event(&d, &before) == 0)   /* cannot happen */
                trace_error(err, err_len, name, decode_offset(&d),
                            "expected an event");
            return -1;
        }
        p = next;
        n++;
    }
    j->count = n;
    if (s.prev_time > *last_time)
        *last_time = s.prev_time;
    return 0;
}

/* One checker's share: the jobs from `from` up to `to`, in order. */
struct decode_share {
    struct decode_jobs *jobs;
    const char *name;
    size_t from, to;
    size_t failed_job;        /* first failing job, or SIZE_MAX */
    uint64_t last_time;
    char err[512];
};

static void *decode_share_run(void *arg)
{
    struct decode_share *sh = arg;
    sh->failed_job = SIZE_MAX;
    sh->err[0] = '\0';
    for (size_t i = sh->from; i < sh->to; i++)
        if (decode_job(&sh->jobs->v[i], sh->name, sh->err, sizeof(sh->err),
                       &sh->last_time) < 0) {
            sh->failed_job = i;
            break;
        }
    return NULL;
}

/* The first job of the second half of the bytes. */
static size_t decode_middle(const struct decode_jobs *jobs)
{
    size_t bytes = 0, i = 0;
    while (i < jobs->count && 2 * bytes < jobs->bytes)
        bytes += jobs->v[i++].chunk.len;
    return i;
}

/* The shares' result: the first failing job's error, else the latest
 * event stamp into raw. */
static int decode_shares_end(const struct decode_share sh[2],
                             struct trace_raw *raw, char *err,
                             size_t err_len)
{
    int first = sh[1].failed_job < sh[0].failed_job;
    if (sh[first].failed_job != SIZE_MAX) {
        snprintf(err, err_len, "%s", sh[first].err);
        return -1;
    }
    for (int i = 0; i < 2; i++)
        if (sh[i].last_time > raw->last_clock_ns)
            raw->last_clock_ns = sh[i].last_time;
    return 0;
}

/* Appends job j's chunk to its thread's list, the payload copy with it
 * (the job keeps no pointer to free). */
static int decode_take(struct decode_job *j, struct trace_raw *raw)
{
    struct trace_raw_thread *t = &raw->threads[j->thread];
    if (t->chunk_count == t->chunk_cap) {
        size_t cap = t->chunk_cap ? 2 * t->chunk_cap : DECODE_FIRST_CHUNKS;
        void *grown = realloc(t->chunks, cap * sizeof(*t->chunks));
        if (!grown)
            return -1;
        t->chunks = grown;
        t->chunk_cap = cap;
    }
    t->chunks[t->chunk_count++] = (struct trace_raw_chunk){
        j->chunk.payload + j->skip, j->chunk.payload + j->chunk.len,
        j->base_time, j->owned };
    t->count += j->count;
    j->owned = NULL;
    return 0;
}

/* Checks every job's events and counts them, on two cores when it
 * pays; 0, or -1 with the first (in file order) failure in err. */
static int decode_jobs_check(struct decode_jobs *jobs, struct trace_raw *raw,
                             const char *name, char *err, size_t err_len)
{
    struct decode_share sh[2] = {
        { jobs, name, 0, jobs->count, SIZE_MAX, 0, "" },
        { jobs, name, jobs->count, jobs->count, SIZE_MAX, 0, "" },
    };
    pthread_t helper;
    int two = jobs->bytes >= DECODE_PARALLEL_MIN &&
              sysconf(_SC_NPROCESSORS_ONLN) > 1;
    if (two) {
        sh[0].to = sh[1].from = decode_middle(jobs);
        two = pthread_create(&helper, NULL, decode_share_run, &sh[1]) == 0;
        if (!two)
            sh[0].to = jobs->count;
    }
    decode_share_run(&sh[0]);
    if (two)
        pthread_join(helper, NULL);
    return decode_shares_end(sh, raw, err, err_len);
}

/* Hands every job's chunk to its thread, with the events counted so
 * far (none, unchecked). */
static int decode_jobs_take(struct decode_jobs *jobs, struct trace_raw *raw,
                            const char *name, char *err, size_t err_len)
{
    for (size_t i = 0; i < jobs->count; i++)
        if (decode_take(&jobs->v[i], raw) < 0) {
            trace_error(err, err_len, name, jobs->v[i].chunk.offset,
                        "out of memory reading events");
            return -1;
        }
    return 0;
}

int decode_jobs_run(struct decode_jobs *jobs, struct trace_raw *raw,
                    const char *name, char *err, size_t err_len)
{
    if (decode_jobs_check(jobs, raw, name, err, err_len) < 0)
        return -1;
    return decode_jobs_take(jobs, raw, name, err, err_len);
}

int decode_jobs_defer(struct decode_jobs *jobs, struct trace_raw *raw,
                      const char *name, char *err, size_t err_len)
{
    struct decode_pending *p = calloc(1, sizeof(*p));
    if (!p || !(p->name = strdup(name))) {
        free(p);
        trace_error(err, err_len, name, 0, "out of memory reading events");
        return -1;
    }
    if (decode_jobs_take(jobs, raw, name, err, err_len) < 0) {
        free(p->name);
        free(p);
        return -1;
    }
    p->jobs = *jobs;              /* raw's now; the payloads went too */
    memset(jobs, 0, sizeof(*jobs));
    raw->pending = p;
    return 0;
}

int decode_pending_check(struct trace_raw *raw, char *err, size_t err_len)
{
    struct decode_pending *p = raw->pending;
    if (!p)
        return 0;
    int rc = decode_jobs_check(&p->jobs, raw, p->name, err, err_len);
    for (size_t i = 0; rc == 0 && i < p->jobs.count; i++)
        raw->threads[p->jobs.v[i].thread].count += p->jobs.v[i].count;
    decode_pending_free(raw);
    return rc;
}

int decode_pending_error(const struct trace_raw *raw, char *err,
                         size_t err_len)
{
    struct trace_raw counts = { .last_clock_ns = 0 };
    struct decode_pending *p = raw->pending;
    return p && decode_jobs_check(&p->jobs, &counts, p->name, err,
                                  err_len) < 0;
}

void decode_pending_free(struct trace_raw *raw)
{
    if (!raw->pending)
        return;
    decode_jobs_free(&raw->pending->jobs);
    free(raw->pending->name);
    free(raw->pending);
    raw->pending = NULL;
}

void decode_jobs_free(struct decode_jobs *jobs)
{
    for (size_t i = 0; i < jobs->count; i++)
        free(jobs->v[i].owned);
    free(jobs->v);
    memset(jobs, 0, sizeof(*jobs));
}

void decode_cursor_init(struct decode_cursor *c,
                        const struct trace_raw_thread *t)
{
    memset(c, 0, sizeof(*c));
    c->next = t->chunks;
    c->last = t->chunks + t->chunk_count;
}

int decode_cursor_next(struct decode_cursor *c, struct trace_event *e)
{
    while (c->p == c->end) {
        if (c->s.prev_time > c->last_time)     /* a chunk's last stamp */
            c->last_time = c->s.prev_time;
        if (c->next == c->last)
            return 0;
        c->p = c->next->p;
        c->end = c->next->end;
        c->s = (struct trace_codec_state){ c->next->base_time, 0 };
        c->next++;
    }
    c->p = decode_next(c->p, c->end, &c->s, e);
    return c->p ? 1 : -1;
}
