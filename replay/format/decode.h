/*
 * decode.h - the cursor that payload decoders share (decode.c for the
 * recorder's chunks, final_read.c for the finalised form): where in the
 * file we are, so that every error can name its offset.
 */
#ifndef MALLARD_TRACE_DECODE_H
#define MALLARD_TRACE_DECODE_H

#include "trace_format.h"
#include "varint.h"

struct decode_jobs;

struct decode_ctx {
    struct trace_raw *raw;
    struct decode_jobs *jobs; /* EVENTS chunks wait here (decode.c) */
    const char *name;
    const struct trace_chunk *chunk;
    const uint8_t *p, *end;
    char *err;
    size_t err_len;
};

/* Offset in the file of the decoder's position, for messages. */
static inline size_t decode_offset(const struct decode_ctx *d)
{
    return d->chunk->offset + TRACE_CHUNK_HEADER_SIZE +
           (size_t)(d->p - d->chunk->payload);
}

static inline int decode_varint(struct decode_ctx *d, uint64_t *v,
                                const char *what)
{
    if (trace_get_varint(&d->p, d->end, v) == 0)
        return 0;
    trace_error(d->err, d->err_len, d->name, decode_offset(d),
                "expected a varint (%s) inside the chunk", what);
    return -1;
}

/* An EVENTS chunk whose events wait to be decoded (decode_events.c):
 * the preamble is read, the rest starts `skip` bytes in. */
struct decode_job {
    size_t thread;            /* index in raw->threads */
    struct trace_chunk chunk; /* payload: in the file, or owned */
    size_t skip;
    uint64_t base_time;
    uint8_t *owned;           /* a decompressed payload's copy */
};

struct decode_jobs {
    struct decode_job *v;
    size_t count, cap, bytes;
};

int decode_jobs_add(struct decode_jobs *jobs, const struct decode_ctx *d,
                    const struct trace_raw_thread *t, uint64_t base_time);
/* Decodes every job into its thread's events, on two cores when it
 * pays; 0, or -1 with the first (in file order) failure in err. */
int decode_jobs_run(const struct decode_jobs *jobs, struct trace_raw *raw,
                    const char *name, char *err, size_t err_len);
void decode_jobs_free(struct decode_jobs *jobs);

int final_read_summary(struct decode_ctx *d);
int final_read_ops(struct decode_ctx *d);
void final_release(struct trace_raw *raw);

#endif
