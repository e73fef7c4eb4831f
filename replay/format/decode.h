/*
 * decode.h - the cursor that payload decoders share (decode.c for the
 * recorder's chunks, final_read.c for the finalised form): where in the
 * file we are, so that every error can name its offset.
 */
#ifndef MALLARD_TRACE_DECODE_H
#define MALLARD_TRACE_DECODE_H

#include "trace_format.h"
#include "varint.h"

struct decode_ctx {
    struct trace_raw *raw;
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

int final_read_summary(struct decode_ctx *d);
int final_read_ops(struct decode_ctx *d);
void final_release(struct trace_raw *raw);

#endif
