/*
 * trace_format.h - the trace format module's public interface: the one
 * header its users include (the recorder, the replayer's loader,
 * `mallard record` and `mallard trace`, the tests).  What the module's
 * own files share beyond it is format_internal.h, which no file outside
 * replay/format/ includes.
 *
 * A file is a 16-byte file header (magic, version) followed by chunks.
 * Every chunk carries its own type, length and CRC-32C, so damage is
 * found at a known offset and a reader can skip chunk types it does not
 * know (forward compatibility).  docs/trace-format.md is the full
 * specification.  Here: the constants a writer or a report needs; the
 * recorder's encoders (malloc-free; event_codec.h, included below, is
 * the inline part the recorder's hot path needs); the loader, from a
 * file to the replay-ready struct trace of ../trace.h; the finaliser,
 * the writer of the finalised form, and slicing.  Every entry point
 * returns a status and writes "NAME: offset N: what was expected" into
 * err, so there is one parser and one set of checks for every user.
 */
#ifndef MALLARD_TRACE_FORMAT_H
#define MALLARD_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "../trace.h"
#include "event_codec.h"

#define TRACE_MAGIC "MLRDTRCE"          /* 8 bytes, no terminator */
#define TRACE_MAGIC_SIZE 8
#define TRACE_VERSION 1
#define TRACE_FILE_HEADER_SIZE 16       /* magic, u32 version, u32 zero */
/* Chunk header, little-endian: u16 type, u16 flags, u32 stored length,
 * u32 raw (decompressed) length, u32 CRC-32C of bytes 0..11 + payload. */
#define TRACE_CHUNK_HEADER_SIZE 16

enum trace_chunk_type {
    TRACE_CHUNK_HEADER = 1, /* who was recorded, when, with which clock */
    TRACE_CHUNK_EVENTS = 2, /* a run of one thread's events */
    TRACE_CHUNK_CHILD = 3,  /* a forked child's pid and trace path */
    TRACE_CHUNK_END = 4,    /* recording ended (normally or not) */
    TRACE_CHUNK_SUMMARY = 5,/* finalised form: slot count, threads, ... */
    TRACE_CHUNK_OPS = 6,    /* finalised form: a run of one thread's ops */
    TRACE_CHUNK_OPS_RANKED = 7, /* the same, slots coded by recency */
    TRACE_CHUNK_CLOCK = 8,  /* clock frequency measured over the run */
    TRACE_CHUNK_OPS_RUNS = 9, /* OPS_RANKED, times as runs of equal ones */
};

#define TRACE_CHUNK_ZSTD 0x1u          /* payload is one zstd frame */

#define TRACE_END_TRUNCATED 0x1u  /* fatal signal: later events lost */
#define TRACE_END_EXEC 0x2u       /* the process exec'd another program */

#define TRACE_CLOCK_MONOTONIC_NS 1 /* clock_gettime(CLOCK_MONOTONIC) */
#define TRACE_CLOCK_TSC 2          /* x86 time-stamp counter, clock_hz */
#define TRACE_NS_PER_SEC 1000000000ull

struct trace_header_info {
    uint64_t pid, ppid;
    uint64_t start_unix_ns;
    uint64_t start_clock_ns;
    uint64_t clock_id, clock_hz;
    uint64_t generation;        /* 0, or n for the n-th exec'd image */
    const char *command_line;   /* not NUL-terminated in the file */
    size_t command_len;
};

struct trace_child {
    uint64_t pid;
    char *path;
};

/* ---- writing the recorder's form (malloc-free: the recorder) ---- */

uint32_t trace_crc32c(uint32_t crc, const void *data, size_t len);
void trace_put_file_header(uint8_t *out);
/* Fills the header at chunk[0..15] for the `len` payload bytes after it. */
void trace_seal_chunk(uint8_t *chunk, unsigned type, unsigned flags,
                      size_t len, size_t raw_len);
/* Payload encoders, one per chunk type the recorder writes (EVENTS:
 * event_codec.h); each returns the payload length, or 0 if it does not
 * fit in cap. */
size_t trace_encode_header(uint8_t *out, size_t cap,
                           const struct trace_header_info *h);
size_t trace_encode_end(uint8_t *out, size_t cap, uint64_t flags,
                        uint64_t end_clock_ns, uint64_t events_lost);
size_t trace_encode_child(uint8_t *out, size_t cap, uint64_t pid,
                          const char *path);
size_t trace_encode_clock(uint8_t *out, size_t cap, uint64_t clock_hz);

/* ---- loading ---- */

struct trace_raw_thread;  /* a recorder thread's events (decoder's) */
struct trace_final;       /* a finalised file's ops (final_read.c's) */
struct decode_pending;    /* events not yet checked (decoder's) */

/* A file decoded, not yet a struct trace: the recorder's events, or a
 * finalised file's ops, and what the file says beside them.  Users read
 * header, end_flags, children and the chunk counts; final is non-NULL
 * for a finalised file; the rest is the decoder's. */
struct trace_raw {
    struct trace_header_info header;   /* command_line owned here */
    int have_header, have_end;
    uint64_t end_flags, end_clock_ns, events_lost;
    uint64_t last_clock_ns;            /* latest event stamp seen */
    struct trace_raw_thread *threads;  /* in order of first appearance */
    size_t thread_count, thread_cap;
    struct trace_child *children;
    size_t child_count;
    size_t chunk_count, compressed_chunks, unknown_chunks;
    struct trace_final *final;
    /* The input's bytes, kept while the events point into them (they
     * are decoded when finalised): the file's mapping or a copy. */
    void *kept;
    size_t kept_size;
    int kept_mapped;
    struct decode_pending *pending;    /* trace_raw_load_unchecked's */
};

/* Decodes the file at path (mapped for the call) into raw, validating
 * every chunk; 0, or -1 with the reason in err and raw empty. */
int trace_raw_load(const char *path, struct trace_raw *raw, char *err,
                   size_t err_len);
/* The same on bytes in memory; name stands for the file in err. */
int trace_raw_read(const char *name, const uint8_t *data, size_t size,
                   struct trace_raw *raw, char *err, size_t err_len);
void trace_raw_free(struct trace_raw *raw);
/*
 * trace_raw_load checking the framing, the checksums and the chunks'
 * preambles but not yet the events (nine tenths of a recording's
 * bytes), for a caller that finalises at once: trace_finalize_write
 * decodes every event anyway, with the same decoder, and on damage
 * reports the error trace_raw_load would have (the first in the
 * file), and trace_raw_to_trace checks first.  The threads' event
 * counts and last_clock_ns are unknown (0) until then.  The pass
 * of their own was an eighth of finalising larson, 4 threads (CPU
 * 65 -> 57 ms).
 */
int trace_raw_load_unchecked(const char *path, struct trace_raw *raw,
                             char *err, size_t err_len);

/* What the finaliser found wrong in a recording and worked around. */
struct trace_finalize_report {
    uint64_t dropped_frees;    /* freed blocks never seen allocated */
    uint64_t missing_frees;    /* address reused while still live */
};

/* The finalised trace of a decoded file: finalises a recording, or
 * takes the ops of a finalised file (moving them out of raw). */
int trace_raw_to_trace(struct trace_raw *raw, struct trace *out,
                       struct trace_finalize_report *report, char *err,
                       size_t err_len);

/*
 * Loads and finalises the trace at path (trace_raw_load, then
 * trace_raw_to_trace).  On failure returns -1 and writes "PATH: offset
 * N: what was expected" into err (err_len bytes).  The trace's memory
 * is owned by the caller until trace_free().
 */
int trace_load(const char *path, struct trace *out, char *err,
               size_t err_len);
/* trace_load() on bytes already in memory (the fuzzer's entry point). */
int trace_load_buffer(const char *name, const uint8_t *data, size_t size,
                      struct trace *out, char *err, size_t err_len);

/* ---- finalising and writing the finalised form ---- */

/* Pointers to slots, per-thread streams, dependency edges, in memory
 * (raw checked: not from trace_raw_load_unchecked). */
int trace_finalize(const struct trace_raw *raw, struct trace *out,
                   struct trace_finalize_report *report, char *err,
                   size_t err_len);

/* Writes the finalised form of t (header, children and end taken from
 * raw) to path, zstd-compressed at level, times rounded down to
 * multiples of unit ns; via a temporary file, so path may be the file
 * raw was read from. */
int trace_write_final(const char *path, const struct trace_raw *raw,
                      const struct trace *t, int level, uint64_t unit,
                      char *err, size_t err_len);

/* trace_finalize then trace_write_final in one pass, never holding all
 * the ops (a recording of any length finalises in memory for its
 * compressed chunks); the same file.  sum gets the finalised trace's
 * fields and each thread's tid and op_count, no ops (free it with
 * trace_free).  For a recorder's trace only (raw->final == NULL). */
int trace_finalize_write(const char *path, const struct trace_raw *raw,
                         int level, uint64_t unit, struct trace *sum,
                         struct trace_finalize_report *report, char *err,
                         size_t err_len);

/* ---- slicing (trace_slice.c): a time window as a valid trace ---- */

#define TRACE_SLICE_TO_END UINT64_MAX   /* window open to the end */

struct trace_slice_report {
    uint64_t carried_blocks;  /* live at the start cut, allocated first */
    uint64_t carried_bytes;
    uint64_t window_ops;      /* recorded ops kept (without the above) */
};

/*
 * Writes into out the ops of in whose times fall in [from_ns, to_ns)
 * (ns after the trace's start), made valid: blocks live at the start of
 * the window are allocated at the start of the slice (by the thread
 * that allocated them, or if it has no ops left, by their first
 * toucher), the first touch of such a block waits for that allocation,
 * other edges into the cut-off past are dropped, and both cuts are
 * moved forward where an edge would cross them backwards, so every edge
 * of the slice points inside it.  Times in out count from from_ns.
 * Returns 0, or -1 with the reason in err (an empty window, out of
 * memory).  out is freed with trace_free().
 */
int trace_slice(const struct trace *in, uint64_t from_ns, uint64_t to_ns,
                struct trace *out, struct trace_slice_report *report,
                char *err, size_t err_len);

/* The end time that keeps about max_ops ops after from_ns, or
 * TRACE_SLICE_TO_END if fewer remain; UINT64_MAX also on no memory. */
uint64_t trace_slice_end_for_ops(const struct trace *in, uint64_t from_ns,
                                 uint64_t max_ops);

#endif
