/*
 * early_alloc_main.c - a C program linked with a C++ library whose
 * static initialiser allocates before the recorder's constructor runs
 * (early_alloc_lib.cpp).  Leaves by _exit, so that no destructor
 * allocates after the counting shim has written its counts
 * (counting_shim.c, COUNTING_ALL).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int early_alloc_count(void);

int main(void)
{
    char *volatile block = malloc(24);
    free(block);
    block = calloc(4, 8);
    block = realloc(block, 300);
    free(block);
    printf("%d\n", early_alloc_count());
    fflush(stdout);
    _exit(0);
}
