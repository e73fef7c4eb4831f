/*
 * run.h - the state of one run inside the child, shared by run.c (set
 * up, start, collect), worker.c (one recorded thread), edges.c (waiting
 * on dependency edges), sampler.c (RSS over time) and bump.c.
 *
 * Every table here lives in pre-faulted anonymous mappings made before
 * the timed region; nothing in the timed region allocates for the
 * harness, so the allocator under test sees only the trace's calls.
 * Per-thread data sits on its own cache lines: the only shared writes
 * in the timed region are each thread's progress counter, which other
 * threads read only when an edge points at it.
 */
#ifndef MALLARD_REPLAY_RUN_H
#define MALLARD_REPLAY_RUN_H

#include <pthread.h>
#include <stdatomic.h>

#include "engine.h"

#define RUN_CACHE_LINE 64  /* x86-64 and most arm64 cores */

/* How far one thread has got, and how to wake threads waiting on it. */
struct replay_progress {
    _Alignas(RUN_CACHE_LINE) _Atomic uint64_t done;  /* ops completed */
    _Atomic uint64_t wake_at;  /* least op a sleeper waits for, or max */
    _Atomic uint32_t word;     /* futex: bumped on each wake */
    _Atomic uint32_t waiters;  /* threads between checking and sleeping */
};

/* The allocator as the workers call it: libc's entry points or bump. */
struct replay_alloc_api {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    void (*free)(void *);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*usable_size)(void *);
};

struct replay_shared;

/* --allocator none (none.c): the block op j (of the whole image) makes
 * in instance i lives at base + i * instance_bytes + op_offset[j]. */
struct none_memory {
    char *base;
    const uint32_t *op_offset;   /* shared memory: the harness's */
    uint32_t *table;             /* op_offset when this run made it */
    uint64_t instance_bytes;
    void *map;
    uint64_t map_bytes, table_bytes;
};

/* peak.c: a window of one worker's ops, closed at a cycle-counter
 * reading after its first end_op ops.  Its live bytes lay between min
 * and max, end at the close: filled in after the run (peak_fill), from
 * the image's counts. */
struct peak_window {
    uint64_t end_cycles, end_op;
    int64_t max, min, end;
};

struct peak_log {
    struct peak_window *window;   /* shared memory, cap of them */
    uint32_t count, cap;
    uint64_t start_cycles;        /* the run's start */
};

/* Past this many windows in a worker's log, pairs merge */
#define PEAK_MAX_WINDOWS (1u << 22)

/* What one recorded thread's ops are, counted before the run: a worker
 * that completes its thread has performed exactly these. */
struct replay_plan {
    uint64_t kind_ops[REPLAY_KIND_SLOTS];
    uint64_t calls;      /* ops that call the allocator */
    uint64_t windows;    /* most windows its peak log can need */
};

struct replay_worker {
    _Alignas(RUN_CACHE_LINE) struct replay_shared *run;
    uint32_t thread, instance;
    const struct replay_packed_op *ops;
    const struct replay_op_extra *extras;  /* this thread's, in order */
    const uint64_t *times;              /* recorded time of each op */
    uint64_t op_count;
    uint64_t next_extra;                /* cursor into extras */
    struct replay_progress *progress;   /* this instance's, by thread */
    /* this instance's slot table: each slot's block, and (--verify
     * only, the one reader) its size; 8 bytes a slot otherwise */
    void **block_ptr;
    uint64_t *block_size;
    struct replay_latency *latency;     /* [REPLAY_KIND_SLOTS] */
    const struct replay_plan *plan;     /* this thread's counts */
    /* this thread's live bytes after each of its ops (the image's):
     * read after the run and by the sampler, never per op */
    const int64_t *live_after;
    _Atomic uint64_t live_ops;   /* ops done, published for the sampler
                                    at each window's end */
    struct peak_log peak;    /* closed windows (peak.c) */
    uint64_t wait_cycles, waits, calls, ops_done;
    uint64_t end_ns;         /* CLOCK_MONOTONIC when its last op ended */
    uint64_t kind_ops[REPLAY_KIND_SLOTS];   /* ops performed, by kind */
    uint64_t until_timed;    /* calls until the next timed one */
    uint64_t rng;            /* xorshift state for the timing gaps */
    pthread_t tid;
    /* copies of the run's settings, read on every op without chasing
     * run->opt */
    const struct replay_alloc_api *api;
    char *none_base;         /* --allocator none: this instance's */
    const uint32_t *none_offset;   /* by op of this thread */
    enum replay_touch touch;
    int verify, paced;
    uint32_t latency_every;
    uint64_t timer_overhead;   /* cycles a timed nothing measures */
};

struct replay_shared {
    const struct replay_image *image;
    const struct replay_options *opt;
    const struct replay_alloc_api *api;
    struct none_memory none;       /* base NULL unless --allocator none */
    struct replay_worker *workers;
    uint32_t worker_count;
    _Atomic uint32_t start_word;   /* futex: 0 until the timed start */
    _Atomic uint32_t stop_sampler;
    _Atomic int failed;            /* first failure wins the message */
    /* read by every thread on every op: a line of its own, away from
     * what the sampler and the failing thread write */
    _Alignas(RUN_CACHE_LINE) _Atomic int abort;
    _Alignas(RUN_CACHE_LINE) enum replay_status status;
    char message[REPLAY_MSG_LEN];
    uint64_t start_ns;             /* CLOCK_MONOTONIC at the start */
    uint64_t timer_overhead;       /* see cycles_overhead() */
    struct replay_sample *samples;
    uint32_t sample_count;
    int statm_fd;
};

/* edges.c */
void edges_wake_waiters(struct replay_progress *p, uint64_t done);

/*
 * Publishes that a thread has completed `done` ops, when op done-1 is
 * one that an edge points at: threads wait only on such ops (slots.c
 * marks every one), so the others need not be published.  Inline: it
 * runs after every op; publishing them all cost a store per op and
 * moved the line to any thread spinning on it.  Only targets pay for
 * the store, the fence and the check for sleeping waiters.
 */
static inline void edges_publish(struct replay_progress *p, uint64_t done,
                                 int is_target)
{
    if (!is_target)
        return;
    atomic_store_explicit(&p->done, done, memory_order_release);
    edges_wake_waiters(p, done);
}
/* Waits until p->done > op or the run aborts; returns cycles waited. */
uint64_t edges_wait(struct replay_shared *run, struct replay_progress *p,
                    uint64_t op);
void edges_wait_start(struct replay_shared *run);
void edges_release_start(struct replay_shared *run);
/* Records the first failure and wakes every waiting thread. */
void edges_abort(struct replay_shared *run, enum replay_status status,
                 const char *message);

/* worker.c */
void *worker_main(void *arg);

/* The worker's live bytes once it has done `ops` ops. */
static inline int64_t worker_live_at(const struct replay_worker *w,
                                     uint64_t ops)
{
    return ops ? w->live_after[ops - 1] : 0;
}

/* peak.c: appends a window ending after end_op ops (merging pairs
 * when the log is full) */
void peak_close(struct peak_log *log, uint64_t cycles, uint64_t end_op);
/* After the run: each window's counts, from the worker's thread's ops,
 * extras and live bytes after each op (the image's) */
void peak_fill(struct peak_log *log, const struct replay_packed_op *ops,
               const struct replay_op_extra *extras, const int64_t *live);
/* Bounds of the peak of the n workers' summed live bytes over the run;
 * equal for one worker.  -1 when a log is missing. */
int peak_bounds(const struct replay_worker *workers, uint32_t n,
                int64_t *low, int64_t *high);

/* sampler.c */
void *sampler_main(void *arg);
uint64_t sampler_rss_bytes(int statm_fd, uint64_t *anon_bytes);
uint64_t sampler_peak_rss_bytes(uint64_t *peak_anon);

/* none.c: 0, or -1 when the blocks need too much memory; by_slot: the
 * layout in which live blocks never share bytes (--verify) */
int none_setup(struct none_memory *m, const struct replay_image *image,
               uint32_t instances, int by_slot);
void none_teardown(struct none_memory *m);
void *none_finish_call(void *p, unsigned kind, uint64_t bytes, void *old,
                       uint64_t old_size);

/* bump.c */
const struct replay_alloc_api *bump_api(void);
const struct replay_alloc_api *libc_api(void);

#endif
