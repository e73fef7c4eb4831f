/*
 * glibc.c - glibc's tuning and introspection calls beyond the standard
 * allocation functions: mallopt, mallinfo, mallinfo2, malloc_stats and
 * malloc_info.  Programs call them (servers tune M_MMAP_THRESHOLD or
 * M_ARENA_MAX at start; tools read mallinfo2); served by glibc while
 * Mallard allocates, they would tune nothing and report glibc's untouched
 * arena.  So they are answered here, from Mallard's own figures.
 *
 * mallopt: M_MMAP_THRESHOLD fixes the mmap threshold (as glibc, setting
 * it stops adaptation); M_TRIM_THRESHOLD sets how much freed memory is
 * kept for reuse (at least CHUNK_RETAIN_MIN).  The other parameters
 * describe glibc's arenas, fastbins and checks, which Mallard does not
 * have: accepted and ignored, returning 1 as glibc does for a valid one.
 *
 * mallinfo2's fields, in Mallard's terms (glibc's names are kept):
 *   arena    bytes obtained by sbrk or mmap for the heaps and still held
 *   hblks    blocks in their own mapping;  hblkhd  the bytes they map
 *   uordblks bytes handed out from the heaps (mapped blocks apart)
 *   fordblks arena - uordblks: held but free (pools, arena gaps, spans)
 *   keepcost freed spans kept for reuse, which malloc_trim gives back
 *   ordblks, smblks, usmblks, fsmblks: 0 (no such lists here)
 */
#include "alloc.h"
#include "chunk.h"
#include "export.h"
#include "huge.h"
#include "mallard.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>

EXPORT int API(mallopt)(int param, int value)
{
    if (!alloc_ensure_init())
        return 0;
    switch (param) {
    case M_MMAP_THRESHOLD:
        /* glibc refuses beyond HEAP_MAX_SIZE / 2, our maximum too */
        if (value < 0 || (size_t)value > HUGE_THRESHOLD_MAX)
            return 0;
        huge_fix_threshold((size_t)value);
        return 1;
    case M_TRIM_THRESHOLD:
        if (value < 0)
            return 0;
        chunk_set_retain_limit((size_t)value);
        return 1;
    default:
        return 1;
    }
}

EXPORT struct mallinfo2 API(mallinfo2)(void)
{
    struct mallinfo2 info = {0};
    struct mallard_stats stats;
    if (mallard_stats(&stats) != 0)
        return info;
    size_t held = stats.bytes_from_sbrk + stats.bytes_from_mmap -
                  stats.bytes_returned;
    info.hblks = huge_blocks_in_use();
    info.hblkhd = stats.bytes_in_mapped;
    info.uordblks = stats.bytes_in_use - stats.bytes_in_mapped;
    /* bytes_returned counts pages given back with madvise, which a later
     * reuse faults in again uncounted: held can read low. */
    info.arena = held > info.hblkhd ? held - info.hblkhd : 0;
    if (info.arena < info.uordblks)
        info.arena = info.uordblks;
    info.fordblks = info.arena - info.uordblks;
    info.keepcost = stats.bytes_retained;
    return info;
}

/* glibc's older form: the same figures in ints, truncated as glibc's. */
EXPORT struct mallinfo API(mallinfo)(void)
{
    struct mallinfo2 wide = API(mallinfo2)();
    return (struct mallinfo){
        .arena = (int)wide.arena,
        .hblks = (int)wide.hblks,
        .hblkhd = (int)wide.hblkhd,
        .uordblks = (int)wide.uordblks,
        .fordblks = (int)wide.fordblks,
        .keepcost = (int)wide.keepcost,
    };
}

/* glibc prints its arenas to stderr; this prints Mallard's figures. */
EXPORT void API(malloc_stats)(void)
{
    mallard_print_stats();
}

#define MAX_XML_HEAPS 64

static void write_heap_xml(FILE *stream, size_t index,
                           const struct mallard_heap_stats *heap)
{
    fprintf(stream, "<heap nr=\"%zu\">\n", index);
    fprintf(stream, "<total type=\"pool\" size=\"%llu\" carved=\"%llu\" "
            "in_use=\"%llu\"/>\n",
            (unsigned long long)heap->pool_bytes_held,
            (unsigned long long)heap->pool_bytes_carved,
            (unsigned long long)heap->pool_bytes_out);
    fprintf(stream, "<total type=\"arena\" size=\"%llu\" in_use=\"%llu\"/>\n",
            (unsigned long long)heap->arena_bytes_held,
            (unsigned long long)heap->arena_bytes_in_use);
    fprintf(stream, "<locks acquired=\"%llu\" contended=\"%llu\"/>\n",
            (unsigned long long)heap->lock_acquisitions,
            (unsigned long long)heap->lock_contended);
    fprintf(stream, "</heap>\n");
}

/*
 * XML as glibc's malloc_info writes (a <malloc> element with one <heap>
 * per arena, then totals), with Mallard's heaps (the first MAX_XML_HEAPS;
 * the totals cover all) and figures.  Runs no
 * allocator code while writing: the figures are read first, and stdio
 * may call malloc.
 */
EXPORT int API(malloc_info)(int options, FILE *stream)
{
    if (options != 0) {
        errno = EINVAL;
        return -1;
    }
    struct mallard_heap_stats heaps[MAX_XML_HEAPS];
    size_t count = mallard_heap_stats(heaps, MAX_XML_HEAPS);
    struct mallinfo2 info = API(mallinfo2)();
    fprintf(stream, "<malloc version=\"mallard-1\">\n");
    for (size_t i = 0; i < count && i < MAX_XML_HEAPS; i++)
        write_heap_xml(stream, i, &heaps[i]);
    fprintf(stream, "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n",
            info.hblks, info.hblkhd);
    fprintf(stream, "<system type=\"current\" size=\"%zu\"/>\n",
            info.arena + info.hblkhd);
    fprintf(stream, "<total type=\"in_use\" size=\"%zu\"/>\n",
            info.uordblks + info.hblkhd);
    fprintf(stream, "<total type=\"retained\" size=\"%zu\"/>\n",
            info.keepcost);
    fprintf(stream, "</malloc>\n");
    return 0;
}
