/*
 * hold_blocks.c - a program whose blocks all stay live: 48 blocks of
 * 1 MiB, filled, freed only at the end.  Any allocator must then hold
 * about the live bytes, which makes its recording the check that a
 * replay's memory figure is the allocator's and not the harness's
 * (test_traces.sh).  One thread, so that the replay's peak is the
 * recording's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOLD_BLOCKS 48
#define HOLD_BLOCK_BYTES (1u << 20)

int main(void)
{
    char *blocks[HOLD_BLOCKS];
    for (int i = 0; i < HOLD_BLOCKS; i++) {
        blocks[i] = malloc(HOLD_BLOCK_BYTES);
        if (blocks[i] == NULL) {
            puts("out of memory");
            return 1;
        }
        memset(blocks[i], i, HOLD_BLOCK_BYTES);
    }
    for (int i = 0; i < HOLD_BLOCKS; i++)
        free(blocks[i]);
    puts("ok");
    return 0;
}
