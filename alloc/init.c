/*
 * init.c - the allocator's one-time setup, inside the process's first
 * allocation: settings, the double-free key, the class geometry, the
 * heaps, the thread-exit hook, and the fork handlers that keep every
 * allocator lock consistent across fork().
 */
#include "alloc.h"

#include "chunk.h"
#include "config.h"
#include "heap.h"
#include "heapcheck.h"
#include "huge.h"
#include "lock.h"

#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/single_threaded.h>

_Atomic int alloc_ready;
static struct lock init_lock = LOCK_INIT;

/*
 * Fork: hold every allocator lock across fork() so the child never
 * inherits a lock taken by a thread that does not exist there.
 *
 * A process with one thread takes none, as glibc does: no other thread
 * can hold a lock, and the only holder can be this thread itself, in a
 * malloc that a signal interrupted to call fork() from its handler
 * (async-signal-safe).  Waiting for that lock would never end; not
 * taking it leaves parent and child each returning into the interrupted
 * malloc, which finishes and unlocks as if nothing had happened.
 * fork_locked says what prepare did, for the two handlers after.
 */
static bool fork_locked;

/*
 * glibc's stdio list lock, taken before ours: glibc's fork takes it
 * after running the prepare handlers, and stdio takes it before a
 * FILE's lock, under which getline and friends call malloc.  Holding
 * the heap locks while fork waits for the list lock would close a
 * circle (fork: heap -> list; fflush(NULL): list -> FILE; getline:
 * FILE -> heap).  Taking the list lock first keeps glibc's own order.
 * It is recursive, so glibc's fork takes it again; glibc releases its
 * hold in the parent before our parent handler runs and resets the lock
 * in the child.  Weak: a C library without them skips this.
 */
extern void _IO_list_lock(void) __attribute__((weak));
extern void _IO_list_unlock(void) __attribute__((weak));

static void fork_prepare(void)
{
    fork_locked = !__libc_single_threaded;
    if (!fork_locked)
        return;
    if (_IO_list_lock && _IO_list_unlock)
        _IO_list_lock();
    if (config.check)
        heapcheck_fork_prepare();
    heap_fork_prepare();
    chunk_fork_prepare();
    huge_fork_prepare();
}

static void fork_parent(void)
{
    if (!fork_locked)
        return;
    huge_fork_parent();
    chunk_fork_parent();
    heap_fork_parent();
    if (config.check)
        heapcheck_fork_parent();
    if (_IO_list_lock && _IO_list_unlock)
        _IO_list_unlock();
}

static void fork_child(void)
{
    if (!fork_locked)
        return;
    huge_fork_child();
    chunk_fork_child();
    heap_fork_child();
    if (config.check)
        heapcheck_fork_child();
}

/* A per-process secret for the thread cache's double-free mark. */
static uint64_t random_key(void)
{
    const void *random_bytes = (const void *)getauxval(AT_RANDOM);
    uint64_t key = 0;
    if (random_bytes != NULL)   /* 16 bytes, not necessarily aligned */
        memcpy(&key, (const char *)random_bytes + 8, sizeof(key));
    return key ^ (uint64_t)(uintptr_t)&init_lock ^ 0x6d616c6c617264ull;
}

/* Nothing here may allocate: we are inside the process's first malloc. */
bool alloc_init_slow(void)
{
    lock_acquire(&init_lock);
    bool ready = atomic_load_explicit(&alloc_ready, memory_order_relaxed);
    if (!ready) {
        config_read();
        if (config.print_stats)
            stats_keep_stderr();
        tcache_key = random_key();
        pool_init_geometry();
        ready = heap_init_all() && tcache_init_global() &&
                pthread_atfork(fork_prepare, fork_parent, fork_child) == 0;
        if (config.mmap_threshold_fixed)
            huge_fix_threshold(config.mmap_threshold);
        atomic_store_explicit(&alloc_ready, ready, memory_order_release);
    }
    lock_release(&init_lock);
    return ready;
}
