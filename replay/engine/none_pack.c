/*
 * none_pack.c - lays out the blocks of `--allocator none` as tightly as
 * the trace allows, so that its memory is the trace's live bytes.
 *
 * Why: a none replay's memory is the ideal an allocator is judged
 * against, the recorded peak of live bytes.  Giving every slot memory
 * of its own, as large as its largest block, held 54 MiB for gcc's
 * 5.7 MiB live.  The trace is known before the run, so the layout is
 * worked out offline: walk the ops in recorded order (edges kept: the
 * order the trace's peak was counted in) and place each new block
 * best-fit into the gaps that earlier frees left, growing the range only
 * when no gap fits.  Offsets are in bytes, unrounded: a none block is
 * only touched, never used as memory of some type (--verify, which
 * reads blocks back, keeps none.c's slot layout).
 *
 * A replay may interleave threads otherwise than the recording did, so
 * two blocks the recording never held at once may both be live in the
 * replay and share bytes: harmless, as nothing reads them.
 *
 * The free space: a node per range, used or free, in a list in address
 * order (a freed range merges with free neighbours); free nodes also
 * sit in bins by length: a bin per length below PACK_EXACT bytes, so
 * the first non-empty bin at or above a length holds a best fit, and
 * PACK_SUB bins per power of two above, searched for the smallest node
 * that fits (PACK_SCAN nodes at most).  A bitmap of non-empty bins, and
 * one of non-empty bitmap words, finds the next bin in two scans.
 */
#include <stdlib.h>
#include <string.h>

#include "none.h"

#define PACK_NIL UINT32_MAX
#define PACK_EXACT_LOG 10
#define PACK_EXACT (1u << PACK_EXACT_LOG)
#define PACK_SUB_LOG 5
#define PACK_SUB (1u << PACK_SUB_LOG)
#define PACK_BINS (PACK_EXACT + (64 - PACK_EXACT_LOG) * PACK_SUB)
#define PACK_WORDS ((PACK_BINS + 63) / 64)
#define PACK_SCAN 64u

_Static_assert(PACK_WORDS <= 64, "one summary word covers the bitmap");

struct pack_node {
    uint64_t off, len;
    uint32_t prev, next;          /* neighbours by address */
    uint32_t bin_prev, bin_next;  /* in its bin, while free */
    uint32_t free;
};

struct pack_space {
    struct pack_node *node;
    uint32_t count, cap;
    uint32_t spare;          /* recycled nodes, linked by next */
    uint32_t tail;           /* the highest node by address */
    uint64_t extent, limit;
    uint32_t head[PACK_BINS];
    uint64_t bits[PACK_WORDS];
    uint64_t summary;        /* bit w set: bits[w] is not 0 */
};

static uint32_t pack_bin_of(uint64_t len)
{
    if (len < PACK_EXACT)
        return (uint32_t)len;
    unsigned log = 63u - (unsigned)__builtin_clzll(len);
    uint32_t sub = (uint32_t)(len >> (log - PACK_SUB_LOG)) & (PACK_SUB - 1);
    return PACK_EXACT + (log - PACK_EXACT_LOG) * PACK_SUB + sub;
}

static void pack_bin_insert(struct pack_space *s, uint32_t n)
{
    uint32_t b = pack_bin_of(s->node[n].len);
    s->node[n].bin_prev = PACK_NIL;
    s->node[n].bin_next = s->head[b];
    if (s->head[b] != PACK_NIL)
        s->node[s->head[b]].bin_prev = n;
    s->head[b] = n;
    s->node[n].free = 1;
    s->bits[b >> 6] |= 1ull << (b & 63);
    s->summary |= 1ull << (b >> 6);
}

static void pack_bin_remove(struct pack_space *s, uint32_t n)
{
    struct pack_node *x = &s->node[n];
    uint32_t b = pack_bin_of(x->len);
    if (x->bin_prev != PACK_NIL)
        s->node[x->bin_prev].bin_next = x->bin_next;
    else
        s->head[b] = x->bin_next;
    if (x->bin_next != PACK_NIL)
        s->node[x->bin_next].bin_prev = x->bin_prev;
    x->free = 0;
    if (s->head[b] != PACK_NIL)
        return;
    s->bits[b >> 6] &= ~(1ull << (b & 63));
    if (!s->bits[b >> 6])
        s->summary &= ~(1ull << (b >> 6));
}

/* The first non-empty bin at or after b, or PACK_NIL. */
static uint32_t pack_next_bin(const struct pack_space *s, uint32_t b)
{
    uint32_t w = b >> 6;
    if (w >= PACK_WORDS)
        return PACK_NIL;
    uint64_t m = s->bits[w] & (~0ull << (b & 63));
    if (m)
        return (w << 6) + (uint32_t)__builtin_ctzll(m);
    uint64_t words = w + 1 < 64 ? s->summary & (~0ull << (w + 1)) : 0;
    if (!words)
        return PACK_NIL;
    w = (uint32_t)__builtin_ctzll(words);
    return (w << 6) + (uint32_t)__builtin_ctzll(s->bits[w]);
}

/* The smallest node of bin b that holds need bytes, or PACK_NIL. */
static uint32_t pack_bin_best(const struct pack_space *s, uint32_t b,
                              uint64_t need)
{
    if (b < PACK_EXACT)
        return s->head[b];        /* every node is b bytes, b >= need */
    uint32_t best = PACK_NIL, seen = 0;
    for (uint32_t n = s->head[b]; n != PACK_NIL && seen < PACK_SCAN;
         n = s->node[n].bin_next, seen++) {
        uint64_t len = s->node[n].len;
        if (len >= need && (best == PACK_NIL || len < s->node[best].len))
            best = n;
    }
    return best;
}

static uint32_t pack_find(const struct pack_space *s, uint64_t need)
{
    for (uint32_t b = pack_next_bin(s, pack_bin_of(need)); b != PACK_NIL;
         b = pack_next_bin(s, b + 1)) {
        uint32_t n = pack_bin_best(s, b, need);
        if (n != PACK_NIL)
            return n;
    }
    return PACK_NIL;
}

/* A node to use, recycled or new; PACK_NIL when out of memory.  May
 * move s->node: callers hold indices, never pointers, across it. */
static uint32_t pack_node_new(struct pack_space *s)
{
    uint32_t n = s->spare;
    if (n != PACK_NIL) {
        s->spare = s->node[n].next;
        return n;
    }
    if (s->count == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 4096;
        struct pack_node *grown = realloc(s->node, cap * sizeof(*grown));
        if (!grown || cap <= s->cap)
            return PACK_NIL;
        s->node = grown;
        s->cap = cap;
    }
    return s->count++;
}

/* Takes node n out of the address list and recycles it. */
static void pack_unlink(struct pack_space *s, uint32_t n)
{
    uint32_t p = s->node[n].prev, q = s->node[n].next;
    if (p != PACK_NIL)
        s->node[p].next = q;
    if (q != PACK_NIL)
        s->node[q].prev = p;
    else
        s->tail = p;
    s->node[n].next = s->spare;
    s->spare = n;
}

/* Cuts free node n (out of its bin) to need bytes; the rest, if any,
 * becomes a free node after it.  -1 when out of memory. */
static int pack_split(struct pack_space *s, uint32_t n, uint64_t need)
{
    if (s->node[n].len == need)
        return 0;
    uint32_t m = pack_node_new(s);
    if (m == PACK_NIL)
        return -1;
    struct pack_node *a = &s->node[n], *b = &s->node[m];
    *b = (struct pack_node){ .off = a->off + need, .len = a->len - need,
                             .prev = n, .next = a->next };
    if (a->next != PACK_NIL)
        s->node[a->next].prev = m;
    else
        s->tail = m;
    a->next = m;
    a->len = need;
    pack_bin_insert(s, m);
    return 0;
}

/* A new range at the top: the free tail grown, else a node after it. */
static uint32_t pack_grow(struct pack_space *s, uint64_t need)
{
    uint32_t t = s->tail;
    uint64_t from = t != PACK_NIL && s->node[t].free ? s->node[t].off
                                                      : s->extent;
    if (need > s->limit || from > s->limit - need)
        return PACK_NIL;
    if (t != PACK_NIL && s->node[t].free) {
        pack_bin_remove(s, t);
        if (s->node[t].len >= need)     /* past the bin's scan */
            return pack_split(s, t, need) == 0 ? t : PACK_NIL;
        s->node[t].len = need;
        s->extent = from + need;
        return t;
    }
    uint32_t n = pack_node_new(s);
    if (n == PACK_NIL)
        return PACK_NIL;
    s->node[n] = (struct pack_node){ .off = from, .len = need, .prev = t,
                                     .next = PACK_NIL };
    if (t != PACK_NIL)
        s->node[t].next = n;
    s->tail = n;
    s->extent = from + need;
    return n;
}

/* Free node n, cut to need bytes and used. */
static uint32_t pack_take_node(struct pack_space *s, uint32_t n,
                               uint64_t need)
{
    pack_bin_remove(s, n);
    return pack_split(s, n, need) == 0 ? n : PACK_NIL;
}

/* A used range of need bytes, best fit; PACK_NIL past the limit or out
 * of memory. */
static uint32_t pack_take(struct pack_space *s, uint64_t need)
{
    uint32_t n = pack_find(s, need);
    if (n == PACK_NIL)
        return pack_grow(s, need);
    pack_bin_remove(s, n);
    return pack_split(s, n, need) == 0 ? n : PACK_NIL;
}

/* Frees used node n, merged with the free ranges beside it; returns
 * the merged node. */
static uint32_t pack_release(struct pack_space *s, uint32_t n)
{
    uint32_t p = s->node[n].prev, q = s->node[n].next;
    if (p != PACK_NIL && s->node[p].free) {
        pack_bin_remove(s, p);
        s->node[p].len += s->node[n].len;
        pack_unlink(s, n);
        n = p;
    }
    if (q != PACK_NIL && s->node[q].free) {
        pack_bin_remove(s, q);
        s->node[n].len += s->node[q].len;
        pack_unlink(s, q);
    }
    pack_bin_insert(s, n);
    return n;
}

/* The walk over the image in recorded order. */
struct pack_walk {
    const struct replay_image *image;
    const struct replay_thread_desc *desc;
    const struct replay_packed_op *ops;
    const struct replay_op_extra *extras;
    const uint64_t *times;
    uint64_t *pos, *extra_pos;   /* per thread: next op, next extra */
    uint32_t *slot_node;         /* per replay slot: its block's node */
    uint32_t *op_offset;
    struct pack_space space;
    uint64_t step;               /* ops walked */
    struct none_block *blocks;   /* the first NONE_GREEDY_MAX + 1 */
    uint32_t *slot_block;        /* per replay slot: its block's index */
    uint32_t block_count;
};

static const struct replay_op_extra *pack_extra(const struct pack_walk *w,
                                                uint32_t t)
{
    const struct replay_packed_op *op = &w->ops[w->desc[t].first_op +
                                                w->pos[t]];
    if (!(op->flags & REPLAY_OP_EXTRA))
        return NULL;
    return &w->extras[w->desc[t].first_extra + w->extra_pos[t]];
}

static int pack_runnable(const struct pack_walk *w, uint32_t t)
{
    if (w->pos[t] >= w->desc[t].op_count)
        return 0;
    const struct replay_op_extra *x = pack_extra(w, t);
    return !x || x->dep_thread == TRACE_NO_DEP ||
           w->pos[x->dep_thread] > x->dep_op;
}

static int pack_frees(unsigned kind)
{
    return kind == TRACE_FREE || kind == TRACE_REALLOC ||
           kind == TRACE_REALLOCARRAY;
}

/* Keeps block `slot` for none_greedy while the trace has few enough. */
static void pack_note_block(struct pack_walk *w, uint32_t slot,
                            uint64_t op, uint64_t bytes, uint64_t align)
{
    if (w->block_count > NONE_GREEDY_MAX)
        return;
    if (w->block_count == NONE_GREEDY_MAX) {
        w->block_count++;           /* too many: best fit it is */
        return;
    }
    w->slot_block[slot] = w->block_count;
    w->blocks[w->block_count++] = (struct none_block){
        .start = w->step, .end = UINT64_MAX, .bytes = bytes,
        .align = align, .op = op,
    };
}

/* Thread t's next op: its freed block's range released, its new
 * block's taken.  -1 past the limit or out of memory. */
static int pack_step(struct pack_walk *w, uint32_t t)
{
    uint64_t at = w->desc[t].first_op + w->pos[t];
    const struct replay_packed_op *op = &w->ops[at];
    const struct replay_op_extra *x = pack_extra(w, t);
    uint32_t slots = w->image->slot_count;
    uint32_t freed = PACK_NIL;
    if (op->old_slot < slots && pack_frees(op->kind) &&
        w->slot_node[op->old_slot] != PACK_NIL) {
        freed = pack_release(&w->space, w->slot_node[op->old_slot]);
        w->slot_node[op->old_slot] = PACK_NIL;
        if (w->slot_block[op->old_slot] != PACK_NIL)
            w->blocks[w->slot_block[op->old_slot]].end = w->step;
        w->slot_block[op->old_slot] = PACK_NIL;
    }
    w->pos[t]++;
    w->extra_pos[t] += x != NULL;
    if (op->slot >= slots)
        return 0;
    if (w->slot_node[op->slot] != PACK_NIL)
        pack_release(&w->space, w->slot_node[op->slot]);
    uint64_t bytes = none_op_bytes(op, x), align = none_op_align(op, x);
    uint64_t need = bytes ? bytes : 1;
    if (align > 1 && __builtin_add_overflow(need, align - 1, &need))
        return -1;
    uint32_t n = freed != PACK_NIL && w->space.node[freed].len >= need ?
                 pack_take_node(&w->space, freed, need) :
                 pack_take(&w->space, need);
    w->slot_node[op->slot] = n;
    if (n == PACK_NIL)
        return -1;
    uint64_t off = w->space.node[n].off;
    w->op_offset[at] = (uint32_t)(align > 1 ? none_align_up(off, align)
                                            : off);
    pack_note_block(w, op->slot, at, bytes ? bytes : 1, align);
    return 0;
}

/* Each time, the op recorded earliest among the threads that may run. */
static int pack_walk_all(struct pack_walk *w)
{
    uint32_t threads = w->image->thread_count;
    for (uint64_t done = 0; done < w->image->total_ops; done++) {
        uint32_t best = PACK_NIL;
        uint64_t best_time = UINT64_MAX;
        for (uint32_t t = 0; t < threads; t++) {
            if (!pack_runnable(w, t))
                continue;
            uint64_t time = w->times[w->desc[t].first_op + w->pos[t]];
            if (best == PACK_NIL || time < best_time) {
                best = t;
                best_time = time;
            }
        }
        if (best == PACK_NIL || pack_step(w, best) != 0)
            return -1;    /* a cycle is refused when the image is built */
        w->step++;
    }
    return 0;
}

/* none_greedy's layout instead, where it is smaller: each block's op
 * gets the block's new offset. */
static uint64_t pack_try_greedy(struct pack_walk *w, uint64_t extent)
{
    if (w->block_count > NONE_GREEDY_MAX)
        return extent;
    for (uint32_t i = 0; i < w->block_count; i++)
        if (w->blocks[i].end == UINT64_MAX)
            w->blocks[i].end = w->step;      /* live to the end */
    uint64_t greedy = none_greedy(w->blocks, w->block_count);
    if (greedy >= extent)
        return extent;
    for (uint32_t i = 0; i < w->block_count; i++)
        w->op_offset[w->blocks[i].op] = (uint32_t)w->blocks[i].off;
    return greedy;
}

static void pack_free_walk(struct pack_walk *w)
{
    free(w->pos);
    free(w->extra_pos);
    free(w->slot_node);
    free(w->slot_block);
    free(w->blocks);
    free(w->space.node);
    free(w);
}

uint64_t none_pack(const struct replay_image *image, uint32_t *op_offset,
                   uint64_t limit)
{
    uint32_t threads = image->thread_count;
    size_t slot_bytes = ((size_t)image->slot_count + 1) * sizeof(uint32_t);
    struct pack_walk *w = calloc(1, sizeof(*w));
    if (!w)
        return UINT64_MAX;
    *w = (struct pack_walk){
        .image = image, .desc = replay_image_threads(image),
        .ops = replay_image_ops(image),
        .extras = replay_image_extras(image),
        .times = replay_image_times(image), .op_offset = op_offset,
        .pos = calloc(threads + 1, sizeof(uint64_t)),
        .extra_pos = calloc(threads + 1, sizeof(uint64_t)),
        .slot_node = malloc(slot_bytes), .slot_block = malloc(slot_bytes),
        .blocks = malloc(NONE_GREEDY_MAX * sizeof(struct none_block)),
    };
    w->space.tail = w->space.spare = PACK_NIL;
    w->space.limit = limit < UINT32_MAX ? limit : UINT32_MAX;
    memset(w->space.head, 0xff, sizeof(w->space.head));
    uint64_t extent = UINT64_MAX;
    if (w->pos && w->extra_pos && w->slot_node && w->slot_block &&
        w->blocks) {
        memset(w->slot_node, 0xff, slot_bytes);
        memset(w->slot_block, 0xff, slot_bytes);
        memset(op_offset, 0, image->total_ops * sizeof(uint32_t));
        if (pack_walk_all(w) == 0)
            extent = pack_try_greedy(w, w->space.extent);
    }
    pack_free_walk(w);
    return extent;
}
