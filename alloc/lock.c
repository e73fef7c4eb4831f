/*
 * lock.c - the slow half of the heap lock: spin briefly, then sleep on a
 * futex.  Critical sections in the allocator are short (a few list
 * operations), so a short spin usually wins over a sleep; the spin bound
 * keeps a preempted holder from burning the other core for long.
 */
#include "lock.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Tries before sleeping: a few hundred ns, about one critical section. */
#define LOCK_SPIN_TRIES 100

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Leaves errno alone: a free() that waited for a lock must not change
 * it (EAGAIN when the lock changed before the sleep). */
static void futex_call(struct lock *lock, int op, int value)
{
    int saved = errno;
    syscall(SYS_futex, &lock->state, op | FUTEX_PRIVATE_FLAG, value,
            NULL, NULL, 0);
    errno = saved;
}

void lock_wait_slow(struct lock *lock)
{
    for (int i = 0; i < LOCK_SPIN_TRIES; i++) {
        int expected = 0;
        if (atomic_load_explicit(&lock->state, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak_explicit(&lock->state, &expected,
                1, memory_order_acquire, memory_order_relaxed))
            return;
        cpu_relax();
    }
    /* Mark "held, sleepers possible" and sleep until we get it free. */
    while (atomic_exchange_explicit(&lock->state, 2,
                                    memory_order_acquire) != 0)
        futex_call(lock, FUTEX_WAIT, 2);
}

void lock_wake_one(struct lock *lock)
{
    futex_call(lock, FUTEX_WAKE, 1);
}
