/*
 * apicheck.c - every malloc API function, called through its real symbol.
 *
 * Each check calls the function through a volatile pointer with sizes in
 * volatile variables, so the compiler can neither fold the call (it knows
 * what malloc(SIZE_MAX) "must" do) nor drop a malloc/free pair: under
 * LD_PRELOAD the preloaded allocator answers every call.  The expected
 * answers are glibc's documented ones, which a drop-in replacement must
 * give: malloc(0) is a unique pointer, impossible sizes give NULL with
 * errno ENOMEM, realloc(p, 0) frees p and returns NULL, and so on.
 * With --expect-mallard the run also fails unless libmallard is the
 * allocator in the process (its mallard_stats symbol is visible).
 */
#include "wl_opts.h"
#include "wl_proc.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* malloc's minimum alignment on x86-64 and aarch64 (2 * sizeof(size_t)). */
#define MIN_ALIGN 16
/* Sizes tried for alignment and usable size: small, medium, large. */
static const size_t probe_sizes[] = { 1, 8, 15, 16, 17, 24, 100, 255,
                                      1000, 4096, 10000, 65536, 200000,
                                      1 << 20, 5 << 20 };
#define N_PROBES (sizeof probe_sizes / sizeof probe_sizes[0])

static void *(*volatile p_malloc)(size_t) = malloc;
static void *(*volatile p_calloc)(size_t, size_t) = calloc;
static void *(*volatile p_realloc)(void *, size_t) = realloc;
static void *(*volatile p_reallocarray)(void *, size_t, size_t) =
    reallocarray;
static void (*volatile p_free)(void *) = free;
static int (*volatile p_posix_memalign)(void **, size_t, size_t) =
    posix_memalign;
static void *(*volatile p_aligned_alloc)(size_t, size_t) = aligned_alloc;
static void *(*volatile p_memalign)(size_t, size_t) = memalign;
static void *(*volatile p_valloc)(size_t) = valloc;
static void *(*volatile p_pvalloc)(size_t) = pvalloc;
static size_t (*volatile p_usable)(void *) = malloc_usable_size;

static int checks_run;

static const char usage[] =
    "usage: apicheck [--expect-mallard]\n"
    "Checks the malloc API's answers, including the error cases.\n"
    "  --expect-mallard  fail unless libmallard is the allocator\n";

#define EXPECT(cond, ...) \
    do { checks_run++; if (!(cond)) wl_fail(__VA_ARGS__); } while (0)

static int is_aligned(const void *p, size_t align)
{
    return ((uintptr_t)p & (align - 1)) == 0;
}

/* Expect `p` to be NULL with errno ENOMEM after the call named `what`. */
static void expect_enomem(void *p, int err, const char *what)
{
    EXPECT(p == NULL, "%s returned %p, expected NULL", what, p);
    EXPECT(err == ENOMEM, "%s set errno %d (%s), expected ENOMEM", what,
           err, strerror(err));
}

static void check_malloc_zero(void)
{
    void *a = p_malloc(0), *b = p_malloc(0);
    EXPECT(a && b, "malloc(0) returned NULL (%p, %p)", a, b);
    EXPECT(a != b, "two malloc(0) calls returned the same %p", a);
    EXPECT(is_aligned(a, MIN_ALIGN), "malloc(0) = %p is misaligned", a);
    p_free(a);
    p_free(b);
}

static void check_alignment_and_usable(void)
{
    for (size_t i = 0; i < N_PROBES; i++) {
        size_t n = probe_sizes[i];
        unsigned char *p = p_malloc(n);
        EXPECT(p, "malloc(%zu) returned NULL", n);
        EXPECT(is_aligned(p, MIN_ALIGN), "malloc(%zu) = %p is not %d-byte "
               "aligned", n, (void *)p, MIN_ALIGN);
        size_t usable = p_usable(p);
        EXPECT(usable >= n, "malloc_usable_size(malloc(%zu)) = %zu", n,
               usable);
        memset(p, 0xa5, usable);  /* all of it must be ours to write */
        p_free(p);
    }
    EXPECT(p_usable(NULL) == 0, "malloc_usable_size(NULL) is not 0");
}

static void check_calloc(void)
{
    for (size_t i = 0; i < N_PROBES; i++) {
        size_t n = probe_sizes[i];
        unsigned char *dirty = p_malloc(n);  /* leave garbage to reuse */
        EXPECT(dirty, "malloc(%zu) returned NULL", n);
        memset(dirty, 0xff, n);
        p_free(dirty);
        unsigned char *p = p_calloc(n, 1);
        EXPECT(p, "calloc(%zu, 1) returned NULL", n);
        size_t k = 0;
        while (k < n && p[k] == 0)
            k++;
        EXPECT(k == n, "calloc(%zu, 1) byte %zu is not zero", n, k);
        p_free(p);
    }
    volatile size_t half = SIZE_MAX / 2 + 1;
    errno = 0;
    void *p = p_calloc(half, 2);
    expect_enomem(p, errno, "calloc(SIZE_MAX/2+1, 2) (overflow)");
    errno = 0;
    p = p_calloc(2, half);
    expect_enomem(p, errno, "calloc(2, SIZE_MAX/2+1) (overflow)");
}

static void check_huge(void)
{
    static const size_t huge[] = { SIZE_MAX, SIZE_MAX - 4096,
                                   (size_t)PTRDIFF_MAX + 1,
                                   (size_t)PTRDIFF_MAX };
    char what[64];
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        errno = 0;
        void *p = p_malloc(huge[i]);
        snprintf(what, sizeof what, "malloc(%zu)", huge[i]);
        expect_enomem(p, errno, what);
    }
    unsigned char *keep = p_malloc(100);
    EXPECT(keep, "malloc(100) returned NULL");
    memset(keep, 7, 100);
    errno = 0;
    void *p = p_realloc(keep, SIZE_MAX);
    expect_enomem(p, errno, "realloc(p, SIZE_MAX)");
    for (int k = 0; k < 100; k++)
        EXPECT(keep[k] == 7, "failed realloc changed the old block");
    p_free(keep);
}

static void check_realloc(void)
{
    unsigned char *p = p_realloc(NULL, 40);
    EXPECT(p, "realloc(NULL, 40) returned NULL");
    for (int i = 0; i < 40; i++)
        p[i] = (unsigned char)i;
    static const size_t steps[] = { 100, 5000, 300000, 24, 2 << 20, 40 };
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        p = p_realloc(p, steps[s]);
        EXPECT(p, "realloc to %zu returned NULL", steps[s]);
        EXPECT(is_aligned(p, MIN_ALIGN), "realloc to %zu misaligned",
               steps[s]);
        for (int i = 0; i < 24; i++)  /* 24: the smallest step */
            EXPECT(p[i] == i, "realloc to %zu lost byte %d", steps[s], i);
    }
    errno = 0;
    void *q = p_realloc(p, 0);
    EXPECT(q == NULL, "realloc(p, 0) returned %p; glibc frees p and "
           "returns NULL", q);
}

static void check_reallocarray(void)
{
    volatile size_t big = SIZE_MAX / 2;
    errno = 0;
    void *p = p_reallocarray(NULL, big, 3);
    expect_enomem(p, errno, "reallocarray(NULL, SIZE_MAX/2, 3)");
    int *v = p_reallocarray(NULL, 10, sizeof(int));
    EXPECT(v, "reallocarray(NULL, 10, 4) returned NULL");
    for (int i = 0; i < 10; i++)
        v[i] = i * i;
    errno = 0;
    p = p_reallocarray(v, big, 3);
    expect_enomem(p, errno, "reallocarray(p, SIZE_MAX/2, 3)");
    v = p_reallocarray(v, 1000, sizeof(int));
    EXPECT(v, "reallocarray(p, 1000, 4) returned NULL");
    for (int i = 0; i < 10; i++)
        EXPECT(v[i] == i * i, "reallocarray lost element %d", i);
    p_free(v);
}

static void check_posix_memalign(void)
{
    static const size_t bad[] = { 0, 1, 3, 4, 12, 24, 100,
                                  sizeof(void *) / 2 };
    static const size_t good[] = { 8, 16, 32, 64, 256, 4096, 1 << 16,
                                   1 << 21 };
    static const size_t sizes[] = { 1, 100, 5000, 300000 };
    void *p = NULL;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = p_posix_memalign(&p, bad[i], 64);
        EXPECT(rc == EINVAL, "posix_memalign(align %zu) returned %d, "
               "expected EINVAL", bad[i], rc);
    }
    for (size_t a = 0; a < sizeof good / sizeof good[0]; a++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            int rc = p_posix_memalign(&p, good[a], sizes[s]);
            EXPECT(rc == 0, "posix_memalign(align %zu, %zu) returned %d",
                   good[a], sizes[s], rc);
            EXPECT(is_aligned(p, good[a]), "posix_memalign(align %zu) "
                   "gave %p", good[a], p);
            memset(p, 0x5a, sizes[s]);
            p_free(p);
        }
    volatile size_t huge = SIZE_MAX - 4096;
    int rc = p_posix_memalign(&p, 64, huge);
    EXPECT(rc == ENOMEM, "posix_memalign(64, SIZE_MAX-4096) returned %d, "
           "expected ENOMEM", rc);
}

static void check_aligned_family(void)
{
    long page = sysconf(_SC_PAGESIZE);
    void *p = p_aligned_alloc(64, 192);
    EXPECT(p && is_aligned(p, 64), "aligned_alloc(64, 192) = %p", p);
    p_free(p);
    p = p_aligned_alloc(4096, 8192);
    EXPECT(p && is_aligned(p, 4096), "aligned_alloc(4096, 8192) = %p", p);
    memset(p, 1, 8192);
    p_free(p);
    p = p_memalign(32, 100);
    EXPECT(p && is_aligned(p, 32), "memalign(32, 100) = %p", p);
    p_free(p);
    p = p_memalign(1 << 20, 10);
    EXPECT(p && is_aligned(p, 1 << 20), "memalign(1 MiB, 10) = %p", p);
    p_free(p);
    p = p_valloc(100);
    EXPECT(p && is_aligned(p, (size_t)page), "valloc(100) = %p", p);
    p_free(p);
    p = p_pvalloc(100);
    EXPECT(p && is_aligned(p, (size_t)page), "pvalloc(100) = %p", p);
    EXPECT(p_usable(p) >= (size_t)page, "pvalloc(100) has %zu usable "
           "bytes, less than a page", p_usable(p));
    memset(p, 2, (size_t)page);  /* pvalloc rounds up to whole pages */
    p_free(p);
}

static void check_free_null_and_mallard(int expect_mallard)
{
    p_free(NULL);
    checks_run++;
    if (!expect_mallard)
        return;
    void *stats = dlsym(RTLD_DEFAULT, "mallard_stats");
    EXPECT(stats != NULL, "mallard_stats is not visible: libmallard is "
           "not the allocator (LD_PRELOAD=%s)",
           getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "(unset)");
}

int main(int argc, char **argv)
{
    struct wl_opts o = { 0 };
    wl_set_name(argv[0]);
    wl_opts_parse(&o, argc, argv, WL_OPT_EXPECT_MALLARD, usage);
    check_malloc_zero();
    check_alignment_and_usable();
    check_calloc();
    check_huge();
    check_realloc();
    check_reallocarray();
    check_posix_memalign();
    check_aligned_family();
    check_free_null_and_mallard(o.expect_mallard);
    printf("apicheck: ok: %d checks passed\n", checks_run);
    return 0;
}
