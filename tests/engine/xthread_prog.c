/*
 * xthread_prog.c - a small program whose blocks cross threads, for the
 * end-to-end replay test: recorded with `mallard record`, then replayed.
 * Each worker allocates a batch (malloc, calloc, realloc, aligned), hands
 * it to the next worker through a mutex-guarded mailbox, and frees the
 * batch it received.  Usage: xthread_prog THREADS ROUNDS
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XT_BATCH 32        /* blocks handed over per round */
#define XT_MAX_THREADS 64

struct xt_mailbox {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    void *blocks[XT_BATCH];
    int full;
};

static struct xt_mailbox xt_box[XT_MAX_THREADS];
static int xt_threads, xt_rounds;

static void *xt_block(int i, int round)
{
    size_t n = 16 + (size_t)((i * 37 + round * 11) % 900);
    void *p = NULL;
    switch (i % 4) {
    case 0: p = malloc(n); break;
    case 1: p = calloc(n / 8 + 1, 8); break;
    case 2: p = realloc(malloc(n), n * 2); break;
    default: if (posix_memalign(&p, 64, n) != 0) p = NULL; break;
    }
    if (p)
        memset(p, i, n);
    return p;
}

static void xt_send(struct xt_mailbox *box, void **batch)
{
    pthread_mutex_lock(&box->lock);
    while (box->full)
        pthread_cond_wait(&box->ready, &box->lock);
    memcpy(box->blocks, batch, sizeof(box->blocks));
    box->full = 1;
    pthread_cond_broadcast(&box->ready);
    pthread_mutex_unlock(&box->lock);
}

static void xt_receive_and_free(struct xt_mailbox *box)
{
    pthread_mutex_lock(&box->lock);
    while (!box->full)
        pthread_cond_wait(&box->ready, &box->lock);
    for (int i = 0; i < XT_BATCH; i++)
        free(box->blocks[i]);
    box->full = 0;
    pthread_cond_broadcast(&box->ready);
    pthread_mutex_unlock(&box->lock);
}

static void *xt_worker(void *arg)
{
    int me = (int)(long)arg;
    void *batch[XT_BATCH];
    for (int r = 0; r < xt_rounds; r++) {
        for (int i = 0; i < XT_BATCH; i++)
            batch[i] = xt_block(i, r);
        xt_send(&xt_box[(me + 1) % xt_threads], batch);
        xt_receive_and_free(&xt_box[me]);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    xt_threads = argc > 1 ? atoi(argv[1]) : 4;
    xt_rounds = argc > 2 ? atoi(argv[2]) : 200;
    if (xt_threads < 1 || xt_threads > XT_MAX_THREADS || xt_rounds < 1) {
        fprintf(stderr, "usage: xthread_prog THREADS(1-64) ROUNDS\n");
        return 2;
    }
    pthread_t tid[XT_MAX_THREADS];
    for (int t = 0; t < xt_threads; t++) {
        pthread_mutex_init(&xt_box[t].lock, NULL);
        pthread_cond_init(&xt_box[t].ready, NULL);
    }
    for (int t = 0; t < xt_threads; t++)
        pthread_create(&tid[t], NULL, xt_worker, (void *)(long)t);
    for (int t = 0; t < xt_threads; t++)
        pthread_join(tid[t], NULL);
    return 0;
}
