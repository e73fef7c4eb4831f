/*
 * finalize_stream.c - trace_finalize_write: finalising a recording
 * straight into a file.
 *
 * The finaliser's merge hands over each op when it is complete; here a
 * thread's ops gather in a buffer of one OPS chunk, which a worker
 * thread encodes and compresses as soon as it fills, while the merge
 * goes on; the compressed chunks wait in memory until the merge ends
 * (the summary, written first, needs every thread's op count).  So the
 * ops of a trace are never all in memory at once: at most a chunk's
 * buffer (3 MiB) per thread and a spare, where the whole-trace path
 * (trace_finalize, then trace_write_final) holds 48 bytes an op, 39 MiB
 * for a 808,000-op larson recording; on these VMs touching fresh pages
 * is much of the cost.  The file is byte for byte the one the
 * whole-trace path writes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "format_internal.h"

/* Full chunks queued for the worker before the merge waits for it:
 * two keep both cores busy; more only hold memory. */
#define STREAM_IN_FLIGHT 2

struct stream_thread {
    struct trace_op *ops;     /* the chunk being filled */
    uint64_t count;           /* ops in it */
    uint64_t first;           /* op number of its first op */
    uint64_t cap;             /* its length: a chunk, or the whole
                                 thread if that is shorter */
    struct final_bytes chunks;/* finished chunks, compressed; only the
                                 worker appends, until it is joined */
};

/* A chunk handed to the worker: the buffer goes with it. */
struct stream_job {
    struct stream_job *next;
    struct trace_op *ops;
    uint64_t first, count, cap;
    uint32_t thread;
};

struct stream {
    struct final_out out;     /* the worker's encoder and compressor */
    const struct trace_header_info *header;
    struct stream_thread *threads;
    uint32_t thread_count;
    int have_worker;          /* else chunks are encoded inline */
    pthread_t worker;
    pthread_mutex_t lock;     /* guards the fields below */
    pthread_cond_t changed;
    struct stream_job *queue, *queue_end; /* FIFO: a thread's chunks
                                             stay in order */
    struct trace_op *spare;   /* a full-size buffer the worker freed */
    unsigned in_flight;       /* jobs queued or being encoded */
    int stop, failed;
};

/* Encodes job j, its stamps made nanoseconds first (finalize_sink). */
static void stream_encode(struct stream *s, const struct stream_job *j)
{
    for (uint64_t i = 0; i < j->count; i++)
        j->ops[i].time_ns = finalize_stamp_ns(s->header, j->ops[i].time_ns);
    s->out.keep = &s->threads[j->thread].chunks;
    if (final_write_ops(&s->out, j->thread, j->ops, j->first, j->count) < 0)
        s->failed = 1;
    s->out.keep = NULL;
}

/* Takes a job's buffer back: kept as the spare if it is chunk-sized
 * (the merge's full chunks all are) and none is kept yet. */
static void stream_recycle(struct stream *s, struct stream_job *j)
{
    if (j->cap == FINAL_CHUNK_OPS && s->spare == NULL)
        s->spare = j->ops;
    else
        free(j->ops);
    free(j);
}

static void *stream_worker(void *arg)
{
    struct stream *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->queue && !s->stop)
            pthread_cond_wait(&s->changed, &s->lock);
        struct stream_job *j = s->queue;
        if (!j)
            break;                       /* stopped, queue drained */
        s->queue = j->next;
        pthread_mutex_unlock(&s->lock);
        stream_encode(s, j);             /* the slow part, unlocked */
        pthread_mutex_lock(&s->lock);
        stream_recycle(s, j);
        s->in_flight--;
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Queues job j, waiting while the worker is STREAM_IN_FLIGHT behind. */
static void stream_submit(struct stream *s, struct stream_job *j)
{
    pthread_mutex_lock(&s->lock);
    while (s->in_flight >= STREAM_IN_FLIGHT)
        pthread_cond_wait(&s->changed, &s->lock);
    j->next = NULL;
    if (s->queue)
        s->queue_end->next = j;
    else
        s->queue = j;
    s->queue_end = j;
    s->in_flight++;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

/* Hands thread ti's buffered ops over as one OPS chunk (to the worker,
 * or encoded here if there is none); the thread's buffer is then
 * empty, possibly unallocated. */
static int stream_flush(struct stream *s, uint32_t ti)
{
    struct stream_thread *t = &s->threads[ti];
    if (t->count == 0)
        return 0;
    struct stream_job *j = malloc(sizeof(*j));
    if (!j)
        return -1;
    *j = (struct stream_job){ NULL, t->ops, t->first, t->count, t->cap,
                              ti };
    t->first += t->count;
    t->count = 0;
    t->ops = NULL;
    if (!s->have_worker) {
        stream_encode(s, j);
        stream_recycle(s, j);
        return s->failed ? -1 : 0;
    }
    stream_submit(s, j);
    return 0;
}

/* A buffer for thread t: the worker's spare if it fits, else new. */
static struct trace_op *stream_buffer(struct stream *s,
                                      const struct stream_thread *t)
{
    struct trace_op *ops = NULL;
    if (t->cap == FINAL_CHUNK_OPS) {
        pthread_mutex_lock(&s->lock);
        ops = s->spare;
        s->spare = NULL;
        pthread_mutex_unlock(&s->lock);
    }
    return ops ? ops : malloc(t->cap * sizeof(*ops));
}

static int stream_put(void *ctx, uint32_t ti, const struct trace_op *op)
{
    struct stream *s = ctx;
    struct stream_thread *t = &s->threads[ti];
    if (t->ops == NULL && (t->ops = stream_buffer(s, t)) == NULL)
        return -1;
    t->ops[t->count++] = *op;
    return t->count == t->cap ? stream_flush(s, ti) : 0;
}

/* The finished chunks, thread by thread: final_write_file's middle. */
static int stream_put_threads(struct final_out *o, void *ctx)
{
    const struct stream *s = ctx;
    for (uint32_t i = 0; i < s->thread_count; i++) {
        const struct final_bytes *b = &s->threads[i].chunks;
        if (b->len && fwrite(b->data, 1, b->len, o->file) != b->len)
            return -1;
    }
    return 0;
}

static int stream_init(struct stream *s, const struct trace_raw *raw,
                       int level, uint64_t unit)
{
    memset(s, 0, sizeof(*s));
    s->header = &raw->header;
    s->thread_count = (uint32_t)raw->thread_count;
    s->threads = calloc(raw->thread_count + 1, sizeof(*s->threads));
    if (!s->threads || final_write_init(&s->out, level, unit) < 0)
        return -1;
    for (uint32_t i = 0; i < s->thread_count; i++) {
        uint64_t most = raw->threads[i].count + 1;  /* + a start mark */
        s->threads[i].cap = most < FINAL_CHUNK_OPS ? most : FINAL_CHUNK_OPS;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    s->have_worker = pthread_create(&s->worker, NULL, stream_worker, s) == 0;
    return 0;
}

/* Lets the worker finish the queue and end; 0, or -1 if a chunk
 * failed.  After it, the threads' chunks are the main thread's. */
static int stream_join(struct stream *s)
{
    if (s->have_worker) {
        pthread_mutex_lock(&s->lock);
        s->stop = 1;
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->worker, NULL);
        s->have_worker = 0;
    }
    return s->failed ? -1 : 0;
}

static void stream_release(struct stream *s)
{
    if (!s->threads)
        return;
    stream_join(s);
    for (uint32_t i = 0; i < s->thread_count; i++) {
        free(s->threads[i].ops);
        free(s->threads[i].chunks.data);
    }
    free(s->threads);
    free(s->spare);
    final_write_release(&s->out);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->changed);
}

/* The summary's per-thread fields: tid and op count (no ops). */
static int stream_summary(const struct stream *s, const struct finalize_ctx *f,
                          const struct trace_raw *raw, struct trace *sum)
{
    memset(sum, 0, sizeof(*sum));
    sum->thread_count = s->thread_count;
    sum->threads = calloc(s->thread_count + 1, sizeof(*sum->threads));
    if (!sum->threads)
        return -1;
    for (uint32_t i = 0; i < s->thread_count; i++) {
        sum->threads[i].tid = raw->threads[i].tid;
        sum->threads[i].op_count = s->threads[i].first;
    }
    finalize_summary(f, raw, sum);
    return 0;
}

int trace_finalize_write(const char *path, const struct trace_raw *raw,
                         int level, uint64_t unit, struct trace *sum,
                         struct trace_finalize_report *report, char *err,
                         size_t err_len)
{
    struct stream s;
    struct finalize_ctx f;
    memset(&f, 0, sizeof(f));
    memset(sum, 0, sizeof(*sum));
    int rc = stream_init(&s, raw, level, unit);
    if (rc == 0)
        rc = finalize_run(&f, raw, (struct finalize_sink){ stream_put, &s });
    for (uint32_t i = 0; rc == 0 && i < s.thread_count; i++)
        rc = stream_flush(&s, i);
    if (stream_join(&s) < 0)
        rc = -1;
    if (rc == 0)
        rc = stream_summary(&s, &f, raw, sum);
    if (rc < 0)
        trace_error(err, err_len, path, 0, "out of memory finalising");
    else
        rc = final_write_file(path, &s.out, raw, sum, stream_put_threads,
                              &s, err, err_len);
    if (rc == 0 && report)
        *report = f.report;
    finalize_done(&f);
    stream_release(&s);
    return rc;
}
