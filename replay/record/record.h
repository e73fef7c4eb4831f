/*
 * record.h - the recorder's internal interface (libmallard-record.so).
 *
 * Layers, top to bottom: shim.c (the exported malloc API: forward the
 * call, stamp it, hand it to a thread buffer), thread_buffer.c (per-thread
 * chunk buffers, no shared state on the hot path), session.c (the trace
 * file: header, writes, END), lifecycle.c (start, exit, _exit, fork,
 * fatal signals), exec.c (the exec family) and forward.c (finding the
 * next allocator without recursing into it).
 * The clock is clock_gettime(CLOCK_MONOTONIC) through the vDSO (about
 * 22 ns here): a bare rdtsc is cheaper but unordered with the loads and
 * stores around it, which the ordering rule needs; rdtscp measured 38 ns.
 * Nothing here calls malloc: every byte the recorder needs comes from
 * mmap or static storage, so the traced heap is the program's alone.
 */
#ifndef MALLARD_RECORD_H
#define MALLARD_RECORD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../format/event_codec.h"

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
/* Serial, tid, sequence and base time: four full varints at most. */
#define RECORD_PREAMBLE_MAX (4 * TRACE_VARINT_MAX)

struct record_thread {
    struct record_thread *next;   /* thread list or pool, under lock */
    uint64_t serial, tid, seq;
    atomic_flag busy;             /* held while this buffer is written */
    atomic_size_t used;           /* payload bytes, published */
    struct trace_codec_state codec;
    uint8_t *chunk;               /* chunk header, then the payload */
};

extern RECORD_TLS struct record_thread *record_tls_thread;
void record_event_slow(const struct trace_event *e);

/* The hot path, inlined into each shim function so that the encoder
 * folds for its op kind: append to this thread's open chunk and publish
 * the new length (release: a closing flusher may read it). */
static inline void record_event(const struct trace_event *e)
{
    struct record_thread *t = record_tls_thread;
    if (RECORD_LIKELY(t != NULL)) {
        size_t used = atomic_load_explicit(&t->used, memory_order_relaxed);
        if (RECORD_LIKELY(used != 0 && RECORD_BUFFER_BYTES - used >=
                          TRACE_EVENT_MAX_BYTES + RECORD_PREAMBLE_MAX)) {
            uint8_t *payload = t->chunk + TRACE_CHUNK_HEADER_SIZE;
            uint8_t *p = trace_encode_event(payload + used, &t->codec, e);
            atomic_store_explicit(&t->used, (size_t)(p - payload),
                                  memory_order_release);
            return;
        }
    }
    record_event_slow(e);
}
void record_thread_exit_mark(void);     /* the calling thread ends */
void record_flush_all(int from_signal); /* every thread's buffer */
void record_threads_after_fork(void);   /* child: only this thread */
void record_threads_lock(void);
void record_threads_unlock(void);
int record_threads_init(void);

/* ---- session.c ---- */
extern atomic_int record_active;    /* 1 while events are being written */
uint64_t record_now(void);          /* the trace clock, ns */
/* Appends bytes to the trace file in one write (O_APPEND keeps each
 * chunk whole among threads); on failure warns once and stops. */
void record_write(const void *bytes, size_t len);

#endif
