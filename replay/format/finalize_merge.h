/*
 * finalize_merge.h - the finaliser's core, shared by its files:
 * finalize.c (what one merge step does to blocks, slots and edges),
 * finalize_merge.c (the stamp-ordered merge and the output layout) and
 * the two places its ops go: an in-memory struct trace (trace_finalize)
 * or, chunk by chunk, a finalised file (final_stream.c).
 *
 * Ops leave the merge one at a time through a sink, each thread's in
 * its output order, already laid out: the thread opens with
 * THREAD_START, ends with one THREAD_EXIT if it exited, dropped frees
 * are gone, and edges name output indices.  Nothing holds every op, so
 * writing a file needs memory for its chunks, not for the whole trace.
 */
#ifndef MALLARD_FINALIZE_MERGE_H
#define MALLARD_FINALIZE_MERGE_H

#include "addr_map.h"
#include "trace_format.h"

/* Receives thread `thread`'s next output op; 0, or -1 to stop.  The
 * op's time_ns is still the recorder's stamp: the sink turns it into
 * nanoseconds (fin_stamp_ns), so a sink with a thread of its own takes
 * that work off the merge. */
struct fin_sink {
    int (*put)(void *ctx, uint32_t thread, const struct trace_op *op);
    void *ctx;
};

/* A merge step's order: stamp (high 64 bits), phase, thread index. */
typedef unsigned __int128 fin_key_t;

struct fin_thread {
    const struct trace_raw_thread *raw;
    struct trace_op cur;      /* the op of event `next`, being built */
    int cur_dropped;          /* cur leaves the output (dropped free) */
    uint32_t *free_slots;     /* this thread's reusable slot ids */
    size_t free_count, free_cap;
    size_t next;              /* merge cursor: event index ... */
    int part;                 /* ... and part (1: a realloc's acquire) */
    fin_key_t key;            /* the cursor's step: stamp, phase, thread */
    uint32_t emitted;         /* ops output so far = cur's output index */
    int have_exit;            /* an exit mark was seen: exit_op ... */
    struct trace_op exit_op;  /* ... is output last, after TLS frees */
    uint64_t last_stamp;      /* stamp of the last op output */
};

struct fin_ctx {
    struct fin_thread *threads;
    uint32_t thread_count;
    struct addr_map map;
    uint32_t slot_count;
    uint64_t live_bytes, peak_live_bytes;
    struct trace_finalize_report report;
    fin_key_t *heap;          /* min-heap of the live threads' keys */
    size_t heap_len;
    struct fin_sink sink;
};

/* A stamp as nanoseconds after the trace's start (0 if earlier). */
static inline uint64_t fin_stamp_ns(const struct trace_header_info *h,
                                    uint64_t stamp)
{
    return trace_clock_ns(h, h->start_clock_ns, stamp);
}

int fin_apply(struct fin_ctx *f, uint32_t ti, int part);

/* Runs the whole merge of raw into sink; 0 or -1 (out of memory or the
 * sink's failure).  f is torn down by fin_done, success or not. */
int fin_run(struct fin_ctx *f, const struct trace_raw *raw,
            struct fin_sink sink);
void fin_done(struct fin_ctx *f);
/* The trace-wide fields of out (all but threads) after fin_run. */
void fin_summary(const struct fin_ctx *f, const struct trace_raw *raw,
                 struct trace *out);

#endif
