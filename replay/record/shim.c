/*
 * shim.c - the exported malloc API of libmallard-record.so.
 *
 * Each function forwards to the next allocator and records one event.
 * Ordering rule (docs/trace-format.md): a free is stamped before the real
 * free and an allocation after the real call returns; realloc is stamped
 * on both sides.  Whoever gets a reused address therefore always carries
 * a later stamp than the free that released it, which is what lets the
 * finaliser merge per-thread streams without a global sequence counter.
 *
 * Only the program's own calls are recorded: when the allocator behind
 * us calls the malloc API through the PLT (glibc's reallocarray calls
 * realloc when tcmalloc is preloaded), the inner call is forwarded but
 * not recorded, else one block would be released and acquired twice.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

static RECORD_TLS unsigned shim_depth;  /* malloc API calls in progress */

/* 1 if this call is the program's own and recording is on; the first
 * such call starts the recording (lifecycle.c). */
static inline int shim_enter(void)
{
    if (shim_depth++ != 0)
        return 0;
    if (RECORD_LIKELY(atomic_load_explicit(&record_active,
                                           memory_order_relaxed)))
        return 1;
    return record_start_lazily();
}

static inline void shim_leave(void)
{
    shim_depth--;
}

static inline __attribute__((always_inline))
void shim_alloc(unsigned kind, void *p, uint64_t arg,
                              uint64_t size)
{
    struct trace_event e = { .time = record_stamp(), .ptr = (uintptr_t)p,
                             .arg = arg, .size = size,
                             .kind = (uint8_t)kind };
    record_event(&e);
}

SHIM_EXPORT void *malloc(size_t size)
{
    if (RECORD_UNLIKELY(record_resolve() < 0))
        return record_bootstrap_alloc(size);
    int rec = shim_enter();
    void *p = record_real.malloc(size);
    if (rec)
        shim_alloc(TRACE_MALLOC, p, 0, size);
    shim_leave();
    return p;
}

SHIM_EXPORT void *calloc(size_t n, size_t size)
{
    if (RECORD_UNLIKELY(record_resolve() < 0)) {
        size_t bytes;
        if (__builtin_mul_overflow(n, size, &bytes))
            return NULL;
        return record_bootstrap_alloc(bytes);   /* static: zeroed */
    }
    int rec = shim_enter();
    void *p = record_real.calloc(n, size);
    if (rec)
        shim_alloc(TRACE_CALLOC, p, n, size);
    shim_leave();
    return p;
}

SHIM_EXPORT void free(void *p)
{
    if (RECORD_UNLIKELY(record_is_bootstrap(p)))
        return;
    if (RECORD_UNLIKELY(record_resolve() < 0))
        return;
    if (shim_enter()) {
        struct trace_event e = { .time = record_stamp(),
                                 .old_ptr = (uintptr_t)p,
                                 .kind = TRACE_FREE };
        record_event(&e);
    }
    record_real.free(p);
    shim_leave();
}

/* A bootstrap block moving to the real heap: copy it out, record as new. */
static void *shim_leave_bootstrap(void *old, size_t size)
{
    void *p = malloc(size);
    size_t old_size = record_bootstrap_size(old);
    if (p)
        memcpy(p, old, old_size < size ? old_size : size);
    return p;
}

static void *shim_realloc(unsigned kind, void *old, size_t n, size_t size)
{
    int rec = shim_enter();
    uint64_t before = rec ? record_stamp() : 0;
    void *p = kind == TRACE_REALLOC ? record_real.realloc(old, size)
                                    : record_real.reallocarray(old, n, size);
    if (rec) {
        /* Resized in place, the address was never free for anyone else;
         * moved while this thread still stamps alone, no other thread
         * can have freed the new one (record_stamp).  Either way the
         * first stamp serves for both sides (one clock read). */
        uint64_t after = p == old || record_stamp_alone() ? before
                                                          : record_stamp();
        struct trace_event e = { .time = before, .t_after = after,
                                 .ptr = (uintptr_t)p,
                                 .old_ptr = (uintptr_t)old,
                                 .arg = kind == TRACE_REALLOC ? 0 : n,
                                 .size = size, .kind = (uint8_t)kind };
        record_event(&e);
    }
    shim_leave();
    return p;
}

SHIM_EXPORT void *realloc(void *old, size_t size)
{
    if (RECORD_UNLIKELY(record_is_bootstrap(old)))
        return shim_leave_bootstrap(old, size);
    if (RECORD_UNLIKELY(record_resolve() < 0))
        return old ? NULL : record_bootstrap_alloc(size);
    return shim_realloc(TRACE_REALLOC, old, 0, size);
}

SHIM_EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
    size_t bytes;
    if (RECORD_UNLIKELY(record_is_bootstrap(old))) {
        if (__builtin_mul_overflow(n, size, &bytes)) {
            errno = ENOMEM;
            return NULL;
        }
        return shim_leave_bootstrap(old, bytes);
    }
    if (RECORD_UNLIKELY(record_resolve() < 0))
        return NULL;
    return shim_realloc(TRACE_REALLOCARRAY, old, n, size);
}

SHIM_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    if (RECORD_UNLIKELY(record_resolve() < 0))
        return ENOMEM;
    int rec = shim_enter();
    int rc = record_real.posix_memalign(out, align, size);
    if (rec)
        shim_alloc(TRACE_POSIX_MEMALIGN, rc == 0 ? *out : NULL, align,
                   size);
    shim_leave();
    return rc;
}

/* The memalign family and valloc/pvalloc: (kind, arg, size) -> block. */
static void *shim_aligned(unsigned kind, size_t align, size_t size)
{
    if (RECORD_UNLIKELY(record_resolve() < 0))
        return NULL;
    int rec = shim_enter();
    void *p;
    switch (kind) {
    case TRACE_ALIGNED_ALLOC: p = record_real.aligned_alloc(align, size);
        break;
    case TRACE_MEMALIGN: p = record_real.memalign(align, size);
        break;
    case TRACE_VALLOC: p = record_real.valloc(size);
        break;
    default: p = record_real.pvalloc(size);
    }
    if (rec)
        shim_alloc(kind, p, align, size);
    shim_leave();
    return p;
}

SHIM_EXPORT void *aligned_alloc(size_t align, size_t size)
{
    return shim_aligned(TRACE_ALIGNED_ALLOC, align, size);
}

SHIM_EXPORT void *memalign(size_t align, size_t size)
{
    return shim_aligned(TRACE_MEMALIGN, align, size);
}

SHIM_EXPORT void *valloc(size_t size)
{
    return shim_aligned(TRACE_VALLOC, 0, size);
}

SHIM_EXPORT void *pvalloc(size_t size)
{
    return shim_aligned(TRACE_PVALLOC, 0, size);
}

SHIM_EXPORT size_t malloc_usable_size(void *p)
{
    if (RECORD_UNLIKELY(record_is_bootstrap(p)))
        return record_bootstrap_size(p);
    if (RECORD_UNLIKELY(record_resolve() < 0))
        return 0;
    if (shim_enter()) {
        struct trace_event e = { .time = record_stamp(),
                                 .old_ptr = (uintptr_t)p,
                                 .kind = TRACE_USABLE_SIZE };
        record_event(&e);
    }
    size_t size = record_real.malloc_usable_size(p);
    shim_leave();
    return size;
}
