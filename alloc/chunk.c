/*
 * chunk.c - the span provider (policy in chunk.h).
 *
 * Free spans live on one address-ordered list, each described by a node
 * written in its own first page.  Allocation is best fit over that list
 * (the smallest span that is large enough, the lowest address on a
 * tie), cutting from the front so that the top of the break empties
 * first and can be trimmed.  Neighbours from the same source merge on
 * release; when nothing fits, mmap'd spans may be moved together into
 * one (gather_mapped).  The list is short (spans are 256 KiB and up) and
 * touched once per pool or region, so one lock and a linear walk are
 * enough.
 *
 * Invariants: nodes are sorted by address and never adjacent with the
 * same source (they would have merged); retained_dirty is the sum of the
 * nodes' dirty counts, each an upper bound on resident bytes in it; the
 * kernel's mappings under a span (merged or gathered, there may be
 * several) all start and end on a chunk.
 */
#include "chunk.h"

#include "config.h"
#include "lock.h"
#include "os.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct free_span {
    struct free_span *next;
    size_t size;
    size_t dirty;      /* bytes that may still be resident */
    int source;        /* enum chunk_source */
    uint64_t freed_ns; /* when it was last released here */
};

static struct lock chunk_lock = LOCK_INIT;
static struct free_span *free_spans;   /* address order */
static size_t retained_dirty;
static size_t retain_floor = CHUNK_RETAIN_MIN; /* see chunk_set_retain_limit */
static size_t spans_out;                       /* bytes handed out */
/* Big blocks' own mappings in use, as huge.c last reported them (two
 * threads' reports may land out of order: a figure for the limit, not
 * an account). */
static _Atomic size_t mapped_in_use;
static size_t in_use_recent_peak;  /* of spans out plus mapped, lately */
static uint64_t recent_peak_since_ns;          /* start of the period */
/* Written under chunk_lock, read without it by chunk_decay_tick. */
static _Atomic uint64_t last_decay_scan_ns;

static void release_aged(void);
static char *break_end;                /* where our sbrk growth ends */

/* Memory in use: spans handed out and big blocks mapped on their own. */
static size_t memory_in_use(void)
{
    return spans_out +
           atomic_load_explicit(&mapped_in_use, memory_order_relaxed);
}

/*
 * Follows the recent peak of memory in use: spans handed out plus the
 * big blocks mapped on their own (and extra bytes that were in use until
 * this moment).  Counting the mappings matters when a program's big
 * blocks move from their own mappings to the arena as the threshold
 * rises: the freed mappings come here, and with only spans counted they
 * were over the limit and unmapped at once, then faulted in again from
 * the break (an image pipeline, paced: 31,500 page faults a run for a
 * 58 MiB peak; tcmalloc 15,100).  A new period starts each decay time.
 */
static void track_recent_peak(uint64_t now, size_t extra)
{
    size_t in_use = memory_in_use() + extra;
    if (now - recent_peak_since_ns > CHUNK_DECAY_NS) {
        in_use_recent_peak = in_use;
        recent_peak_since_ns = now;
    } else if (in_use > in_use_recent_peak) {
        in_use_recent_peak = in_use;
    }
}

static uintptr_t align_up(uintptr_t value)
{
    return (value + CHUNK_SIZE - 1) & ~(uintptr_t)(CHUNK_SIZE - 1);
}

static struct free_span *write_node(void *at, size_t size, size_t dirty,
                                    int source, struct free_span *next)
{
    struct free_span *node = at;
    node->next = next;
    node->size = size;
    node->dirty = dirty < size ? dirty : size;
    node->source = source;
    node->freed_ns = 0;
    return node;
}

/* Links [at, at + size) into the list, merging with its neighbours. */
static struct free_span *insert_span(char *at, size_t size, size_t dirty,
                                     int source)
{
    struct free_span **link = &free_spans, *prev = NULL;
    while (*link != NULL && (char *)*link < at) {
        prev = *link;
        link = &(*link)->next;
    }
    struct free_span *next = *link;
    struct free_span *node;
    if (prev && prev->source == source && (char *)prev + prev->size == at) {
        node = prev;
        node->size += size;
        node->dirty += dirty;
    } else {
        node = write_node(at, size, dirty, source, next);
        *link = node;
    }
    if (next && next->source == source &&
        (char *)node + node->size == (char *)next) {
        node->size += next->size;
        node->dirty += next->dirty;
        node->next = next->next;
    }
    return node;
}

static void unlink_span(struct free_span *node)
{
    struct free_span **link = &free_spans;
    while (*link != node)
        link = &(*link)->next;
    *link = node->next;
}

/*
 * Cuts size bytes from the front of the best-fitting free span.  A
 * span's dirty count says how much of it may be resident, not where:
 * merged spans put clean and dirty parts side by side in any order.  So
 * the rest keeps as much of the count as it can hold; assuming the
 * taken front held the dirt (as this once did) lost track of resident
 * pages left in the rest, which then never looked worth releasing:
 * prodcons --threads 2 kept some 9 MiB resident that no count showed.
 */
static void *take_best_fit(size_t size, size_t *taken_dirty)
{
    struct free_span *best = NULL;
    for (struct free_span *n = free_spans; n != NULL; n = n->next)
        if (n->size >= size && (best == NULL || n->size < best->size))
            best = n;
    if (best == NULL)
        return NULL;
    size_t rest = best->size - size;
    size_t rest_dirty = best->dirty < rest ? best->dirty : rest;
    retained_dirty -= best->dirty - rest_dirty;
    *taken_dirty = best->dirty < size ? best->dirty : size; /* at most */
    unlink_span(best);
    if (rest > 0) {
        /* The rest has sat unused as long as the span it was cut from.
         * A new node's stamp is 0, which reads as unused since boot:
         * the next scan gave back pages freed a moment before
         * (malloc-large: 2.2 GB decommitted and faulted in again). */
        uint64_t freed_ns = best->freed_ns;
        struct free_span *node = insert_span((char *)best + size, rest,
                                             rest_dirty, best->source);
        if (node->freed_ns < freed_ns)
            node->freed_ns = freed_ns;
    }
    return best;
}

/* Grows the break by at least size; the rest becomes a free span. */
static void *grow_break(size_t size)
{
    size_t step = size > CHUNK_BREAK_STEP ? size : CHUNK_BREAK_STEP;
    char *current = os_break_current();
    size_t pad = align_up((uintptr_t)current) - (uintptr_t)current;
    char *old = os_break_grow(pad + step);
    if (old == NULL)
        return NULL;
    char *end = old + pad + step;
    char *start = (char *)align_up((uintptr_t)old);
    break_end = end;
    if (old != current) /* someone moved the break meanwhile */
        end = (char *)((uintptr_t)end & ~(uintptr_t)(CHUNK_SIZE - 1));
    if (end < start || (size_t)(end - start) < size)
        return NULL;
    if ((size_t)(end - start) > size)
        insert_span(start + size, (size_t)(end - start) - size, 0,
                    CHUNK_FROM_BREAK);
    return start;
}

static void *grow_mmap(size_t size)
{
    size_t step = size > CHUNK_MMAP_STEP ? size : CHUNK_MMAP_STEP;
    char *start = os_map_aligned(step, CHUNK_SIZE);
    if (start == NULL && step > size) {
        step = size;
        start = os_map_aligned(step, CHUNK_SIZE);
    }
    if (start == NULL)
        return NULL;
    if (step > size)
        insert_span(start + size, step - size, 0, CHUNK_FROM_MMAP);
    return start;
}

/*
 * When the free span at the top of the break is too small, grows the
 * break under it (as glibc extends its top chunk) instead of starting a
 * fresh span above: the old top's memory is reused, and free space does
 * not splinter into spans too small for the next big request.
 */
static bool extend_top_span(size_t size)
{
    struct free_span *top = free_spans;
    while (top != NULL && top->next != NULL)
        top = top->next;
    if (top == NULL || top->source != CHUNK_FROM_BREAK ||
        (char *)top + top->size != break_end ||
        os_break_current() != break_end)
        return false;
    size_t step = size - top->size;
    if (step < CHUNK_BREAK_STEP)
        step = CHUNK_BREAK_STEP;
    char *old = os_break_grow(step);
    if (old == NULL)
        return false;
    if (old != break_end) {   /* someone moved the break meanwhile */
        char *start = (char *)align_up((uintptr_t)old);
        char *end = (char *)((uintptr_t)(old + step) &
                             ~(uintptr_t)(CHUNK_SIZE - 1));
        break_end = old + step;
        if (end > start)
            insert_span(start, (size_t)(end - start), 0, CHUNK_FROM_BREAK);
        return true;
    }
    break_end += step;
    top->size += step;
    return true;
}

/*
 * Takes bytes off a free span's top, which the caller has unmapped,
 * trimmed or moved away.  Where the span's resident pages lie is not
 * known: the rest keeps as much of the dirty count as it can hold.
 */
static void cut_span_top(struct free_span *node, size_t bytes)
{
    node->size -= bytes;
    size_t dirty = node->dirty < node->size ? node->dirty : node->size;
    retained_dirty -= node->dirty - dirty;
    node->dirty = dirty;
}

/* Clean spans hold no memory: giving them back would only cost a
 * system call now and another to grow again later (nor moving them,
 * gather_mapped, save a page fault). */
static bool worth_releasing(const struct free_span *node)
{
    return node->dirty > OS_PAGE_SIZE;
}

/* The mapped free span with the most resident bytes that fits in room
 * (or, if !whole, that is bigger than room); break spans cannot leave
 * the break. */
static struct free_span *most_dirty_movable(size_t room, bool whole)
{
    struct free_span *best = NULL;
    for (struct free_span *n = free_spans; n != NULL; n = n->next)
        if (n->source != CHUNK_FROM_BREAK && (n->size <= room) == whole &&
            worth_releasing(n) && (best == NULL || n->dirty > best->dirty))
            best = n;
    return best;
}

/*
 * Moves a whole free span's pages onto dest; returns the bytes moved,
 * *moved_dirty how many of them may be resident.  Merged neighbours may
 * be separate kernel mappings, which one mremap cannot move together:
 * then chunk by chunk (every mapping here starts and ends on a chunk).
 * What could not move stays a free span.
 */
static size_t move_span(struct free_span *node, char *dest,
                        size_t *moved_dirty)
{
    char *from = (char *)node;
    size_t size = node->size, dirty = node->dirty, moved = 0;
    int source = node->source;
    uint64_t freed_ns = node->freed_ns;
    unlink_span(node);
    retained_dirty -= dirty;
    *moved_dirty = dirty;
    if (os_move_mapping(from, size, dest, size) == 0)
        return size;
    while (moved < size && os_move_mapping(from + moved, CHUNK_SIZE,
                                           dest + moved, CHUNK_SIZE) == 0)
        moved += CHUNK_SIZE;
    if (moved < size) {
        size_t rest = size - moved;
        size_t rest_dirty = dirty < rest ? dirty : rest;
        node = insert_span(from + moved, rest, rest_dirty, source);
        node->freed_ns = freed_ns;
        retained_dirty += rest_dirty;
        *moved_dirty = moved < dirty ? moved : dirty;
    }
    return moved;
}

/* Moves the top bytes of a bigger free span onto dest (0 if the
 * kernel refuses); the span keeps its front.  Both parts count as
 * dirty as they can (cut_span_top). */
static size_t move_span_top(struct free_span *node, char *dest,
                            size_t bytes, size_t *moved_dirty)
{
    char *from = (char *)node + node->size - bytes;
    *moved_dirty = 0;
    if (os_move_mapping(from, bytes, dest, bytes) != 0)
        return 0;
    *moved_dirty = node->dirty < bytes ? node->dirty : bytes;
    cut_span_top(node, bytes);
    return bytes;
}

/*
 * When no free span fits but mapped free spans hold enough resident
 * memory, moves them side by side into a fresh mapping of size bytes
 * (mremap moves page table entries: nothing is copied or faulted in)
 * and returns it, *dirty the resident bytes it may hold.  Big blocks of
 * varying sizes leave the memory they free in pieces, none big enough
 * for the next one: lbzip2's 3.5 MiB work areas, with 8 MiB free in
 * pieces of 0.75-2.5 MiB, took new memory each time, and the pieces,
 * over the retain limit, went back (the replay, paced: 6,770 page
 * faults against tcmalloc's 4,480; gathered, 4,340).  Whole spans go
 * first, the most resident first; the top of a bigger one fills the
 * rest.  Worth it only when the pieces hold a quarter of the request; at
 * most GATHER_PIECES of them, each one more kernel mapping in the span.
 */
#define GATHER_PIECES 16

static size_t movable_dirty(void)
{
    size_t movable = 0;
    for (struct free_span *n = free_spans; n != NULL; n = n->next)
        if (n->source != CHUNK_FROM_BREAK)
            movable += n->dirty;
    return movable;
}

static void *gather_mapped(size_t size, size_t *dirty)
{
    if (movable_dirty() < size / 4)
        return NULL;
    char *dest = os_map_aligned(size, CHUNK_SIZE);
    if (dest == NULL)
        return NULL;
    size_t filled = 0, want = 0, moved = 0, moved_dirty;
    *dirty = 0;
    for (int piece = 0; piece < GATHER_PIECES && moved == want &&
                        filled < size; piece++) {
        size_t room = size - filled;
        struct free_span *node = most_dirty_movable(room, true);
        if (node != NULL) {
            want = node->size;
            moved = move_span(node, dest + filled, &moved_dirty);
        } else if ((node = most_dirty_movable(room, false)) != NULL) {
            want = room;
            moved = move_span_top(node, dest + filled, room, &moved_dirty);
        } else {
            break;
        }
        *dirty += moved_dirty;
        filled += moved;
    }
    return dest;
}

/* chunk_alloc, and in *dirty how much of the span may be resident. */
static void *alloc_span(size_t size, enum chunk_source *source,
                        size_t *dirty)
{
    *dirty = 0;
    lock_acquire(&chunk_lock);
    struct free_span *reused = take_best_fit(size, dirty);
    if (reused == NULL && config.use_sbrk && extend_top_span(size))
        reused = take_best_fit(size, dirty);
    void *span = reused;
    if (reused != NULL)
        *source = (enum chunk_source)reused->source;
    if (span == NULL && (span = gather_mapped(size, dirty)) != NULL)
        *source = CHUNK_FROM_MMAP;
    if (span == NULL && config.use_sbrk) {
        span = grow_break(size);
        *source = CHUNK_FROM_BREAK;
    }
    if (span == NULL) {
        span = grow_mmap(size);
        *source = CHUNK_FROM_MMAP;
    }
    if (span != NULL)
        spans_out += size;
    track_recent_peak(os_now_ns(), 0);
    release_aged();
    lock_release(&chunk_lock);
    return span;
}

void *chunk_alloc(size_t size, enum chunk_source *source)
{
    size_t dirty;
    return alloc_span(size, source, &dirty);
}

/*
 * A reused span holds whatever its last user touched.  A pool touches
 * its blocks only as it first hands them out, and most pools of
 * a program's rarer classes stay nearly empty; on an old region's pages
 * they would keep all 256 KiB resident.  prodcons --threads 2 (a pool
 * per class on each of 2 heaps, a few blocks live in each) peaked at
 * 1.54x glibc's RSS that way, 1.09x with this, in the same time.
 * The first keep bytes are left as they are (about to be written).
 */
void *chunk_alloc_untouched(size_t size, size_t keep,
                            enum chunk_source *source)
{
    size_t dirty;
    char *span = alloc_span(size, source, &dirty);
    keep = (keep + OS_PAGE_SIZE - 1) & ~(size_t)(OS_PAGE_SIZE - 1);
    if (span != NULL && dirty > OS_PAGE_SIZE && keep < size)
        os_decommit(span + keep, size - keep);
    return span;
}

/* Gives one free span back to the kernel in the way its source allows. */
static void release_span(struct free_span *node)
{
    char *start = (char *)node;
    size_t size = node->size;
    retained_dirty -= node->dirty;
    if (node->source == CHUNK_FROM_BREAK && start + size == break_end) {
        unlink_span(node);
        if (os_break_shrink(break_end, size) == 0) {
            break_end = start;
            return;
        }
        node = insert_span(start, size, size, CHUNK_FROM_BREAK);
    } else if (node->source != CHUNK_FROM_BREAK) {
        unlink_span(node);
        os_unmap(start, size);
        return;
    }
    /* Keep the node's own page; the rest reads as zero later. */
    if (node->dirty > OS_PAGE_SIZE)
        os_decommit(start + OS_PAGE_SIZE, size - OS_PAGE_SIZE);
    node->dirty = OS_PAGE_SIZE;
    retained_dirty += node->dirty;
}

/*
 * The most released bytes to keep: the floor (a few MiB, or twice the
 * mmap threshold, as glibc's trim threshold follows its mmap threshold),
 * or what brings the memory held (in use plus kept) to an eighth over
 * the most in use lately (over the last CHUNK_DECAY_NS or so: the
 * instantaneous figure dips every time a region empties, and releasing
 * on each dip faulted the same pages in again and again).  What was
 * freed since the peak is kept whole, so a program that hands big
 * buffers from producers to a consumer, which frees one just before the
 * next is made, finds it resident (with half the peak kept, an image
 * pipeline faulted 54,000 pages in a run against tcmalloc's 20,000);
 * the eighth is room for spans too fragmented to serve the next request.
 * Keeping the whole peak on top of what was in use held up to twice it:
 * the images program with one thread peaked at 1.15x glibc's RSS so,
 * against 0.97x this way, for a tenth fewer page faults
 * (docs/benchmarks.md).
 * Within that, a span goes back only once it has sat unused for
 * CHUNK_DECAY_NS: a program that churns through its
 * working set reuses spans within milliseconds and never pays for giving
 * them back and faulting them in again, while one that has shrunk returns
 * the memory a second later.
 */
static size_t retain_limit(void)
{
    size_t in_use = memory_in_use();
    size_t freed_since_peak =
        in_use_recent_peak > in_use ? in_use_recent_peak - in_use : 0;
    size_t share = freed_since_peak + in_use_recent_peak / 8;
    return share > retain_floor ? share : retain_floor;
}

/* The free span just below node in address order (NULL for the first). */
static struct free_span *span_below(struct free_span *node)
{
    struct free_span *below = NULL;
    for (struct free_span *at = free_spans; at != node; at = at->next)
        below = at;
    return below;
}

/*
 * Lowers the break past a free top span bigger than the retain floor by
 * the excess over the retain limit, never below half the floor (one
 * mmap threshold) at the top: glibc's rule for its heap top (trim
 * beyond the trim threshold, keep a pad), which stops a program that
 * frees and reallocates big blocks from shrinking and regrowing the
 * break on every cycle.  glibc's pad is 128 KiB; with a chunk's worth
 * images --threads 1 peaked 1.20x glibc but took 1.1x its time, keeping
 * the whole floor 1.45x and 0.75x, half 1.31x, 0.92x.  Cutting all the
 * way down to that pad whenever the limit was passed by any amount
 * still gave back 148 MB over the run (14 cuts of 9-17 MiB, each faulted
 * in again); cutting only the excess: 0.93x -> 0.77x glibc's time,
 * 1.05x -> 1.08x its peak RSS (medians of 9).
 */
static void trim_break_top(struct free_span *top, size_t excess)
{
    size_t keep = (retain_floor / 2 + CHUNK_SIZE - 1) & ~(CHUNK_SIZE - 1);
    if (top->source != CHUNK_FROM_BREAK || top->size <= retain_floor ||
        (char *)top + top->size != break_end)
        return;
    size_t cut = top->size - keep;
    size_t enough = (excess + CHUNK_SIZE - 1) & ~(CHUNK_SIZE - 1);
    if (cut > enough)
        cut = enough;
    if (os_break_shrink(break_end, cut) != 0)
        return;
    break_end -= cut;
    cut_span_top(top, cut);
}

/*
 * Unmaps the top of a mapped free span, enough to bring its dirty count
 * down by excess, or all of it when little would be left.  Adopted
 * neighbours merge into spans of tens of MiB, and unmapping a whole one
 * to cover a small excess gave back memory in use a moment before: an
 * image pipeline unmapped 26 MiB to come 0.8 MiB under the limit, then
 * faulted it in again.  The rest keeps as much of the dirty count as it
 * can hold (where the dirt lies is not known), so the cut covers the
 * span's clean bytes too.
 */
static void release_mapped_excess(struct free_span *node, size_t excess)
{
    size_t cut = node->size - node->dirty + excess;
    cut = (cut + CHUNK_SIZE - 1) & ~(size_t)(CHUNK_SIZE - 1);
    if (cut + CHUNK_SIZE >= node->size) {
        release_span(node);
        return;
    }
    os_unmap((char *)node + node->size - cut, cut);
    cut_span_top(node, cut);
}

/*
 * Over the limit, gives back mapped spans from the top down and trims
 * the break's top beyond the floor.  As glibc, which trims its heap's
 * top beyond a threshold but leaves free memory in the middle of the
 * heap alone (until malloc_trim), spans in the middle of the break are
 * left to decay.
 */
static void release_excess(void)
{
    size_t limit = retain_limit();
    struct free_span *node = free_spans;
    while (node != NULL && node->next != NULL)
        node = node->next;
    if (node != NULL && retained_dirty > limit)
        trim_break_top(node, retained_dirty - limit);
    while (node != NULL && retained_dirty > limit) {
        struct free_span *below = span_below(node);
        if (node->source != CHUNK_FROM_BREAK && worth_releasing(node))
            release_mapped_excess(node, retained_dirty - limit);
        node = below;
    }
}

/*
 * Gives back every span unused for CHUNK_DECAY_NS (scans are spaced).
 * Over the retain limit, spans in the middle of the break (which
 * release_excess leaves alone, being busy with the top) age faster:
 * unused for a scan interval, they go too.  So do adopted spans at any
 * time: they merge with nothing but their own neighbours, and kept for
 * a second, the remnants of big mappings cut for smaller blocks left
 * malloc-large (5-25 MiB blocks) some 25 MiB above its usual peak
 * (with a tenth of a second, level with it).  A program that shrank for
 * good (prodcons: 1 MiB in use beside 10 MiB of emptied regions) then
 * holds its excess for a tenth of a second, not a second, while one
 * that churns big blocks reuses its spans well within that.
 */
static bool decay_scan_due(uint64_t now)
{
    return now - atomic_load_explicit(&last_decay_scan_ns,
                                      memory_order_relaxed) >=
           CHUNK_DECAY_SCAN_NS;
}

static void release_aged(void)
{
    uint64_t now = os_now_ns();
    if (!decay_scan_due(now))
        return;
    atomic_store_explicit(&last_decay_scan_ns, now, memory_order_relaxed);
    size_t limit = retain_limit();
    struct free_span *node = free_spans;
    while (node != NULL) {
        struct free_span *next = node->next;
        uint64_t idle = now - node->freed_ns;
        bool aged = idle > CHUNK_DECAY_NS ||
                    ((retained_dirty > limit ||
                      node->source == CHUNK_FROM_ADOPTED) &&
                     idle > CHUNK_DECAY_SCAN_NS);
        if (aged && worth_releasing(node))
            release_span(node);
        node = next;
    }
}

void chunk_free(void *span, size_t size, enum chunk_source source)
{
    lock_acquire(&chunk_lock);
    struct free_span *node = insert_span(span, size, size, (int)source);
    uint64_t now = os_now_ns();
    node->freed_ns = now;
    retained_dirty += size;
    spans_out -= size;
    track_recent_peak(now, 0);
    release_excess();
    release_aged();
    lock_release(&chunk_lock);
}

/*
 * A program's first big blocks are mapped on their own until a free
 * raises the threshold past their size; from then on blocks that size
 * come from the arena, and the mapping, already faulted in, serves the
 * next of them through here rather than going back to the kernel (an
 * image pipeline unmapped 90-105 MiB of its first images so, and the
 * blocks that followed faulted the same amount in again; adopted, the
 * replay's page faults beyond its peak fell from 22,600 to 5,600).  It
 * was never counted in spans_out, but was in use until now: the recent
 * peak counts it.  Adopted spans, and what is cut from them, go back
 * once unused for a scan interval (release_aged).
 */
void chunk_adopt_mapping(void *mapping, size_t size)
{
    lock_acquire(&chunk_lock);
    struct free_span *node = insert_span(mapping, size, size,
                                         CHUNK_FROM_ADOPTED);
    uint64_t now = os_now_ns();
    node->freed_ns = now;
    retained_dirty += size;
    track_recent_peak(now, size); /* in use until now */
    release_excess();
    release_aged();
    lock_release(&chunk_lock);
}

void *chunk_take_gathered(size_t size, bool *dirty)
{
    size_t dirty_bytes = 0;
    lock_acquire(&chunk_lock);
    void *mapping = gather_mapped(size, &dirty_bytes);
    lock_release(&chunk_lock);
    *dirty = dirty_bytes > 0;
    return mapping;
}

/*
 * Spans are released as they age only when the chunk layer runs; a
 * program that emptied its pools and goes on with a small working set
 * (served by pools and thread caches alone) would hold the freed spans
 * for good.  The heaps call this every HEAP_DECAY_TICK lock releases:
 * a clock read, and the lock only when a scan is due.
 */
void chunk_decay_tick(void)
{
    if (!decay_scan_due(os_now_ns()))
        return;
    lock_acquire(&chunk_lock);
    release_aged();
    lock_release(&chunk_lock);
}

void chunk_note_mapped_in_use(size_t bytes)
{
    atomic_store_explicit(&mapped_in_use, bytes, memory_order_relaxed);
}

void chunk_set_retain_limit(size_t bytes)
{
    lock_acquire(&chunk_lock);
    retain_floor = bytes > CHUNK_RETAIN_MIN ? bytes : CHUNK_RETAIN_MIN;
    lock_release(&chunk_lock);
}

size_t chunk_release_retained(void)
{
    lock_acquire(&chunk_lock);
    size_t before = retained_dirty;
    struct free_span *node = free_spans;
    while (node != NULL) {
        struct free_span *next = node->next;
        release_span(node);
        node = next;
    }
    size_t released = before - retained_dirty;
    lock_release(&chunk_lock);
    return released;
}

size_t chunk_retained_bytes(void)
{
    lock_acquire(&chunk_lock);
    size_t bytes = retained_dirty;
    lock_release(&chunk_lock);
    return bytes;
}

void chunk_fork_prepare(void)
{
    lock_acquire(&chunk_lock);
}

void chunk_fork_parent(void)
{
    lock_release(&chunk_lock);
}

void chunk_fork_child(void)
{
    lock_reset(&chunk_lock);
}
