/*
 * thread_buffer.c - one chunk buffer per recording thread.
 *
 * Hot path (record_event, inlined from record.h): encode the event into
 * the calling thread's own buffer and publish the new length with a
 * release store (a plain store on x86).
 * No shared cache line is written, no lock is taken.  A full buffer is
 * sealed as one EVENTS chunk and written with a single write() (see
 * record_write); the owner holds the buffer's `busy` flag only for that.
 *
 * Other parties touch a buffer only when recording ends (exit, fatal
 * signal, exec): they first clear record_active, which turns the owners'
 * own flushes into no-ops, then take `busy` and write each buffer up to
 * its published length.  So no event is written twice and every written
 * event is whole.  The thread list is locked only at thread start/exit.
 *
 * Thread exit: a pthread key destructor re-arms itself for a few rounds
 * (other destructors free memory too), then writes THREAD_EXIT.  Events
 * after that (rare) go out one per chunk from the stack.
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "record.h"

/* Key destructor rounds before the exit mark; glibc runs at most
 * PTHREAD_DESTRUCTOR_ITERATIONS (4) rounds, so 3 re-arms fit. */
#define RECORD_EXIT_ROUNDS 3
#define RECORD_CACHE_LINE 64

static struct record_thread *threads_live;
static struct record_thread *threads_pool;
static atomic_flag threads_guard = ATOMIC_FLAG_INIT;
static atomic_uint_fast64_t threads_next_serial;
static pthread_key_t threads_exit_key;

RECORD_TLS struct record_thread *record_tls_thread;
static RECORD_TLS int tls_exit_rounds;
static RECORD_TLS int tls_finished;
static RECORD_TLS uint64_t tls_serial, tls_tid, tls_seq;

static void spin_lock(atomic_flag *f)
{
    while (atomic_flag_test_and_set_explicit(f, memory_order_acquire))
        sched_yield();
}

static void spin_unlock(atomic_flag *f)
{
    atomic_flag_clear_explicit(f, memory_order_release);
}

void record_threads_lock(void)
{
    spin_lock(&threads_guard);
}

void record_threads_unlock(void)
{
    spin_unlock(&threads_guard);
}

/* Caller holds t->busy.  `force`: recording is closing (see above). */
static int flush_locked(struct record_thread *t, int force)
{
    if (!force && !atomic_load(&record_active))
        return -1;
    size_t used = atomic_load_explicit(&t->used, memory_order_acquire);
    if (used > 0) {
        trace_seal_chunk(t->chunk, TRACE_CHUNK_EVENTS, 0, used, used);
        record_write(t->chunk, TRACE_CHUNK_HEADER_SIZE + used);
        t->seq++;
    }
    atomic_store_explicit(&t->used, 0, memory_order_relaxed);
    return 0;
}

static int flush_own(struct record_thread *t)
{
    spin_lock(&t->busy);
    int rc = flush_locked(t, 0);
    spin_unlock(&t->busy);
    return rc;
}

static void append(struct record_thread *t, const struct trace_event *e)
{
    size_t used = atomic_load_explicit(&t->used, memory_order_relaxed);
    if (RECORD_UNLIKELY(RECORD_BUFFER_BYTES - used <
                        TRACE_EVENT_MAX_BYTES + TRACE_EVENTS_PREAMBLE_MAX)) {
        if (flush_own(t) < 0)
            return;
        used = 0;
    }
    uint8_t *payload = t->chunk + TRACE_CHUNK_HEADER_SIZE;
    uint8_t *p = payload + used;
    if (used == 0) {
        p = trace_put_events_preamble(p, t->serial, t->tid, t->seq, e->time);
        t->codec.prev_time = e->time;
        t->codec.prev_ptr = 0;
    }
    p = trace_encode_event(p, &t->codec, e);
    atomic_store_explicit(&t->used, (size_t)(p - payload),
                          memory_order_release);
}

static struct record_thread *buffer_take(void)
{
    record_threads_lock();
    struct record_thread *t = threads_pool;
    if (t)
        threads_pool = t->next;
    record_threads_unlock();
    if (t)
        return t;
    size_t head = (sizeof(*t) + RECORD_CACHE_LINE - 1) &
                  ~(size_t)(RECORD_CACHE_LINE - 1);
    void *m = mmap(NULL, head + TRACE_CHUNK_HEADER_SIZE + RECORD_BUFFER_BYTES,
                   PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                   0);
    if (m == MAP_FAILED)
        return NULL;
    t = m;
    t->chunk = (uint8_t *)m + head;
    return t;
}

/* First event of a thread: a buffer, a serial, a THREAD_START. */
static struct record_thread *thread_begin(uint64_t now)
{
    struct record_thread *t = buffer_take();
    if (!t)
        return NULL;
    t->serial = atomic_fetch_add(&threads_next_serial, 1);
    t->tid = (uint64_t)gettid();
    t->seq = 0;
    atomic_flag_clear(&t->busy);
    atomic_store(&t->used, 0);
    record_threads_lock();
    t->next = threads_live;
    threads_live = t;
    record_threads_unlock();
    record_tls_thread = t;
    pthread_setspecific(threads_exit_key, t);
    struct trace_event start = { .time = now, .kind = TRACE_THREAD_START };
    append(t, &start);
    return t;
}

/* After the exit mark: one event, one chunk, written from the stack.
 * Once recording has closed (process exit) such events are not kept. */
static void late_event(const struct trace_event *e)
{
    if (!atomic_load(&record_active))
        return;
    uint8_t chunk[TRACE_CHUNK_HEADER_SIZE + TRACE_EVENTS_PREAMBLE_MAX +
                  TRACE_EVENT_MAX_BYTES];
    uint8_t *payload = chunk + TRACE_CHUNK_HEADER_SIZE;
    struct trace_codec_state codec = { e->time, 0 };
    uint8_t *p = trace_put_events_preamble(payload, tls_serial, tls_tid,
                                           tls_seq, e->time);
    p = trace_encode_event(p, &codec, e);
    size_t len = (size_t)(p - payload);
    trace_seal_chunk(chunk, TRACE_CHUNK_EVENTS, 0, len, len);
    record_write(chunk, TRACE_CHUNK_HEADER_SIZE + len);
    tls_seq++;
}

/* Everything record_event() leaves: no buffer yet, a chunk to start
 * or to flush, a thread past its exit mark. */
void record_event_slow(struct trace_event event)
{
    const struct trace_event *e = &event;
    struct record_thread *t = record_tls_thread;
    if (RECORD_UNLIKELY(!t)) {
        if (tls_finished) {
            late_event(e);
            return;
        }
        t = thread_begin(e->time);
        if (!t)
            return;
    }
    append(t, e);
}

static void thread_retire(struct record_thread *t)
{
    record_threads_lock();
    struct record_thread **link = &threads_live;
    while (*link && *link != t)
        link = &(*link)->next;
    if (*link)
        *link = t->next;
    t->next = threads_pool;
    threads_pool = t;
    record_threads_unlock();
}

void record_thread_exit_mark(void)
{
    struct record_thread *t = record_tls_thread;
    if (!t)
        return;
    struct trace_event e = { .time = record_now(),
                             .kind = TRACE_THREAD_EXIT };
    if (atomic_load(&record_active))
        append(t, &e);
    flush_own(t);
    tls_serial = t->serial;
    tls_tid = t->tid;
    tls_seq = t->seq;
    tls_finished = 1;
    record_tls_thread = NULL;
    thread_retire(t);
    record_stamp_thread_exit();
}

static void thread_exit_destructor(void *arg)
{
    if (++tls_exit_rounds < RECORD_EXIT_ROUNDS) {
        pthread_setspecific(threads_exit_key, arg);
        return;
    }
    record_thread_exit_mark();
}

/* Recording is closing (record_active is already 0): write every
 * buffer.  From a signal handler nothing may wait: a busy buffer or
 * list is skipped, and only the crashing thread's buffer is certain. */
void record_flush_all(int from_signal)
{
    struct record_thread *self = record_tls_thread;
    if (from_signal && atomic_flag_test_and_set(&threads_guard)) {
        if (self && !atomic_flag_test_and_set(&self->busy))
            flush_locked(self, 1);
        return;
    }
    if (!from_signal)
        record_threads_lock();
    for (struct record_thread *t = threads_live; t; t = t->next) {
        if (from_signal) {
            if (atomic_flag_test_and_set(&t->busy))
                continue;
        } else {
            spin_lock(&t->busy);
        }
        flush_locked(t, 1);
        spin_unlock(&t->busy);
    }
    record_threads_unlock();
}

/* In a fork child only the forking thread exists.  Its buffer starts
 * afresh (the parent writes what it held); the other threads' buffers
 * become free for reuse.  Runs before the child's first event. */
void record_threads_after_fork(void)
{
    struct record_thread *self = record_tls_thread;
    atomic_flag_clear(&threads_guard);
    for (struct record_thread *t = threads_live, *next; t; t = next) {
        next = t->next;
        if (t != self) {
            t->next = threads_pool;
            threads_pool = t;
        }
    }
    threads_live = self;
    atomic_store(&threads_next_serial, 0);
    record_stamp_after_fork();
    if (!self)
        return;
    self->next = NULL;
    self->serial = atomic_fetch_add(&threads_next_serial, 1);
    self->tid = (uint64_t)gettid();
    self->seq = 0;
    atomic_flag_clear(&self->busy);
    atomic_store(&self->used, 0);
    struct trace_event start = { .time = record_now(),
                                 .kind = TRACE_THREAD_START };
    append(self, &start);
}

int record_threads_init(void)
{
    return pthread_key_create(&threads_exit_key, thread_exit_destructor);
}
