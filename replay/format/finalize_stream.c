/*
 * finalize_stream.c - trace_finalize_write: finalising a recording
 * straight into a file.
 *
 * The finaliser's merge hands over each op when it is complete; here a
 * thread's ops gather in a small batch, which a worker thread takes
 * when it fills: it makes the stamps nanoseconds, appends them to the
 * thread's OPS chunk and encodes and compresses the chunk when that
 * fills, while the merge goes on; the compressed chunks wait in memory
 * until the merge ends (the summary, written first, needs every
 * thread's op count).  So the ops of a trace are never all in memory
 * at once: a chunk's buffer (3 MiB) per thread and the batches, where
 * the whole-trace path (trace_finalize, then trace_write_final) holds
 * 48 bytes an op, 39 MiB for a 808,000-op larson recording.  On these
 * VMs touching fresh pages is much of the cost: the batches are few
 * and reused, so the merge, the slower of the two threads, writes into
 * memory that is mapped and cached (larson, 4 threads: handing over
 * whole chunks, its page faults were a sixth of its time), and the
 * worker touches the chunks.  The file is byte for byte the one the
 * whole-trace path writes.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "format_internal.h"

/* Ops per batch: 192 KiB, so the batches in flight stay in the
 * caches; each costs the merge a lock and a wake-up. */
#define STREAM_BATCH_OPS 4096
/* Batches queued for the worker before the merge waits for it: enough
 * to ride out a chunk's compression. */
#define STREAM_IN_FLIGHT 16

struct stream_thread {
    struct trace_op *batch;   /* the merge's: ops not handed over */
    uint32_t batch_count;
    struct trace_op *ops;     /* the worker's: the chunk being filled */
    uint64_t count;           /* ops in it */
    uint64_t first;           /* op number of its first op */
    uint64_t cap;             /* its length: a chunk, or the whole
                                 thread if that is shorter */
    struct final_bytes chunks;/* finished chunks, compressed; only the
                                 worker appends, until it is joined */
};

/* A batch handed to the worker, or one back for reuse, linked through
 * next. */
struct stream_job {
    struct stream_job *next;
    uint32_t thread, count;
    struct trace_op ops[STREAM_BATCH_OPS];
};

struct stream {
    struct final_out out;     /* the worker's encoder and compressor */
    const struct trace_header_info *header;
    struct trace_div hz;      /* header->clock_hz as a divider */
    struct stream_thread *threads;
    uint32_t thread_count;
    int have_worker;          /* else batches are taken inline */
    pthread_t worker;
    pthread_mutex_t lock;     /* guards the fields below */
    pthread_cond_t changed;
    struct stream_job *queue, *queue_end; /* FIFO: a thread's batches
                                             stay in order */
    struct stream_job *spares;/* batches the worker is done with */
    unsigned in_flight;       /* jobs queued or being taken */
    int stop, failed;
};

/* Encodes thread ti's chunk so far (the worker's, or after it ends). */
static void stream_encode(struct stream *s, uint32_t ti)
{
    struct stream_thread *t = &s->threads[ti];
    if (t->count == 0)
        return;
    s->out.keep = &t->chunks;
    if (final_write_ops(&s->out, ti, t->ops, t->first, t->count) < 0)
        s->failed = 1;
    s->out.keep = NULL;
    t->first += t->count;
    t->count = 0;
}

/* Appends batch j to its thread's chunk, stamps made nanoseconds
 * (finalize_sink), encoding each chunk that fills. */
static void stream_take(struct stream *s, const struct stream_job *j)
{
    struct stream_thread *t = &s->threads[j->thread];
    for (uint32_t i = 0; i < j->count && !s->failed; i++) {
        if (!t->ops && !(t->ops = malloc(t->cap * sizeof(*t->ops)))) {
            s->failed = 1;
            break;
        }
        t->ops[t->count] = j->ops[i];
        t->ops[t->count].time_ns = finalize_stamp_ns_by(s->header, &s->hz,
                                                        j->ops[i].time_ns);
        if (++t->count == t->cap)
            stream_encode(s, j->thread);
    }
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
        stream_take(s, j);               /* the slow part, unlocked */
        pthread_mutex_lock(&s->lock);
        j->next = s->spares;
        s->spares = j;
        s->in_flight--;
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Queues job j, waiting while the worker is STREAM_IN_FLIGHT behind;
 * returns a batch to fill next (one the worker is done with), or
 * NULL. */
static struct stream_job *stream_submit(struct stream *s,
                                        struct stream_job *j)
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
    struct stream_job *spare = s->spares;
    if (spare)
        s->spares = spare->next;
    pthread_cond_signal(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return spare;
}

/* The job that holds thread t's batch (batch is its ops array). */
static struct stream_job *stream_job_of(struct stream_thread *t)
{
    return (struct stream_job *)((char *)t->batch -
                                 offsetof(struct stream_job, ops));
}

/* Hands thread ti's batch to the worker (or takes it here if there is
 * none); the thread then has a batch again, or none. */
static int stream_flush(struct stream *s, uint32_t ti)
{
    struct stream_thread *t = &s->threads[ti];
    if (t->batch_count == 0)
        return 0;
    struct stream_job *j = stream_job_of(t), *next = NULL;
    j->thread = ti;
    j->count = t->batch_count;
    t->batch_count = 0;
    if (s->have_worker) {             /* its failures: at the join */
        next = stream_submit(s, j);
    } else {
        stream_take(s, j);
        next = j;
    }
    t->batch = next ? next->ops : NULL;
    return !s->have_worker && s->failed ? -1 : 0;
}

static int stream_put(void *ctx, uint32_t ti, const struct trace_op *op)
{
    struct stream *s = ctx;
    struct stream_thread *t = &s->threads[ti];
    if (!t->batch) {
        struct stream_job *j = malloc(sizeof(*j));
        if (!j)
            return -1;
        t->batch = j->ops;
    }
    t->batch[t->batch_count++] = *op;
    return t->batch_count == STREAM_BATCH_OPS ? stream_flush(s, ti) : 0;
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
    s->hz = trace_div_by(raw->header.clock_hz ? raw->header.clock_hz : 1);
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

static void stream_free_jobs(struct stream_job *j)
{
    while (j) {
        struct stream_job *next = j->next;
        free(j);
        j = next;
    }
}

static void stream_release(struct stream *s)
{
    if (!s->threads)
        return;
    stream_join(s);
    for (uint32_t i = 0; i < s->thread_count; i++) {
        if (s->threads[i].batch)
            free(stream_job_of(&s->threads[i]));
        free(s->threads[i].ops);
        free(s->threads[i].chunks.data);
    }
    free(s->threads);
    stream_free_jobs(s->spares);
    stream_free_jobs(s->queue);
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
    for (uint32_t i = 0; rc == 0 && i < s.thread_count; i++)
        stream_encode(&s, i);          /* the partial chunks */
    if (s.failed)
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
