/*
 * larson.c - larson-style server churn.
 *
 * Each thread keeps an array of live blocks (as a server keeps its
 * connections' buffers).  One operation frees a random live block and
 * mallocs a new one of random size in its place.  With --handoff P, P
 * percent of the victims are not freed by their owner but passed to the
 * next thread's inbox, which frees them: the cross-thread free of a
 * server whose requests end on another worker.  Reports operations per
 * second, the number the larson benchmark is known for.
 * Invariant: a block is in exactly one place (a live slot or an inbox)
 * and is checked against its (thread, index) pattern before its free.
 */
#include "wl_opts.h"
#include "wl_pattern.h"
#include "wl_proc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* Inbox capacity; a full inbox makes the owner free the block itself. */
#define INBOX_CAP 512
/* Operations between two drains of a thread's own inbox. */
#define DRAIN_EVERY 64
#define PERCENT 100

static const char usage[] =
    "usage: larson [options]\n"
    "Each thread frees a random live block and mallocs a new one.\n"
    "  --threads N      threads (default 2)\n"
    "  --iterations N   operations per thread (default 1000000)\n"
    "  --live N         live blocks per thread (default 1000)\n"
    "  --min-size B     smallest block (default 8)\n"
    "  --max-size B     largest block (default 1024)\n"
    "  --handoff P      percent of frees done by the next thread\n"
    "                   (default 10)\n"
    "  --seed N         seed for sizes and choices (default 1)\n";

struct block {
    unsigned char *mem;
    size_t size;
    uint64_t seed;
};

struct inbox {
    pthread_mutex_t lock;
    struct block items[INBOX_CAP];
    long count;
};

struct worker {
    const struct wl_opts *o;
    struct inbox *inboxes;
    unsigned id;
    uint64_t made;
    long handed;
};

static void check_and_free(const struct block *b)
{
    wl_expect_intact(wl_check(b->mem, b->size, b->seed), b->mem, b->size,
                     "block");
    free(b->mem);
}

static void new_block(struct worker *w, struct block *b, uint64_t *rng)
{
    b->size = wl_rand_size(rng, (size_t)w->o->min_size,
                           (size_t)w->o->max_size);
    b->mem = wl_malloc(b->size);
    b->seed = wl_seed(w->id, w->made++);
    wl_fill(b->mem, b->size, b->seed);
}

static void drain(struct inbox *box)
{
    pthread_mutex_lock(&box->lock);
    for (long i = 0; i < box->count; i++)
        check_and_free(&box->items[i]);
    box->count = 0;
    pthread_mutex_unlock(&box->lock);
}

/* Pass `b` to the next thread; returns 0 if its inbox is full. */
static int hand_off(struct worker *w, const struct block *b)
{
    unsigned next = (w->id + 1) % (unsigned)w->o->threads;
    struct inbox *box = &w->inboxes[next];
    pthread_mutex_lock(&box->lock);
    int room = box->count < INBOX_CAP;
    if (room)
        box->items[box->count++] = *b;
    pthread_mutex_unlock(&box->lock);
    return room;
}

static void *worker_main(void *p)
{
    struct worker *w = p;
    long live = w->o->live;
    uint64_t rng = w->o->seed ^ ((uint64_t)w->id << 32);
    struct block *blocks = wl_malloc(sizeof *blocks * (size_t)live);
    for (long i = 0; i < live; i++)
        new_block(w, &blocks[i], &rng);
    for (long op = 0; op < w->o->iterations; op++) {
        struct block *victim = &blocks[wl_rand(&rng) % (uint64_t)live];
        int remote = w->o->threads > 1 &&
                     (long)(wl_rand(&rng) % PERCENT) < w->o->handoff_pct;
        if (remote && hand_off(w, victim))
            w->handed++;
        else
            check_and_free(victim);
        new_block(w, victim, &rng);
        if (op % DRAIN_EVERY == 0)
            drain(&w->inboxes[w->id]);
    }
    for (long i = 0; i < live; i++)
        check_and_free(&blocks[i]);
    free(blocks);
    return NULL;
}

static void run(const struct wl_opts *o, struct worker *w,
                struct inbox *boxes)
{
    pthread_t *t = wl_malloc(sizeof *t * (size_t)o->threads);
    for (long i = 0; i < o->threads; i++) {
        pthread_mutex_init(&boxes[i].lock, NULL);
        boxes[i].count = 0;
        w[i] = (struct worker){ .o = o, .inboxes = boxes,
                                .id = (unsigned)i };
    }
    for (long i = 0; i < o->threads; i++)
        if (pthread_create(&t[i], NULL, worker_main, &w[i]) != 0)
            wl_fail("cannot start thread %ld", i);
    for (long i = 0; i < o->threads; i++)
        pthread_join(t[i], NULL);
    for (long i = 0; i < o->threads; i++)
        drain(&boxes[i]);  /* what arrived after its owner finished */
    free(t);
}

int main(int argc, char **argv)
{
    struct wl_opts o = { .threads = 2, .iterations = 1000000,
                         .live = 1000, .min_size = 8, .max_size = 1024,
                         .handoff_pct = 10, .seed = 1 };
    wl_set_name(argv[0]);
    wl_opts_parse(&o, argc, argv, WL_OPT_THREADS | WL_OPT_ITERATIONS |
                  WL_OPT_LIVE | WL_OPT_MIN_SIZE | WL_OPT_MAX_SIZE |
                  WL_OPT_HANDOFF | WL_OPT_SEED, usage);
    struct worker *w = wl_malloc(sizeof *w * (size_t)o.threads);
    struct inbox *boxes = wl_malloc(sizeof *boxes * (size_t)o.threads);
    double start = wl_now();
    run(&o, w, boxes);
    double secs = wl_now() - start;
    long handed = 0;
    for (long i = 0; i < o.threads; i++)
        handed += w[i].handed;
    double ops = (double)o.iterations * (double)o.threads;
    printf("larson: ok: %.0f ops by %ld threads in %.3f s (%.0f ops/s), "
           "%ld freed by another thread\n", ops, o.threads, secs,
           ops / secs, handed);
    free(boxes);
    free(w);
    return 0;
}
