/*
 * addr_map.c - live blocks by address, for the finaliser.
 *
 * Open addressing with linear probing and backward-shift deletion: no
 * tombstones, so a long trace that allocates and frees the same
 * addresses millions of times keeps short probe runs.  Address 0 marks
 * an empty cell (a live block never has address 0).  The table doubles
 * at half load, which keeps the expected probe length under two cells.
 */
#include <stdlib.h>
#include <string.h>

#include "format_internal.h"

#define ADDR_MAP_FIRST_CAPACITY 1024
/* 2^64 / golden ratio: Fibonacci hashing spreads aligned addresses. */
#define ADDR_MAP_HASH_MUL 0x9e3779b97f4a7c15ull

static size_t addr_home(const struct addr_map *m, uint64_t addr)
{
    return (size_t)((addr * ADDR_MAP_HASH_MUL) >> 20) & m->mask;
}

int addr_map_init(struct addr_map *m)
{
    m->cells = calloc(ADDR_MAP_FIRST_CAPACITY, sizeof(*m->cells));
    m->mask = ADDR_MAP_FIRST_CAPACITY - 1;
    m->count = 0;
    return m->cells ? 0 : -1;
}

void addr_map_destroy(struct addr_map *m)
{
    free(m->cells);
    m->cells = NULL;
}

struct addr_block *addr_map_find(struct addr_map *m, uint64_t addr)
{
    if (addr == 0)            /* the empty-cell marker is never a block */
        return NULL;
    for (size_t i = addr_home(m, addr);; i = (i + 1) & m->mask) {
        if (m->cells[i].addr == addr)
            return &m->cells[i];
        if (m->cells[i].addr == 0)
            return NULL;
    }
}

static int addr_map_grow(struct addr_map *m)
{
    struct addr_map bigger;
    size_t old_cap = m->mask + 1;
    bigger.cells = calloc(2 * old_cap, sizeof(*bigger.cells));
    if (!bigger.cells)
        return -1;
    bigger.mask = 2 * old_cap - 1;
    bigger.count = m->count;
    for (size_t i = 0; i < old_cap; i++) {
        if (m->cells[i].addr == 0)
            continue;
        size_t j = addr_home(&bigger, m->cells[i].addr);
        while (bigger.cells[j].addr != 0)
            j = (j + 1) & bigger.mask;
        bigger.cells[j] = m->cells[i];
    }
    free(m->cells);
    *m = bigger;
    return 0;
}

struct addr_block *addr_map_insert(struct addr_map *m, uint64_t addr)
{
    if (2 * (m->count + 1) > m->mask + 1 && addr_map_grow(m) < 0)
        return NULL;
    size_t i = addr_home(m, addr);
    while (m->cells[i].addr != 0)
        i = (i + 1) & m->mask;
    memset(&m->cells[i], 0, sizeof(m->cells[i]));
    m->cells[i].addr = addr;
    m->count++;
    return &m->cells[i];
}

struct addr_block *addr_map_claim(struct addr_map *m, uint64_t addr,
                                  int *found)
{
    size_t i = addr_home(m, addr);
    while (m->cells[i].addr != addr && m->cells[i].addr != 0)
        i = (i + 1) & m->mask;
    *found = m->cells[i].addr == addr;
    if (*found)
        return &m->cells[i];
    if (2 * (m->count + 1) > m->mask + 1)     /* rare: grow, probe again */
        return addr_map_insert(m, addr);
    memset(&m->cells[i], 0, sizeof(m->cells[i]));
    m->cells[i].addr = addr;
    m->count++;
    return &m->cells[i];
}

/* Backward shift: pull later cells of the run into the hole when their
 * home lies at or before it, so lookups never stop at a false gap. */
void addr_map_remove(struct addr_map *m, struct addr_block *b)
{
    size_t hole = (size_t)(b - m->cells);
    size_t i = hole;
    for (;;) {
        i = (i + 1) & m->mask;
        if (m->cells[i].addr == 0)
            break;
        size_t home = addr_home(m, m->cells[i].addr);
        if (((i - home) & m->mask) >= ((i - hole) & m->mask)) {
            m->cells[hole] = m->cells[i];
            hole = i;
        }
    }
    m->cells[hole].addr = 0;
    m->count--;
}
