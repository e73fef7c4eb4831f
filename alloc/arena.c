/*
 * arena.c - best-fit blocks with boundary tags and a treap of free
 * blocks (design and invariants in arena.h).
 *
 * Region layout:
 *   [region header, ARENA_REGION_HEADER bytes][block][block]...[fence]
 * The first block always has PREV_INUSE set (nothing before it to merge
 * with); the fence is an in-use header of size 0 (nothing after).
 */
#include "arena.h"

#include "os.h"

#include <stdatomic.h>

#define FLAG_INUSE ((size_t)1)
#define FLAG_PREV_INUSE ((size_t)2)
#define FLAG_MASK ((size_t)15)
#define ARENA_REGION_HEADER 64 /* region header, padded to a line */
#define HASH_MULTIPLIER 0x9E3779B97F4A7C15ull /* 2^64 / golden ratio */

struct arena_block {
    size_t prev_size;               /* valid while the previous is free */
    size_t head;                    /* size | FLAG_* */
    struct arena_block *left;       /* treap links, while free */
    struct arena_block *right;
};

/* arena.h reads head without this struct (arena_block_size_unlocked). */
_Static_assert(offsetof(struct arena_block, head) + sizeof(size_t) ==
               ARENA_HEADER && FLAG_INUSE == 1 && FLAG_MASK == 15,
               "the head word is the last before the payload");

struct arena_region {
    struct span_header span;        /* kind = SPAN_ARENA */
    uint8_t source;                 /* enum chunk_source */
    _Atomic(void *) owner;          /* struct heap *: changes only
                                       with both heaps' locks held */
    size_t size;                    /* bytes in the span */
    struct arena_region *prev, *next;
};

_Static_assert(sizeof(struct arena_region) <= ARENA_REGION_HEADER,
               "region header must fit its reserved space");

static size_t block_size(const struct arena_block *block)
{
    return block->head & ~FLAG_MASK;
}

/*
 * The header of a block in use is read without the lock by free()
 * (arena_block_class), while a neighbour's free or allocation flips
 * its PREV_INUSE flag under the lock: those flips are atomic, and so
 * is that read.  Every other header write is to a block no thread
 * holds.
 */
static void flag_set(struct arena_block *block, size_t flag)
{
    __atomic_fetch_or(&block->head, flag, __ATOMIC_RELAXED);
}

static void flag_clear(struct arena_block *block, size_t flag)
{
    __atomic_fetch_and(&block->head, ~flag, __ATOMIC_RELAXED);
}

static struct arena_block *block_after(struct arena_block *block)
{
    return (struct arena_block *)((char *)block + block_size(block));
}

static struct arena_block *block_of(const void *ptr)
{
    return (struct arena_block *)((char *)ptr - ARENA_HEADER);
}

static size_t request_to_block(size_t size)
{
    size_t need = (size + ARENA_HEADER + 15) & ~(size_t)15;
    return need < ARENA_MIN_BLOCK ? ARENA_MIN_BLOCK : need;
}

/* ---- the treap of free blocks, keyed by (size, address) ---- */

static uint64_t priority(const struct arena_block *block)
{
    return ((uint64_t)(uintptr_t)block >> 4) * HASH_MULTIPLIER;
}

static bool key_less(const struct arena_block *a,
                     const struct arena_block *b)
{
    return block_size(a) < block_size(b) ||
           (block_size(a) == block_size(b) && a < b);
}

/* Joins two treaps where every key of low is below every key of high. */
static struct arena_block *treap_merge(struct arena_block *low,
                                       struct arena_block *high)
{
    if (low == NULL)
        return high;
    if (high == NULL)
        return low;
    if (priority(low) > priority(high)) {
        low->right = treap_merge(low->right, high);
        return low;
    }
    high->left = treap_merge(low, high->left);
    return high;
}

/* Splits tree into keys below pivot's and the rest. */
static void treap_split(struct arena_block *tree,
                        const struct arena_block *pivot,
                        struct arena_block **below,
                        struct arena_block **rest)
{
    if (tree == NULL) {
        *below = *rest = NULL;
    } else if (key_less(tree, pivot)) {
        treap_split(tree->right, pivot, &tree->right, rest);
        *below = tree;
    } else {
        treap_split(tree->left, pivot, below, &tree->left);
        *rest = tree;
    }
}

/*
 * Free blocks are binned by size, four bins a doubling (bin_of), each
 * bin a treap: a walk visits the few blocks of one bin, not all of the
 * heap's (every node a likely cache miss, free blocks lying all over
 * the heap: one treap of them all took 70% of a malloc/free loop of
 * 16-128 KiB blocks with 1,000 live).  The best fit is the best fit in
 * the request's own bin, or failing that the smallest block of the next
 * bin that has any (the nonempty bitmap finds it): every block there is
 * bigger than every size of the request's bin.
 *
 * Free blocks under ARENA_INDEX_MIN stay out of the bins: the smallest
 * search is for more than 4 KiB (a class over SC_POOL_MAX, a request
 * over 64 KiB, or an alignment over a page plus the block), so no
 * search could take them; they wait,
 * marked free, to merge with a neighbour.  Splits leave many such tails
 * (a best fit is close to the request), and inserting each into its
 * bin's treap took 40% of a loop of 16-128 KiB blocks with 1,000 live.
 */
static unsigned bin_of(size_t size)
{
    unsigned top = 63u - (unsigned)__builtin_clzll(size);  /* >= 5 */
    return ((top - 5u) << 2) | (unsigned)((size >> (top - 2u)) & 3u);
}

/* Keeps the bitmap of bins holding blocks in step with a bin's root. */
static void note_bin(struct arena *arena, unsigned bin)
{
    uint64_t bit = (uint64_t)1 << (bin % 64);
    if (arena->bins[bin] != NULL)
        arena->nonempty[bin / 64] |= bit;
    else
        arena->nonempty[bin / 64] &= ~bit;
}

/*
 * Walks down by key to where block's priority ranks it, then splits only
 * the subtree found there into block's children: most blocks rank near
 * the leaves, so the split is short (splitting at the root and merging
 * back walked the depth three times).
 */
static void treap_insert(struct arena *arena, struct arena_block *block)
{
    if (block_size(block) < ARENA_INDEX_MIN)
        return;                 /* no search asks for it */
    unsigned bin = bin_of(block_size(block));
    struct arena_block **link = &arena->bins[bin];
    uint64_t rank = priority(block);
    while (*link != NULL && priority(*link) > rank)
        link = key_less(block, *link) ? &(*link)->left : &(*link)->right;
    treap_split(*link, block, &block->left, &block->right);
    *link = block;
    note_bin(arena, bin);
}

static void treap_remove(struct arena *arena, struct arena_block *block)
{
    if (block_size(block) < ARENA_INDEX_MIN)
        return;
    unsigned bin = bin_of(block_size(block));
    struct arena_block **link = &arena->bins[bin];
    while (*link != block)
        link = key_less(block, *link) ? &(*link)->left : &(*link)->right;
    *link = treap_merge(block->left, block->right);
    note_bin(arena, bin);
}

/* A free block's header says in use: a write before the payload of the
 * block, or past the end of the one before, overwrote it after its
 * free.  Searching on would trust a broken size. */
static void check_free_header(const struct arena_block *block)
{
    if (block->head & FLAG_INUSE)
        os_fatal_pointer("malloc(): corrupted header of a free block",
                         (const char *)block + ARENA_HEADER);
}

/* The smallest block of tree of at least size bytes, lowest address
 * first among equals. */
static struct arena_block *tree_best_fit(struct arena_block *tree,
                                         size_t size)
{
    struct arena_block *best = NULL;
    for (struct arena_block *at = tree; at != NULL;) {
        check_free_header(at);
        if (block_size(at) >= size) {
            best = at;
            at = at->left;
        } else {
            at = at->right;
        }
    }
    return best;
}

/* The first bin from `from` on that holds a block; ARENA_BINS if none. */
static unsigned next_nonempty(const struct arena *arena, unsigned from)
{
    for (unsigned word = from / 64; word < ARENA_BIN_WORDS; word++) {
        uint64_t bits = arena->nonempty[word];
        if (word == from / 64)
            bits &= ~(uint64_t)0 << (from % 64);
        if (bits != 0)
            return word * 64 + (unsigned)__builtin_ctzll(bits);
    }
    return ARENA_BINS;
}

static struct arena_block *treap_best_fit(struct arena *arena, size_t size)
{
    unsigned bin = bin_of(size);
    struct arena_block *best = tree_best_fit(arena->bins[bin], size);
    if (best != NULL)
        return best;
    bin = next_nonempty(arena, bin + 1);
    if (bin == ARENA_BINS)
        return NULL;
    best = arena->bins[bin];
    check_free_header(best);
    while (best->left != NULL) {
        best = best->left;
        check_free_header(best);
    }
    return best;
}

/* ---- regions ---- */

void arena_init(struct arena *arena)
{
    for (unsigned i = 0; i < ARENA_BINS; i++)
        arena->bins[i] = NULL;
    for (unsigned i = 0; i < ARENA_BIN_WORDS; i++)
        arena->nonempty[i] = 0;
    arena->regions = NULL;
    arena->region_count = 0;
    arena->bytes_in_use = 0;
    arena->bytes_held = 0;
}

static struct arena_block *region_first_block(struct arena_region *region)
{
    return (struct arena_block *)((char *)region + ARENA_REGION_HEADER);
}

static size_t region_block_room(const struct arena_region *region)
{
    return region->size - ARENA_REGION_HEADER - ARENA_HEADER;
}

static void region_link(struct arena *arena, struct arena_region *region)
{
    region->prev = NULL;
    region->next = arena->regions;
    if (arena->regions)
        arena->regions->prev = region;
    arena->regions = region;
    arena->region_count++;
    arena->bytes_held += region->size;
}

static void region_unlink(struct arena *arena, struct arena_region *region)
{
    if (region->prev)
        region->prev->next = region->next;
    else
        arena->regions = region->next;
    if (region->next)
        region->next->prev = region->prev;
    arena->region_count--;
    arena->bytes_held -= region->size;
}

/* Adds a region able to hold a block of need bytes. */
static bool region_add(struct arena *arena, void *owner, size_t need)
{
    if (need > SIZE_MAX / ARENA_REGION_BLOCKS - 2 * CHUNK_SIZE)
        return false;
    size_t size = need * ARENA_REGION_BLOCKS + ARENA_REGION_HEADER +
                  ARENA_HEADER;
    size = (size + CHUNK_SIZE - 1) & ~(CHUNK_SIZE - 1);
    if (size < ARENA_REGION_MIN)
        size = ARENA_REGION_MIN;
    enum chunk_source source;
    struct arena_region *region = chunk_alloc(size, &source);
    if (region == NULL)
        return false;
    region->span.kind = SPAN_ARENA;
    region->source = (uint8_t)source;
    atomic_store_explicit(&region->owner, owner, memory_order_relaxed);
    region->size = size;
    struct arena_block *first = region_first_block(region);
    first->head = region_block_room(region) | FLAG_PREV_INUSE;
    struct arena_block *fence = block_after(first);
    fence->prev_size = block_size(first);
    fence->head = FLAG_INUSE;
    if (chunkmap_set(region, size, &region->span) != 0) {
        chunk_free(region, size, source);
        return false;
    }
    region_link(arena, region);
    treap_insert(arena, first);
    return true;
}

/* Gives an entirely free region back, keeping the heap's last one. */
static void region_release_if_empty(struct arena *arena,
                                    struct arena_block *free_block)
{
    struct arena_region *region =
        (struct arena_region *)chunkmap_lookup(free_block);
    if (arena->region_count <= 1 || free_block != region_first_block(region)
        || block_size(free_block) != region_block_room(region))
        return;
    treap_remove(arena, free_block);
    region_unlink(arena, region);
    chunkmap_set(region, region->size, NULL);
    chunk_free(region, region->size, (enum chunk_source)region->source);
}

void *arena_region_owner(const struct span_header *span)
{
    struct arena_region *region = (struct arena_region *)span;
    return atomic_load_explicit(&region->owner, memory_order_relaxed);
}

/* ---- blocks ---- */

/*
 * Cuts in-use block down to need bytes when the tail is big enough to
 * be a block of its own; the tail is freed, merging with a free block
 * after it.
 */
static void carve_tail(struct arena *arena, struct arena_block *block,
                       size_t need)
{
    size_t rest = block_size(block) - need;
    if (rest < ARENA_MIN_BLOCK)
        return;
    block->head = need | (block->head & FLAG_MASK);
    struct arena_block *tail = block_after(block);
    struct arena_block *after = (struct arena_block *)((char *)tail + rest);
    if (!(after->head & FLAG_INUSE)) {
        treap_remove(arena, after);
        rest += block_size(after);
        after = (struct arena_block *)((char *)tail + rest);
    }
    tail->head = rest | FLAG_PREV_INUSE;
    after->prev_size = rest;
    flag_clear(after, FLAG_PREV_INUSE);
    treap_insert(arena, tail);
}

/* Takes free block out of the treap and marks it in use. */
static void claim(struct arena *arena, struct arena_block *block)
{
    treap_remove(arena, block);
    block->head |= FLAG_INUSE;
    flag_set(block_after(block), FLAG_PREV_INUSE);
}

static struct arena_block *take_block(struct arena *arena, void *owner,
                                      size_t need)
{
    struct arena_block *block = treap_best_fit(arena, need);
    if (block == NULL) {
        if (owner == NULL || !region_add(arena, owner, need))
            return NULL;
        block = treap_best_fit(arena, need);
    }
    claim(arena, block);
    carve_tail(arena, block, need);
    arena->bytes_in_use += block_size(block);
    return block;
}

void *arena_alloc(struct arena *arena, void *owner, size_t size)
{
    if (size > SIZE_MAX / 2)
        return NULL;
    struct arena_block *block = take_block(arena, owner,
                                           request_to_block(size));
    return block ? (char *)block + ARENA_HEADER : NULL;
}

/*
 * Takes a block with room for an aligned payload, then frees the piece
 * in front of the aligned position as a block of its own.  The front
 * piece is at least ARENA_MIN_BLOCK, so the search asks for that much
 * more than need + align.
 */
void *arena_alloc_aligned(struct arena *arena, void *owner, size_t size,
                          size_t align)
{
    if (size > SIZE_MAX / 4 || align > SIZE_MAX / 4)
        return NULL;
    size_t need = request_to_block(size);
    struct arena_block *block = take_block(arena, owner,
                                           need + align + ARENA_MIN_BLOCK);
    if (block == NULL)
        return NULL;
    uintptr_t payload = (uintptr_t)block + ARENA_HEADER;
    uintptr_t aligned = (payload + align - 1) & ~(uintptr_t)(align - 1);
    if (aligned != payload && aligned - payload < ARENA_MIN_BLOCK)
        aligned += align;
    if (aligned != payload) {
        size_t front = aligned - payload;
        struct arena_block *moved = block_of((void *)aligned);
        arena->bytes_in_use -= front;
        moved->head = (block_size(block) - front) | FLAG_INUSE;
        moved->prev_size = front;
        /* The block before `block` is in use: no merge needed. */
        block->head = front | (block->head & FLAG_PREV_INUSE);
        treap_insert(arena, block);
        block = moved;
    }
    size_t before = block_size(block);
    carve_tail(arena, block, need);
    arena->bytes_in_use -= before - block_size(block);
    return (void *)aligned;
}

static void check_in_use(const struct arena_block *block, const void *ptr)
{
    if (((uintptr_t)ptr & 15) != 0 || !(block->head & FLAG_INUSE) ||
        block_size(block) < ARENA_MIN_BLOCK)
        os_fatal_pointer("free(): invalid pointer or double free", ptr);
    const struct arena_block *after = (const struct arena_block *)
        ((const char *)block + block_size(block));
    if (!(after->head & FLAG_PREV_INUSE))
        os_fatal_pointer("free(): invalid pointer or double free", ptr);
}

void arena_free(struct arena *arena, void *ptr)
{
    struct arena_block *block = block_of(ptr);
    check_in_use(block, ptr);
    size_t size = block_size(block);
    arena->bytes_in_use -= size;
    struct arena_block *after = block_after(block);
    if (!(after->head & FLAG_INUSE)) {
        treap_remove(arena, after);
        size += block_size(after);
    }
    if (!(block->head & FLAG_PREV_INUSE)) {
        struct arena_block *before = (struct arena_block *)
            ((char *)block - block->prev_size);
        treap_remove(arena, before);
        size += block_size(before);
        /* Its header, now inside a free block, says "not in use", so
         * a second free of the block is still seen (tcache.c). */
        block->head = 0;
        block = before;
    }
    /* Free blocks never touch, so the one before is in use. */
    block->head = size | FLAG_PREV_INUSE;
    after = block_after(block);
    after->prev_size = size;
    flag_clear(after, FLAG_PREV_INUSE);
    treap_insert(arena, block);
    region_release_if_empty(arena, block);
}

static bool grow_in_place(struct arena *arena, struct arena_block *block,
                          size_t need)
{
    struct arena_block *after = block_after(block);
    if ((after->head & FLAG_INUSE) ||
        block_size(block) + block_size(after) < need)
        return false;
    treap_remove(arena, after);
    block->head += block_size(after);
    flag_set(block_after(block), FLAG_PREV_INUSE);
    return true;
}

bool arena_resize_in_place(struct arena *arena, void *ptr, size_t size)
{
    if (size > SIZE_MAX / 2)
        return false;
    struct arena_block *block = block_of(ptr);
    check_in_use(block, ptr);
    size_t need = request_to_block(size);
    size_t before = block_size(block);
    if (need > before && !grow_in_place(arena, block, need))
        return false;
    carve_tail(arena, block, need);
    arena->bytes_in_use += block_size(block);
    arena->bytes_in_use -= before;
    return true;
}

size_t arena_usable_size(const void *ptr)
{
    size_t size = arena_block_size_unlocked(ptr);
    return size == 0 ? 0 : size - ARENA_HEADER;
}

/* ---- moving a region to another heap ---- */

/* Moves region with its free blocks and in-use bytes from one arena to
 * another, whose heap is owner (both heaps' locks held).  Walks the
 * region's blocks: in-use blocks are over 4 KiB but for a few, so a
 * chunk holds at most some hundred. */
static void region_move(struct arena *to, struct arena *from,
                        struct arena_region *region, void *owner)
{
    size_t in_use = 0;
    struct arena_block *block = region_first_block(region);
    for (; block_size(block) != 0; block = block_after(block)) {
        if (block->head & FLAG_INUSE) {
            in_use += block_size(block);
        } else {
            treap_remove(from, block);
            treap_insert(to, block);
        }
    }
    region_unlink(from, region);
    region_link(to, region);
    from->bytes_in_use -= in_use;
    to->bytes_in_use += in_use;
    atomic_store_explicit(&region->owner, owner, memory_order_relaxed);
}

bool arena_adopt_fit(struct arena *to, struct arena *from, void *owner,
                     size_t size, size_t align)
{
    if (size > SIZE_MAX / 4 || align > SIZE_MAX / 4)
        return false;
    size_t need = request_to_block(size);
    if (align != 0)
        need += align + ARENA_MIN_BLOCK;   /* as arena_alloc_aligned */
    struct arena_block *fit = treap_best_fit(from, need);
    if (fit == NULL)
        return false;
    region_move(to, from, (struct arena_region *)chunkmap_lookup(fit),
                owner);
    return true;
}
