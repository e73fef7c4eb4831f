/*
 * decode_events.c - the events of a recorder's trace, on two cores.
 *
 * decode.c reads the file once, chunk by chunk, checking framing,
 * checksums and each EVENTS chunk's preamble (thread, sequence, base
 * time); the events themselves, nine tenths of the bytes, wait here as
 * jobs.  Each thread's chunks decode in file order into that thread's
 * array, so threads are independent: split between the caller and one
 * helper thread, balanced by bytes, they decode at once (a 808,000-
 * event larson trace: about half the read time on 2 cores).  The
 * result, and every error message, is the one a single pass gives: of
 * several damaged chunks the first in the file is reported.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format_internal.h"

#define DECODE_FIRST_EVENTS 1024   /* initial per-thread array length */
/* Below this many payload bytes a helper thread costs more than it
 * saves (and the fuzzer's small inputs stay single-threaded). */
#define DECODE_PARALLEL_MIN ((size_t)1 << 20)

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

/* Decodes job j; 0, or -1 with the error in err. */
static int decode_job(const struct decode_job *j, struct trace_raw *raw,
                      const char *name, char *err, size_t err_len,
                      uint64_t *last_time)
{
    struct decode_ctx d = { raw, NULL, name, &j->chunk,
                            j->chunk.payload + j->skip,
                            j->chunk.payload + j->chunk.len, err, err_len };
    struct trace_codec_state s = { j->base_time, 0 };
    while (d.p < d.end)
        if (decode_event(&d, &s, &raw->threads[j->thread]) < 0) {
            if (err_len && !err[0])
                trace_error(err, err_len, name, decode_offset(&d),
                            "out of memory decoding events");
            return -1;
        }
    if (s.prev_time > *last_time)
        *last_time = s.prev_time;
    return 0;
}

/* One decoder's share: the jobs of the threads it owns, in order. */
struct decode_share {
    const struct decode_jobs *jobs;
    struct trace_raw *raw;
    const char *name;
    const uint8_t *owner;     /* per job: which share decodes it */
    uint8_t me;
    size_t failed_job;        /* first failing job, or SIZE_MAX */
    uint64_t last_time;
    char err[512];
};

static void *decode_share_run(void *arg)
{
    struct decode_share *sh = arg;
    sh->failed_job = SIZE_MAX;
    sh->err[0] = '\0';
    for (size_t i = 0; i < sh->jobs->count; i++)
        if (sh->owner[i] == sh->me &&
            decode_job(&sh->jobs->v[i], sh->raw, sh->name, sh->err,
                       sizeof(sh->err), &sh->last_time) < 0) {
            sh->failed_job = i;
            break;
        }
    return NULL;
}

/* Splits the threads between two shares, biggest first, each to the
 * share with fewer bytes so far; owner[i] says who decodes job i. */
static int decode_assign(const struct decode_jobs *jobs,
                         const struct trace_raw *raw, uint8_t *owner)
{
    size_t n = raw->thread_count, load[2] = { 0, 0 };
    size_t *bytes = calloc(n + 1, sizeof(*bytes));
    uint8_t *side = calloc(n + 1, 1), *done = calloc(n + 1, 1);
    int rc = bytes && side && done ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < jobs->count; i++)
        bytes[jobs->v[i].thread] += jobs->v[i].chunk.len;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        size_t big = n;                  /* the biggest thread left */
        for (size_t i = 0; i < n; i++)
            if (!done[i] && (big == n || bytes[i] > bytes[big]))
                big = i;
        done[big] = 1;
        side[big] = load[1] < load[0];
        load[side[big]] += bytes[big];
    }
    for (size_t i = 0; rc == 0 && i < jobs->count; i++)
        owner[i] = side[jobs->v[i].thread];
    free(bytes);
    free(side);
    free(done);
    return rc;
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

int decode_jobs_run(const struct decode_jobs *jobs, struct trace_raw *raw,
                    const char *name, char *err, size_t err_len)
{
    uint8_t *owner = calloc(jobs->count + 1, 1);
    struct decode_share sh[2] = {
        { jobs, raw, name, owner, 0, SIZE_MAX, 0, "" },
        { jobs, raw, name, owner, 1, SIZE_MAX, 0, "" },
    };
    if (!owner)
        return -1;
    pthread_t helper;
    int two = jobs->bytes >= DECODE_PARALLEL_MIN &&
              sysconf(_SC_NPROCESSORS_ONLN) > 1 &&
              decode_assign(jobs, raw, owner) == 0 &&
              pthread_create(&helper, NULL, decode_share_run, &sh[1]) == 0;
    if (!two)
        memset(owner, 0, jobs->count);
    decode_share_run(&sh[0]);
    if (two)
        pthread_join(helper, NULL);
    int rc = decode_shares_end(sh, raw, err, err_len);
    free(owner);
    return rc;
}

void decode_jobs_free(struct decode_jobs *jobs)
{
    for (size_t i = 0; i < jobs->count; i++)
        free(jobs->v[i].owned);
    free(jobs->v);
    memset(jobs, 0, sizeof(*jobs));
}
