/*
 * heapcheck.h - MALLARD_CHECK=1: a heap-checking mode for finding misuse,
 * off by default.
 *
 * Every block gets guard zones: 16 canary bytes, a 24-byte sealed
 * header and an 8-byte canary before it, 32 canary bytes after the size
 * asked for.  The
 * header holds the size and a keyed seal that also says whether the
 * block is live or freed.  Freed blocks are zeroed and kept in a
 * quarantine (a FIFO bounded in blocks and bytes) before their memory
 * is reused, so a freed address is not handed out again at once.
 *
 * What aborts, with a message naming the block:
 *   free/realloc of a pointer without a live seal (invalid or double
 *   free; a write before the block also breaks the seal), a changed
 *   canary (a write past the end or before the start), a quarantined
 *   block no longer all zero (a write after free), checked at eviction
 *   and, for the newest blocks, at every call; and the canaries of the
 *   newest live blocks are checked at every call too, which catches an
 *   overflow by the next malloc even if the block is never freed.
 *
 * Costs: 80 bytes a block, zeroing at malloc and free, one
 * process-wide lock for every call (the checks serialise threads), and
 * the thread cache off.  None of it touches the default mode: the
 * checking calls are reached only from slow paths (alloc.c), which every
 * call takes in this mode because the cache is off and a checked
 * pointer sits 48 bytes into its block, where the fast free sees no
 * block start.
 */
#ifndef MALLARD_HEAPCHECK_H
#define MALLARD_HEAPCHECK_H

#include <stddef.h>

/* All set errno to ENOMEM when they return NULL.  Memory is zeroed. */
void *heapcheck_malloc(size_t size);
void *heapcheck_aligned(size_t align, size_t size);
void *heapcheck_realloc(void *ptr, size_t size);
void heapcheck_free(void *ptr);
size_t heapcheck_usable_size(const void *ptr);
/* Frees every quarantined block (malloc_trim). */
void heapcheck_drain(void);

void heapcheck_fork_prepare(void);
void heapcheck_fork_parent(void);
void heapcheck_fork_child(void);

#endif
