/*
 * trace.h - the replay-ready (finalised) form of a trace, in memory.
 *
 * This header is the vocabulary the trace format module (which reads,
 * validates and finalises trace files: format/trace_format.h) shares
 * with its users: the replayer, `mallard trace`, and the tests.  Only
 * the format module knows the bytes on disk; everyone else sees the
 * structures below (the replayer's engine, past its one trace_load()
 * in cmd_replay.c, needs nothing more).
 *
 * Invariants of a finalised trace (trace_load() guarantees them):
 *  - Blocks are named by dense slot ids in [0, slot_count); a slot is
 *    reused only after the block it held was freed, so at most slot_count
 *    blocks are live at once.
 *  - Each recorded thread has its own op array, in the order that thread
 *    made the calls.
 *  - An op that frees or reallocs a block allocated on another thread
 *    carries a dependency edge (dep_thread, dep_op): it may run only after
 *    thread dep_thread has completed its op number dep_op.  A thread start
 *    may carry one too.  There is no other cross-thread ordering.
 */
#ifndef MALLARD_TRACE_H
#define MALLARD_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_NO_SLOT UINT32_MAX   /* no block: NULL result, free(NULL) */
#define TRACE_NO_DEP UINT32_MAX    /* op waits on no other thread */

/* What a recorded op was.  Values are stable: they appear in dumps. */
enum trace_op_kind {
    TRACE_MALLOC = 1,        /* slot = malloc(size) */
    TRACE_CALLOC = 2,        /* slot = calloc(arg, size) */
    TRACE_REALLOC = 3,       /* slot = realloc(old_slot, size) */
    TRACE_REALLOCARRAY = 4,  /* slot = reallocarray(old_slot, arg, size) */
    TRACE_FREE = 5,          /* free(old_slot) */
    TRACE_POSIX_MEMALIGN = 6,/* posix_memalign(&slot, arg, size) */
    TRACE_ALIGNED_ALLOC = 7, /* slot = aligned_alloc(arg, size) */
    TRACE_MEMALIGN = 8,      /* slot = memalign(arg, size) */
    TRACE_VALLOC = 9,        /* slot = valloc(size) */
    TRACE_PVALLOC = 10,      /* slot = pvalloc(size) */
    TRACE_USABLE_SIZE = 11,  /* malloc_usable_size(old_slot) */
    TRACE_THREAD_START = 12, /* first op of every thread */
    TRACE_THREAD_EXIT = 13,  /* last op of a thread that exited */
};

/* One recorded call, as the replayer performs it. */
struct trace_op {
    uint64_t time_ns;   /* when the call began, ns after trace start */
    uint64_t size;      /* requested size (per element for calloc) */
    uint64_t arg;       /* element count (calloc, reallocarray) or
                           alignment (memalign family); else 0 */
    uint32_t slot;      /* slot of the resulting block, or TRACE_NO_SLOT */
    uint32_t old_slot;  /* slot freed, realloc'd or queried, or
                           TRACE_NO_SLOT */
    uint32_t dep_thread;/* thread index to wait for, or TRACE_NO_DEP */
    uint32_t dep_op;    /* ... until it has completed this op index */
    uint8_t kind;       /* enum trace_op_kind */
};

struct trace_thread {
    uint64_t tid;             /* recorded kernel thread id */
    struct trace_op *ops;
    uint64_t op_count;
};

struct trace {
    char *command_line;       /* as recorded, arguments space-separated */
    uint64_t pid;
    uint64_t start_unix_ns;   /* wall clock at recording start */
    uint64_t duration_ns;
    uint32_t slot_count;      /* most blocks live at once */
    uint32_t thread_count;
    struct trace_thread *threads;
    uint64_t peak_live_bytes; /* most requested bytes live at once */
    uint64_t dropped_frees;   /* frees of blocks from before recording */
    uint64_t time_unit_ns;    /* op times are multiples of it (a
                                 finalised trace's unit; 1 for the
                                 recorder's own file) */
    int truncated;            /* recording ended abnormally */
};

/* Frees what a trace owns (trace.c); the loader's traces, the
 * finaliser's and the slicer's are all freed this way. */
void trace_free(struct trace *trace);

/* Name of an op kind for dumps and reports ("malloc", "free", ...). */
const char *trace_op_name(unsigned kind);

#endif
