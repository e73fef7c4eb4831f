/*
 * os.h - the only door from the allocator to the kernel's memory calls.
 *
 * Nothing else in alloc/ calls sbrk, mmap, munmap, mremap or madvise.
 * Keeping them here lets us count every byte obtained and returned (the
 * figures behind mallard_stats()) and keeps error handling in one place:
 * every function reports failure as NULL or -1 and never sets up state.
 */
#ifndef MALLARD_OS_H
#define MALLARD_OS_H

#include <stddef.h>
#include <stdint.h>

#define OS_PAGE_SIZE ((size_t)4096) /* x86_64 and arm64 base page */

/* Fresh zeroed pages, page aligned; NULL when the kernel refuses. */
void *os_map(size_t size);
/* Like os_map, aligned to align (a power of two >= OS_PAGE_SIZE). */
void *os_map_aligned(size_t size, size_t align);
void os_unmap(void *addr, size_t size);
/* Gives the pages back but keeps the range mapped; they read as zero. */
void os_decommit(void *addr, size_t size);
/*
 * Grows a mapping where it lies (new_size > old_size); returns 0 on
 * success, -1 when the neighbouring range is taken.
 */
int os_grow_in_place(void *addr, size_t old_size, size_t new_size);
/* Moves a mapping's pages onto dest (already mapped, new_size bytes). */
int os_move_mapping(void *addr, size_t old_size, void *dest,
                    size_t new_size);

/* The current program break. */
void *os_break_current(void);
/* Extends the break by size; returns the old break or NULL. */
void *os_break_grow(size_t size);
/* Lowers the break by size when it still ends at expected_end. */
int os_break_shrink(void *expected_end, size_t size);

/* Byte counters for mallard_stats(). */
struct os_counters {
    uint64_t sbrk_bytes;     /* program break growth, ever */
    uint64_t mmap_bytes;     /* mmap'd, ever */
    uint64_t returned_bytes; /* unmapped, trimmed or decommitted, ever */
};
void os_read_counters(struct os_counters *out);

/* A coarse monotonic clock in ns (vDSO, no system call): for ages of
 * retained memory, where milliseconds are plenty. */
uint64_t os_now_ns(void);

/* Writes a message to stderr without touching malloc. */
void os_write_stderr(const char *text);
/* The same to any descriptor (failures ignored). */
void os_write_fd(int fd, const char *text);
/* Writes "mallard: WHAT PTR" to stderr and aborts, as glibc does. */
_Noreturn void os_fatal_pointer(const char *what, const void *ptr);

#endif
