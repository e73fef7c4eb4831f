/*
 * mallard.h - libmallard's public interface beyond the C library's
 * malloc family (which it provides under the usual names).
 *
 * Link with -lmallard (pkg-config mallard) or preload libmallard.so; in
 * both cases malloc, free, calloc, realloc, reallocarray, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc and malloc_usable_size are
 * Mallard's, and so are glibc's malloc_trim, mallopt, mallinfo,
 * mallinfo2, malloc_stats and malloc_info (alloc/glibc.c says how they
 * map onto Mallard).  Settings come from the environment
 * (MALLARD_THREAD_CACHE, MALLARD_STATS, MALLARD_MMAP_THRESHOLD,
 * MALLARD_SBRK; see README).
 */
#ifndef MALLARD_H
#define MALLARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Process-wide figures; each is a snapshot, exact when taken. */
struct mallard_stats {
    uint64_t bytes_in_use;      /* handed out: pool blocks (including
                                   those parked in thread caches), arena
                                   blocks, and mapped blocks */
    uint64_t bytes_in_mapped;   /* of which in blocks with their own mmap */
    uint64_t bytes_from_sbrk;   /* program break growth, ever */
    uint64_t bytes_from_mmap;   /* mmap'd, ever */
    uint64_t bytes_returned;    /* munmap'd, trimmed or madvise'd, ever */
    uint64_t bytes_retained;    /* freed spans kept for reuse */
    uint64_t mmap_threshold;    /* current; requests >= it are mapped */
    uint64_t lock_acquisitions; /* heap lock acquisitions, all heaps */
    uint64_t lock_contended;    /* ... that found the lock taken */
    uint32_t heap_count;        /* one per configured CPU */
};

struct mallard_heap_stats {
    uint64_t lock_acquisitions;
    uint64_t lock_contended;
    uint64_t pool_bytes_out;    /* pool blocks out of this heap */
    uint64_t arena_bytes_in_use;
    uint64_t pool_bytes_held;   /* chunks its pools occupy */
    uint64_t pool_bytes_carved; /* of which blocks ever handed out (the
                                   pages a pool has touched) */
    uint64_t arena_bytes_held;  /* chunks its arena regions occupy:
                                   held - in use is what free blocks
                                   inside them pin */
    uint64_t pool_bytes_decommitted; /* free pool pages given back to
                                   the kernel, ever (they fault in
                                   again when reused) */
};

/* Fills *out; returns 0 (or -1 if the allocator failed to start). */
int mallard_stats(struct mallard_stats *out);
/* Fills up to max entries, one per heap; returns the heap count. */
size_t mallard_heap_stats(struct mallard_heap_stats *out, size_t max);
/* Writes the figures to stderr, as MALLARD_STATS=1 does at exit. */
void mallard_print_stats(void);

/*
 * The same API under prefixed names, provided only by the test build of
 * the allocator (so a sanitizer's own malloc stays in charge of the
 * process while the tests call Mallard's explicitly).
 */
void *mallard_malloc(size_t size);
void mallard_free(void *ptr);
void *mallard_calloc(size_t count, size_t size);
void *mallard_realloc(void *ptr, size_t size);
void *mallard_reallocarray(void *ptr, size_t count, size_t size);
int mallard_posix_memalign(void **out, size_t align, size_t size);
void *mallard_aligned_alloc(size_t align, size_t size);
void *mallard_memalign(size_t align, size_t size);
void *mallard_valloc(size_t size);
void *mallard_pvalloc(size_t size);
size_t mallard_malloc_usable_size(void *ptr);
int mallard_malloc_trim(size_t pad);
int mallard_mallopt(int param, int value);
struct mallinfo2; /* <malloc.h> */
struct mallinfo2 mallard_mallinfo2(void);
void mallard_malloc_stats(void);

#ifdef __cplusplus
}
#endif

#endif
