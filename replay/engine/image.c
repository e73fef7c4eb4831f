/*
 * image.c - the replay image: a trace flattened into one block of memory
 * that a child process maps, already checked and ready to run.
 *
 * Layout: struct replay_image, then thread_count replay_thread_descs,
 * then total_ops packed ops (16 bytes each), each thread's ops
 * contiguous and in order, then the extras of the few ops that need one
 * (edges, counts, alignments, huge sizes), then (page-aligned) one
 * recorded time per op, apart because only --timing recorded reads
 * them.  The parent builds it in a memfd so each
 * run's child maps the same pages, pre-faulted: the harness's tables are
 * resident before timing.
 *
 * Building also renames slots (see slots.c) so that a slot is reused
 * only by the thread that freed it: the trace's slots may pass between
 * threads with no edge, which a concurrent replay would race on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image.h"
#include "none.h"
#include "pacing.h"

#define IMAGE_MAGIC 0x4d414c4c52504c5bull /* "MALLRPL[": live section */

_Static_assert(sizeof(struct replay_packed_op) == 16,
               "the packed op is sized for the op stream's traffic");

#define IMAGE_PAGE 4096u   /* times start on a page of their own */

/* Where each part of an image of this shape starts, and its size. */
static void image_layout(struct replay_image *image)
{
    size_t head = sizeof(struct replay_image) +
                  image->thread_count * sizeof(struct replay_thread_desc) +
                  image->total_ops * sizeof(struct replay_packed_op);
    image->extras_offset = head;
    size_t end = head + image->total_extras *
                 sizeof(struct replay_op_extra);
    if (image->options.bump && !image->options.verify) {
        image->none_offset = end;
        end += image->total_ops * sizeof(uint32_t);
    }
    image->times_offset = (end + IMAGE_PAGE - 1) & ~(size_t)(IMAGE_PAGE - 1);
    image->live_offset = image->times_offset +
                         image->total_ops * sizeof(uint64_t);
    image->bytes = image->live_offset + image->total_ops * sizeof(int64_t);
}

const int64_t *replay_image_live(const struct replay_image *image)
{
    return (const int64_t *)((const char *)image + image->live_offset);
}

const uint64_t *replay_image_times(const struct replay_image *image)
{
    return (const uint64_t *)((const char *)image + image->times_offset);
}

const uint32_t *replay_image_none(const struct replay_image *image)
{
    if (!image->none_offset)
        return NULL;
    return (const uint32_t *)((const char *)image + image->none_offset);
}

const struct replay_thread_desc *replay_image_threads(
    const struct replay_image *image)
{
    return (const struct replay_thread_desc *)(image + 1);
}

const struct replay_packed_op *replay_image_ops(
    const struct replay_image *image)
{
    return (const struct replay_packed_op *)(replay_image_threads(image) +
                                             image->thread_count);
}

const struct replay_op_extra *replay_image_extras(
    const struct replay_image *image)
{
    return (const struct replay_op_extra *)((const char *)image +
                                            image->extras_offset);
}

static void *image_alloc(size_t bytes, int shared, int *fd_out)
{
    *fd_out = -1;
    if (!shared)
        return mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd = memfd_create("mallard-replay-image", 0);
    if (fd < 0)
        return MAP_FAILED;
    if (ftruncate(fd, (off_t)bytes) != 0) {
        close(fd);
        return MAP_FAILED;
    }
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        close(fd);
    else
        *fd_out = fd;
    return p;
}

/* The ops as the checker wants them: the build form and times. */
static int image_copy_ops(struct replay_image *head,
                          const struct trace *trace, struct replay_op *ops,
                          uint64_t *times, char *err, size_t err_len)
{
    struct replay_thread_desc *desc =
        (struct replay_thread_desc *)replay_image_threads(head);
    uint64_t at = 0;
    for (uint32_t t = 0; t < trace->thread_count; t++) {
        const struct trace_thread *th = &trace->threads[t];
        desc[t].first_op = at;
        desc[t].op_count = th->op_count;
        for (uint64_t i = 0; i < th->op_count; i++, at++) {
            const struct trace_op *src = &th->ops[i];
            if (src->arg > UINT32_MAX) {
                snprintf(err, err_len, "thread %u op %llu: argument %llu "
                         "(count or alignment) over 2^32-1 is not "
                         "supported", t, (unsigned long long)i,
                         (unsigned long long)src->arg);
                return -1;
            }
            times[at] = src->time_ns;
            ops[at] = (struct replay_op){
                .size = src->size, .arg = (uint32_t)src->arg,
                .slot = src->slot, .old_slot = src->old_slot,
                .dep_thread = src->dep_thread, .dep_op = src->dep_op,
                .kind = src->kind, .flags = 0,
            };
        }
    }
    return 0;
}

static int image_needs_extra(const struct replay_op *op)
{
    return op->dep_thread != TRACE_NO_DEP || op->arg != 0 ||
           op->size >= REPLAY_SIZE_IN_EXTRA;
}

/*
 * Which plain call the fast loop makes of op (worker.c), or none: a
 * malloc into a slot, a free of one or of NULL, a realloc from one slot
 * or NULL to another, a calloc whose count times size fits, a
 * malloc_usable_size, each with no edge and nothing else to do.
 * Decided here, once, so the loop reads one byte instead of testing
 * kind, slots and flags on every op.
 */
static uint8_t image_plain(const struct replay_op *op, unsigned flags)
{
    uint64_t bytes;
    if (flags & REPLAY_OP_NO_CALL || op->dep_thread != TRACE_NO_DEP)
        return REPLAY_PLAIN_NOT;
    int slot = op->slot != TRACE_NO_SLOT, old = op->old_slot != TRACE_NO_SLOT;
    int extra = image_needs_extra(op);
    switch (op->kind) {
    case TRACE_MALLOC:
        if (!slot || extra)
            return REPLAY_PLAIN_NOT;
        return op->size - 1 < REPLAY_PAGE_BYTES ? REPLAY_PLAIN_MALLOC
                                                : REPLAY_PLAIN_MALLOC_RARE;
    case TRACE_FREE:
        if (extra)
            return REPLAY_PLAIN_NOT;
        return old ? REPLAY_PLAIN_FREE : REPLAY_PLAIN_FREE_NULL;
    case TRACE_REALLOC:
        if (!slot || extra)
            return REPLAY_PLAIN_NOT;
        return old ? REPLAY_PLAIN_REALLOC : REPLAY_PLAIN_REALLOC_NEW;
    case TRACE_USABLE_SIZE:
        return old && !extra ? REPLAY_PLAIN_USABLE : REPLAY_PLAIN_NOT;
    case TRACE_CALLOC:
        /* its count is in its extra, where the loop reads it */
        return slot && extra &&
               !__builtin_mul_overflow((uint64_t)op->arg, op->size,
                                       &bytes) ?
               REPLAY_PLAIN_CALLOC : REPLAY_PLAIN_NOT;
    default:
        return REPLAY_PLAIN_NOT;
    }
}

/* One op in its packed form, and its extra if it needs one. */
static struct replay_packed_op image_pack(const struct replay_op *op,
                                          struct replay_op_extra *extra,
                                          uint64_t *extras)
{
    struct replay_packed_op p = {
        .slot = op->slot, .old_slot = op->old_slot, .kind = op->kind,
        .flags = op->flags,
        .size = op->size >= REPLAY_SIZE_IN_EXTRA ? REPLAY_SIZE_IN_EXTRA
                                                 : (uint32_t)op->size,
    };
    if (op->kind == TRACE_THREAD_START || op->kind == TRACE_THREAD_EXIT)
        p.flags |= REPLAY_OP_NO_CALL;
    p.plain = image_plain(op, p.flags);
    if (p.plain != REPLAY_PLAIN_NOT &&
        p.flags & (REPLAY_OP_CLOSE_BEFORE | REPLAY_OP_IS_DEP_TARGET))
        p.plain |= REPLAY_PLAIN_MARKED;
    if (image_needs_extra(op)) {
        p.flags |= REPLAY_OP_EXTRA;
        extra[(*extras)++] = (struct replay_op_extra){
            .size = op->size, .dep_thread = op->dep_thread,
            .dep_op = op->dep_op, .arg = op->arg,
        };
    }
    return p;
}

/* Lays the checked ops out in the final image. */
static void image_fill(struct replay_image *image,
                       const struct replay_image *head,
                       const struct replay_op *ops, const uint64_t *times)
{
    size_t head_bytes = sizeof(*head) +
                        head->thread_count * sizeof(struct replay_thread_desc);
    memcpy(image, head, head_bytes);
    struct replay_thread_desc *desc =
        (struct replay_thread_desc *)replay_image_threads(image);
    struct replay_packed_op *packed =
        (struct replay_packed_op *)replay_image_ops(image);
    struct replay_op_extra *extra =
        (struct replay_op_extra *)replay_image_extras(image);
    int64_t *live = (int64_t *)replay_image_live(image);
    uint64_t extras = 0;
    for (uint32_t t = 0; t < image->thread_count; t++) {
        desc[t].first_extra = extras;
        uint64_t first = desc[t].first_op;
        for (uint64_t i = first; i < first + desc[t].op_count; i++) {
            packed[i] = image_pack(&ops[i], extra, &extras);
            live[i] = ops[i].live_after;
        }
    }
    memcpy((char *)image + image->times_offset, times,
           image->total_ops * sizeof(uint64_t));
}

/* Checks and renames in a scratch header (the image's size depends on
 * how many ops need an extra, known only then), then packs. */
static struct replay_image *image_make(struct replay_image *head,
                                       struct replay_op *ops,
                                       uint64_t *times, uint32_t slots,
                                       int shared, int *fd_out, char *err,
                                       size_t err_len)
{
    if (image_check_and_rename(head, ops, times, slots, err,
                               err_len) != 0)
        return NULL;
    if (replay_pacing_add(head, ops, times,
                          (uint64_t)head->options.max_lead_us * 1000) != 0) {
        snprintf(err, err_len, "out of memory pacing the threads");
        return NULL;
    }
    for (uint64_t i = 0; i < head->total_ops; i++)
        head->total_extras += (uint64_t)image_needs_extra(&ops[i]);
    image_layout(head);
    struct replay_image *image = image_alloc(head->bytes, shared, fd_out);
    if (image == MAP_FAILED) {
        snprintf(err, err_len, "cannot map a %llu-byte replay image: %s",
                 (unsigned long long)head->bytes, strerror(errno));
        return NULL;
    }
    image_fill(image, head, ops, times);
    /* once here, not in every run's child: the walk costs ~a run */
    if (image->none_offset)
        image->none_bytes = none_pack(image,
            (uint32_t *)((char *)image + image->none_offset),
            NONE_MAX_BYTES);
    return image;
}

struct replay_image *replay_image_build(const struct trace *trace,
                                        const struct replay_options *opt,
                                        int shared_fd_wanted, int *fd_out,
                                        char *err, size_t err_len)
{
    uint64_t total = 0;
    for (uint32_t t = 0; t < trace->thread_count; t++)
        total += trace->threads[t].op_count;
    *fd_out = -1;
    struct replay_image *head = calloc(1, sizeof(*head) +
        trace->thread_count * sizeof(struct replay_thread_desc));
    struct replay_op *ops = malloc((total + 1) * sizeof(*ops));
    uint64_t *times = malloc((total + 1) * sizeof(*times));
    struct replay_image *image = NULL;
    if (!head || !ops || !times) {
        snprintf(err, err_len, "out of memory building the replay image");
        goto out;
    }
    head->magic = IMAGE_MAGIC;
    head->options = *opt;
    head->thread_count = trace->thread_count;
    head->total_ops = total;
    head->peak_live_bytes = trace->peak_live_bytes;
    if (image_copy_ops(head, trace, ops, times, err, err_len) == 0)
        image = image_make(head, ops, times, trace->slot_count,
                           shared_fd_wanted, fd_out, err, err_len);
out:
    free(head);
    free(ops);
    free(times);
    return image;
}

/* Maps the first `bytes` of an image in: MADV_POPULATE_READ where the
 * kernel has it (5.14), else a read per page. */
static void image_prefault(const void *p, size_t bytes)
{
#ifdef MADV_POPULATE_READ
    if (madvise((void *)p, bytes, MADV_POPULATE_READ) == 0)
        return;
#endif
    volatile const char *c = p;
    for (size_t off = 0; off < bytes; off += IMAGE_PAGE)
        (void)c[off];
}

struct replay_image *replay_image_map(int fd, char *err, size_t err_len)
{
    struct replay_image head;
    if (pread(fd, &head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
        head.magic != IMAGE_MAGIC) {
        snprintf(err, err_len, "replay image (fd %d): offset 0: "
                 "expected the image header", fd);
        return NULL;
    }
    void *p = mmap(NULL, head.bytes, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        snprintf(err, err_len, "cannot map replay image: %s",
                 strerror(errno));
        return NULL;
    }
    /* resident before the clock starts; times only if they are used */
    int paced = head.options.timing == REPLAY_TIMING_RECORDED;
    image_prefault(p, paced ? head.bytes : head.times_offset);
    return p;
}

void replay_image_unmap(struct replay_image *image)
{
    if (image)
        munmap(image, image->bytes);
}
