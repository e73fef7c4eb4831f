/*
 * final_write.h - the finalised file's writer, shared by final_write.c
 * (a whole struct trace in memory) and final_stream.c (ops as the
 * finaliser's merge completes them).
 *
 * A file is written in one order (final_write.c's comment): header,
 * summary, each thread's OPS chunks, the rest.  The summary needs every
 * thread's op count, so a streaming writer keeps each thread's finished
 * chunks, compressed, in a final_bytes until the merge ends; the file
 * is the same either way.
 */
#ifndef MALLARD_FINAL_WRITE_H
#define MALLARD_FINAL_WRITE_H

#include <stdio.h>
#include <zstd.h>

#include "op_codec.h"

/* Ops per OPS chunk: 64 Ki ops are a few hundred KiB of columns, big
 * enough for zstd to find long matches, small enough that one damaged
 * chunk loses little. */
#define FINAL_CHUNK_OPS ((uint64_t)1 << 16)

/* Finished chunks kept in memory (grown by doubling). */
struct final_bytes {
    uint8_t *data;
    size_t len, cap;
};

struct final_out {
    FILE *file;               /* chunks go here ... */
    struct final_bytes *keep; /* ... or, when set, here */
    int level;
    uint64_t unit;            /* ns per stored time unit */
    uint8_t *buf;             /* payload being built */
    uint8_t *cols[TRACE_COLUMNS]; /* OPS columns being built */
    uint8_t *zbuf;            /* chunk header + compressed payload */
    size_t zcap;
    /* One context for every chunk, as zstd advises: ZSTD_compress()
     * makes and zeroes a new one per chunk (at level 9, 4% of the
     * instructions finalising a larson trace; no time difference
     * measured at level 5). */
    ZSTD_CCtx *zctx;
};

int final_out_init(struct final_out *o, int level, uint64_t unit);
void final_out_release(struct final_out *o);

/* One OPS chunk of thread `index`: its n ops from op number `first`,
 * which ops points at. */
int final_put_ops(struct final_out *o, uint32_t index,
                  const struct trace_op *ops, uint64_t first, uint64_t n);

/* Writes the file at path (via a temporary file renamed into place):
 * header and summary from raw and t (t's threads need tid and
 * op_count only), then put_threads(o, ctx) for the OPS chunks, then
 * the children and the end.  0, or -1 with the reason in err. */
int final_write_file(const char *path, struct final_out *o,
                     const struct trace_raw *raw, const struct trace *t,
                     int (*put_threads)(struct final_out *o, void *ctx),
                     void *ctx, char *err, size_t err_len);

#endif
