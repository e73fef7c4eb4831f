/*
 * reader.c - walking the chunks of a trace held in memory.
 *
 * Owns validation at the chunk level: the file header, each chunk
 * header's bounds, the checksum, the flags, decompression.  Every error
 * names the file and the offset of the structure that was wrong, and the
 * reader never reads outside [data, data + size), so a damaged or hostile
 * file yields a message, never a crash or a hang (each step advances).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "format_internal.h"

/* The fuzz build defines this to 1 so that mutated inputs get past the
 * checksum and exercise the decoders behind it. */
#ifndef TRACE_CHECK_CRC_OFF
#define TRACE_CHECK_CRC_OFF 0
#endif

void trace_error(char *err, size_t len, const char *name, size_t offset,
                 const char *fmt, ...)
{
    if (!err || len == 0)
        return;
    int used = snprintf(err, len, "%s: offset %zu: ", name, offset);
    if (used < 0 || (size_t)used >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + used, len - (size_t)used, fmt, ap);
    va_end(ap);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

int trace_reader_init(struct trace_reader *r, const char *name,
                      const uint8_t *data, size_t size, char *err,
                      size_t err_len)
{
    memset(r, 0, sizeof(*r));
    r->name = name;
    r->data = data;
    r->size = size;
    r->err = err;
    r->err_len = err_len;
    if (size < TRACE_FILE_HEADER_SIZE ||
        memcmp(data, TRACE_MAGIC, TRACE_MAGIC_SIZE) != 0) {
        trace_error(err, err_len, name, 0, "expected the trace magic "
                    "\"%s\" (not a Mallard trace, or empty)", TRACE_MAGIC);
        return -1;
    }
    uint32_t version = get_le32(data + TRACE_MAGIC_SIZE);
    if (version != TRACE_VERSION) {
        trace_error(err, err_len, name, TRACE_MAGIC_SIZE,
                    "expected format version %d, found %u",
                    TRACE_VERSION, version);
        return -1;
    }
    /* Reserved, written as zero: anything else is damage (a later
     * format that uses it will have another version). */
    uint32_t reserved = get_le32(data + TRACE_MAGIC_SIZE + 4);
    if (reserved != 0) {
        trace_error(err, err_len, name, TRACE_MAGIC_SIZE + 4,
                    "expected the file header's reserved word to be 0, "
                    "found %u (damaged data)", reserved);
        return -1;
    }
    r->pos = TRACE_FILE_HEADER_SIZE;
    return 0;
}

static int reader_decompress(struct trace_reader *r, struct trace_chunk *c,
                             size_t raw_len)
{
    if (raw_len > r->scratch_cap || !r->scratch) {
        /* at least one byte: an empty frame still gets a real pointer */
        uint8_t *grown = realloc(r->scratch, raw_len ? raw_len : 1);
        if (!grown) {
            trace_error(r->err, r->err_len, r->name, c->offset,
                        "out of memory for a %zu-byte chunk", raw_len);
            return -1;
        }
        r->scratch = grown;
        r->scratch_cap = raw_len;
    }
    size_t got = ZSTD_decompress(r->scratch, raw_len, c->payload, c->len);
    if (ZSTD_isError(got) || got != raw_len) {
        trace_error(r->err, r->err_len, r->name, c->offset,
                    "expected a zstd frame of %zu bytes (%s)", raw_len,
                    ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short");
        return -1;
    }
    c->payload = r->scratch;
    c->len = raw_len;
    return 0;
}

/* Checks the header at r->pos and fills c; payload still as stored. */
static int reader_parse_header(struct trace_reader *r, struct trace_chunk *c,
                               size_t *raw_len)
{
    const uint8_t *h = r->data + r->pos;
    c->offset = r->pos;
    if (r->size - r->pos < TRACE_CHUNK_HEADER_SIZE) {
        trace_error(r->err, r->err_len, r->name, r->pos, "expected a "
                    "%d-byte chunk header, file ends after %zu bytes",
                    TRACE_CHUNK_HEADER_SIZE, r->size - r->pos);
        return -1;
    }
    c->type = (unsigned)h[0] | (unsigned)h[1] << 8;
    c->flags = (unsigned)h[2] | (unsigned)h[3] << 8;
    c->len = get_le32(h + 4);
    *raw_len = get_le32(h + 8);
    if (c->len > TRACE_CHUNK_MAX || *raw_len > TRACE_CHUNK_MAX) {
        trace_error(r->err, r->err_len, r->name, r->pos, "expected a chunk"
                    " length up to %zu, found %zu", TRACE_CHUNK_MAX,
                    c->len > *raw_len ? c->len : *raw_len);
        return -1;
    }
    if (c->len > r->size - r->pos - TRACE_CHUNK_HEADER_SIZE) {
        trace_error(r->err, r->err_len, r->name, r->pos, "expected %zu "
                    "payload bytes, file ends after %zu (truncated?)",
                    c->len, r->size - r->pos - TRACE_CHUNK_HEADER_SIZE);
        return -1;
    }
    c->payload = h + TRACE_CHUNK_HEADER_SIZE;
    return 0;
}

int trace_reader_next(struct trace_reader *r, struct trace_chunk *c)
{
    size_t raw_len;
    if (r->pos == r->size)
        return 0;
    if (reader_parse_header(r, c, &raw_len) < 0)
        return -1;
    const uint8_t *h = r->data + r->pos;
    uint32_t crc = trace_crc32c(0, h, TRACE_CHUNK_CRC_COVERED);
    crc = trace_crc32c(crc, c->payload, c->len);
    if (crc != get_le32(h + TRACE_CHUNK_CRC_COVERED) && !TRACE_CHECK_CRC_OFF) {
        trace_error(r->err, r->err_len, r->name, r->pos, "expected chunk "
                    "checksum %08x, computed %08x (damaged data)",
                    get_le32(h + TRACE_CHUNK_CRC_COVERED), crc);
        return -1;
    }
    if (c->flags & ~TRACE_CHUNK_KNOWN_FLAGS) {
        trace_error(r->err, r->err_len, r->name, r->pos, "expected chunk "
                    "flags within 0x%x, found 0x%x",
                    TRACE_CHUNK_KNOWN_FLAGS, c->flags);
        return -1;
    }
    r->pos += TRACE_CHUNK_HEADER_SIZE + c->len;
    if (c->flags & TRACE_CHUNK_ZSTD)
        return reader_decompress(r, c, raw_len) < 0 ? -1 : 1;
    if (raw_len != c->len) {
        trace_error(r->err, r->err_len, r->name, c->offset, "expected raw "
                    "length %zu to equal stored length", raw_len);
        return -1;
    }
    return 1;
}

void trace_reader_close(struct trace_reader *r)
{
    free(r->scratch);
    r->scratch = NULL;
    r->scratch_cap = 0;
}
