/*
 * libcnames.c - blocks from glibc's internal entry points (__libc_malloc
 * and friends, which some libraries call directly) and from malloc mix
 * freely: each can be freed through the other.  Under a preloaded
 * allocator that left those names to glibc, free() would meet a pointer
 * it never handed out and abort.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void *__libc_memalign(size_t align, size_t size);
void __libc_free(void *ptr);

#define ROUNDS 1000

int main(void)
{
    for (int i = 0; i < ROUNDS; i++) {
        size_t size = 1 + (size_t)i * 37;
        char *a = __libc_malloc(size);
        char *b = malloc(size);
        char *c = __libc_calloc(1, size);
        char *d = __libc_memalign(64, size);
        if (!a || !b || !c || !d || ((size_t)d & 63) != 0) {
            fprintf(stderr, "libcnames: allocation %d failed\n", i);
            return 1;
        }
        memset(a, 1, size);
        a = __libc_realloc(a, size * 2);
        free(a);
        __libc_free(b);
        free(c);
        __libc_free(d);
    }
    puts("libcnames: __libc_* and malloc blocks freed across: ok");
    return 0;
}
