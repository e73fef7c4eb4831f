/*
 * record.h - the recorder's internal interface (libmallard-record.so).
 *
 * Layers, top to bottom: shim.c (the exported malloc API: forward the
 * call, stamp it, hand it to a thread buffer), thread_buffer.c (per-thread
 * chunk buffers, no shared state on the hot path), session.c (the trace
 * file: header, writes, END), lifecycle.c (start, exit, _exit, fork,
 * fatal signals), exec.c (the exec family) and forward.c (finding the
 * next allocator without recursing into it).
 * The clock (session.c) is the TSC where the kernel itself trusts it,
 * else clock_gettime(CLOCK_MONOTONIC); see record_stamp() for when a
 * stamp may skip the ordering that the ordering rule needs.
 * Nothing here calls malloc: every byte the recorder needs comes from
 * mmap or static storage, so the traced heap is the program's alone.
 * The trace format is format/trace_format.h, whose encoders come from
 * the codec library (crc32c.c, chunk_write.c) and event_codec.h
 * (inlined): nothing of the format that allocates or links zstd.
 */
#ifndef MALLARD_RECORD_H
#define MALLARD_RECORD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#define RECORD_HAVE_TSC 1
#endif

#include "../format/trace_format.h"

#define RECORD_LIKELY(x) __builtin_expect(!!(x), 1)
#define RECORD_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* The shim's TLS is read on every call: initial-exec makes that one
 * %fs-relative load instead of a __tls_get_addr call (LD_PRELOADed
 * libraries get static TLS space, so this is always available). */
#define RECORD_TLS __thread __attribute__((tls_model("initial-exec")))

/* ---- forward.c ---- */
struct record_real {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
};
extern struct record_real record_real;
extern atomic_int record_resolved;         /* record_real is filled */
/* dlsym needs a few hundred bytes at most; 64 KiB leaves ample room. */
#define RECORD_BOOTSTRAP_BYTES (64 * 1024)
extern uint8_t record_bootstrap[RECORD_BOOTSTRAP_BYTES];

/* 0 once record_real is filled; -1 while a resolution is in progress on
 * this thread (dlsym asking for memory): serve it from the bootstrap. */
int record_resolve_slow(void);
void *record_bootstrap_alloc(size_t size);
size_t record_bootstrap_size(const void *p);

/* Inline: every intercepted call asks these two questions first. */
static inline int record_resolve(void)
{
    if (RECORD_LIKELY(atomic_load_explicit(&record_resolved,
                                           memory_order_acquire)))
        return 0;
    return record_resolve_slow();
}

static inline int record_is_bootstrap(const void *p)
{
    const uint8_t *b = p;
    return b >= record_bootstrap &&
           b < record_bootstrap + RECORD_BOOTSTRAP_BYTES;
}

/* ---- thread_buffer.c ---- */

/* Payload per chunk: 256 KiB is ~40,000 events per write() syscall,
 * and still only a few pages of RSS for a thread that allocates little
 * (the mapping is touched as it fills). */
#define RECORD_BUFFER_BYTES (256 * 1024)

struct record_thread {
    struct record_thread *next;   /* thread list or pool, under lock */
    uint64_t serial, tid, seq;
    atomic_flag busy;             /* held while this buffer is written */
    atomic_size_t used;           /* payload bytes, published */
    struct trace_codec_state codec;
    uint8_t *chunk;               /* chunk header, then the payload */
};

extern RECORD_TLS struct record_thread *record_tls_thread;
/* By value: the hot path then never needs the event in memory (with a
 * pointer, every call zeroed and stored it, and the encoder reloaded
 * its fields). */
void record_event_slow(struct trace_event event);

/* The hot path, inlined into each shim function so that the encoder
 * folds for its op kind: append to this thread's open chunk and publish
 * the new length (release: a closing flusher may read it). */
static inline __attribute__((always_inline))
void record_event(const struct trace_event *e)
{
    struct record_thread *t = record_tls_thread;
    if (RECORD_LIKELY(t != NULL)) {
        size_t used = atomic_load_explicit(&t->used, memory_order_relaxed);
        if (RECORD_LIKELY(used != 0 && RECORD_BUFFER_BYTES - used >=
                          TRACE_EVENT_MAX_BYTES + TRACE_EVENTS_PREAMBLE_MAX)) {
            uint8_t *payload = t->chunk + TRACE_CHUNK_HEADER_SIZE;
            uint8_t *p = trace_encode_event(payload + used, &t->codec, e);
            atomic_store_explicit(&t->used, (size_t)(p - payload),
                                  memory_order_release);
            return;
        }
    }
    record_event_slow(*e);
}
void record_thread_exit_mark(void);     /* the calling thread ends */
void record_flush_all(int from_signal); /* every thread's buffer */
void record_threads_after_fork(void);   /* child: only this thread */
void record_threads_lock(void);
void record_threads_unlock(void);
int record_threads_init(void);

/* ---- session.c ---- */
extern atomic_int record_active;    /* 1 while events are being written */
/* lifecycle.c: starts recording if it never was (the program's first
 * call, before our constructor); returns record_active. */
int record_start_lazily(void);
/* An ordered stamp of the trace clock: taken after every earlier load
 * of this thread is globally visible (rdtscp, or the vDSO's clock, which
 * orders its own TSC read the same way). */
uint64_t record_now(void);
extern int record_clock_tsc;        /* the trace clock is the TSC */

/* ---- stamp.c: when a stamp may skip the fence ---- */
/* Bumped whenever a thread takes its first stamp or exits after
 * stamping; starts at 1.  A thread that found itself the only stamping
 * thread remembers the epoch it saw in record_tls_alone_epoch (0: not
 * alone, or not on the TSC clock), and stays alone while they match. */
extern atomic_uint_fast64_t record_stamp_epoch;
extern RECORD_TLS uint_fast64_t record_tls_alone_epoch;
uint64_t record_stamp_slow(void);       /* ordered; rechecks aloneness */
void record_stamp_thread_exit(void);    /* the caller stamps no more */
void record_stamp_after_fork(void);     /* child: only this thread */

/*
 * The stamp of an event.  The ordering rule only matters between
 * threads: thread B must stamp its malloc (or free) of a block after the
 * load that handed B that block from thread A, so B's stamp must be
 * ordered after B's earlier loads (rdtscp; 18 ns here, the vDSO clock
 * 22 ns).  A's own stamp needs no fence: its stores that publish the
 * block commit after the stamp instruction retires.  So while a single
 * thread records there is nobody to hand it a block, and a bare rdtsc
 * (pipelined, a few ns) is exact enough.
 *
 * "Alone" is rechecked by one relaxed load per stamp.  A thread bumps
 * the epoch in its first stamp, before it can publish a block (a free's
 * stamp precedes the real free; a malloc's result is published after
 * it returns); the alone thread loads the epoch after the load that
 * gave it any such block, and x86 keeps loads in order, so it sees the
 * change and takes the ordered path.  A thread bumps it again as it
 * exits, after its last stamp: the survivor's next stamp is ordered
 * (stamp.c fences it) and only later ones go bare again.  Programs
 * whose helper threads come and go (sqlite3's sorter threads) thus
 * pay for fences only while a helper lives.
 */
static inline int record_stamp_alone(void)
{
    return record_tls_alone_epoch ==
           atomic_load_explicit(&record_stamp_epoch, memory_order_relaxed);
}

/*
 * A thread that stamps alone through a dense run of calls reads the
 * clock only every RECORD_CARRY_CALLS + 1 calls; the calls between carry
 * its last stamp (rdtsc costs 9 ns here, a tenth of a sqlite3 malloc
 * and free).  Dense: the last window of calls took under
 * record_dense_ticks (RECORD_DENSE_NS).  A carried stamp is early by at
 * most the time since the last read, which in a steady dense run is
 * under RECORD_DENSE_NS, well inside the 10 us unit finalised traces
 * keep; a pause that starts inside a window shows up to that many calls
 * late.  It never breaks the ordering rule: an early stamp on a release
 * is still before any other thread's acquisition, and an alone thread's
 * acquisitions come from no other live thread; the carry restarts at
 * every ordered stamp (record_stamp_slow), so no carried stamp predates
 * the moment the thread last became alone.
 */
#define RECORD_CARRY_CALLS 7u
#define RECORD_DENSE_NS 2000u
extern uint64_t record_dense_ticks;
extern RECORD_TLS uint64_t record_tls_last_stamp;
extern RECORD_TLS unsigned record_tls_carry;   /* calls left to carry */

static inline uint64_t record_stamp(void)
{
#ifdef RECORD_HAVE_TSC
    if (RECORD_LIKELY(record_stamp_alone())) {
        if (record_tls_carry) {
            record_tls_carry--;
            return record_tls_last_stamp;
        }
        uint64_t now = __rdtsc();
        if (now - record_tls_last_stamp < record_dense_ticks)
            record_tls_carry = RECORD_CARRY_CALLS;
        record_tls_last_stamp = now;
        return now;
    }
#endif
    return record_stamp_slow();
}

/* Appends bytes to the trace file in one write (O_APPEND keeps each
 * chunk whole among threads); on failure warns once and stops. */
void record_write(const void *bytes, size_t len);

#endif
