/*
 * test_glibc.c - glibc's tuning and introspection calls (alloc/glibc.c):
 * mallinfo2 follows what the program holds, mallopt moves the mmap
 * threshold and refuses what glibc refuses, malloc_info writes its XML
 * and malloc_stats its figures.
 */
#include "check.h"
#include "mallard.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>

int mallard_malloc_info(int options, FILE *stream);
struct mallinfo mallard_mallinfo(void);

static void test_mallinfo_follows_blocks(void)
{
    struct mallinfo2 before = mallard_mallinfo2();
    void *blocks[100];
    for (int i = 0; i < 100; i++)
        blocks[i] = mallard_malloc(1000);
    struct mallinfo2 during = mallard_mallinfo2();
    CHECK(during.uordblks >= before.uordblks + 100 * 1000);
    CHECK(during.arena >= during.uordblks);
    CHECK(during.fordblks == during.arena - during.uordblks);
    for (int i = 0; i < 100; i++)
        mallard_free(blocks[i]);

    void *big = mallard_malloc(4 << 20);
    struct mallinfo2 mapped = mallard_mallinfo2();
    CHECK(mapped.hblks == before.hblks + 1);
    CHECK(mapped.hblkhd >= before.hblkhd + (4 << 20));
    mallard_free(big);
    struct mallinfo2 after = mallard_mallinfo2();
    CHECK(after.hblks == before.hblks);
    CHECK(after.hblkhd == before.hblkhd);

    struct mallinfo narrow = mallard_mallinfo();
    struct mallinfo2 wide = mallard_mallinfo2();
    CHECK((size_t)narrow.hblks == wide.hblks);
    CHECK((size_t)narrow.hblkhd == wide.hblkhd);
}

static void test_mallopt_threshold(void)
{
    CHECK(mallard_mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1);
    struct mallard_stats stats;
    CHECK(mallard_stats(&stats) == 0);
    CHECK(stats.mmap_threshold == 1 << 20);
    /* 512 KiB now comes from the arena, not a mapping of its own. */
    struct mallinfo2 before = mallard_mallinfo2();
    void *block = mallard_malloc(512 << 10);
    CHECK(block != NULL);
    struct mallinfo2 during = mallard_mallinfo2();
    CHECK(during.hblks == before.hblks);
    CHECK(during.uordblks >= before.uordblks + (512 << 10));
    mallard_free(block);
    /* Fixed: freeing a mapped block no longer raises it. */
    block = mallard_malloc(2 << 20);
    mallard_free(block);
    CHECK(mallard_stats(&stats) == 0);
    CHECK(stats.mmap_threshold == 1 << 20);

    /* Refused as glibc refuses: negative, or above 32 MiB. */
    CHECK(mallard_mallopt(M_MMAP_THRESHOLD, -1) == 0);
    CHECK(mallard_mallopt(M_MMAP_THRESHOLD, 33 << 20) == 0);
    CHECK(mallard_mallopt(M_TRIM_THRESHOLD, -5) == 0);
    CHECK(mallard_stats(&stats) == 0);
    CHECK(stats.mmap_threshold == 1 << 20);
    /* glibc's own knobs: accepted, no effect. */
    CHECK(mallard_mallopt(M_ARENA_MAX, 1) == 1);
    CHECK(mallard_mallopt(M_TRIM_THRESHOLD, 8 << 20) == 1);
}

static void test_malloc_info_xml(void)
{
    char *text = NULL;
    size_t length = 0;
    FILE *stream = open_memstream(&text, &length);
    CHECK(stream != NULL);
    CHECK(mallard_malloc_info(0, stream) == 0);
    fclose(stream);
    CHECK(strncmp(text, "<malloc version=", 16) == 0);
    CHECK(strstr(text, "<heap nr=\"0\">") != NULL);
    CHECK(strstr(text, "</malloc>\n") != NULL);
    free(text);

    errno = 0;
    CHECK(mallard_malloc_info(1, stdout) == -1);
    CHECK(errno == EINVAL);
}

static void print_stats(void *arg)
{
    (void)arg;
    mallard_malloc_stats();
}

static void test_malloc_stats_prints(void)
{
    char text[8192];
    int status = run_in_child(print_stats, NULL, text, sizeof(text));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(strstr(text, "mallard stats:") != NULL);
    CHECK(strstr(text, "bytes_in_use") != NULL);
}

int main(void)
{
    test_mallinfo_follows_blocks();
    test_malloc_info_xml();
    test_malloc_stats_prints();
    test_mallopt_threshold();
    CHECK_DONE();
}
