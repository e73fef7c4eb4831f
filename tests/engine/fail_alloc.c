/*
 * fail_alloc.c - a deliberately failing allocator for the replay tests:
 * malloc, calloc and realloc forward to glibc (__libc_*) until
 * MALLARD_FAIL_AFTER calls have been made, then return NULL, or with
 * MALLARD_FAIL_MODE=crash raise SIGSEGV, with MALLARD_FAIL_MODE=hang
 * never return (as a deadlocked allocator), or with MALLARD_FAIL_MODE=overlap
 * hand out the previous malloc's block again (free then does nothing,
 * so the duplicate is never freed twice).  The replay must report each
 * as this allocator's failure (overlap: found by --verify).
 */
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static _Atomic long fail_calls;
static long fail_after = -1;   /* -1: not read yet; 0: never fail */
static int fail_crash, fail_overlap, fail_hang;
static _Thread_local void *fail_last;  /* this thread's last block */

static int fail_now(void)
{
    if (fail_after < 0) {
        /* getenv does not allocate, so this cannot recurse */
        const char *n = getenv("MALLARD_FAIL_AFTER");
        const char *mode = getenv("MALLARD_FAIL_MODE");
        fail_crash = mode && strcmp(mode, "crash") == 0;
        fail_overlap = mode && strcmp(mode, "overlap") == 0;
        fail_hang = mode && strcmp(mode, "hang") == 0;
        fail_after = n ? atol(n) : 0;
    }
    if (fail_after == 0 || atomic_fetch_add(&fail_calls, 1) < fail_after)
        return 0;
    if (fail_crash)
        raise(SIGSEGV);
    while (fail_hang)
        pause();
    return 1;
}

void *malloc(size_t n)
{
    if (!fail_now())
        return fail_last = __libc_malloc(n);
    if (fail_overlap && fail_last && n <= malloc_usable_size(fail_last))
        return fail_last;
    return fail_overlap ? (fail_last = __libc_malloc(n)) : NULL;
}

void *calloc(size_t k, size_t n)
{
    return fail_now() ? NULL : __libc_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __libc_realloc(p, n);
}

void free(void *p)
{
    if (!fail_overlap)
        __libc_free(p);
}
