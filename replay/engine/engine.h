/*
 * engine.h - the replay engine's contract, shared by the files of
 * replay/engine/ and its tests; compare/ includes it for the allocator
 * resolution (replay_allocator_resolve) and the result's fields, so
 * that compare and replay cannot disagree on either.
 *
 * The engine is split along one process boundary:
 *  - the parent (a plain glibc process) parses options, loads the trace,
 *    flattens it into a "replay image" (one mmap'd block: options, thread
 *    table, ops, times; image.c, checked and renamed by slots.c) and
 *    starts one child per run with the allocator under test in
 *    LD_PRELOAD (session.c, launch.c);
 *  - the child maps the image, performs the ops on one OS thread per
 *    recorded thread (run.c, worker.c) and sends a fixed-size result plus
 *    its RSS samples back through a pipe.
 * The parent alone formats output, so a crashing allocator takes down
 * only the child, and the parent reports its signal.
 */
#ifndef MALLARD_REPLAY_ENGINE_H
#define MALLARD_REPLAY_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace.h"

/* Op kinds are small (enum trace_op_kind); tables are indexed by kind. */
#define REPLAY_KIND_SLOTS 16
/* Log buckets: 8 exact, then 4 per power of two up to 2^63 cycles. */
#define REPLAY_HIST_BUCKETS 256
/* RSS samples kept per run; the sampler halves its rate when full. */
#define REPLAY_MAX_SAMPLES 4096
#define REPLAY_MSG_LEN 256
/*
 * --latency-every by default: a pair of cycle counter reads costs ~18 ns
 * on the machines here (rdtsc: 8.6-9.1 ns each), and a timed call ~40
 * ns in all (the loop leaves its run of plain ops for it), many times a
 * cached malloc; timing every call made the harness most of a
 * malloc-bound replay (larson, 602k ops, none: 15.3 ms timed
 * throughout, 1.2 ms untimed).  One call in 128 (at random) adds ~0.3
 * ns an op and still times ~8k calls of a million-op trace; one in 64
 * added a fifth to sqlite's none replay (2.4 -> 2.7 ms, 2026-12-07).
 */
#define REPLAY_LATENCY_EVERY_DEFAULT 128
/* --passes: each run's process replays this many times at most. */
#define REPLAY_MAX_PASSES 16
#define REPLAY_STR_(x) #x
#define REPLAY_STR(x) REPLAY_STR_(x)
#define REPLAY_PATH_LEN 512

/* --touch pages writes one byte a page: a block of 1 to this many bytes
 * takes one write, which the image tells apart (REPLAY_PLAIN_MALLOC). */
#define REPLAY_PAGE_BYTES 4096u

enum replay_touch {
    REPLAY_TOUCH_NONE,   /* never write a block */
    REPLAY_TOUCH_FIRST,  /* write its first byte */
    REPLAY_TOUCH_PAGES,  /* one write per page, like a program using it */
    REPLAY_TOUCH_ALL,    /* write every byte */
};

enum replay_timing { REPLAY_TIMING_ASAP, REPLAY_TIMING_RECORDED };
enum replay_format { REPLAY_OUT_TABLE, REPLAY_OUT_JSON, REPLAY_OUT_CSV };

/* What the user asked for; copied verbatim into the image. */
struct replay_options {
    char trace_path[REPLAY_PATH_LEN];
    char allocator[REPLAY_PATH_LEN];   /* name or path as given */
    char library[REPLAY_PATH_LEN];     /* resolved .so, "" for glibc/none */
    char rss_csv[REPLAY_PATH_LEN];     /* RSS timeline file, "" = none */
    int bump;                          /* --allocator none */
    int runs;
    int instances;
    int verify;
    int latency_every;                 /* time one call in this many */
    int passes;                        /* replays per run; median kept */
    int timeout_s;                     /* kill a run after this, 0: no */
    int max_lead_us;                   /* pacing.c; 0: threads unpaced */
    enum replay_touch touch;
    enum replay_timing timing;
    enum replay_format format;
};

/*
 * An op as the image is built (slots.c checks and renames these): a
 * trace_op less its time, plus what the parent precomputed.  Packed into
 * replay_packed_op for the run.
 */
#define REPLAY_OP_IS_DEP_TARGET 1u  /* another thread waits on this op */
/* malloc_usable_size of another thread's block whose free is not on
 * the asking thread: counted, not called, since nothing orders it
 * before that free in the replay (slots.c); the packed form also marks
 * thread start and exit so */
#define REPLAY_OP_NO_CALL 2u
/* packed form only: the op has a replay_op_extra (see below) */
#define REPLAY_OP_EXTRA 4u
/* a window of the peak's log ends before this op: the thread's ops
 * since the last such mark moved PEAK_WINDOW_BYTES with it (slots.c,
 * peak.c) */
#define REPLAY_OP_CLOSE_BEFORE 8u
/* A window closes once its ops have moved this many bytes (allocated
 * plus freed), and an op of this many or more closes one before it. */
#define PEAK_WINDOW_BYTES (32u << 10)
struct replay_op {
    int64_t live_after; /* the thread's live bytes after it (slots.c) */
    uint64_t size;
    uint32_t slot;
    uint32_t old_slot;
    uint32_t dep_thread;
    uint32_t dep_op;
    uint32_t arg;       /* calloc/reallocarray count or alignment */
    uint8_t kind;
    uint8_t flags;
};

/*
 * The op stream a worker reads, 16 bytes an op: the stream is the
 * harness's main memory traffic (half of the 32-byte form it replaced).
 * What most ops lack (a dependency edge, a count or alignment, a size
 * of 2^32-1 or more) sits in the thread's extras stream, one entry per
 * op flagged REPLAY_OP_EXTRA, read in order by a cursor.
 */
#define REPLAY_SIZE_IN_EXTRA UINT32_MAX
/* What the fast loop does with an op, decided when the image is built
 * (worker.c): a plain call, or REPLAY_PLAIN_NOT (the general step). */
enum replay_plain {
    REPLAY_PLAIN_NOT,
    REPLAY_PLAIN_MALLOC,        /* of 1 to REPLAY_PAGE_BYTES bytes */
    REPLAY_PLAIN_FREE,
    REPLAY_PLAIN_REALLOC, REPLAY_PLAIN_CALLOC,
    REPLAY_PLAIN_FREE_NULL,     /* free(NULL) */
    REPLAY_PLAIN_REALLOC_NEW,   /* realloc(NULL, n) */
    REPLAY_PLAIN_USABLE,        /* malloc_usable_size of a live block */
    REPLAY_PLAIN_MALLOC_RARE,   /* of no bytes, or of more than a page */
};
/* Or'ed into a plain op's byte when it also closes a window before it
 * or another thread waits on it: the loop's switch sends it aside. */
#define REPLAY_PLAIN_MARKED 0x80u

struct replay_packed_op {
    uint32_t slot;      /* new block's slot, TRACE_NO_SLOT if none */
    uint32_t old_slot;  /* block freed, moved or asked about */
    uint32_t size;      /* REPLAY_SIZE_IN_EXTRA: see the extra */
    uint8_t kind;
    uint8_t flags;
    uint8_t plain;      /* enum replay_plain */
    uint8_t spare;
};

struct replay_op_extra {
    uint64_t size;
    uint32_t dep_thread;   /* TRACE_NO_DEP if none */
    uint32_t dep_op;
    uint32_t arg;
    uint32_t spare;
};

struct replay_thread_desc {
    uint64_t first_op;     /* index into the image's op array */
    uint64_t op_count;
    uint64_t first_extra;  /* index into the image's extras */
};

/* The image: header, thread_count descs, total_ops packed ops, from
 * extras_offset the extras, from none_offset (--allocator none without
 * --verify) none's layout, a 32-bit offset per op (none_pack.c), then
 * from times_offset (page-aligned) one recorded time (ns) per op, then
 * from live_offset the op's thread's live bytes after it, per op: the
 * replay counts nothing while it runs (peak.c). */
struct replay_image {
    uint64_t magic;
    uint64_t bytes;                 /* size of the whole mapping */
    uint64_t extras_offset;
    uint64_t none_offset;           /* 0: no layout in the image */
    uint64_t none_bytes;            /* its size; UINT64_MAX: too big */
    uint64_t times_offset;
    uint64_t live_offset;
    struct replay_options options;
    uint32_t thread_count;
    uint32_t slot_count;
    uint64_t total_ops;
    uint64_t total_extras;
    uint64_t peak_live_bytes;       /* recorded ideal peak */
    uint64_t final_live_bytes;      /* requested bytes never freed */
    uint64_t kind_counts[REPLAY_KIND_SLOTS];
    /* malloc_usable_size asked by another thread than the one that
     * holds the block: recorded, not replayed (nothing orders the call
     * before the holder's free, so it could land on a freed block). */
    uint64_t usable_size_not_called;
    /* Dependency edges: the trace's (a block's release or question on
     * another thread than its allocation's: the program's own order)
     * and those the replay adds (a slot borrowed from another thread's
     * free, slots.c; --max-lead's pacing, pacing.c). */
    uint64_t trace_edges, added_edges;
};

struct replay_image *replay_image_build(const struct trace *trace,
                                        const struct replay_options *opt,
                                        int shared_fd_wanted, int *fd_out,
                                        char *err, size_t err_len);
struct replay_image *replay_image_map(int fd, char *err, size_t err_len);
void replay_image_unmap(struct replay_image *image);
const struct replay_thread_desc *replay_image_threads(
    const struct replay_image *image);
const struct replay_packed_op *replay_image_ops(
    const struct replay_image *image);
const struct replay_op_extra *replay_image_extras(
    const struct replay_image *image);
const uint64_t *replay_image_times(const struct replay_image *image);
const int64_t *replay_image_live(const struct replay_image *image);
/* none's layout, or NULL when the image has none */
const uint32_t *replay_image_none(const struct replay_image *image);

enum replay_status {
    REPLAY_OK = 0,
    REPLAY_ALLOC_NULL,     /* allocator returned NULL for a real request */
    REPLAY_CORRUPTION,     /* --verify found a block changed under us */
    REPLAY_SETUP_FAILED,   /* harness could not start (mmap, threads) */
    REPLAY_WRONG_LIBRARY,  /* malloc did not resolve into the library */
    REPLAY_CRASHED,        /* child died by a signal (parent's verdict) */
    REPLAY_EXITED,         /* child exited without a result */
    REPLAY_TIMED_OUT,      /* child killed after --timeout */
};

struct replay_latency {
    uint64_t count;
    uint64_t sum_cycles;
    uint64_t max_cycles;
    uint64_t buckets[REPLAY_HIST_BUCKETS];
};

struct replay_sample {
    uint64_t time_ns;      /* since the start of the timed region */
    uint64_t rss_bytes;    /* all resident memory */
    uint64_t anon_bytes;   /* anonymous resident: the allocator's */
    int64_t live_bytes;    /* requested bytes live (ideal) */
};

/* One run's measurements; fixed size so it crosses a pipe as bytes. */
struct replay_result {
    enum replay_status status;
    int signal;                          /* for REPLAY_CRASHED */
    char message[REPLAY_MSG_LEN];
    char library_resolved[REPLAY_PATH_LEN]; /* where malloc lives */
    double cycles_per_ns;
    uint64_t timer_overhead_cycles;      /* subtracted from each sample */
    uint64_t wall_ns, user_ns, sys_ns;
    uint64_t ops;                        /* all ops performed */
    uint64_t calls;                      /* allocator calls among them */
    uint64_t kind_ops[REPLAY_KIND_SLOTS];  /* ops performed, by kind */
    uint64_t baseline_rss_bytes;         /* RSS before the timed region */
    uint64_t peak_rss_bytes;             /* VmHWM after the run */
    /* Anonymous resident memory, the allocator's (the harness keeps
     * its own in shared memory, which RSS counts apart: sampler.c) */
    uint64_t baseline_anon_bytes;        /* before the timed region */
    uint64_t peak_anon_bytes;            /* at the run's peak */
    uint64_t peak_live_bytes;            /* recorded ideal peak x K */
    int64_t sampled_peak_live_bytes;
    int64_t final_live_bytes;            /* counted live at the end */
    /* The replay's own peak of live bytes lies in [low, high] (peak.c:
     * equal for one thread, a few KiB apart for several), -1 if not
     * known; exact is that peak where low == high, else -1 */
    int64_t replay_peak_live_low, replay_peak_live_high;
    int64_t exact_peak_live_bytes;
    uint64_t minor_faults, major_faults;
    uint64_t edge_wait_ns, edge_waits;
    uint32_t threads, instances;
    uint32_t sample_count;
    struct replay_latency latency[REPLAY_KIND_SLOTS];
};

/*
 * Child side: performs one run in this process (tests call it directly).
 * samples, if not NULL, receives up to REPLAY_MAX_SAMPLES RSS samples.
 */
int replay_run(const struct replay_image *image, struct replay_result *res,
               struct replay_sample *samples);

/*
 * Parent side: starts one child per run (options.runs, stopping after
 * the first that fails); returns how many runs it made.  results[] and
 * samples[] (each REPLAY_MAX_SAMPLES long) have options.runs entries.
 */
int replay_launch(const struct replay_image *image, int image_fd,
                  struct replay_result *results,
                  struct replay_sample **samples);
/*
 * Child entry: in a replay child (marked by its environment) performs
 * the run and exits; elsewhere returns 0 at once.
 */
int replay_child_main(void);
/* Parent: a whole replay of a loaded trace; returns the exit status. */
int replay_session(const struct trace *trace,
                   const struct replay_options *opt);

/*
 * The allocators known by name, the one table (allocator.c): compare's
 * default list and its meta.txt versions, and `mallard replay
 * --list-allocators` for scripts, all read it.  library is the file to
 * preload ("" for glibc: none; "mallard": beside the executable),
 * package the Debian package that provides it ("" if none).
 */
struct replay_allocator_known {
    const char *name, *library, *package;
};
const struct replay_allocator_known *replay_allocators_known(size_t *n);

/* Allocator names: resolve into options->library, or explain in err. */
int replay_allocator_resolve(struct replay_options *opt, char *err,
                             size_t err_len);
/* In the child: check malloc resolves into the expected library. */
int replay_allocator_check(const struct replay_options *opt,
                           char *resolved, size_t resolved_len,
                           char *err, size_t err_len);

int replay_options_parse(int argc, char **argv, struct replay_options *opt,
                         char *err, size_t err_len);
void replay_options_usage(FILE *out);
/*
 * A replay front end's first steps: parse argv into *opt (printing the
 * usage for --help) and resolve the allocator, errors to stderr after
 * "who: ".  Returns -1 to go on, else the exit status to return.
 */
int replay_options_start(int argc, char **argv, const char *who,
                         struct replay_options *opt);

/* "malloc", "free", ... for any kind; "unknown" otherwise. */
const char *replay_kind_name(unsigned kind);

void replay_report(FILE *out, const struct replay_image *image,
                   const struct replay_result *results, int runs);
int replay_write_timeline(const char *path,
                          const struct replay_result *results,
                          struct replay_sample *const *samples, int runs);

#endif
