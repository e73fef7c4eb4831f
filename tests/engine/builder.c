/*
 * builder.c - in-memory traces for the replay engine's tests (see
 * builder.h).  Sizes come from a fixed LCG so every run builds the same
 * trace.
 */
#include <stdlib.h>
#include <string.h>

#include "builder.h"

#define BUILDER_LCG_MUL 6364136223846793005ull  /* Knuth's MMIX LCG */
#define BUILDER_LCG_ADD 1442695040888963407ull
#define BUILDER_TICK_NS 100u   /* recorded gap between ops */

static uint64_t builder_rng = 42;

static uint64_t builder_random(uint64_t below)
{
    builder_rng = builder_rng * BUILDER_LCG_MUL + BUILDER_LCG_ADD;
    return (builder_rng >> 33) % below;
}

static void *builder_grow(void *p, uint64_t *cap, uint64_t need,
                          size_t elem)
{
    if (need <= *cap)
        return p;
    uint64_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    p = realloc(p, n * elem);
    if (!p)
        abort();
    *cap = n;
    return p;
}

void builder_init(struct builder *b, uint32_t threads)
{
    memset(b, 0, sizeof(*b));
    b->trace.thread_count = threads;
    b->trace.threads = calloc(threads, sizeof(struct trace_thread));
    b->op_cap = calloc(threads, sizeof(uint64_t));
    if (!b->trace.threads || !b->op_cap)
        abort();
    for (uint32_t t = 0; t < threads; t++)
        b->trace.threads[t].tid = 1000 + t;
}

void builder_free(struct builder *b)
{
    for (uint32_t t = 0; t < b->trace.thread_count; t++)
        free(b->trace.threads[t].ops);
    free(b->trace.threads);
    free(b->op_cap);
    free(b->slot_size);
    free(b->free_slots);
}

uint64_t builder_op(struct builder *b, uint32_t t, struct trace_op op)
{
    struct trace_thread *th = &b->trace.threads[t];
    th->ops = builder_grow(th->ops, &b->op_cap[t], th->op_count + 1,
                           sizeof(struct trace_op));
    op.time_ns = b->clock_ns;
    b->clock_ns += BUILDER_TICK_NS;
    th->ops[th->op_count] = op;
    if (op.kind < REPLAY_KIND_SLOTS)
        b->kind_counts[op.kind]++;
    b->trace.duration_ns = b->clock_ns;
    return th->op_count++;
}

static uint32_t builder_take_slot(struct builder *b)
{
    if (b->free_count)
        return b->free_slots[--b->free_count];
    uint64_t cap = b->slot_cap, free_cap = b->slot_cap;
    uint32_t s = b->trace.slot_count++;
    b->slot_size = builder_grow(b->slot_size, &cap, s + 1,
                                sizeof(uint64_t));
    b->free_slots = builder_grow(b->free_slots, &free_cap, s + 1,
                                 sizeof(uint32_t));
    b->slot_cap = (uint32_t)cap;
    return s;
}

static uint64_t builder_requested(unsigned kind, uint64_t size,
                                  uint64_t arg)
{
    return kind == TRACE_CALLOC || kind == TRACE_REALLOCARRAY ? size * arg
                                                              : size;
}

static void builder_account(struct builder *b, int64_t delta)
{
    b->live += delta;
    if (b->live > b->peak)
        b->peak = b->live;
    b->trace.peak_live_bytes = (uint64_t)b->peak;
}

uint32_t builder_alloc(struct builder *b, uint32_t t, unsigned kind,
                       uint64_t size, uint64_t arg, uint64_t *op_index)
{
    uint32_t s = builder_take_slot(b);
    b->slot_size[s] = builder_requested(kind, size, arg);
    uint64_t i = builder_op(b, t, (struct trace_op){
        .kind = (uint8_t)kind, .size = size, .arg = arg, .slot = s,
        .old_slot = TRACE_NO_SLOT, .dep_thread = TRACE_NO_DEP });
    builder_account(b, (int64_t)b->slot_size[s]);
    if (op_index)
        *op_index = i;
    return s;
}

void builder_release(struct builder *b, uint32_t t, unsigned kind,
                     uint32_t slot, uint32_t dep_thread, uint64_t dep_op)
{
    builder_op(b, t, (struct trace_op){
        .kind = (uint8_t)kind, .slot = TRACE_NO_SLOT, .old_slot = slot,
        .dep_thread = dep_thread, .dep_op = (uint32_t)dep_op });
    if (kind == TRACE_FREE && slot != TRACE_NO_SLOT) {
        builder_account(b, -(int64_t)b->slot_size[slot]);
        b->free_slots[b->free_count++] = slot;
    }
}

/* realloc or reallocarray of slot on its own thread; returns new slot. */
static uint32_t builder_move(struct builder *b, uint32_t t, unsigned kind,
                             uint32_t old, uint64_t size, uint64_t arg)
{
    builder_account(b, -(int64_t)b->slot_size[old]);
    b->free_slots[b->free_count++] = old;
    uint32_t s = builder_take_slot(b);
    b->slot_size[s] = builder_requested(kind, size, arg);
    builder_op(b, t, (struct trace_op){
        .kind = (uint8_t)kind, .size = size, .arg = arg, .slot = s,
        .old_slot = old, .dep_thread = TRACE_NO_DEP });
    builder_account(b, (int64_t)b->slot_size[s]);
    return s;
}

/* Every BUILDER_KEEP_EVERY rounds one block stays live to the end. */
#define BUILDER_KEEP_EVERY 64

static void builder_mixed_round(struct builder *b, uint64_t round)
{
    uint32_t s[8];
    uint64_t n = 16 + builder_random(2000);
    s[0] = builder_alloc(b, 0, TRACE_MALLOC, n, 0, NULL);
    s[1] = builder_alloc(b, 0, TRACE_CALLOC, n / 3 + 1, 3, NULL);
    s[0] = builder_move(b, 0, TRACE_REALLOC, s[0], n * 2, 0);
    s[1] = builder_move(b, 0, TRACE_REALLOCARRAY, s[1], n, 2);
    s[2] = builder_alloc(b, 0, TRACE_POSIX_MEMALIGN, n, 64, NULL);
    s[3] = builder_alloc(b, 0, TRACE_ALIGNED_ALLOC, 128 * (n / 128 + 1),
                         128, NULL);
    s[4] = builder_alloc(b, 0, TRACE_MEMALIGN, n, 256, NULL);
    s[5] = builder_alloc(b, 0, TRACE_VALLOC, n, 0, NULL);
    s[6] = builder_alloc(b, 0, TRACE_PVALLOC, n, 0, NULL);
    s[7] = builder_alloc(b, 0, TRACE_MALLOC, 65536 + n, 0, NULL);
    builder_release(b, 0, TRACE_USABLE_SIZE, s[2], TRACE_NO_DEP, 0);
    builder_release(b, 0, TRACE_FREE, TRACE_NO_SLOT, TRACE_NO_DEP, 0);
    int keep = round % BUILDER_KEEP_EVERY == 0 ? (int)(n % 8) : -1;
    for (int i = 0; i < 8; i++)
        if (i != keep)
            builder_release(b, 0, TRACE_FREE, s[i], TRACE_NO_DEP, 0);
}

void builder_mixed(struct builder *b, uint64_t rounds)
{
    builder_init(b, 1);
    builder_op(b, 0, (struct trace_op){ .kind = TRACE_THREAD_START,
        .slot = TRACE_NO_SLOT, .old_slot = TRACE_NO_SLOT,
        .dep_thread = TRACE_NO_DEP });
    for (uint64_t r = 0; r < rounds; r++)
        builder_mixed_round(b, r);
    builder_op(b, 0, (struct trace_op){ .kind = TRACE_THREAD_EXIT,
        .slot = TRACE_NO_SLOT, .old_slot = TRACE_NO_SLOT,
        .dep_thread = TRACE_NO_DEP });
}

struct builder_held {
    uint32_t slot;
    uint64_t op;
};

static void builder_thread_marks(struct builder *b, uint32_t threads,
                                 unsigned kind)
{
    for (uint32_t t = 0; t < threads; t++) {
        int started_by_main = kind == TRACE_THREAD_START && t > 0;
        builder_op(b, t, (struct trace_op){ .kind = (uint8_t)kind,
            .slot = TRACE_NO_SLOT, .old_slot = TRACE_NO_SLOT,
            .dep_thread = started_by_main ? 0 : TRACE_NO_DEP,
            .dep_op = 0 });
    }
}

/* Thread t frees what its left neighbour allocated last round. */
static void builder_cross_free(struct builder *b, uint32_t threads,
                               uint32_t t, struct builder_held *held,
                               uint32_t per_round)
{
    uint32_t left = (t + threads - 1) % threads;
    for (uint32_t j = 0; j < per_round; j++) {
        struct builder_held *h = &held[left * per_round + j];
        if (h->slot == TRACE_NO_SLOT)
            continue;
        builder_release(b, t, TRACE_FREE, h->slot,
                        left == t ? TRACE_NO_DEP : left, h->op);
        h->slot = TRACE_NO_SLOT;
    }
}

void builder_cross(struct builder *b, uint32_t threads, uint64_t rounds,
                   uint32_t per_round)
{
    /* two generations: [parity][thread][j] */
    size_t n = (size_t)threads * per_round;
    struct builder_held *held = malloc(2 * n * sizeof(*held));
    if (!held)
        abort();
    for (size_t i = 0; i < 2 * n; i++)
        held[i].slot = TRACE_NO_SLOT;
    builder_init(b, threads);
    builder_thread_marks(b, threads, TRACE_THREAD_START);
    for (uint64_t r = 0; r <= rounds; r++) {
        struct builder_held *cur = held + (r % 2) * n;
        struct builder_held *prev = held + ((r + 1) % 2) * n;
        for (uint32_t t = 0; t < threads; t++) {
            builder_cross_free(b, threads, t, prev, per_round);
            for (uint32_t j = 0; j < per_round && r < rounds; j++) {
                uint64_t size = builder_random(8) ? 16 + builder_random(512)
                                                  : 8192;
                struct builder_held *h = &cur[t * per_round + j];
                h->slot = builder_alloc(b, t, TRACE_MALLOC, size, 0,
                                        &h->op);
            }
        }
    }
    builder_thread_marks(b, threads, TRACE_THREAD_EXIT);
    free(held);
}

void builder_usable_cross(struct builder *b, uint64_t rounds)
{
    builder_init(b, 2);
    builder_thread_marks(b, 2, TRACE_THREAD_START);
    for (uint64_t r = 0; r < rounds; r++) {
        uint64_t asked_op, kept_op;
        uint32_t asked = builder_alloc(b, 0, TRACE_MALLOC, 100, 0,
                                       &asked_op);
        uint32_t kept = builder_alloc(b, 0, TRACE_MALLOC, 200, 0, &kept_op);
        builder_release(b, 1, TRACE_USABLE_SIZE, asked, 0, asked_op);
        builder_release(b, 1, TRACE_FREE, asked, 0, asked_op);
        builder_release(b, 1, TRACE_USABLE_SIZE, kept, 0, kept_op);
        builder_release(b, 0, TRACE_FREE, kept, TRACE_NO_DEP, 0);
    }
    builder_thread_marks(b, 2, TRACE_THREAD_EXIT);
}

void builder_options(struct replay_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    snprintf(opt->trace_path, sizeof(opt->trace_path), "(built)");
    snprintf(opt->allocator, sizeof(opt->allocator), "glibc");
    opt->runs = opt->instances = opt->latency_every = 1;
    opt->touch = REPLAY_TOUCH_PAGES;
}
