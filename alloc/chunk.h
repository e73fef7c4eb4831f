/*
 * chunk.h - where spans of memory come from and where they go back.
 *
 * A span is a run of whole chunks (CHUNK_SIZE, 256 KiB, aligned to its
 * size).  Pools take one chunk, arena regions one or more.  This layer
 * carries the sbrk/mmap policy for everything below the mmap threshold:
 *  - spans are cut from the program break, grown in CHUNK_BREAK_STEP
 *    increments (one sbrk per several MiB, not one per request);
 *  - when the break cannot grow (another mapping is in the way, or
 *    MALLARD_SBRK=0), spans come from mmap, CHUNK_MMAP_STEP at a time;
 *  - released spans are kept, dirty, for reuse; they go back to the
 *    kernel once unused for CHUNK_DECAY_NS; beyond a retain limit (the
 *    memory held an eighth over the recent peak in use) the top of the
 *    break is trimmed and mmap'd spans give the excess back at once,
 *    and spans in the middle of the break go once unused for
 *    CHUNK_DECAY_SCAN_NS, decommitted with madvise (address space
 *    kept, memory returned);
 *  - when no free span is big enough but mmap'd free spans hold a
 *    quarter of the request, their pages are moved (mremap) side by
 *    side into one new span, resident, rather than faulted in afresh.
 * Blocks at or above the mmap threshold never come here: huge.c maps
 * each on its own (gathered the same way when it can); but once the
 * threshold has risen past a freed mapping's size, the mapping is
 * adopted here as a free span (it is resident already), given back
 * once unused for CHUNK_DECAY_SCAN_NS.
 */
#ifndef MALLARD_CHUNK_H
#define MALLARD_CHUNK_H

#include <stdbool.h>
#include <stddef.h>

#include "chunkmap.h"

#define CHUNK_BREAK_STEP ((size_t)4 << 20) /* 16 chunks per sbrk */
#define CHUNK_MMAP_STEP ((size_t)4 << 20)  /* same when falling back */
/* Least retain limit: 4 MiB left prodcons --threads 1 (a few hundred
 * KiB live) holding 3-4 MiB of emptied spans for its whole run. */
#define CHUNK_RETAIN_MIN ((size_t)1 << 20)
#define CHUNK_DECAY_NS 1000000000ull      /* 1 s unused: give it back */
#define CHUNK_DECAY_SCAN_NS 100000000ull  /* look at most every 100 ms */

/* Where a span's memory came from; chunk_free needs it back.  An
 * adopted span was a big block's own mapping (chunk_adopt_mapping). */
enum chunk_source {
    CHUNK_FROM_BREAK = 1,
    CHUNK_FROM_MMAP = 2,
    CHUNK_FROM_ADOPTED = 3,
};

/*
 * A CHUNK_SIZE-aligned span of size bytes (a multiple of CHUNK_SIZE),
 * possibly holding old data; NULL when the system is out of memory.
 * *source says where it came from.
 */
void *chunk_alloc(size_t size, enum chunk_source *source);
/* The same, with nothing past the first keep bytes (rounded up to a
 * page) resident: a reused span's tail is decommitted.  For users that
 * touch a span gradually. */
void *chunk_alloc_untouched(size_t size, size_t keep,
                            enum chunk_source *source);
void chunk_free(void *span, size_t size, enum chunk_source source);
/*
 * Takes in a mapping of size bytes (CHUNK_SIZE-aligned, whole chunks)
 * that was never a span, as a freed mmap'd span: huge.c hands over a
 * freed block's mapping once the threshold has risen past its size.
 */
void chunk_adopt_mapping(void *mapping, size_t size);

/*
 * A fresh CHUNK_SIZE-aligned mapping of size bytes (whole chunks) into
 * which the resident pages of retained mapped spans have been moved, for
 * huge.c's next big block; NULL when they hold too little to be worth
 * it.  *dirty: it holds old data.
 */
void *chunk_take_gathered(size_t size, bool *dirty);

/* Releases spans that have aged, if a scan is due (cheap otherwise). */
void chunk_decay_tick(void);
/* Sets the least number of released bytes kept for reuse. */
void chunk_set_retain_limit(size_t bytes);
/* huge.c reports the bytes of big blocks mapped on their own that are
 * in use; with the spans out they are the memory in use, whose recent
 * peak bounds how much released memory is kept (chunk.c, retain_limit). */
void chunk_note_mapped_in_use(size_t bytes);
/* Returns every retained span to the kernel (malloc_trim). */
size_t chunk_release_retained(void);
/* Bytes in released spans not yet given back. */
size_t chunk_retained_bytes(void);

void chunk_fork_prepare(void);
void chunk_fork_parent(void);
void chunk_fork_child(void);

#endif
