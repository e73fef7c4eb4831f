/*
 * test_stress.c - many threads, sizes from 1 byte to 4 MiB, every API
 * call, a quarter of the blocks freed by another thread, and a content
 * check on every block before it is freed.
 *
 * Usage: test_stress [THREADS [OPS_PER_THREAD]]
 */
#include "check.h"
#include "mallard.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SLOTS 256
#define MAILBOX 64
#define PAGE 4096

struct block {
    unsigned char *data;
    size_t size;
    unsigned char seed;
};

struct mailbox {
    pthread_mutex_t lock;
    struct block items[MAILBOX];
    int count;
};

static int thread_count = 8;
static long ops_per_thread = 20000;
static struct mailbox *mailboxes;
static atomic_long corrupted;

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static size_t pick_size(uint64_t *rng)
{
    unsigned roll = (unsigned)(next_random(rng) % 100);
    uint64_t r = next_random(rng);
    if (roll < 70)
        return r % 256;
    if (roll < 90)
        return 256 + r % (16 << 10);
    if (roll < 98)
        return (16 << 10) + r % (240 << 10);
    return (256 << 10) + r % (4 << 20);
}

/* Every byte of the first and last 64, and one byte per page between. */
static size_t next_position(size_t at, size_t size)
{
    if (at < 63 || at + 64 >= size)
        return at + 1;
    size_t next = (at / PAGE + 1) * PAGE;
    return next < size - 64 ? next : size - 64;
}

static void mark(const struct block *b)
{
    for (size_t at = 0; at < b->size; at = next_position(at, b->size))
        b->data[at] = (unsigned char)(b->seed + at);
}

static void check_and_free(struct block *b)
{
    size_t bad = 0;
    for (size_t at = 0; at < b->size; at = next_position(at, b->size))
        bad += b->data[at] != (unsigned char)(b->seed + at);
    if (bad) {
        atomic_fetch_add(&corrupted, 1);
        fprintf(stderr, "corrupted block %p size %zu: %zu bad bytes\n",
                (void *)b->data, b->size, bad);
    }
    mallard_free(b->data);
    b->data = NULL;
}

/* Allocates through a call chosen at random from the whole API. */
static void *allocate(size_t size, uint64_t *rng)
{
    void *out = NULL;
    switch (next_random(rng) % 8) {
    case 0: return mallard_calloc(1, size);
    case 1: return mallard_memalign((size_t)64 << (next_random(rng) % 6),
                                    size);
    case 2: return mallard_posix_memalign(&out, 32, size) ? NULL : out;
    case 3: /* realloc(p, 0) frees p and returns NULL, as in glibc */
        if (size > 0)
            return mallard_realloc(mallard_malloc(size / 2 + 1), size);
        return mallard_malloc(0);
    default: return mallard_malloc(size);
    }
}

static void drain_mailbox(struct mailbox *box)
{
    pthread_mutex_lock(&box->lock);
    for (int i = 0; i < box->count; i++)
        check_and_free(&box->items[i]);
    box->count = 0;
    pthread_mutex_unlock(&box->lock);
}

/* Hands b to another thread to free; false when its box is full. */
static bool post(struct mailbox *box, struct block *b)
{
    pthread_mutex_lock(&box->lock);
    bool posted = box->count < MAILBOX;
    if (posted)
        box->items[box->count++] = *b;
    pthread_mutex_unlock(&box->lock);
    if (posted)
        b->data = NULL;
    return posted;
}

static void retire(struct block *slot, uint64_t *rng, int self)
{
    int other = (self + 1) % thread_count;
    if (next_random(rng) % 4 == 0 && post(&mailboxes[other], slot))
        return;
    check_and_free(slot);
}

static void *worker(void *arg)
{
    int self = (int)(intptr_t)arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(self + 1);
    struct block slots[SLOTS] = {{0}};
    for (long op = 0; op < ops_per_thread; op++) {
        struct block *slot = &slots[next_random(&rng) % SLOTS];
        if (slot->data)
            retire(slot, &rng, self);
        slot->size = pick_size(&rng);
        slot->seed = (unsigned char)next_random(&rng);
        slot->data = allocate(slot->size, &rng);
        if (slot->data == NULL) {
            atomic_fetch_add(&corrupted, 1);
            fprintf(stderr, "allocation of %zu failed\n", slot->size);
            continue;
        }
        mark(slot);
        if (op % 64 == 0)
            drain_mailbox(&mailboxes[self]);
    }
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].data)
            check_and_free(&slots[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        thread_count = atoi(argv[1]);
    if (argc > 2)
        ops_per_thread = atol(argv[2]);
    static struct mailbox boxes[256];
    CHECK(thread_count > 0 && thread_count <= 256);
    mailboxes = boxes;
    for (int i = 0; i < thread_count; i++)
        pthread_mutex_init(&boxes[i].lock, NULL);
    pthread_t threads[256];
    for (int i = 0; i < thread_count; i++)
        pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < thread_count; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < thread_count; i++)
        drain_mailbox(&boxes[i]);
    CHECK(atomic_load(&corrupted) == 0);
    struct mallard_stats stats;
    mallard_stats(&stats);
    CHECK(stats.bytes_in_mapped == 0);
    printf("stress: %d threads x %ld ops, %llu lock acquisitions, "
           "%llu contended\n", thread_count, ops_per_thread,
           (unsigned long long)stats.lock_acquisitions,
           (unsigned long long)stats.lock_contended);
    CHECK_DONE();
}
