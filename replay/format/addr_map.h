/*
 * addr_map.h - live blocks by address, for the finaliser.
 *
 * Open addressing with linear probing and backward-shift deletion: no
 * tombstones, so a long trace that allocates and frees the same
 * addresses millions of times keeps short probe runs.  Address 0 marks
 * an empty cell (a live block never has address 0).
 */
#ifndef MALLARD_ADDR_MAP_H
#define MALLARD_ADDR_MAP_H

#include <stddef.h>
#include <stdint.h>

struct addr_block {
    uint64_t addr;        /* 0: empty cell */
    uint64_t bytes;       /* requested bytes, for live-byte accounting */
    uint64_t last_op;     /* op index of the last touch ... */
    uint32_t last_thread; /* ... on this thread */
    uint32_t slot;
};

struct addr_map {
    struct addr_block *cells;
    size_t mask;          /* capacity - 1, capacity a power of two */
    size_t count;
};

int addr_map_init(struct addr_map *m);
void addr_map_destroy(struct addr_map *m);
struct addr_block *addr_map_find(struct addr_map *m, uint64_t addr);
/* Inserts a cell for addr (absent); NULL if out of memory. */
struct addr_block *addr_map_insert(struct addr_map *m, uint64_t addr);
void addr_map_remove(struct addr_map *m, struct addr_block *b);

#endif
