/*
 * chunkmap.h - from any address to the span that owns it.
 *
 * All memory the allocator hands out lies in spans: runs of chunks of
 * CHUNK_SIZE bytes, aligned to CHUNK_SIZE, each opening with a header
 * whose first member is a struct span_header.  The map records, for
 * every chunk of a span in use, the span's header.  free() asks the map
 * first: NULL means the pointer was never ours (an invalid free).
 *
 * The map is a two-level radix table over 48-bit addresses: 2^14 roots
 * of 2^16 entries each, each entry a chunk.  Leaves are mapped on first
 * use and never freed (512 KiB of address space per 16 GiB covered).
 * Entries are atomics: a span published by one thread is looked up by
 * others without a lock.
 *
 * Span headers are CHUNK_SIZE-aligned, so an entry's low bits are free
 * to carry a tag: a pool's size class plus one.  free() reads the class
 * and, from per-class tables, the pool's geometry from the entry alone,
 * without loading the pool's header (in a program with a big heap that
 * header is often cold: half of free()'s time went to it in larson).
 */
#ifndef MALLARD_CHUNKMAP_H
#define MALLARD_CHUNKMAP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNK_SHIFT 18
#define CHUNK_SIZE ((size_t)1 << CHUNK_SHIFT) /* 256 KiB: one pool */

/* What a span is used for; the first byte of every span header. */
enum span_kind {
    SPAN_POOL = 1,  /* fixed-size blocks of one size class */
    SPAN_ARENA = 2, /* best-fit blocks of varying size */
    SPAN_HUGE = 3,  /* one block with its own mmap */
};

struct span_header {
    uint8_t kind; /* enum span_kind */
};

#define CHUNKMAP_ADDRESS_BITS 48
#define CHUNKMAP_LEAF_BITS 16
#define CHUNKMAP_ROOT_BITS \
    (CHUNKMAP_ADDRESS_BITS - CHUNK_SHIFT - CHUNKMAP_LEAF_BITS)

#define CHUNKMAP_TAG_MASK ((uintptr_t)CHUNK_SIZE - 1)

typedef _Atomic uintptr_t chunkmap_entry;
extern _Atomic(chunkmap_entry *) chunkmap_root[1u << CHUNKMAP_ROOT_BITS];

/* The entry for address: its span's header with the tag in the low
 * bits, or 0 when it is not ours. */
static inline uintptr_t chunkmap_entry_of(const void *address)
{
    uintptr_t chunk = (uintptr_t)address >> CHUNK_SHIFT;
    if (chunk >> (CHUNKMAP_ROOT_BITS + CHUNKMAP_LEAF_BITS))
        return 0;
    chunkmap_entry *leaf = atomic_load_explicit(
        &chunkmap_root[chunk >> CHUNKMAP_LEAF_BITS], memory_order_acquire);
    if (leaf == NULL)
        return 0;
    return atomic_load_explicit(
        &leaf[chunk & ((1u << CHUNKMAP_LEAF_BITS) - 1)],
        memory_order_acquire);
}

static inline struct span_header *chunkmap_span(uintptr_t entry)
{
    return (struct span_header *)(entry & ~CHUNKMAP_TAG_MASK);
}

/* The span holding address, or NULL when it is not ours. */
static inline struct span_header *chunkmap_lookup(const void *address)
{
    return chunkmap_span(chunkmap_entry_of(address));
}

/*
 * Points every chunk of [span, span + size) at header (NULL to forget
 * the span), tagged with tag (below CHUNK_SIZE; 0 for none).  Returns
 * -1 if a leaf could not be mapped.
 */
int chunkmap_set_tagged(void *span, size_t size,
                        struct span_header *header, unsigned tag);

static inline int chunkmap_set(void *span, size_t size,
                               struct span_header *header)
{
    return chunkmap_set_tagged(span, size, header, 0);
}

#endif
