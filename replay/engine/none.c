/*
 * none.c - `--allocator none`: no allocator at all.  Each op that makes
 * a block reads the block's address from a table laid out before the
 * run, and "free" is nothing.  What a none replay then measures is the
 * harness alone: reading the op stream, waiting on edges, touching,
 * bookkeeping, timing; and its memory is the ideal an allocator is
 * judged against.
 *
 * Two layouts, both an offset per op (this instance's region plus it):
 * - packed (the default; none_pack.c, worked out once, when image.c
 *   builds the image all runs share): the blocks as close together as
 *   the recorded order allows, so the region is the trace's peak of
 *   live bytes and little more.  Blocks that the replay holds at once
 *   but the recording did not may share bytes: nothing reads them.
 * - by slot (--verify, which reads every block back): every replay slot
 *   owns a fixed piece, as large as the largest block the trace ever
 *   puts in it.  Slots are renamed (slots.c) so that a slot holds one
 *   live block at a time and passes between threads only along an
 *   edge: two live blocks never share memory, whatever the interleaving.
 *   Realloc copies when its slot changes and calloc zeroes, so the
 *   checks hold.  A trace whose slot memory would be many times its
 *   peak of live bytes gets the bump allocator of bump.c instead.
 * The region is pre-faulted before the timed run, the table is shared
 * memory (the harness's, not counted as the allocator's), so neither
 * shows in the figures.  A trace whose region would pass NONE_MAX_BYTES
 * gets bump.c too.
 */
#include <string.h>
#include <sys/mman.h>

#include "none.h"
#include "run.h"

/* By slot, nor past this many times the trace's peak live bytes (plus
 * the slack): images400's slots hold images of many sizes over time,
 * and slot memory for it came to 1.5 GiB for 57 MiB live. */
#define NONE_PEAK_FACTOR 4u
#define NONE_PEAK_SLACK (64ull << 20)
/* Pre-fault the region up to this size (MAP_POPULATE costs ~0.1 s a
 * GiB here; beyond it the first touches fault inside the run). */
#define NONE_PREFAULT_BYTES (1ull << 30)
#define NONE_MIN_ALIGN 16u

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

/* Largest alignment any op asks for, a page at least: the region's. */
static uint64_t none_max_align(const struct replay_image *image)
{
    const struct replay_packed_op *ops = replay_image_ops(image);
    const struct replay_op_extra *x = replay_image_extras(image);
    uint64_t max = NONE_PAGE;
    for (uint64_t i = 0; i < image->total_ops; i++) {
        const struct replay_op_extra *e =
            ops[i].flags & REPLAY_OP_EXTRA ? x++ : NULL;
        uint64_t a = e ? none_op_align(&ops[i], e) : 0;
        if (a > max && a <= NONE_MAX_BYTES)
            max = a;
    }
    return max;
}

static void *none_map(uint64_t bytes, int flags)
{
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
                   MAP_ANONYMOUS | MAP_NORESERVE | flags, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Gives each slot its offset; returns one instance's bytes. */
static uint64_t none_place(uint64_t *offset, const uint64_t *need,
                           const uint64_t *align, uint32_t slots)
{
    uint64_t at = 0;
    for (uint32_t s = 0; s < slots && at <= NONE_MAX_BYTES; s++) {
        uint64_t a = align[s] > NONE_MIN_ALIGN ? align[s] : NONE_MIN_ALIGN;
        offset[s] = none_align_up(at, a);
        uint64_t n = need[s] > NONE_MAX_BYTES ? NONE_MAX_BYTES : need[s];
        at = offset[s] + none_align_up(n ? n : 1, NONE_MIN_ALIGN);
    }
    return at;
}

/* The slot layout (see the top): each op's offset is its slot's.
 * UINT64_MAX when it would not be worth it. */
static uint64_t none_by_slot(const struct replay_image *image,
                             uint32_t *op_offset)
{
    size_t bytes = ((size_t)image->slot_count + 1) * sizeof(uint64_t);
    uint64_t *need = none_map(bytes, MAP_PRIVATE | MAP_POPULATE);
    uint64_t *align = none_map(bytes, MAP_PRIVATE | MAP_POPULATE);
    uint64_t *offset = none_map(bytes, MAP_PRIVATE | MAP_POPULATE);
    uint64_t total = UINT64_MAX;
    if (need && align && offset) {
        none_measure(image, need, align);
        total = none_place(offset, need, align, image->slot_count);
        const struct replay_packed_op *ops = replay_image_ops(image);
        for (uint64_t i = 0; i < image->total_ops; i++)
            op_offset[i] = ops[i].slot < image->slot_count ?
                           (uint32_t)offset[ops[i].slot] : 0;
    }
    uint64_t fair = image->peak_live_bytes * NONE_PEAK_FACTOR +
                    NONE_PEAK_SLACK;
    if (total > fair)
        total = UINT64_MAX;
    if (need)
        munmap(need, bytes);
    if (align)
        munmap(align, bytes);
    if (offset)
        munmap(offset, bytes);
    return total;
}

/* The packed layout, worked out with the image (image.c), or by slot,
 * in a table of this run's; one instance's bytes, UINT64_MAX when too
 * big. */
static uint64_t none_layout(struct none_memory *m,
                            const struct replay_image *image, int by_slot)
{
    if (!by_slot && replay_image_none(image)) {
        m->op_offset = replay_image_none(image);
        return image->none_bytes;
    }
    m->table_bytes = (image->total_ops + 1) * sizeof(uint32_t);
    m->table = none_map(m->table_bytes, MAP_SHARED | MAP_POPULATE);
    if (!m->table)
        return UINT64_MAX;
    m->op_offset = m->table;
    return by_slot ? none_by_slot(image, m->table)
                   : none_pack(image, m->table, NONE_MAX_BYTES);
}

int none_setup(struct none_memory *m, const struct replay_image *image,
               uint32_t instances, int by_slot)
{
    memset(m, 0, sizeof(*m));
    uint64_t max_align = none_max_align(image);
    uint64_t bytes = none_layout(m, image, by_slot);
    if (bytes > NONE_MAX_BYTES) {
        none_teardown(m);
        return -1;
    }
    m->instance_bytes = none_align_up(bytes ? bytes : 1, max_align);
    uint64_t total = m->instance_bytes * instances;
    m->map_bytes = total + max_align;
    m->map = total > NONE_MAX_BYTES ? NULL :
             none_map(m->map_bytes, MAP_PRIVATE |
                      (m->map_bytes <= NONE_PREFAULT_BYTES ?
                       MAP_POPULATE : 0));
    if (!m->map) {
        none_teardown(m);
        return -1;
    }
    m->base = (char *)none_align_up((uint64_t)m->map, max_align);
    return 0;
}

void none_teardown(struct none_memory *m)
{
    if (m->table)
        munmap(m->table, m->table_bytes);
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
