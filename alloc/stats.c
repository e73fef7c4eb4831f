/*
 * stats.c - mallard_stats(): gathering the figures from the heaps (under
 * each heap's lock, so each heap's figures are consistent), the OS layer
 * and the huge-block counters; and printing them, at exit when
 * MALLARD_STATS=1.  Printing formats numbers by hand: stdio may call
 * malloc, and this runs inside the allocator's own process teardown.
 */
#include "mallard.h"

#include "alloc.h"
#include "chunk.h"
#include "config.h"
#include "export.h"
#include "heap.h"
#include "huge.h"
#include "lock.h"

#include <fcntl.h>
#include <unistd.h>

/* Takes the lock directly, not by heap_lock(), so that reading the
 * counters does not count as an acquisition. */
static void read_heap(unsigned index, struct mallard_heap_stats *out)
{
    struct heap *heap = &heap_table[index];
    lock_acquire(&heap->lock);
    out->lock_acquisitions = heap->lock_acquisitions;
    out->lock_contended = heap->lock_contended;
    out->pool_bytes_out = heap->pool_bytes_out;
    out->arena_bytes_in_use = heap->arena.bytes_in_use;
    out->pool_bytes_held = heap->pool_bytes_held;
    out->pool_bytes_carved = heap->pool_bytes_carved;
    out->arena_bytes_held = heap->arena.bytes_held;
    out->pool_bytes_decommitted = heap->pool_bytes_decommitted;
    lock_release(&heap->lock);
}

EXPORT int mallard_stats(struct mallard_stats *out)
{
    *out = (struct mallard_stats){0};
    if (!alloc_ensure_init())
        return -1;
    for (unsigned i = 0; i < heap_count; i++) {
        struct mallard_heap_stats heap;
        read_heap(i, &heap);
        out->lock_acquisitions += heap.lock_acquisitions;
        out->lock_contended += heap.lock_contended;
        out->bytes_in_use += heap.pool_bytes_out + heap.arena_bytes_in_use;
    }
    struct os_counters os;
    os_read_counters(&os);
    out->bytes_in_mapped = huge_bytes_in_use();
    out->bytes_in_use += out->bytes_in_mapped;
    out->bytes_from_sbrk = os.sbrk_bytes;
    out->bytes_from_mmap = os.mmap_bytes;
    out->bytes_returned = os.returned_bytes;
    out->bytes_retained = chunk_retained_bytes() + huge_cached_bytes();
    out->mmap_threshold = huge_threshold();
    out->heap_count = heap_count;
    return 0;
}

EXPORT size_t mallard_heap_stats(struct mallard_heap_stats *out,
                                 size_t max)
{
    if (!alloc_ensure_init())
        return 0;
    for (size_t i = 0; i < max && i < heap_count; i++)
        read_heap((unsigned)i, &out[i]);
    return heap_count;
}

/*
 * Where printing goes: stderr, except at exit, where a copy of stderr
 * taken at start-up serves (stats_keep_stderr): programs such as ls
 * close their standard streams in an atexit handler, before the figures
 * are printed.
 */
static int print_fd = STDERR_FILENO;
static int kept_stderr = -1;

static void print_text(const char *text)
{
    os_write_fd(print_fd, text);
}

void stats_keep_stderr(void)
{
    /* Far above the descriptors a program counts on; close-on-exec so
     * that exec'd programs do not inherit it. */
    kept_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 100);
}

static void print_number(uint64_t value)
{
    char digits[24];
    int at = (int)sizeof(digits) - 1;
    digits[at] = '\0';
    do {
        digits[--at] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    print_text(digits + at);
}

/* Writes " name value" (a field of a heap's line). */
static void print_field(const char *name, uint64_t value)
{
    print_text(" ");
    print_text(name);
    print_text(" ");
    print_number(value);
}

/* Writes "  name value\n". */
static void print_line(const char *name, uint64_t value)
{
    print_text(" ");
    print_field(name, value);
    print_text("\n");
}

static void print_heap(unsigned index)
{
    struct mallard_heap_stats heap;
    read_heap(index, &heap);
    print_text("  heap ");
    print_number(index);
    print_text(":");
    print_field("lock_acquisitions", heap.lock_acquisitions);
    print_field("lock_contended", heap.lock_contended);
    print_field("pool_bytes_held", heap.pool_bytes_held);
    print_field("pool_bytes_carved", heap.pool_bytes_carved);
    print_field("arena_bytes_held", heap.arena_bytes_held);
    print_field("pool_bytes_decommitted", heap.pool_bytes_decommitted);
    print_text("\n");
}

EXPORT void mallard_print_stats(void)
{
    struct mallard_stats stats;
    if (mallard_stats(&stats) != 0)
        return;
    print_text("mallard stats:\n");
    print_line("bytes_in_use", stats.bytes_in_use);
    print_line("bytes_in_mapped", stats.bytes_in_mapped);
    print_line("bytes_from_sbrk", stats.bytes_from_sbrk);
    print_line("bytes_from_mmap", stats.bytes_from_mmap);
    print_line("bytes_returned", stats.bytes_returned);
    print_line("bytes_retained", stats.bytes_retained);
    print_line("mmap_threshold", stats.mmap_threshold);
    print_line("heap_count", stats.heap_count);
    print_line("lock_acquisitions", stats.lock_acquisitions);
    print_line("lock_contended", stats.lock_contended);
    for (unsigned i = 0; i < heap_count; i++)
        print_heap(i);
}

__attribute__((destructor)) static void print_at_exit(void)
{
    if (!config.print_stats)
        return;
    if (kept_stderr >= 0)
        print_fd = kept_stderr;
    mallard_print_stats();
    print_fd = STDERR_FILENO;
}
