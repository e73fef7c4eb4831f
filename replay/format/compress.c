/*
 * compress.c - rewriting a trace with zstd-compressed chunks.
 *
 * The recorder writes plain chunks (zstd would put a heavy library and
 * its own malloc calls inside the traced program); compression happens
 * afterwards, when `mallard record` or `mallard trace finalize`
 * finishes a trace.  Each chunk is compressed on its own, so a damaged
 * chunk stays a local loss, and only where the result is smaller.  The
 * output goes to a temporary file renamed over the target, so in == out
 * is safe and a failure never leaves half a trace behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "trace_format.h"

struct compress_out {
    FILE *file;
    uint8_t *buf;       /* chunk header + compressed payload */
    size_t cap;
};

static int compress_chunk(struct compress_out *o, const struct trace_chunk *c,
                          int level)
{
    size_t need = TRACE_CHUNK_HEADER_SIZE + ZSTD_compressBound(c->len);
    if (need > o->cap) {
        uint8_t *grown = realloc(o->buf, need);
        if (!grown)
            return -1;
        o->buf = grown;
        o->cap = need;
    }
    uint8_t *payload = o->buf + TRACE_CHUNK_HEADER_SIZE;
    size_t len = ZSTD_compress(payload, need - TRACE_CHUNK_HEADER_SIZE,
                               c->payload, c->len, level);
    unsigned flags = TRACE_CHUNK_ZSTD;
    if (ZSTD_isError(len) || len >= c->len) {   /* does not pay */
        memcpy(payload, c->payload, c->len);
        len = c->len;
        flags = 0;
    }
    trace_seal_chunk(o->buf, c->type, flags, len, c->len);
    size_t total = TRACE_CHUNK_HEADER_SIZE + len;
    return fwrite(o->buf, 1, total, o->file) == total ? 0 : -1;
}

static int compress_all(struct trace_reader *r, struct compress_out *o,
                        int level, const char *out_name)
{
    struct trace_chunk c;
    uint8_t head[TRACE_FILE_HEADER_SIZE];
    int more;
    trace_put_file_header(head);
    if (fwrite(head, 1, sizeof(head), o->file) != sizeof(head))
        more = -2;
    else
        while ((more = trace_reader_next(r, &c)) == 1)
            if (compress_chunk(o, &c, level) < 0) {
                more = -2;
                break;
            }
    if (more == -2)
        trace_error(r->err, r->err_len, out_name, 0, "cannot write: %s",
                    strerror(errno));
    return more < 0 ? -1 : 0;
}

int trace_compress_file(const char *in, const char *out, int level,
                        char *err, size_t err_len)
{
    const uint8_t *data;
    size_t size;
    struct trace_reader r;
    struct compress_out o = { NULL, NULL, 0 };
    char tmp[4096];
    if (trace_map_file(in, &data, &size, err, err_len) < 0)
        return -1;
    int rc = trace_reader_init(&r, in, data ? data : (const uint8_t *)"",
                               size, err, err_len);
    snprintf(tmp, sizeof(tmp), "%s.tmp%ld", out, (long)getpid());
    if (rc == 0 && !(o.file = fopen(tmp, "wb"))) {
        trace_error(err, err_len, tmp, 0, "cannot create: %s",
                    strerror(errno));
        rc = -1;
    }
    if (rc == 0)
        rc = compress_all(&r, &o, level, tmp);
    if (o.file && fclose(o.file) != 0 && rc == 0) {
        trace_error(err, err_len, tmp, 0, "cannot write: %s",
                    strerror(errno));
        rc = -1;
    }
    if (rc == 0 && rename(tmp, out) != 0) {
        trace_error(err, err_len, out, 0, "cannot rename into place: %s",
                    strerror(errno));
        rc = -1;
    }
    if (rc != 0 && o.file)
        unlink(tmp);
    trace_reader_close(&r);
    free(o.buf);
    trace_unmap_file(data, size);
    return rc;
}
