/*
 * bump.c - the allocator table the workers call: libc's entry points
 * (whatever LD_PRELOAD put behind them) or, for --allocator none on a
 * trace whose slot memory (none.c) would be too large, a trivial
 * allocator inside the replayer.  It should cost as close to nothing
 * as an allocator can.
 *
 * The trivial allocator reserves one region and hands out 1 MiB chunks
 * of it (one atomic add each, so threads never contend).  A chunk holds
 * blocks of one size class for one thread; a small table, one entry per
 * chunk, records both, so free finds a block's class and owner without
 * touching the block (no header: a freed block is often cold, and
 * reading it would be a cache miss that no harness should pay).  Blocks
 * sit at multiples of their class size from a chunk-aligned base, which
 * also gives aligned requests their alignment.  Freed blocks go on the
 * owner's per-class list; a block freed by another thread is pushed on
 * the owner's lock-free stack, which the owner takes whole with one
 * atomic exchange (no ABA), so a producer/consumer trace does not grow
 * without bound.  No coalescing, no return to the OS.
 */
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "run.h"

#define BUMP_RESERVE (16ull << 30)   /* 16 GiB of address space */
#define BUMP_CHUNK_SHIFT 20          /* 1 MiB chunks */
#define BUMP_CHUNK (1ull << BUMP_CHUNK_SHIFT)
#define BUMP_CHUNKS (BUMP_RESERVE >> BUMP_CHUNK_SHIFT)
#define BUMP_SMALL_LIMIT (BUMP_CHUNK / 4) /* larger: chunks of its own */
#define BUMP_PAGE 4096u
/* Classes: 16-byte steps up to 1 KiB (like glibc's tcache bins, so small
 * blocks pack as densely as a real allocator's), then powers of two up
 * to 2^39, beyond the region. */
#define BUMP_STEP 16u
#define BUMP_FINE_LIMIT 1024u
#define BUMP_FINE_CLASSES (BUMP_FINE_LIMIT / BUMP_STEP)
#define BUMP_FIRST_POW2 11           /* 2 KiB: first class past the fine */
#define BUMP_LAST_POW2 39
#define BUMP_CLASSES (BUMP_FINE_CLASSES + BUMP_LAST_POW2 - \
                      BUMP_FIRST_POW2 + 1)
#define BUMP_MAX_HEAPS 65536         /* owner ids are 16 bits */

struct bump_chunk_info {
    uint16_t class;
    uint16_t owner;
};

/* One per thread, carved from the region (so zeroed) on first use. */
struct bump_heap {
    void *local[BUMP_CLASSES];              /* owner's free lists */
    _Atomic(void *) remote[BUMP_CLASSES];   /* freed by other threads */
    char *cur[BUMP_CLASSES], *end[BUMP_CLASSES]; /* carving chunks */
    uint16_t id;
};

static char *bump_base;                 /* chunk-aligned */
static _Atomic uint64_t bump_used;
static struct bump_chunk_info bump_chunks[BUMP_CHUNKS];
static struct bump_heap *bump_heaps[BUMP_MAX_HEAPS];
static _Atomic uint32_t bump_heap_count;
static _Thread_local struct bump_heap *bump_mine;

static uint64_t bump_align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

static uint64_t bump_class_bytes(unsigned class)
{
    if (class < BUMP_FINE_CLASSES)
        return (uint64_t)(class + 1) * BUMP_STEP;
    return 1ull << (class - BUMP_FINE_CLASSES + BUMP_FIRST_POW2);
}

static unsigned bump_class_of(uint64_t need)
{
    if (need <= BUMP_FINE_LIMIT)
        return need ? (unsigned)((need + BUMP_STEP - 1) / BUMP_STEP) - 1
                    : 0;
    unsigned class = BUMP_FINE_CLASSES;
    while (bump_class_bytes(class) < need)
        class++;
    return class;
}

static struct bump_chunk_info *bump_info(const void *p)
{
    return &bump_chunks[((const char *)p - bump_base) >> BUMP_CHUNK_SHIFT];
}

/* bytes (a multiple of BUMP_CHUNK) of the region, chunk-aligned. */
static char *bump_take(uint64_t bytes)
{
    uint64_t at = atomic_fetch_add(&bump_used, bytes);
    if (at + bytes > BUMP_RESERVE)
        return NULL;
    return bump_base + at;
}

static struct bump_heap *bump_heap(void)
{
    if (bump_mine)
        return bump_mine;
    uint32_t id = atomic_fetch_add(&bump_heap_count, 1);
    if (id >= BUMP_MAX_HEAPS)
        return NULL;
    uint64_t bytes = bump_align_up(sizeof(struct bump_heap), BUMP_CHUNK);
    struct bump_heap *h = (struct bump_heap *)bump_take(bytes);
    if (h) {
        h->id = (uint16_t)id;
        bump_heaps[id] = h;
    }
    bump_mine = h;
    return h;
}

static void *bump_pop(struct bump_heap *h, unsigned class)
{
    void *b = h->local[class];
    if (!b && atomic_load_explicit(&h->remote[class],
                                   memory_order_relaxed))
        b = atomic_exchange(&h->remote[class], NULL);
    if (b)
        memcpy(&h->local[class], b, sizeof(void *));
    return b;
}

/* A block of a large class: chunks of its own, aligned to `align`. */
static void *bump_large(struct bump_heap *h, unsigned class, uint64_t align)
{
    uint64_t bytes = bump_class_bytes(class);
    uint64_t extra = align > BUMP_CHUNK ? align : 0;
    char *c = bump_take(bump_align_up(bytes + extra, BUMP_CHUNK));
    if (!c)
        return NULL;
    char *p = (char *)bump_align_up((uint64_t)c, align > 1 ? align : 1);
    *bump_info(p) = (struct bump_chunk_info){ (uint16_t)class, h->id };
    return p;
}

/* A fresh or recycled block of a class, carved from this thread's
 * chunk for that class. */
static void *bump_block(struct bump_heap *h, unsigned class, uint64_t align)
{
    void *b = bump_pop(h, class);
    if (b)
        return b;
    uint64_t n = bump_class_bytes(class);
    if (n > BUMP_SMALL_LIMIT)
        return bump_large(h, class, align);
    if (!h->cur[class] || (uint64_t)(h->end[class] - h->cur[class]) < n) {
        char *c = bump_take(BUMP_CHUNK);
        if (!c)
            return NULL;
        *bump_info(c) = (struct bump_chunk_info){ (uint16_t)class, h->id };
        h->cur[class] = c;
        h->end[class] = c + BUMP_CHUNK;
    }
    b = h->cur[class];
    h->cur[class] += n;
    return b;
}

/*
 * Any alignment up to a class's size comes free: a block sits at a
 * multiple of its class size from a chunk-aligned base, and a class that
 * is a multiple of `align` is chosen (fine classes are multiples of 16,
 * the rest powers of two).
 */
static void *bump_memalign(size_t align, size_t n)
{
    if (align < BUMP_STEP || (align & (align - 1)))
        align = BUMP_STEP;
    if (n > BUMP_RESERVE || align > BUMP_RESERVE)
        return NULL;
    uint64_t need = bump_align_up(n ? n : 1, align);
    unsigned class = bump_class_of(need);
    while (bump_class_bytes(class) % align)
        class++;
    struct bump_heap *h = bump_heap();
    return h ? bump_block(h, class, align) : NULL;
}

static size_t bump_usable_size(void *p)
{
    return p ? (size_t)bump_class_bytes(bump_info(p)->class) : 0;
}

static void bump_free(void *p)
{
    if (!p)
        return;
    struct bump_chunk_info info = *bump_info(p);
    struct bump_heap *owner = bump_heaps[info.owner];
    if (owner == bump_mine) {
        memcpy(p, &owner->local[info.class], sizeof(void *));
        owner->local[info.class] = p;
        return;
    }
    void *top = atomic_load(&owner->remote[info.class]);
    do {
        memcpy(p, &top, sizeof(void *));
    } while (!atomic_compare_exchange_weak(&owner->remote[info.class],
                                           &top, p));
}

static void *bump_malloc(size_t n) { return bump_memalign(0, n); }
static void *bump_valloc(size_t n) { return bump_memalign(BUMP_PAGE, n); }

static void *bump_pvalloc(size_t n)
{
    return bump_memalign(BUMP_PAGE, bump_align_up(n, BUMP_PAGE));
}

static void *bump_calloc(size_t k, size_t n)
{
    size_t total;
    if (__builtin_mul_overflow(k, n, &total))
        return NULL;
    void *p = bump_malloc(total);
    if (p)      /* a recycled block holds old contents */
        memset(p, 0, total);
    return p;
}

static void *bump_realloc(void *old, size_t n)
{
    void *p = bump_malloc(n);
    size_t had = bump_usable_size(old);
    if (p && old) {
        memcpy(p, old, had < n ? had : n);
        bump_free(old);
    }
    return p;
}

static void *bump_reallocarray(void *old, size_t k, size_t n)
{
    size_t total;
    if (__builtin_mul_overflow(k, n, &total))
        return NULL;
    return bump_realloc(old, total);
}

static int bump_posix_memalign(void **out, size_t align, size_t n)
{
    *out = bump_memalign(align, n);
    return *out ? 0 : 12; /* ENOMEM */
}

static void *bump_aligned_alloc(size_t align, size_t n)
{
    return bump_memalign(align, n);
}

static const struct replay_alloc_api bump_table = {
    bump_malloc, bump_calloc, bump_realloc, bump_reallocarray, bump_free,
    bump_posix_memalign, bump_aligned_alloc, bump_memalign, bump_valloc,
    bump_pvalloc, bump_usable_size,
};

const struct replay_alloc_api *bump_api(void)
{
    if (!bump_base) {
        void *p = mmap(NULL, BUMP_RESERVE + BUMP_CHUNK,
                       PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        bump_base = (char *)bump_align_up((uint64_t)p, BUMP_CHUNK);
    }
    return &bump_table;
}

static const struct replay_alloc_api libc_table = {
    malloc, calloc, realloc, reallocarray, free, posix_memalign,
    aligned_alloc, memalign, valloc, pvalloc, malloc_usable_size,
};

const struct replay_alloc_api *libc_api(void)
{
    return &libc_table;
}
