/*
 * finalize_merge.h - state shared by the finaliser's two files:
 * finalize.c (what one merge step does to blocks, slots and edges) and
 * finalize_merge.c (the stamp-ordered merge and the output layout).
 */
#ifndef MALLARD_FINALIZE_MERGE_H
#define MALLARD_FINALIZE_MERGE_H

#include "addr_map.h"
#include "trace_format.h"

struct fin_thread {
    const struct trace_raw_thread *raw;
    struct trace_op *ops;     /* parallel to raw->events */
    struct trace_op *ops_base;/* the allocation: ops - 1, with one spare
                                 op in front so the output can be laid
                                 out in place (fin_layout_thread) */
    uint8_t *dropped;         /* 1: op leaves the output (dropped free) */
    uint32_t *free_slots;     /* this thread's reusable slot ids */
    size_t free_count, free_cap;
    size_t next;              /* merge cursor: event index ... */
    int part;                 /* ... and part (1: a realloc's acquire) */
    uint64_t key_time;        /* the cursor's step: its stamp ... */
    int key_phase;            /* ... and enum fin_phase; kept with the
                                 cursor so the heap compares fields, not
                                 events (the merge's hottest loop) */
};

struct fin_ctx {
    struct fin_thread *threads;
    uint32_t thread_count;
    struct addr_map map;
    uint32_t slot_count;
    uint64_t live_bytes, peak_live_bytes;
    struct trace_finalize_report report;
    uint32_t *heap;           /* thread indices, min-heap by head stamp */
    size_t heap_len;
};

int fin_apply(struct fin_ctx *f, uint32_t ti, size_t index, int part);

#endif
