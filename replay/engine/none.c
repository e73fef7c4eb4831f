/*
 * none.c - `--allocator none`: no allocator at all.  Every replay slot
 * owns a fixed piece of one region, as large as the largest block the
 * trace ever puts in that slot, so "malloc" is an address the worker
 * reads from a table and "free" is nothing.  What a none replay then
 * measures is the harness alone: reading the op stream, waiting on
 * edges, touching, bookkeeping, timing.
 *
 * This works because slots are renamed (slots.c) so that a slot holds
 * one live block at a time and passes between threads only along an
 * edge: two live blocks never share memory.  The layout is computed in
 * the child from the image before the timed region and the region is
 * pre-faulted, so neither shows in the run.  Under --verify, realloc
 * copies when its new slot differs from the old one and calloc zeroes,
 * so the checks hold; otherwise nothing reads a block's contents, and
 * that work (an allocator's, not the harness's) is skipped.  A trace
 * whose slots would need more than NONE_MAX_BYTES gets the bump
 * allocator of bump.c instead, and so does one whose slot memory would
 * be many times its peak of live bytes (each slot is sized for its
 * largest block).
 */
#include <string.h>
#include <sys/mman.h>

#include "run.h"

/* Past this (all instances) the region is not worth its address space
 * and RSS: fall back to bump.c. */
#define NONE_MAX_BYTES (4ull << 30)
/* Nor past this many times the trace's peak live bytes (plus the
 * slack): images400's slots hold images of many sizes over time, and
 * slot memory for it came to 1.5 GiB for 57 MiB live, which cost the
 * none replay 0.86 s of page faults against glibc's 0.1-0.3 s. */
#define NONE_PEAK_FACTOR 4u
#define NONE_PEAK_SLACK (64ull << 20)
/* Pre-fault the region up to this size (MAP_POPULATE costs ~0.1 s a
 * GiB here; beyond it the first touches fault inside the run). */
#define NONE_PREFAULT_BYTES (1ull << 30)
#define NONE_MIN_ALIGN 16u
#define NONE_PAGE 4096u

static uint64_t none_align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

/* Alignment an op asks for (0: none beyond the minimum). */
static uint64_t none_op_align(const struct replay_packed_op *op,
                              const struct replay_op_extra *x)
{
    switch (op->kind) {
    case TRACE_POSIX_MEMALIGN: case TRACE_ALIGNED_ALLOC:
    case TRACE_MEMALIGN:
        return x && x->arg && !(x->arg & (x->arg - 1)) ? x->arg : 0;
    case TRACE_VALLOC: case TRACE_PVALLOC:
        return NONE_PAGE;
    default:
        return 0;
    }
}

/* Bytes an op's block occupies (pvalloc rounds up to a page). */
static uint64_t none_op_bytes(const struct replay_packed_op *op,
                              const struct replay_op_extra *x)
{
    uint64_t n = x ? x->size : op->size;
    if (x && (op->kind == TRACE_CALLOC || op->kind == TRACE_REALLOCARRAY)
        && __builtin_mul_overflow(n, (uint64_t)x->arg, &n))
        return UINT64_MAX;
    if (op->kind == TRACE_PVALLOC)
        n = none_align_up(n, NONE_PAGE);
    return n;
}

/* Largest block and alignment of each slot, over every op. */
static void none_measure(const struct replay_image *image, uint64_t *need,
                         uint64_t *align)
{
    const struct replay_packed_op *ops = replay_image_ops(image);
    const struct replay_op_extra *x = replay_image_extras(image);
    for (uint64_t i = 0; i < image->total_ops; i++) {
        const struct replay_op_extra *e =
            ops[i].flags & REPLAY_OP_EXTRA ? x++ : NULL;
        uint32_t s = ops[i].slot;
        if (s == TRACE_NO_SLOT || s >= image->slot_count)
            continue;
        uint64_t n = none_op_bytes(&ops[i], e), a = none_op_align(&ops[i], e);
        if (n > need[s])
            need[s] = n;
        if (a > align[s])
            align[s] = a;
    }
}

static void *none_map(uint64_t bytes, int populate)
{
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
                   (populate ? MAP_POPULATE : 0), -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Gives each slot its offset; returns one instance's bytes and, in
 * *max_align, the largest alignment any slot needs. */
static uint64_t none_place(uint64_t *offset, const uint64_t *need,
                           const uint64_t *align, uint32_t slots,
                           uint64_t *max_align)
{
    uint64_t at = 0;
    *max_align = NONE_PAGE;
    for (uint32_t s = 0; s < slots && at <= NONE_MAX_BYTES; s++) {
        uint64_t a = align[s] > NONE_MIN_ALIGN ? align[s] : NONE_MIN_ALIGN;
        if (a > *max_align)
            *max_align = a;
        offset[s] = none_align_up(at, a);
        uint64_t n = need[s] > NONE_MAX_BYTES ? NONE_MAX_BYTES : need[s];
        at = offset[s] + none_align_up(n ? n : 1, NONE_MIN_ALIGN);
    }
    return none_align_up(at, *max_align);
}

int none_setup(struct none_memory *m, const struct replay_image *image,
               uint32_t instances)
{
    uint32_t slots = image->slot_count;
    memset(m, 0, sizeof(*m));
    m->offset_bytes = ((uint64_t)slots + 1) * sizeof(uint64_t);
    m->offset = none_map(m->offset_bytes, 1);
    uint64_t *need = none_map(m->offset_bytes, 1);
    uint64_t *align = none_map(m->offset_bytes, 1);
    int rc = -1;
    if (!m->offset || !need || !align)
        goto out;
    none_measure(image, need, align);
    uint64_t max_align;
    m->instance_bytes = none_place(m->offset, need, align, slots,
                                   &max_align);
    uint64_t total = m->instance_bytes * instances;
    uint64_t fair = image->peak_live_bytes * NONE_PEAK_FACTOR +
                    NONE_PEAK_SLACK;
    if (m->instance_bytes > NONE_MAX_BYTES || total > NONE_MAX_BYTES ||
        m->instance_bytes > fair)
        goto out;
    m->map_bytes = total + max_align;
    m->map = none_map(m->map_bytes, m->map_bytes <= NONE_PREFAULT_BYTES);
    if (m->map) {
        m->base = (char *)none_align_up((uint64_t)m->map, max_align);
        rc = 0;
    }
out:
    if (need)
        munmap(need, m->offset_bytes);
    if (align)
        munmap(align, m->offset_bytes);
    if (rc != 0)
        none_teardown(m);
    return rc;
}

void none_teardown(struct none_memory *m)
{
    if (m->offset)
        munmap(m->offset, m->offset_bytes);
    if (m->map)
        munmap(m->map, m->map_bytes);
    memset(m, 0, sizeof(*m));
}

/*
 * The rare calls that must do more than name an address: realloc moves
 * the old contents when its slot changes, calloc zeroes (the slot may
 * hold an earlier block's bytes).  Returns the block.
 */
void *none_finish_call(void *p, unsigned kind, uint64_t bytes, void *old,
                       uint64_t old_size)
{
    if (kind == TRACE_CALLOC) {
        memset(p, 0, bytes);
    } else if ((kind == TRACE_REALLOC || kind == TRACE_REALLOCARRAY) &&
               old && old != p) {
        memmove(p, old, old_size < bytes ? old_size : bytes);
    }
    return p;
}
