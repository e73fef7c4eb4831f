/*
 * bump.c - the allocator table the workers call: libc's entry points
 * (whatever LD_PRELOAD put behind them) or, for --allocator none, a
 * trivial allocator inside the replayer that measures what the harness
 * itself costs.
 *
 * The trivial allocator carves size-class blocks from one reserved
 * region (an atomic add per BUMP_CHUNK refill, so threads never contend)
 * and recycles freed blocks through per-thread, per-class free lists.  A
 * block freed by another thread goes back to the thread that allocated
 * it, pushed on a lock-free stack that the owner takes whole (one atomic
 * exchange, so no ABA), so a producer/consumer trace does not grow
 * without bound.  No locks, no coalescing, no return to the OS;
 * recycling keeps its page faults near a real allocator's, so that the
 * difference to glibc is the harness, not fresh-page faults.  A 16-byte
 * header before each block holds its size, offset from the class block
 * (for aligned requests), class and owner.
 */
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "run.h"

#define BUMP_RESERVE (16ull << 30) /* 16 GiB of address space */
#define BUMP_CHUNK (1ull << 20)    /* per-thread refill: 1 MiB */
#define BUMP_HEADER 16u            /* keeps malloc's 16-byte alignment */
#define BUMP_PAGE 4096u
/* Classes: 16-byte steps up to 1 KiB (like glibc's tcache bins, so
 * small blocks pack as densely as a real allocator's), then powers of
 * two up to 2^39, beyond the region. */
#define BUMP_STEP 16u
#define BUMP_FINE_LIMIT 1024u
#define BUMP_FINE_CLASSES (BUMP_FINE_LIMIT / BUMP_STEP)
#define BUMP_FIRST_POW2 11         /* 2 KiB: first class past the fine */
#define BUMP_LAST_POW2 39
#define BUMP_CLASSES (BUMP_FINE_CLASSES + BUMP_LAST_POW2 - \
                      BUMP_FIRST_POW2 + 1)

#define BUMP_MAX_HEAPS 65536      /* owner ids fit the header's 16 bits */

struct bump_header {
    uint64_t size;      /* bytes requested */
    uint32_t offset;    /* from the block's start to the user pointer */
    uint16_t class;     /* block is bump_class_bytes(class) bytes */
    uint16_t owner;     /* heap of the thread that allocated it */
};

/* One per thread, carved from the region (so zeroed) on first use. */
struct bump_heap {
    void *local[BUMP_CLASSES];              /* owner's free lists */
    _Atomic(void *) remote[BUMP_CLASSES];   /* freed by other threads */
    char *cur, *end;                        /* current chunk */
    uint16_t id;
};

static char *bump_base;
static _Atomic uint64_t bump_used;
static struct bump_heap *bump_heaps[BUMP_MAX_HEAPS];
static _Atomic uint32_t bump_heap_count;
static _Thread_local struct bump_heap *bump_mine;

static uintptr_t bump_align_up(uintptr_t x, uintptr_t a)
{
    return (x + a - 1) & ~(a - 1);
}

static char *bump_take(uint64_t bytes)
{
    uint64_t at = atomic_fetch_add(&bump_used, bytes);
    if (at + bytes > BUMP_RESERVE)
        return NULL;
    return bump_base + at;
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
        return (unsigned)((need + BUMP_STEP - 1) / BUMP_STEP) - 1;
    unsigned class = BUMP_FINE_CLASSES;
    while (bump_class_bytes(class) < need)
        class++;
    return class;
}

static struct bump_heap *bump_heap(void)
{
    if (bump_mine)
        return bump_mine;
    uint32_t id = atomic_fetch_add(&bump_heap_count, 1);
    if (id >= BUMP_MAX_HEAPS)
        return NULL;
    uint64_t bytes = bump_align_up(sizeof(struct bump_heap), BUMP_STEP);
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

/* A fresh or recycled block of the class's size. */
static char *bump_block(struct bump_heap *h, unsigned class)
{
    char *b = bump_pop(h, class);
    if (b)
        return b;
    uint64_t n = bump_class_bytes(class);
    if (n > BUMP_CHUNK / 4)
        return bump_take(n);
    if (!h->cur || (uint64_t)(h->end - h->cur) < n) {
        h->cur = bump_take(BUMP_CHUNK);
        if (!h->cur)
            return NULL;
        h->end = h->cur + BUMP_CHUNK;
    }
    b = h->cur;
    h->cur += n;
    return b;
}

static void *bump_memalign(size_t align, size_t n)
{
    if (align < BUMP_HEADER || (align & (align - 1)))
        align = BUMP_HEADER;
    uint64_t need = n + BUMP_HEADER + (align - BUMP_HEADER);
    if (n > BUMP_RESERVE)
        return NULL;
    unsigned class = bump_class_of(need);
    struct bump_heap *heap = bump_heap();
    char *b = heap ? bump_block(heap, class) : NULL;
    if (!b)
        return NULL;
    char *p = (char *)bump_align_up((uintptr_t)b + BUMP_HEADER, align);
    struct bump_header h = { n, (uint32_t)(p - b), (uint16_t)class,
                             heap->id };
    memcpy(p - BUMP_HEADER, &h, sizeof(h));
    return p;
}

static size_t bump_usable_size(void *p)
{
    struct bump_header h = { 0, 0, 0, 0 };
    if (p)
        memcpy(&h, (char *)p - BUMP_HEADER, sizeof(h));
    return (size_t)h.size;
}

static void bump_free(void *p)
{
    if (!p)
        return;
    struct bump_header h;
    memcpy(&h, (char *)p - BUMP_HEADER, sizeof(h));
    char *b = (char *)p - h.offset;
    struct bump_heap *owner = bump_heaps[h.owner];
    if (owner == bump_mine) {
        memcpy(b, &owner->local[h.class], sizeof(void *));
        owner->local[h.class] = b;
        return;
    }
    void *top = atomic_load(&owner->remote[h.class]);
    do {
        memcpy(b, &top, sizeof(void *));
    } while (!atomic_compare_exchange_weak(&owner->remote[h.class], &top,
                                           b));
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
        void *p = mmap(NULL, BUMP_RESERVE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        bump_base = p;
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
