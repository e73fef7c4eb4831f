/*
 * test_linked.c - linking with libmallard.a (instead of preloading)
 * makes Mallard the process's malloc: the C library's own allocations
 * (strdup here) land in Mallard's heaps too, and glibc's mallinfo2 and
 * mallopt are Mallard's.
 */
#include "check.h"
#include "mallard.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    struct mallard_stats before, after;
    CHECK(mallard_stats(&before) == 0);
    char *copies[100];
    for (int i = 0; i < 100; i++)
        copies[i] = strdup("a string copied by the C library");
    CHECK(mallard_stats(&after) == 0);
    CHECK(after.bytes_in_use > before.bytes_in_use);
    CHECK(malloc_usable_size(copies[0]) >= 33);
    /* glibc's introspection reports Mallard's heaps, not glibc's. */
    struct mallinfo2 info = mallinfo2();
    CHECK(info.uordblks >= 100 * 33);
    CHECK(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1);
    CHECK(mallard_stats(&after) == 0);
    CHECK(after.mmap_threshold == 1 << 20);
    for (int i = 0; i < 100; i++)
        free(copies[i]);
    CHECK_DONE();
}
