/*
 * lock.h - the per-heap lock: a futex mutex that counts its contention.
 *
 * Why not pthread_mutex: the allocator must work from the very first
 * malloc of a preloaded process, and mallard_stats() reports how often a
 * heap's lock was found taken, which a pthread mutex does not tell.
 * States: 0 free, 1 held, 2 held with possible sleepers (so release
 * knows whether a futex wake is needed).
 */
#ifndef MALLARD_LOCK_H
#define MALLARD_LOCK_H

#include <stdatomic.h>
#include <stdbool.h>

struct lock {
    _Atomic int state;
};

#define LOCK_INIT { 0 }

void lock_wait_slow(struct lock *lock);
void lock_wake_one(struct lock *lock);

/* Takes the lock; returns true when it had to wait (contended). */
static inline bool lock_acquire(struct lock *lock)
{
    int expected = 0;
    if (atomic_compare_exchange_strong_explicit(&lock->state, &expected, 1,
            memory_order_acquire, memory_order_relaxed))
        return false;
    lock_wait_slow(lock);
    return true;
}

/* Takes the lock only if it is free at once; true when taken. */
static inline bool lock_try(struct lock *lock)
{
    int expected = 0;
    return atomic_load_explicit(&lock->state, memory_order_relaxed) == 0 &&
           atomic_compare_exchange_strong_explicit(&lock->state, &expected,
               1, memory_order_acquire, memory_order_relaxed);
}

static inline void lock_release(struct lock *lock)
{
    if (atomic_exchange_explicit(&lock->state, 0,
                                 memory_order_release) == 2)
        lock_wake_one(lock);
}

/* Only for the child after fork, where no other thread exists. */
static inline void lock_reset(struct lock *lock)
{
    atomic_store_explicit(&lock->state, 0, memory_order_relaxed);
}

#endif
