/*
 * test_none_layout.c - the layout of `--allocator none` (none_pack.c,
 * none_greedy.c): no two blocks live at once in recorded order share a
 * byte, aligned ops get aligned offsets, and the layout is the peak of
 * live bytes and little more, with many blocks (best fit) and with few
 * big ones (largest first).
 */
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "check.h"
#include "none.h"

/* A block live during the check. */
struct live_block {
    uint64_t off, bytes;   /* where, and the bytes the layout gives it */
    uint64_t asked;        /* the bytes counted live */
    uint32_t slot;
};

/* Bytes op asked for, as the replay counts them live. */
static uint64_t test_asked(const struct replay_packed_op *op,
                           const struct replay_op_extra *x)
{
    uint64_t n = x ? x->size : op->size;
    if (x && (op->kind == TRACE_CALLOC || op->kind == TRACE_REALLOCARRAY))
        n *= x->arg;
    return n;
}

/* The image's op with the earliest time among each thread's next
 * (the builder stamps ops in the order it makes them, edges backwards
 * in time, so this is the recorded order); *extra: its extra or NULL. */
static uint64_t test_next_op(const struct replay_image *image,
                             uint64_t *pos, uint64_t *extra_pos,
                             const struct replay_op_extra **extra)
{
    const struct replay_thread_desc *d = replay_image_threads(image);
    const uint64_t *times = replay_image_times(image);
    uint64_t best = UINT64_MAX;
    uint32_t t = 0;
    for (uint32_t u = 0; u < image->thread_count; u++) {
        uint64_t at = d[u].first_op + pos[u];
        if (pos[u] < d[u].op_count &&
            (best == UINT64_MAX || times[at] < times[best])) {
            best = at;
            t = u;
        }
    }
    pos[t]++;
    *extra = NULL;
    if (replay_image_ops(image)[best].flags & REPLAY_OP_EXTRA)
        *extra = &replay_image_extras(image)[d[t].first_extra +
                                             extra_pos[t]++];
    return best;
}

static void test_drop(struct live_block *live, size_t *count, uint32_t slot)
{
    for (size_t i = 0; i < *count; i++)
        if (live[i].slot == slot) {
            live[i] = live[--*count];
            return;
        }
}

/* Walks the ops in recorded order; every new block is checked against
 * every live one.  Returns the peak of live bytes. */
static uint64_t test_check_layout(const struct replay_image *image,
                                  const uint32_t *offset)
{
    const struct replay_packed_op *ops = replay_image_ops(image);
    struct live_block *live = calloc(image->slot_count + 1, sizeof(*live));
    uint64_t *pos = calloc(image->thread_count, sizeof(*pos));
    uint64_t *extra_pos = calloc(image->thread_count, sizeof(*pos));
    uint64_t bytes_live = 0, peak = 0;
    size_t count = 0;
    for (uint64_t k = 0; k < image->total_ops; k++) {
        const struct replay_op_extra *x;
        uint64_t i = test_next_op(image, pos, extra_pos, &x);
        const struct replay_packed_op *op = &ops[i];
        if (op->old_slot != TRACE_NO_SLOT && op->kind != TRACE_USABLE_SIZE)
            for (size_t j = 0; j < count; j++)
                if (live[j].slot == op->old_slot) {
                    bytes_live -= live[j].asked;
                    test_drop(live, &count, op->old_slot);
                    break;
                }
        if (op->slot == TRACE_NO_SLOT)
            continue;
        uint64_t n = none_op_bytes(op, x);
        struct live_block b = { offset[i], n ? n : 1, test_asked(op, x),
                                op->slot };
        uint64_t align = none_op_align(op, x);
        CHECK_MSG(align <= 1 || b.off % align == 0, "op %llu: offset %llu "
              "for alignment %llu", (unsigned long long)i,
              (unsigned long long)b.off, (unsigned long long)align);
        for (size_t j = 0; j < count; j++)
            CHECK_MSG(b.off + b.bytes <= live[j].off ||
                  live[j].off + live[j].bytes <= b.off,
                  "op %llu at %llu+%llu overlaps a live block at "
                  "%llu+%llu", (unsigned long long)i,
                  (unsigned long long)b.off, (unsigned long long)b.bytes,
                  (unsigned long long)live[j].off,
                  (unsigned long long)live[j].bytes);
        live[count++] = b;
        bytes_live += b.asked;
        if (bytes_live > peak)
            peak = bytes_live;
    }
    free(live);
    free(pos);
    free(extra_pos);
    return peak;
}

static struct replay_image *test_image(struct builder *b)
{
    struct replay_options opt;
    char err[REPLAY_MSG_LEN] = "";
    int fd;
    builder_options(&opt);
    opt.bump = 1;
    struct replay_image *image = replay_image_build(&b->trace, &opt, 0, &fd,
                                                    err, sizeof(err));
    CHECK_MSG(image != NULL, "image: %s", err);
    return image;
}

/* Lays out b's trace, checks it; returns the layout's size over the
 * peak of live bytes. */
static double test_layout(struct builder *b, const char *what)
{
    struct replay_image *image = test_image(b);
    if (!image)
        return 0;
    uint32_t *offset = calloc(image->total_ops + 1, sizeof(*offset));
    uint64_t extent = none_pack(image, offset, 1ull << 32);
    CHECK_MSG(extent != UINT64_MAX, "%s: no layout", what);
    uint64_t peak = test_check_layout(image, offset);
    CHECK_MSG(peak == (uint64_t)b->peak, "%s: peak %llu, builder's %lld", what,
          (unsigned long long)peak, (long long)b->peak);
    double ratio = (double)extent / (double)(peak ? peak : 1);
    printf("%s: layout %llu bytes for %llu live (%.3fx)\n", what,
           (unsigned long long)extent, (unsigned long long)peak, ratio);
    free(offset);
    replay_image_unmap(image);
    return ratio;
}

static uint64_t test_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* One thread: a pool of up to `keep` live blocks of 1 B-max B, each op
 * freeing a random one or allocating (or reallocating) into its place. */
static void test_churn(struct builder *b, uint32_t keep, uint64_t ops,
                       uint64_t max)
{
    uint32_t *slot = calloc(keep, sizeof(*slot));
    uint64_t x = 88172645463325252ull;
    builder_init(b, 1);
    for (uint32_t i = 0; i < keep; i++)
        slot[i] = builder_alloc(b, 0, TRACE_MALLOC,
                                1 + test_random(&x) % max, 0, NULL);
    for (uint64_t n = 0; n < ops; n++) {
        uint32_t i = (uint32_t)(test_random(&x) % keep);
        builder_release(b, 0, TRACE_FREE, slot[i], TRACE_NO_DEP, 0);
        slot[i] = builder_alloc(b, 0, TRACE_MALLOC,
                                1 + test_random(&x) % max, 0, NULL);
    }
    for (uint32_t i = 0; i < keep; i++)
        builder_release(b, 0, TRACE_FREE, slot[i], TRACE_NO_DEP, 0);
    free(slot);
}

/* Many small blocks: best fit, under a tenth over the peak. */
static void test_many_blocks_pack_tightly(void)
{
    struct builder b;
    test_churn(&b, 2000, 60000, 512);
    double ratio = test_layout(&b, "60,000 blocks of 1-512 B");
    CHECK_MSG(ratio >= 1.0 && ratio < 1.10, "%.3fx the peak", ratio);
    builder_free(&b);
}

/* Few big blocks, as in images400: largest first. */
static void test_few_big_blocks_pack_tightly(void)
{
    struct builder b;
    test_churn(&b, 12, 400, 8u << 20);
    double ratio = test_layout(&b, "412 blocks of 1 B-8 MiB");
    /* sizes uniform at random are harder than images400's (1.006x) */
    CHECK_MSG(ratio >= 1.0 && ratio < 1.20, "%.3fx the peak", ratio);
    builder_free(&b);
}

/* Blocks that cross threads, along edges: no two live ones overlap. */
static void test_cross_thread_blocks_do_not_overlap(void)
{
    struct builder b;
    builder_cross(&b, 4, 300, 8);
    double ratio = test_layout(&b, "4 threads, crossing");
    CHECK_MSG(ratio >= 1.0, "%.3fx the peak", ratio);
    builder_free(&b);
    builder_mixed(&b, 200);     /* every kind, aligned ones included */
    ratio = test_layout(&b, "every call kind");
    CHECK_MSG(ratio >= 1.0, "%.3fx the peak", ratio);
    builder_free(&b);
}

int main(void)
{
    test_many_blocks_pack_tightly();
    test_few_big_blocks_pack_tightly();
    test_cross_thread_blocks_do_not_overlap();
    CHECK_DONE();
}
