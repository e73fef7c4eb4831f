/*
 * os.c - kernel memory calls (sbrk, mmap, munmap, mremap, madvise) and
 * the counters of what they moved.
 *
 * Invariant: every byte the allocator obtains or returns passes through
 * here, so the counters are complete.  The functions may be called with
 * any allocator lock held; they never allocate.
 */
#include "os.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static _Atomic uint64_t counter_sbrk;
static _Atomic uint64_t counter_mmap;
static _Atomic uint64_t counter_returned;

static void count(_Atomic uint64_t *counter, size_t bytes)
{
    atomic_fetch_add_explicit(counter, bytes, memory_order_relaxed);
}

void *os_map(size_t size)
{
    void *addr = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (addr == MAP_FAILED)
        return NULL;
    count(&counter_mmap, size);
    return addr;
}

/*
 * The kernel has no aligned mmap.  First a plain mapping: the kernel
 * places mappings top down, so when sizes are multiples of align (as
 * the callers keep them) the new one usually ends where an aligned one
 * starts and is aligned itself: one system call.  Otherwise over-map by
 * align and trim both ends; the slack costs address space, not memory.
 */
void *os_map_aligned(size_t size, size_t align)
{
    char *plain = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (plain != MAP_FAILED && ((uintptr_t)plain & (align - 1)) == 0) {
        count(&counter_mmap, size);
        return plain;
    }
    if (plain != MAP_FAILED)
        munmap(plain, size);
    size_t padded = size + align - OS_PAGE_SIZE;
    if (padded < size)
        return NULL;
    char *raw = mmap(NULL, padded, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    size_t front = start - (uintptr_t)raw;
    size_t back = padded - front - size;
    if (front)
        munmap(raw, front);
    if (back)
        munmap((char *)start + size, back);
    count(&counter_mmap, size);
    return (void *)start;
}

/*
 * free() leaves errno as it found it (POSIX.1-2024), so the calls that
 * give memory back save and restore it.  munmap can fail at the
 * kernel's limit on mappings when the range splits a mapping; the pages
 * then still go back (madvise), only the address range stays reserved.
 */
void os_unmap(void *addr, size_t size)
{
    int saved = errno;
    if (munmap(addr, size) != 0)
        madvise(addr, size, MADV_DONTNEED);
    count(&counter_returned, size);
    errno = saved;
}

void os_decommit(void *addr, size_t size)
{
    int saved = errno;
    if (madvise(addr, size, MADV_DONTNEED) == 0)
        count(&counter_returned, size);
    errno = saved;
}

int os_grow_in_place(void *addr, size_t old_size, size_t new_size)
{
    int saved = errno;
    void *moved = mremap(addr, old_size, new_size, 0);
    if (moved == MAP_FAILED) {
        errno = saved;  /* the callers have another way */
        return -1;
    }
    count(&counter_mmap, new_size - old_size);
    return 0;
}

int os_move_mapping(void *addr, size_t old_size, void *dest,
                    size_t new_size)
{
    int saved = errno;
    void *moved = mremap(addr, old_size, new_size,
                         MREMAP_MAYMOVE | MREMAP_FIXED, dest);
    if (moved == MAP_FAILED) {
        errno = saved;  /* the callers have another way */
        return -1;
    }
    /* dest was counted when mapped; the old range is gone now. */
    count(&counter_returned, old_size);
    return 0;
}

void *os_break_current(void)
{
    return sbrk(0);
}

void *os_break_grow(size_t size)
{
    if (size > (size_t)INTPTR_MAX)
        return NULL;
    void *old = sbrk((intptr_t)size);
    if (old == (void *)-1)
        return NULL;
    count(&counter_sbrk, size);
    return old;
}

int os_break_shrink(void *expected_end, size_t size)
{
    int saved = errno;
    int result = -1;
    if (sbrk(0) == expected_end && sbrk(-(intptr_t)size) != (void *)-1) {
        count(&counter_returned, size);
        result = 0;
    }
    errno = saved;
    return result;
}

void os_read_counters(struct os_counters *out)
{
    out->sbrk_bytes = atomic_load_explicit(&counter_sbrk,
                                           memory_order_relaxed);
    out->mmap_bytes = atomic_load_explicit(&counter_mmap,
                                           memory_order_relaxed);
    out->returned_bytes = atomic_load_explicit(&counter_returned,
                                               memory_order_relaxed);
}

uint64_t os_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

void os_write_stderr(const char *text)
{
    os_write_fd(STDERR_FILENO, text);
}

void os_write_fd(int fd, const char *text)
{
    size_t left = strlen(text);
    while (left > 0) {
        ssize_t wrote = write(fd, text, left);
        if (wrote <= 0)
            return;
        text += wrote;
        left -= (size_t)wrote;
    }
}

_Noreturn void os_fatal_pointer(const char *what, const void *ptr)
{
    static const char digits[] = "0123456789abcdef";
    char hex[2 + 16 + 2];
    uintptr_t value = (uintptr_t)ptr;
    int at = (int)sizeof(hex) - 1;
    hex[at--] = '\0';
    hex[at--] = '\n';
    do {
        hex[at--] = digits[value & 15];
        value >>= 4;
    } while (value != 0);
    hex[at--] = 'x';
    hex[at] = '0';
    os_write_stderr("mallard: ");
    os_write_stderr(what);
    os_write_stderr(": ");
    os_write_stderr(hex + at);
    abort();
}
