/*
 * config.h - settings read once from MALLARD_* environment variables at
 * the first allocation.
 *
 *   MALLARD_THREAD_CACHE=0   no per-thread cache: every malloc and free
 *                            takes its per-CPU heap's lock
 *   MALLARD_STATS=1          print mallard_stats() to stderr at exit
 *   MALLARD_MMAP_THRESHOLD=N requests of N bytes or more get their own
 *                            mmap; setting it turns adaptation off
 *   MALLARD_SBRK=0           never use the program break (mmap only)
 *   MALLARD_CHECK=1          check the heap for misuse at every call
 *                            (heapcheck.h), at a cost in time and memory
 */
#ifndef MALLARD_CONFIG_H
#define MALLARD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct config {
    bool thread_cache;
    bool print_stats;
    bool use_sbrk;
    bool check;
    bool mmap_threshold_fixed;
    size_t mmap_threshold;
};

extern struct config config;

/* Reads the environment; must not allocate. */
void config_read(void);

#endif
