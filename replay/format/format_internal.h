/*
 * format_internal.h - what the trace format module's files share beyond
 * the public trace_format.h.  No file outside replay/format/ includes
 * it: users get the format through trace_format.h alone.
 *
 * One section per stage, each with its file and its prefix.  Files are
 * layered: each calls only files below it in this list, so there are no
 * call cycles (docs/HARNESS.md draws the graph):
 *
 *   load.c             trace_load*, trace_raw_load, trace_raw_to_trace
 *   finalize_stream.c  trace_finalize_write: the merge into a file
 *   finalize.c         finalize_*: the merge, trace_finalize
 *   finalize_step.c    finalize_step: one step's slots and edges
 *   addr_map.c         addr_map_*: live blocks by address
 *   final_write.c      final_write_*: the finalised form's chunks
 *   decode.c           decode_*: chunk payloads, trace_raw_read
 *   decode_events.c    decode_jobs_*, decode_cursor_*: EVENTS payloads
 *   final_read.c       final_read_*: SUMMARY and OPS payloads
 *   reader.c           trace_reader_*: framing, checksums, trace_error
 *   chunk_write.c      the recorder's encoders (public)
 *   crc32c.c           trace_crc32c (public)
 *
 * trace_slice.c works on struct trace alone and needs none of this.
 */
#ifndef MALLARD_FORMAT_INTERNAL_H
#define MALLARD_FORMAT_INTERNAL_H

#include <stdio.h>

#include "op_codec.h"
#include "trace_format.h"

/* Chunk header bytes covered by the checksum: all but the CRC itself. */
#define TRACE_CHUNK_CRC_COVERED 12
/* Largest chunk a reader accepts (stored or decompressed).  Recorder
 * chunks are far smaller; the bound stops a damaged length field from
 * making the reader allocate or trust gigabytes. */
#define TRACE_CHUNK_MAX ((size_t)64 << 20)
#define TRACE_CHUNK_KNOWN_FLAGS TRACE_CHUNK_ZSTD

/* Nanoseconds from `start` to `stamp` (both in the header's clock);
 * 0 if stamp is earlier.  128-bit: ticks * 1e9 overflows 64 bits
 * after some seconds of a GHz counter. */
static inline uint64_t trace_clock_ns(const struct trace_header_info *h,
                                      uint64_t start, uint64_t stamp)
{
    if (stamp <= start || h->clock_hz == 0)
        return 0;
    if (h->clock_hz == TRACE_NS_PER_SEC)
        return stamp - start;
    return (uint64_t)((unsigned __int128)(stamp - start) * TRACE_NS_PER_SEC /
                      h->clock_hz);
}

/* ---- reader.c: a file's chunks, checked and decompressed ---- */

struct trace_chunk {
    unsigned type, flags;
    size_t offset;           /* file offset of the chunk header */
    const uint8_t *payload;  /* decompressed if it was compressed */
    size_t len;
};

struct trace_reader {
    const char *name;
    const uint8_t *data;
    size_t size, pos;
    uint8_t *scratch;        /* decompression buffer, reader-owned */
    size_t scratch_cap;
    char *err;
    size_t err_len;
};

/* "NAME: offset N: " then fmt: every stage's error messages. */
void trace_error(char *err, size_t len, const char *name, size_t offset,
                 const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int trace_reader_init(struct trace_reader *r, const char *name,
                      const uint8_t *data, size_t size, char *err,
                      size_t err_len);
/* 1: *c holds the next chunk; 0: clean end of file; -1: error in err. */
int trace_reader_next(struct trace_reader *r, struct trace_chunk *c);
void trace_reader_close(struct trace_reader *r);

/* ---- decode.c, decode_events.c: payloads into struct trace_raw ---- */

/* An EVENTS chunk's events, checked but still encoded: the finaliser
 * decodes them as its merge reaches them (decode_cursor), so a
 * recording's decoded events never all sit in memory (56 bytes an
 * event: 45 MB for 808,000 larson events, whose page faults alone were
 * some 15% of finalising). */
struct trace_raw_chunk {
    const uint8_t *p, *end;  /* the events, after the preamble */
    uint64_t base_time;
    uint8_t *owned;          /* a decompressed payload's copy, or NULL:
                                then p lies in the kept input */
};

/* A recorder thread's events, in its chunks' order. */
struct trace_raw_thread {
    uint64_t serial, tid, next_seq;
    uint64_t count;          /* events, counted when checked */
    struct trace_raw_chunk *chunks;
    size_t chunk_count, chunk_cap;
};

struct decode_jobs;

/* The cursor that payload decoders share (decode.c for the recorder's
 * chunks, final_read.c for the finalised form): where in the file we
 * are, so that every error can name its offset. */
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

/* An EVENTS chunk whose events wait to be checked (decode_events.c):
 * the preamble is read, the rest starts `skip` bytes in. */
struct decode_job {
    size_t thread;            /* index in raw->threads */
    struct trace_chunk chunk; /* payload: in the file, or owned */
    size_t skip;
    uint64_t base_time;
    uint8_t *owned;           /* a decompressed payload's copy */
    uint64_t count;           /* its events, once checked */
};

struct decode_jobs {
    struct decode_job *v;
    size_t count, cap, bytes;
};

int decode_jobs_add(struct decode_jobs *jobs, const struct decode_ctx *d,
                    const struct trace_raw_thread *t, uint64_t base_time);
/* Checks every job's events and counts them, on two cores when it
 * pays, then hands the chunks to their threads; 0, or -1 with the
 * first (in file order) failure in err. */
int decode_jobs_run(struct decode_jobs *jobs, struct trace_raw *raw,
                    const char *name, char *err, size_t err_len);
void decode_jobs_free(struct decode_jobs *jobs);

/* The jobs of a file read unchecked (trace_raw_load_unchecked), kept
 * for the check that says what is wrong, if finalising finds damage. */
struct decode_pending {
    struct decode_jobs jobs;  /* their chunks handed to the threads */
    char *name;               /* the file, for messages */
};

/* Hands the jobs' chunks to their threads unchecked (counts 0) and
 * keeps the jobs in raw->pending; 0, or -1 with the reason in err. */
int decode_jobs_defer(struct decode_jobs *jobs, struct trace_raw *raw,
                      const char *name, char *err, size_t err_len);
/* Checks raw's pending events, if any, as trace_raw_load would have:
 * 0 (raw as if loaded checked), or -1 with the first damage in err. */
int decode_pending_check(struct trace_raw *raw, char *err, size_t err_len);
/* 1 with the first damage of raw's pending events in err, else 0. */
int decode_pending_error(const struct trace_raw *raw, char *err,
                         size_t err_len);
void decode_pending_free(struct trace_raw *raw);

/* Decodes data (size bytes, which raw may point into: see
 * trace_raw.kept) into raw, checking every event if `check`, else
 * leaving them to decode_pending_*; 0, or -1 with raw empty. */
int decode_read(const char *name, const uint8_t *data, size_t size,
                struct trace_raw *raw, int check, char *err,
                size_t err_len);
/* Whether raw's events point into the input given to decode_read. */
int decode_borrows(const struct trace_raw *raw);

/* A thread's events, decoded one at a time in program order. */
struct decode_cursor {
    const struct trace_raw_chunk *next, *last; /* chunks still to read */
    const uint8_t *p, *end;
    struct trace_codec_state s;
    uint64_t last_time;       /* the latest chunk end read, as the
                                 check's trace_raw.last_clock_ns */
};

void decode_cursor_init(struct decode_cursor *c,
                        const struct trace_raw_thread *t);
/* The thread's next event into e: 1, 0 after the last, -1 if the bytes
 * changed since they were checked. */
int decode_cursor_next(struct decode_cursor *c, struct trace_event *e);

/* ---- final_read.c: the finalised form's SUMMARY and OPS chunks ---- */

int final_read_summary(struct decode_ctx *d);
int final_read_ops(struct decode_ctx *d);
/* Moves a finalised file's ops out of raw into out, once every thread
 * has the ops its summary counts; report gets the summary's counts. */
int final_read_take(struct trace_raw *raw, struct trace *out,
                    struct trace_finalize_report *report, char *err,
                    size_t err_len);
void final_read_release(struct trace_raw *raw);

/* ---- addr_map.c: live blocks by address, for the finaliser ---- */

struct addr_block {
    uint64_t addr;        /* 0: empty cell */
    uint64_t bytes;       /* requested bytes, for live-byte accounting */
    uint64_t last_op;     /* op index of the last touch ... */
    uint32_t last_thread; /* ... on this thread */
    uint32_t slot;
};

struct addr_map {
    struct addr_block *cells;
    size_t mask;          /* capacity - 1, capacity a power of two */
    size_t count;
};

int addr_map_init(struct addr_map *m);
void addr_map_destroy(struct addr_map *m);
struct addr_block *addr_map_find(struct addr_map *m, uint64_t addr);
/* Inserts a cell for addr (absent); NULL if out of memory. */
struct addr_block *addr_map_insert(struct addr_map *m, uint64_t addr);
void addr_map_remove(struct addr_map *m, struct addr_block *b);
/* addr's cell (addr non-zero): *found says whether it was there, else
 * it is inserted, as a new block; one probe for an allocation's lookup
 * and insertion.  NULL if out of memory. */
struct addr_block *addr_map_claim(struct addr_map *m, uint64_t addr,
                                  int *found);

/* ---- finalize.c, finalize_step.c: events into ops ---- */

/*
 * Ops leave the merge one at a time through a sink, each thread's in
 * its output order, already laid out: the thread opens with
 * THREAD_START, ends with one THREAD_EXIT if it exited, dropped frees
 * are gone, and edges name output indices.  Nothing holds every op, so
 * writing a file (finalize_stream.c) needs memory for its chunks, not
 * for the whole trace.
 *
 * A sink holds each thread's next output op: `next` says where the
 * merge builds a thread's first, and `put` takes the op built there
 * once it is complete and says where the next goes (NULL when out of
 * memory or to stop); an op that leaves the output is never put, and
 * the next one is built over it.  Built in place, an op
 * is written once, field by field, and never copied whole: the copies
 * reloaded fields just stored one by one as 16-byte words, which the
 * CPU cannot forward from the store buffer (perf, larson 4 threads:
 * the two copies took 17 of the merge thread's 63 ms, 7 in place).
 * The op's time_ns is still the recorder's stamp: the sink turns it
 * into nanoseconds (finalize_stamp_ns), so a sink with a thread of its
 * own takes that work off the merge.
 */
struct finalize_sink {
    struct trace_op *(*next)(void *ctx, uint32_t thread);
    struct trace_op *(*put)(void *ctx, uint32_t thread);
    void *ctx;
};

/* A merge step's order: stamp (high 64 bits), phase, thread index. */
typedef unsigned __int128 finalize_key_t;

struct finalize_thread {
    const struct trace_raw_thread *raw;
    struct decode_cursor in;  /* the events after ev */
    struct trace_event ev;    /* merge cursor: the event ... */
    int part;                 /* ... and part (1: a realloc's acquire) */
    int live;                 /* ev holds an event: the stream is open */
    struct trace_op *cur;     /* the op of ev, being built (in the
                                 sink's memory) */
    struct trace_op *place;   /* where the sink takes the next op */
    int cur_dropped;          /* cur leaves the output (dropped free) */
    uint32_t *free_slots;     /* this thread's reusable slot ids */
    size_t free_count, free_cap;
    finalize_key_t key;       /* the cursor's step: stamp, phase, thread */
    uint32_t emitted;         /* ops output so far = cur's output index */
    int have_exit;            /* an exit mark was seen: exit_op ... */
    struct trace_op exit_op;  /* ... is output last, after TLS frees */
    uint64_t last_stamp;      /* stamp of the last op output */
};

struct finalize_ctx {
    struct finalize_thread *threads;
    uint32_t thread_count;
    struct addr_map map;
    uint32_t slot_count;
    uint64_t live_bytes, peak_live_bytes;
    uint64_t last_clock;      /* the latest event stamp (chunk ends) */
    struct trace_finalize_report report;
    finalize_key_t *heap;     /* min-heap of the live threads' keys */
    size_t heap_len;
    struct finalize_sink sink;
};

/* A stamp as nanoseconds after the trace's start (0 if earlier). */
static inline uint64_t finalize_stamp_ns(const struct trace_header_info *h,
                                         uint64_t stamp)
{
    return trace_clock_ns(h, h->start_clock_ns, stamp);
}

/* finalize_stamp_ns by multiplies (hz: trace_div_by(h->clock_hz)),
 * for a sink that converts every op: whole seconds and the rest,
 * x * 1e9 / hz = (x / hz) * 1e9 + (x % hz) * 1e9 / hz, each exact;
 * the 128-bit division where a product would not fit 64 bits. */
static inline uint64_t finalize_stamp_ns_by(const struct trace_header_info *h,
                                            const struct trace_div *hz,
                                            uint64_t stamp)
{
    uint64_t x = stamp - h->start_clock_ns;
    if (stamp <= h->start_clock_ns || h->clock_hz == TRACE_NS_PER_SEC ||
        h->clock_hz == 0 || h->clock_hz > UINT64_MAX / TRACE_NS_PER_SEC)
        return finalize_stamp_ns(h, stamp);
    uint64_t sec = trace_div(hz, x);
    if (sec > UINT64_MAX / TRACE_NS_PER_SEC - 1)
        return finalize_stamp_ns(h, stamp);
    return sec * TRACE_NS_PER_SEC +
           trace_div(hz, (x - sec * h->clock_hz) * TRACE_NS_PER_SEC);
}

/* One merge step of thread ti's cursor event: part 0 of its op, or
 * part 1 (a realloc's acquire); 0, or -1 when out of memory. */
int finalize_step(struct finalize_ctx *f, uint32_t ti, int part);

/* Runs the whole merge of raw into sink; 0 or -1 (out of memory or the
 * sink's failure).  f is torn down by finalize_done, success or not. */
int finalize_run(struct finalize_ctx *f, const struct trace_raw *raw,
                 struct finalize_sink sink);
void finalize_done(struct finalize_ctx *f);
/* The trace-wide fields of out (all but threads) after finalize_run. */
void finalize_summary(const struct finalize_ctx *f,
                      const struct trace_raw *raw, struct trace *out);

/* ---- final_write.c: the finalised form's writer ---- */

/*
 * Shared by trace_write_final (a whole struct trace in memory) and
 * finalize_stream.c (ops as the merge completes them).  A file is
 * written in one order (final_write.c's comment): header, summary, each
 * thread's OPS chunks, the rest.  The summary needs every thread's op
 * count, so a streaming writer keeps each thread's finished chunks,
 * compressed, in a final_bytes until the merge ends; the file is the
 * same either way.
 */

/* Ops per OPS chunk: 64 Ki ops are a few hundred KiB of columns, big
 * enough for zstd to find long matches, small enough that one damaged
 * chunk loses little. */
#define FINAL_CHUNK_OPS ((uint64_t)1 << 16)

/* Finished chunks kept in memory (grown by doubling). */
struct final_bytes {
    uint8_t *data;
    size_t len, cap;
};

struct ZSTD_CCtx_s;           /* zstd.h's ZSTD_CCtx */

struct final_out {
    FILE *file;               /* chunks go here ... */
    struct final_bytes *keep; /* ... or, when set, here */
    int level;
    uint64_t unit;            /* ns per stored time unit */
    struct trace_div unit_div;/* ... as a divider */
    uint8_t *buf;             /* payload being built */
    uint8_t *zbuf;            /* chunk header + compressed payload */
    size_t zcap;
    /* One context for every chunk, as zstd advises: ZSTD_compress()
     * makes and zeroes a new one per chunk (at level 9, 4% of the
     * instructions finalising a larson trace; no time difference
     * measured at level 5). */
    struct ZSTD_CCtx_s *zctx;
};

int final_write_init(struct final_out *o, int level, uint64_t unit);
void final_write_release(struct final_out *o);

/* The time column coded as runs (OPS_RUNS), beside the per-op deltas
 * in TRACE_COL_TIME: which one a chunk keeps is known at its end. */
#define FINAL_COL_RUNS TRACE_COLUMNS
#define FINAL_CHUNK_COLS (TRACE_COLUMNS + 1)

/*
 * A thread's OPS chunk, encoded op by op as its ops arrive, so its ops
 * are never kept (a whole chunk of them was 3 MiB a thread to fill,
 * fault in and read again).  Both time codings are built, since the
 * choice between them counts the whole chunk's repeated times.
 */
struct final_chunk {
    uint8_t *col[FINAL_CHUNK_COLS];   /* column buffers ... */
    uint8_t *at[FINAL_CHUNK_COLS];    /* ... and their ends so far */
    size_t cap;               /* bytes each column buffer holds */
    struct trace_op_state s;  /* the slot and edge codings' state */
    uint64_t first;           /* op number of the chunk's first op */
    uint64_t n;               /* ops in it */
    uint64_t base_time;       /* its first op's time, in units */
    uint64_t same;            /* ops whose time repeats the one before */
};

/* Room in c's columns for `ops` more ops (a chunk's worth at most),
 * all at once, touched only as the columns fill: grown as ops came,
 * they were copied at every doubling (a fifth of finalising's page
 * faults on larson, 4 threads).  0, or -1 (out of memory). */
int final_chunk_open(struct final_chunk *c, uint64_t ops);
/* Appends thread `index`'s next n ops (times in ns) to its chunk c,
 * writing each chunk that fills; 0, or -1 (out of memory, or writing
 * failed).  final_chunk_end writes the last, partial chunk, and
 * final_chunk_release frees c (zeroed to begin). */
int final_chunk_add(struct final_out *o, struct final_chunk *c,
                    uint32_t index, const struct trace_op *ops, uint64_t n);
int final_chunk_end(struct final_out *o, struct final_chunk *c,
                    uint32_t index);
void final_chunk_release(struct final_chunk *c);

/* Writes the file at path (via a temporary file renamed into place):
 * header and summary from raw and t (t's threads need tid and
 * op_count only), then put_threads(o, ctx) for the OPS chunks, then
 * the children and the end.  0, or -1 with the reason in err. */
int final_write_file(const char *path, struct final_out *o,
                     const struct trace_raw *raw, const struct trace *t,
                     int (*put_threads)(struct final_out *o, void *ctx),
                     void *ctx, char *err, size_t err_len);

#endif
