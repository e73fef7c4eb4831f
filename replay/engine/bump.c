/*
 * bump.c - the allocator table the workers call: libc's entry points
 * (whatever LD_PRELOAD put behind them) or, for --allocator none, a
 * trivial allocator inside the replayer that measures what the harness
 * itself costs.
 *
 * The trivial allocator carves power-of-two blocks from one reserved
 * region (an atomic add per BUMP_CHUNK refill, so threads never contend)
 * and recycles freed blocks through per-thread, per-class free lists: a
 * block freed on another thread joins that thread's list.  It has no
 * locks, no coalescing and no return to the OS; recycling keeps its
 * page faults near those of a real allocator, so that the difference
 * to glibc is the harness, not fresh-page faults.  A 16-byte header
 * before each block holds its size, class and offset from the class
 * block (for aligned requests).
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
#define BUMP_MIN_CLASS 5           /* 32 bytes: header plus 16 */
#define BUMP_CLASSES 40            /* up to 2^39 bytes, above the region */

struct bump_header {
    uint64_t size;      /* bytes requested */
    uint32_t class;     /* block is 2^class bytes */
    uint32_t offset;    /* from the block's start to the user pointer */
};

static char *bump_base;
static _Atomic uint64_t bump_used;
static _Thread_local char *bump_cur, *bump_end;
static _Thread_local void *bump_free_list[BUMP_CLASSES];

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

/* A fresh or recycled block of 2^class bytes. */
static char *bump_block(unsigned class)
{
    void *b = bump_free_list[class];
    if (b) {
        memcpy(&bump_free_list[class], b, sizeof(void *));
        return b;
    }
    uint64_t n = 1ull << class;
    if (n > BUMP_CHUNK / 4)
        return bump_take(n);
    if (!bump_cur || (uint64_t)(bump_end - bump_cur) < n) {
        bump_cur = bump_take(BUMP_CHUNK);
        if (!bump_cur)
            return NULL;
        bump_end = bump_cur + BUMP_CHUNK;
    }
    char *p = bump_cur;
    bump_cur += n;
    return p;
}

static void *bump_memalign(size_t align, size_t n)
{
    if (align < BUMP_HEADER || (align & (align - 1)))
        align = BUMP_HEADER;
    uint64_t need = n + BUMP_HEADER + (align - BUMP_HEADER);
    if (n > BUMP_RESERVE)
        return NULL;
    unsigned class = BUMP_MIN_CLASS;
    while ((1ull << class) < need)
        class++;
    char *b = bump_block(class);
    if (!b)
        return NULL;
    char *p = (char *)bump_align_up((uintptr_t)b + BUMP_HEADER, align);
    struct bump_header h = { n, class, (uint32_t)(p - b) };
    memcpy(p - BUMP_HEADER, &h, sizeof(h));
    return p;
}

static size_t bump_usable_size(void *p)
{
    struct bump_header h = { 0, 0, 0 };
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
    memcpy(b, &bump_free_list[h.class], sizeof(void *));
    bump_free_list[h.class] = b;
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
