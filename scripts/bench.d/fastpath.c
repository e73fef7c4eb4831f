/*
 * fastpath.c - the malloc/free pattern that scripts/bench-fastpath counts
 * instructions of under callgrind.
 *
 * usage: fastpath LIVE SIZE ROUNDS
 * Each round mallocs LIVE blocks of SIZE bytes (touching one byte of
 * each, as a program would), then frees them, the first half oldest
 * first and the second half newest first.  LIVE = 1 is a malloc/free
 * pair on the fast path; a LIVE larger than any thread cache holds makes
 * every round refill the cache from the heap and spill it back.  With
 * ROUNDS = 0 it only starts and exits, which the script subtracts.
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: fastpath LIVE SIZE ROUNDS\n");
        return 2;
    }
    long live = atol(argv[1]), rounds = atol(argv[3]);
    size_t size = (size_t)atol(argv[2]);
    char **blocks = malloc((size_t)live * sizeof(*blocks));
    if (blocks == NULL || live < 1 || size < 1)
        return 2;
    for (long round = 0; round < rounds; round++) {
        for (long i = 0; i < live; i++) {
            blocks[i] = malloc(size);
            if (blocks[i] == NULL)
                return 1;
            blocks[i][0] = (char)i;
        }
        for (long i = 0; i < live / 2; i++)
            free(blocks[i]);
        for (long i = live - 1; i >= live / 2; i--)
            free(blocks[i]);
    }
    free(blocks);
    return 0;
}
