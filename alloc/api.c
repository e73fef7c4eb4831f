/*
 * api.c - the C library's allocation functions, as glibc defines them:
 * names, errno and edge cases.  With glibc.c (mallopt, mallinfo,
 * malloc_stats, malloc_info) the only files that know the public
 * names; everything else is the allocator proper (alloc.h).
 *
 * Built twice: with the C library's names for libmallard, and with a
 * mallard_ prefix (MALLARD_PREFIX) for the tests, so that a sanitizer's
 * own malloc can run the process while the tests call ours.
 *
 * Edge cases follow glibc: malloc(0) returns a unique minimum block;
 * realloc(p, 0) frees p and returns NULL; sizes beyond PTRDIFF_MAX and
 * products that overflow give NULL with errno ENOMEM; bad alignments
 * give EINVAL; memalign rounds an alignment up to a power of two.
 */
#include "alloc.h"
#include "export.h"
#include "mallard.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

/* Out of line and cold, so the callers' fast paths keep no register
 * alive across the errno call: a tail jump on the rare NULL. */
__attribute__((cold, noinline)) static void *fail_enomem(void)
{
    errno = ENOMEM;
    return NULL;
}

static inline void *enomem_if_null(void *block)
{
    if (__builtin_expect(block == NULL, 0))
        return fail_enomem();
    return block;
}

static bool is_power_of_two(size_t value)
{
    return value != 0 && (value & (value - 1)) == 0;
}

EXPORT void *API(malloc)(size_t size)
{
    return alloc_malloc(size);      /* sets errno itself */
}

EXPORT void API(free)(void *ptr)
{
    alloc_free(ptr);
}

EXPORT void *API(calloc)(size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total) || total > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    return enomem_if_null(alloc_zeroed(total));
}

EXPORT void *API(realloc)(void *ptr, size_t size)
{
    if (ptr != NULL && size == 0) {
        alloc_free(ptr);
        return NULL;
    }
    return enomem_if_null(alloc_realloc(ptr, size));
}

EXPORT void *API(reallocarray)(void *ptr, size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return API(realloc)(ptr, total);
}

EXPORT int API(posix_memalign)(void **out, size_t align, size_t size)
{
    if (!is_power_of_two(align) || align % sizeof(void *) != 0)
        return EINVAL;
    void *block = alloc_aligned(align, size);
    if (block == NULL) {
        errno = ENOMEM;     /* as glibc: the result and errno both say so */
        return ENOMEM;
    }
    *out = block;
    return 0;
}

EXPORT void *API(aligned_alloc)(size_t align, size_t size)
{
    if (!is_power_of_two(align)) {
        errno = EINVAL;
        return NULL;
    }
    return enomem_if_null(alloc_aligned(align, size));
}

EXPORT void *API(memalign)(size_t align, size_t size)
{
    /* As glibc: only an alignment no size_t power of two reaches is
     * invalid; any other that cannot be met is out of memory. */
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    size_t rounded = 1;
    while (rounded < align)
        rounded <<= 1;
    return enomem_if_null(alloc_aligned(rounded, size));
}

EXPORT void *API(valloc)(size_t size)
{
    return enomem_if_null(alloc_aligned(OS_PAGE_SIZE, size));
}

EXPORT void *API(pvalloc)(size_t size)
{
    if (size > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    size_t rounded = (size + OS_PAGE_SIZE - 1) & ~(OS_PAGE_SIZE - 1);
    if (rounded == 0)
        rounded = OS_PAGE_SIZE;
    return enomem_if_null(alloc_aligned(OS_PAGE_SIZE, rounded));
}

EXPORT size_t API(malloc_usable_size)(void *ptr)
{
    return alloc_usable_size(ptr);
}

EXPORT int API(malloc_trim)(size_t pad)
{
    (void)pad;
    return alloc_trim() > 0;
}

#ifndef MALLARD_PREFIX
/*
 * glibc's internal entry points, which some programs and libraries call
 * directly: served here too, so a block they obtain is one our free()
 * knows, and the other way round.
 */
#define ALIAS(name) __attribute__((alias(#name), visibility("default")))
void *__libc_malloc(size_t size) ALIAS(malloc);
void __libc_free(void *ptr) ALIAS(free);
void *__libc_calloc(size_t count, size_t size) ALIAS(calloc);
void *__libc_realloc(void *ptr, size_t size) ALIAS(realloc);
void *__libc_memalign(size_t align, size_t size) ALIAS(memalign);
void *__libc_valloc(size_t size) ALIAS(valloc);
void *__libc_pvalloc(size_t size) ALIAS(pvalloc);
#endif
