/*
 * broken_alloc.c - an allocator that breaks on purpose, preloaded by the
 * compare tests to check that a failing allocator becomes a failed row
 * and never stops the comparison.  malloc, calloc, realloc and free
 * forward to glibc (__libc_*) until a request of at least
 * BROKEN_TRIGGER_SIZE bytes, then MALLARD_TEST_BREAK=crash raises SIGSEGV
 * and =hang sleeps forever (for --timeout).  Unset, it never breaks.
 * Triggered by size, not by a call count: start-up allocates only small
 * blocks, and how many varies, while the test trace's images are up to
 * 128 KiB, so the break lands inside the replay.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

#define BROKEN_TRIGGER_SIZE (32 * 1024)
#define BROKEN_HANG_SECONDS 3600

static void broken_maybe(size_t request)
{
    /* getenv does not allocate, so this cannot recurse */
    const char *mode = getenv("MALLARD_TEST_BREAK");
    if (!mode || request < BROKEN_TRIGGER_SIZE)
        return;
    if (strcmp(mode, "hang") == 0)
        for (;;)
            sleep(BROKEN_HANG_SECONDS);
    raise(SIGSEGV);
}

void *malloc(size_t n)
{
    broken_maybe(n);
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    broken_maybe(size && n > SIZE_MAX / size ? SIZE_MAX : n * size);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    broken_maybe(n);
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}
