/*
 * test_api.c - every public function's edge cases and errno, as glibc
 * behaves, through the mallard_-prefixed build of the API.
 */
#include "check.h"
#include "mallard.h"
#include "os.h"
#include "sizeclass.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

#define KIB ((size_t)1024)
#define MIB (KIB * KIB)

static void test_malloc_zero_is_unique(void)
{
    void *a = mallard_malloc(0), *b = mallard_malloc(0);
    CHECK(a != NULL && b != NULL && a != b);
    mallard_free(a);
    mallard_free(b);
    mallard_free(NULL);
}

static void test_blocks_are_aligned_and_usable(void)
{
    static const size_t sizes[] = { 1, 15, 16, 17, 100, 1000, 4097,
        16 * KIB, 16 * KIB + 1, 100 * KIB, 129 * KIB, 3 * MIB };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *block = mallard_malloc(sizes[i]);
        CHECK(block != NULL && ((uintptr_t)block & 15) == 0);
        CHECK(mallard_malloc_usable_size(block) >= sizes[i]);
        memset(block, 0xab, sizes[i]);
        mallard_free(block);
    }
}

/* A pool block's usable size comes from the chunk map's tag, not the
 * pool's header: it must still be exactly its class's block size. */
static void test_pool_usable_size_is_the_class_size(void)
{
    CHECK(mallard_malloc_usable_size(NULL) == 0);
    for (size_t size = 1; size <= SC_POOL_MAX; size += 7) {
        unsigned char *block = mallard_malloc(size);
        size_t usable = mallard_malloc_usable_size(block);
        CHECK(block != NULL && usable == sc_block_size[sc_of_size(size)]);
        memset(block, 0xcd, usable);
        mallard_free(block);
    }
}

static void test_impossible_sizes_give_enomem(void)
{
    errno = 0;
    CHECK(mallard_malloc(SIZE_MAX) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(mallard_malloc((size_t)PTRDIFF_MAX + 1) == NULL &&
          errno == ENOMEM);
    errno = 0;
    CHECK(mallard_calloc(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(mallard_realloc(NULL, SIZE_MAX - 4096) == NULL &&
          errno == ENOMEM);
    void *kept = mallard_malloc(32);
    errno = 0;
    CHECK(mallard_reallocarray(kept, SIZE_MAX / 2, 4) == NULL &&
          errno == ENOMEM);
    mallard_free(kept);   /* still ours after the failed reallocarray */
}

static void test_calloc_zeroes_reused_memory(void)
{
    static const size_t sizes[] = { 24, 3000, 40 * KIB, 1 * MIB };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        void *dirty = mallard_malloc(sizes[i]);
        memset(dirty, 0xff, sizes[i]);
        mallard_free(dirty);
        unsigned char *clean = mallard_calloc(1, sizes[i]);
        size_t nonzero = 0;
        for (size_t j = 0; j < sizes[i]; j++)
            nonzero += clean[j] != 0;
        CHECK(nonzero == 0);
        mallard_free(clean);
    }
}

static void test_alignment_functions(void)
{
    void *out = NULL;
    CHECK(mallard_posix_memalign(&out, 3, 10) == EINVAL);
    CHECK(mallard_posix_memalign(&out, 4, 10) == EINVAL);
    CHECK(mallard_posix_memalign(&out, 0, 10) == EINVAL);
    for (size_t align = 8; align <= 2 * MIB; align *= 4) {
        CHECK(mallard_posix_memalign(&out, align, 100) == 0);
        CHECK(((uintptr_t)out & (align - 1)) == 0);
        mallard_free(out);
        void *block = mallard_aligned_alloc(align, 3 * align);
        CHECK(block && ((uintptr_t)block & (align - 1)) == 0);
        memset(block, 1, 3 * align);
        mallard_free(block);
    }
    errno = 0;
    CHECK(mallard_aligned_alloc(24, 48) == NULL && errno == EINVAL);
    void *rounded = mallard_memalign(24, 48);   /* glibc rounds to 32 */
    CHECK(rounded && ((uintptr_t)rounded & 31) == 0);
    mallard_free(rounded);
    void *page = mallard_valloc(10);
    CHECK(page && ((uintptr_t)page & 4095) == 0);
    mallard_free(page);
    void *whole = mallard_pvalloc(5000);
    CHECK(whole && ((uintptr_t)whole & 4095) == 0);
    CHECK(mallard_malloc_usable_size(whole) >= 8192);
    mallard_free(whole);
}

/* As glibc: an alignment no size_t power of two reaches is EINVAL, any
 * other that cannot be met is ENOMEM, and posix_memalign sets errno as
 * well as returning the error. */
static void test_impossible_alignments(void)
{
    size_t half = SIZE_MAX / 2 + 1;
    size_t sizes[] = { 0, 1, 100, 5000, 1 * MIB };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        errno = 0;
        CHECK(mallard_memalign(half, sizes[i]) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(mallard_memalign(half / 2, sizes[i]) == NULL &&
              errno == ENOMEM);
        errno = 0;
        CHECK(mallard_memalign(half + 1, sizes[i]) == NULL &&
              errno == EINVAL);
        errno = 0;
        CHECK(mallard_memalign(SIZE_MAX, sizes[i]) == NULL &&
              errno == EINVAL);
    }
    void *out = &out;
    errno = 0;
    CHECK(mallard_posix_memalign(&out, 64, SIZE_MAX - 100) == ENOMEM);
    CHECK(errno == ENOMEM && out == &out);
    errno = 0;
    CHECK(mallard_posix_memalign(&out, half, 10) == ENOMEM &&
          errno == ENOMEM);
}

/* free() leaves errno as it found it, whichever layer the block is in. */
static void test_free_keeps_errno(void)
{
    static const size_t sizes[] = { 8, 3000, 12 * KIB, 100 * KIB,
        600 * KIB, 48 * MIB };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        void *block = mallard_malloc(sizes[i]);
        CHECK(block != NULL);
        errno = 4321;
        mallard_free(block);
        CHECK(errno == 4321);
    }
    errno = 4321;
    CHECK(mallard_malloc_trim(0) >= 0 && errno == 4321);
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
/*
 * Child: the OS layer gives back the middle page of a three-page
 * mapping when the process is at the kernel's limit on mappings, so the
 * munmap, which would split one mapping into two, fails (ENOMEM).  The
 * page goes back all the same (it reads as zero again) and errno stays
 * as it was.  Exit status 0 when both hold.
 */
static void unmap_at_mapping_limit(void *unused)
{
    (void)unused;
    char *pages = os_map(3 * OS_PAGE_SIZE);
    if (pages == NULL)
        _exit(2);
    memset(pages, 7, 3 * OS_PAGE_SIZE);
    for (int prot = PROT_READ;; prot ^= PROT_WRITE)
        if (mmap(NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
            MAP_FAILED)
            break;
    errno = 4321;
    os_unmap(pages + OS_PAGE_SIZE, OS_PAGE_SIZE);
    int kept = errno == 4321;
    int returned = pages[OS_PAGE_SIZE] == 0 && pages[0] == 7;
    _exit(kept && returned ? 0 : 1);
}

static void test_free_keeps_errno_at_mapping_limit(void)
{
    char text[256];
    int status = run_in_child(unmap_at_mapping_limit, NULL, text,
                              sizeof(text));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
#else
/* The sanitizers' runtimes need mappings of their own: not run there. */
static void test_free_keeps_errno_at_mapping_limit(void) {}
#endif

/* Grows a block through every layer and back, checking contents. */
static void test_realloc_keeps_contents(void)
{
    static const size_t steps[] = { 10, 100, 5000, 20 * KIB, 90 * KIB,
        300 * KIB, 5 * MIB, 40 * MIB, 2 * MIB, 50 * KIB, 700, 3 };
    unsigned char *block = mallard_realloc(NULL, steps[0]);
    size_t filled = 0;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        block = mallard_realloc(block, steps[i]);
        CHECK(block != NULL);
        size_t keep = filled < steps[i] ? filled : steps[i];
        size_t bad = 0;
        for (size_t j = 0; j < keep; j++)
            bad += block[j] != (unsigned char)(j * 7);
        CHECK(bad == 0);
        for (size_t j = 0; j < steps[i]; j++)
            block[j] = (unsigned char)(j * 7);
        filled = steps[i];
    }
    CHECK(mallard_realloc(block, 0) == NULL);   /* frees, as glibc */
}

static void test_realloc_small_shrink_stays_in_place(void)
{
    void *block = mallard_malloc(1000);
    CHECK(mallard_realloc(block, 900) == block);
    void *big = mallard_malloc(60 * KIB);
    void *shrunk = mallard_realloc(big, 50 * KIB);
    CHECK(shrunk == big);
    mallard_free(block);
    mallard_free(shrunk);
}

static void free_wild(void *arg)
{
    mallard_free((char *)arg);
}

static void free_twice(void *size)
{
    void *block = mallard_malloc((size_t)size);
    mallard_free(block);
    mallard_free(block);
}

static void test_bad_frees_abort_naming_the_pointer(void)
{
    char text[512];
    static int on_stack_like;
    int status = run_in_child(free_wild, &on_stack_like, text,
                              sizeof(text));
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(text, "invalid pointer") != NULL);
    static const size_t sizes[] = { 32, 40 * KIB, 4 * MIB };
    for (size_t i = 0; i < 3; i++) {
        status = run_in_child(free_twice, (void *)sizes[i], text,
                              sizeof(text));
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
        CHECK(strstr(text, "mallard: ") != NULL);
        CHECK(strstr(text, "0x") != NULL);
    }
}

int main(void)
{
    test_malloc_zero_is_unique();
    test_blocks_are_aligned_and_usable();
    test_pool_usable_size_is_the_class_size();
    test_impossible_sizes_give_enomem();
    test_calloc_zeroes_reused_memory();
    test_alignment_functions();
    test_impossible_alignments();
    test_free_keeps_errno();
    test_free_keeps_errno_at_mapping_limit();
    test_realloc_keeps_contents();
    test_realloc_small_shrink_stays_in_place();
    test_bad_frees_abort_naming_the_pointer();
    CHECK_DONE();
}
