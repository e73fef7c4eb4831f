/*
 * chunkmap.c - filling the address-to-span map (lookups are inline in
 * chunkmap.h).  Leaves are created under a small lock so two threads
 * never map the same leaf twice; entries are stored with release order
 * so a reader that finds a header also sees it initialised.
 */
#include "chunkmap.h"

#include "lock.h"
#include "os.h"

_Atomic(chunkmap_entry *) chunkmap_root[1u << CHUNKMAP_ROOT_BITS];

static struct lock leaf_lock = LOCK_INIT;

#define LEAF_BYTES (sizeof(chunkmap_entry) << CHUNKMAP_LEAF_BITS)

static chunkmap_entry *leaf_for(uintptr_t chunk)
{
    _Atomic(chunkmap_entry *) *root =
        &chunkmap_root[chunk >> CHUNKMAP_LEAF_BITS];
    chunkmap_entry *leaf = atomic_load_explicit(root, memory_order_acquire);
    if (leaf != NULL)
        return leaf;
    lock_acquire(&leaf_lock);
    leaf = atomic_load_explicit(root, memory_order_acquire);
    if (leaf == NULL) {
        leaf = os_map(LEAF_BYTES);
        if (leaf != NULL)
            atomic_store_explicit(root, leaf, memory_order_release);
    }
    lock_release(&leaf_lock);
    return leaf;
}

int chunkmap_set_tagged(void *span, size_t size,
                        struct span_header *header, unsigned tag)
{
    uintptr_t entry = header == NULL ? 0 : (uintptr_t)header | tag;
    uintptr_t first = (uintptr_t)span >> CHUNK_SHIFT;
    uintptr_t last = ((uintptr_t)span + size - 1) >> CHUNK_SHIFT;
    for (uintptr_t chunk = first; chunk <= last; chunk++) {
        chunkmap_entry *leaf = leaf_for(chunk);
        if (leaf == NULL)
            return -1;
        atomic_store_explicit(
            &leaf[chunk & ((1u << CHUNKMAP_LEAF_BITS) - 1)], entry,
            memory_order_release);
    }
    return 0;
}
