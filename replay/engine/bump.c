/*
 * bump.c - the allocator table the workers call: libc's entry points
 * (whatever LD_PRELOAD put behind them) or, for --allocator none, a
 * trivial bump allocator that measures what the harness itself costs.
 *
 * The bump allocator never reuses memory: each thread carves blocks out
 * of BUMP_CHUNK pieces of one reserved region, taken with one atomic add
 * per chunk, so threads do not contend.  Each block has a 16-byte header
 * with its size (for realloc and malloc_usable_size).  free does
 * nothing.  Memory use therefore grows with total bytes allocated; the
 * region is reserved (not committed) so only touched pages count.
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

static char *bump_base;
static _Atomic uint64_t bump_used;
static _Thread_local char *bump_cur, *bump_end;

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

static void *bump_memalign(size_t align, size_t n)
{
    if (align < BUMP_HEADER || (align & (align - 1)))
        align = BUMP_HEADER;
    uint64_t need = n + BUMP_HEADER + align;
    if (n > BUMP_CHUNK / 4)
        bump_cur = NULL;
    if (!bump_cur || (uint64_t)(bump_end - bump_cur) < need) {
        uint64_t take = need > BUMP_CHUNK ? need : BUMP_CHUNK;
        bump_cur = bump_take(take);
        if (!bump_cur)
            return NULL;
        bump_end = bump_cur + take;
    }
    char *p = (char *)bump_align_up((uintptr_t)bump_cur + BUMP_HEADER,
                                    align);
    memcpy(p - sizeof(uint64_t), &(uint64_t){ n }, sizeof(uint64_t));
    bump_cur = p + n;
    return p;
}

static size_t bump_usable_size(void *p)
{
    uint64_t n = 0;
    if (p)
        memcpy(&n, (char *)p - sizeof(uint64_t), sizeof(n));
    return (size_t)n;
}

static void *bump_malloc(size_t n) { return bump_memalign(0, n); }
static void bump_free(void *p) { (void)p; }
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
    return bump_malloc(total);  /* fresh pages from mmap are zero */
}

static void *bump_realloc(void *old, size_t n)
{
    void *p = bump_malloc(n);
    size_t had = bump_usable_size(old);
    if (p && old)
        memcpy(p, old, had < n ? had : n);
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
