/*
 * trace_format.h - the bytes of a trace file, and the format module's
 * internal interface (writer, reader, decoder, finaliser).
 *
 * A file is a 16-byte file header (magic, version) followed by chunks.
 * Every chunk carries its own type, length and CRC-32C, so damage is found
 * at a known offset and a reader can skip chunk types it does not know
 * (forward compatibility).  docs/trace-format.md is the full specification;
 * this header is its single source of truth in code: the recorder, the
 * replayer and `mallard trace` all go through it, so there is one parser.
 */
#ifndef MALLARD_TRACE_FORMAT_H
#define MALLARD_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "../trace.h"

#define TRACE_MAGIC "MLRDTRCE"          /* 8 bytes, no terminator */
#define TRACE_MAGIC_SIZE 8
#define TRACE_VERSION 1
#define TRACE_FILE_HEADER_SIZE 16       /* magic, u32 version, u32 zero */
#define TRACE_CHUNK_HEADER_SIZE 16      /* see struct layout below */
/* Chunk header bytes covered by the checksum: all but the CRC itself. */
#define TRACE_CHUNK_CRC_COVERED 12
/* Largest chunk a reader accepts (stored or decompressed).  Recorder
 * chunks are far smaller; the bound stops a damaged length field from
 * making the reader allocate or trust gigabytes. */
#define TRACE_CHUNK_MAX ((size_t)64 << 20)

/* Chunk header, little-endian: u16 type, u16 flags, u32 stored length,
 * u32 raw (decompressed) length, u32 CRC-32C of bytes 0..11 + payload. */
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
#define TRACE_CHUNK_KNOWN_FLAGS TRACE_CHUNK_ZSTD

#define TRACE_END_TRUNCATED 0x1u  /* fatal signal: later events lost */
#define TRACE_END_EXEC 0x2u       /* the process exec'd another program */

#define TRACE_CLOCK_MONOTONIC_NS 1 /* clock_gettime(CLOCK_MONOTONIC) */
#define TRACE_CLOCK_TSC 2          /* x86 time-stamp counter, clock_hz */
#define TRACE_NS_PER_SEC 1000000000ull

/* Event tag byte: the op kind in the low nibble, flags above it. */
#define TRACE_EV_KIND_MASK 0x0fu
#define TRACE_EV_NULL_RESULT 0x10u /* the call returned NULL / failed */
#define TRACE_EV_NULL_OLD 0x20u    /* the pointer argument was NULL */
#define TRACE_EV_KNOWN_FLAGS (TRACE_EV_NULL_RESULT | TRACE_EV_NULL_OLD)

/* One event as the recorder saw it, before pointers become slots. */
struct trace_event {
    uint64_t time;     /* clock ns: after the call for allocations,
                          before it for frees and reallocs */
    uint64_t t_after;  /* realloc family: clock ns after the call */
    uint64_t ptr;      /* result, 0 if none */
    uint64_t old_ptr;  /* freed / realloc'd / queried pointer, or 0 */
    uint64_t size;
    uint64_t arg;      /* count or alignment; see enum trace_op_kind */
    uint8_t kind;
};

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

/* ---- writing (malloc-free: the recorder uses these) ---- */

uint32_t trace_crc32c(uint32_t crc, const void *data, size_t len);
void trace_put_file_header(uint8_t *out);
/* Fills the header at chunk[0..15] for the `len` payload bytes after it. */
void trace_seal_chunk(uint8_t *chunk, unsigned type, unsigned flags,
                      size_t len, size_t raw_len);
/* Encoders return payload length, or 0 if it does not fit in cap. */
size_t trace_encode_header(uint8_t *out, size_t cap,
                           const struct trace_header_info *h);
size_t trace_encode_end(uint8_t *out, size_t cap, uint64_t flags,
                        uint64_t end_clock_ns, uint64_t events_lost);
size_t trace_encode_child(uint8_t *out, size_t cap, uint64_t pid,
                          const char *path);
size_t trace_encode_clock(uint8_t *out, size_t cap, uint64_t clock_hz);

/* ---- reading ---- */

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

void trace_error(char *err, size_t len, const char *name, size_t offset,
                 const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int trace_reader_init(struct trace_reader *r, const char *name,
                      const uint8_t *data, size_t size, char *err,
                      size_t err_len);
/* 1: *c holds the next chunk; 0: clean end of file; -1: error in err. */
int trace_reader_next(struct trace_reader *r, struct trace_chunk *c);
void trace_reader_close(struct trace_reader *r);

struct trace_final;   /* a finalised file being read (final_read.c) */

/* Whole file decoded: per recorder thread, still in pointer form; or,
 * for a finalised file, its ops (final != NULL). */
struct trace_raw_thread {
    uint64_t serial, tid, next_seq;
    struct trace_event *events;
    size_t count, cap;
};

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
};

int trace_raw_read(const char *name, const uint8_t *data, size_t size,
                   struct trace_raw *raw, char *err, size_t err_len);
void trace_raw_free(struct trace_raw *raw);

/* Pointers to slots, per-thread streams, dependency edges. */
struct trace_finalize_report {
    uint64_t dropped_frees;    /* freed blocks never seen allocated */
    uint64_t missing_frees;    /* address reused while still live */
};
int trace_finalize(const struct trace_raw *raw, struct trace *out,
                   struct trace_finalize_report *report, char *err,
                   size_t err_len);

/* The finalised trace of a decoded file: finalises a raw one, or takes
 * the ops of a finalised one (moving them out of raw). */
int trace_raw_to_trace(struct trace_raw *raw, struct trace *out,
                       struct trace_finalize_report *report, char *err,
                       size_t err_len);

/* trace_load() on bytes already in memory (the fuzzer's entry point). */
int trace_load_buffer(const char *name, const uint8_t *data, size_t size,
                      struct trace *out, char *err, size_t err_len);
/* Maps a file read-only; returns 0 or -1 with the reason in err. */
int trace_map_file(const char *path, const uint8_t **data, size_t *size,
                   char *err, size_t err_len);
void trace_unmap_file(const uint8_t *data, size_t size);

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

#endif
