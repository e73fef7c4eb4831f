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
 * at once: the batches and each thread's chunk, encoded op by op as
 * batches arrive (final_chunk_add), where the whole-trace path
 * (trace_finalize, then trace_write_final) holds 48 bytes an op,
 * 39 MiB for a 808,000-op larson recording.  On these VMs touching
 * fresh pages is much of the cost: the batches are few and reused,
 * so the merge, the slower of the two threads, writes into memory that
 * is mapped and cached (larson, 4 threads: handing over whole chunks,
 * its page faults were a sixth of its time), and the merge builds
 * each op in its batch (finalize_sink).  The file is byte for byte the
 * one the whole-trace path writes.
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
/* Batches queued before the merge wakes a sleeping worker (it sleeps
 * only with none queued, and takes all there are).  The worker is the
 * faster of the two, so a wake-up per batch was one per 4,096 ops:
 * each an inter-processor interrupt, dear in a VM (perf, larson 4
 * threads: some 2 ms of the merge thread's 50).  Below STREAM_IN_FLIGHT, so the
 * merge never waits on a worker that was not woken. */
#define STREAM_WAKE_AT 4
/* The fewest bytes an event takes: its tag and its time delta. */
#define STREAM_EVENT_MIN_BYTES 2

struct stream_thread {
    struct trace_op *batch;   /* the merge's: ops not handed over */
    uint32_t batch_count;
    struct final_chunk chunk; /* the worker's: the chunk being encoded */
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
    unsigned queued;          /* jobs queued, not yet taken */
    int stop, failed;
};

/* Appends batch j to its thread's chunk, stamps made nanoseconds
 * (finalize_sink) in place, encoding and compressing each chunk that
 * fills. */
static void stream_take(struct stream *s, struct stream_job *j)
{
    struct stream_thread *t = &s->threads[j->thread];
    if (s->failed)             /* the file will not be written */
        return;
    for (uint32_t i = 0; i < j->count; i++)
        j->ops[i].time_ns = finalize_stamp_ns_by(s->header, &s->hz,
                                                 j->ops[i].time_ns);
    s->out.keep = &t->chunks;
    if (final_chunk_add(&s->out, &t->chunk, j->thread, j->ops,
                        j->count) < 0)
        s->failed = 1;
    s->out.keep = NULL;
}

/* Encodes thread ti's last, partial chunk (after the worker ends). */
static void stream_end(struct stream *s, uint32_t ti)
{
    struct stream_thread *t = &s->threads[ti];
    s->out.keep = &t->chunks;
    if (final_chunk_end(&s->out, &t->chunk, ti) < 0)
        s->failed = 1;
    s->out.keep = NULL;
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
        s->queued--;
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
    s->queued++;
    struct stream_job *spare = s->spares;
    if (spare)
        s->spares = spare->next;
    if (s->queued >= STREAM_WAKE_AT)
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

/* Where thread ti's next op is built: its batch (a new one if it has
 * none); NULL if out of memory. */
static struct trace_op *stream_next(void *ctx, uint32_t ti)
{
    struct stream *s = ctx;
    struct stream_thread *t = &s->threads[ti];
    if (!t->batch) {
        struct stream_job *j = malloc(sizeof(*j));
        if (!j)
            return NULL;
        t->batch = j->ops;
    }
    return &t->batch[t->batch_count];
}

static struct trace_op *stream_put(void *ctx, uint32_t ti)
{
    struct stream *s = ctx;
    struct stream_thread *t = &s->threads[ti];
    if (++t->batch_count == STREAM_BATCH_OPS && stream_flush(s, ti) < 0)
        return NULL;
    return stream_next(ctx, ti);
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

/* The most ops thread t can output: its events and a start mark; if
 * they are not counted yet (trace_raw_load_unchecked), as many as its
 * bytes could hold (an event is at least a tag and a time). */
static uint64_t stream_most_ops(const struct trace_raw *raw,
                                const struct trace_raw_thread *t)
{
    if (!raw->pending)
        return t->count + 1;
    uint64_t bytes = 0;
    for (size_t c = 0; c < t->chunk_count; c++)
        bytes += (uint64_t)(t->chunks[c].end - t->chunks[c].p);
    return bytes / STREAM_EVENT_MIN_BYTES + 1;
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
    for (uint32_t i = 0; i < s->thread_count; i++)
        if (final_chunk_open(&s->threads[i].chunk,
                             stream_most_ops(raw, &raw->threads[i])) < 0)
            return -1;
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
        final_chunk_release(&s->threads[i].chunk);
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
        sum->threads[i].op_count = s->threads[i].chunk.first;
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
        rc = finalize_run(&f, raw, (struct finalize_sink){ stream_next,
                                                      stream_put, &s });
    for (uint32_t i = 0; rc == 0 && i < s.thread_count; i++)
        rc = stream_flush(&s, i);
    if (stream_join(&s) < 0)
        rc = -1;
    for (uint32_t i = 0; rc == 0 && i < s.thread_count; i++)
        stream_end(&s, i);             /* the partial chunks */
    if (s.failed)
        rc = -1;
    if (rc == 0)
        rc = stream_summary(&s, &f, raw, sum);
    if (rc < 0 && !decode_pending_error(raw, err, err_len))
        trace_error(err, err_len, path, 0, "out of memory finalising");
    else if (rc == 0)
        rc = final_write_file(path, &s.out, raw, sum, stream_put_threads,
                              &s, err, err_len);
    if (rc == 0 && report)
        *report = f.report;
    finalize_done(&f);
    stream_release(&s);
    return rc;
}
