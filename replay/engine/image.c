/*
 * image.c - the replay image: a trace flattened into one block of memory
 * that a child process maps, already checked and ready to run.
 *
 * Layout: struct replay_image, then thread_count replay_thread_descs,
 * then total_ops replay_ops, each thread's ops contiguous and in order,
 * then (page-aligned) one recorded time per op, apart because only
 * --timing recorded reads them.  The parent builds it in a memfd so each
 * run's child maps the same pages, pre-faulted: the harness's tables are
 * resident before timing.
 *
 * Building also renames slots (see slots.c) so that a slot is reused
 * only by the thread that freed it: the trace's slots may pass between
 * threads with no edge, which a concurrent replay would race on.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image.h"

#define IMAGE_MAGIC 0x4d414c4c52504c59ull /* "MALLRPLY" */

_Static_assert(sizeof(struct replay_op) == 32,
               "replay_op is sized for the op stream's memory traffic");

#define IMAGE_PAGE 4096u   /* times start on a page of their own */

static size_t image_times_offset(uint32_t threads, uint64_t ops)
{
    size_t head = sizeof(struct replay_image) +
                  threads * sizeof(struct replay_thread_desc) +
                  ops * sizeof(struct replay_op);
    return (head + IMAGE_PAGE - 1) & ~(size_t)(IMAGE_PAGE - 1);
}

static size_t image_bytes(uint32_t threads, uint64_t ops)
{
    return image_times_offset(threads, ops) + ops * sizeof(uint64_t);
}

const uint64_t *replay_image_times(const struct replay_image *image)
{
    return (const uint64_t *)((const char *)image + image->times_offset);
}

const struct replay_thread_desc *replay_image_threads(
    const struct replay_image *image)
{
    return (const struct replay_thread_desc *)(image + 1);
}

const struct replay_op *replay_image_ops(const struct replay_image *image)
{
    return (const struct replay_op *)(replay_image_threads(image) +
                                      image->thread_count);
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

static int image_copy_ops(struct replay_image *image,
                          const struct trace *trace, char *err,
                          size_t err_len)
{
    struct replay_thread_desc *desc =
        (struct replay_thread_desc *)(image + 1);
    struct replay_op *ops = (struct replay_op *)replay_image_ops(image);
    uint64_t *times = (uint64_t *)replay_image_times(image);
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

struct replay_image *replay_image_build(const struct trace *trace,
                                        const struct replay_options *opt,
                                        int shared_fd_wanted, int *fd_out,
                                        char *err, size_t err_len)
{
    uint64_t total = 0;
    for (uint32_t t = 0; t < trace->thread_count; t++)
        total += trace->threads[t].op_count;
    size_t bytes = image_bytes(trace->thread_count, total);
    struct replay_image *image = image_alloc(bytes, shared_fd_wanted,
                                             fd_out);
    if (image == MAP_FAILED) {
        snprintf(err, err_len, "cannot map a %zu-byte replay image: %s",
                 bytes, strerror(errno));
        return NULL;
    }
    memset(image, 0, sizeof(*image));
    image->magic = IMAGE_MAGIC;
    image->bytes = bytes;
    image->options = *opt;
    image->thread_count = trace->thread_count;
    image->total_ops = total;
    image->peak_live_bytes = trace->peak_live_bytes;
    image->times_offset = image_times_offset(trace->thread_count, total);
    if (image_copy_ops(image, trace, err, err_len) != 0 ||
        image_check_and_rename(image, trace->slot_count, err,
                               err_len) != 0) {
        replay_image_unmap(image);
        if (*fd_out >= 0)
            close(*fd_out);
        return NULL;
    }
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
