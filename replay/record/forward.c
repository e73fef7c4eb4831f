/*
 * forward.c - finding the next allocator, without recursing into it.
 *
 * dlsym(RTLD_NEXT, ...) resolves each function to whatever comes after
 * the recorder in the search order: glibc, or jemalloc, tcmalloc,
 * libmallard preloaded behind it.  dlsym itself may call calloc (its
 * error buffer), which lands in our calloc before anything is resolved;
 * a thread-local flag marks "resolving" and those requests are served
 * from a small static bump buffer, whose blocks are never freed (free
 * and realloc recognise them by address).  No lock: two threads racing
 * to resolve store the same pointers.
 */
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

#include "record.h"

/* malloc's guarantee on x86-64: alignof(max_align_t). */
#define BOOTSTRAP_ALIGN 16

struct record_real record_real;

_Alignas(BOOTSTRAP_ALIGN) uint8_t record_bootstrap[RECORD_BOOTSTRAP_BYTES];
atomic_int record_resolved;
static atomic_size_t bootstrap_used;
static RECORD_TLS int resolving;

static void *next_symbol(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        static const char msg[] = "mallard-record: next allocator lacks "
                                  "a malloc function, aborting\n";
        (void)!write(2, msg, sizeof(msg) - 1);
        _exit(127);
    }
    return f;
}

int record_resolve_slow(void)
{
    if (atomic_load_explicit(&record_resolved, memory_order_acquire))
        return 0;
    if (resolving)
        return -1;
    resolving = 1;
    struct record_real r;
    r.malloc = next_symbol("malloc");
    r.free = next_symbol("free");
    r.calloc = next_symbol("calloc");
    r.realloc = next_symbol("realloc");
    r.reallocarray = next_symbol("reallocarray");
    r.posix_memalign = next_symbol("posix_memalign");
    r.aligned_alloc = next_symbol("aligned_alloc");
    r.memalign = next_symbol("memalign");
    r.valloc = next_symbol("valloc");
    r.pvalloc = next_symbol("pvalloc");
    r.malloc_usable_size = next_symbol("malloc_usable_size");
    record_real = r;
    atomic_store_explicit(&record_resolved, 1, memory_order_release);
    resolving = 0;
    return 0;
}

/* Each block is preceded by its size, so realloc can copy it out. */
void *record_bootstrap_alloc(size_t size)
{
    size_t need = (size + 2 * BOOTSTRAP_ALIGN - 1) &
                  ~(size_t)(BOOTSTRAP_ALIGN - 1);
    size_t at = atomic_fetch_add(&bootstrap_used, need);
    if (need > RECORD_BOOTSTRAP_BYTES || at > RECORD_BOOTSTRAP_BYTES - need)
        return NULL;
    memcpy(record_bootstrap + at, &size, sizeof(size));
    return record_bootstrap + at + BOOTSTRAP_ALIGN;
}

size_t record_bootstrap_size(const void *p)
{
    size_t size;
    memcpy(&size, (const uint8_t *)p - BOOTSTRAP_ALIGN, sizeof(size));
    return size;
}
