/*
 * cpu.h - which CPU this thread runs on, and how many CPUs there are.
 *
 * The per-CPU heaps (heap.c) need the current CPU on every trip to a
 * heap.  glibc >= 2.35 registers rseq for every thread, and the kernel
 * keeps rseq's cpu_id current, so reading it is one load from the thread
 * pointer, far cheaper than the sched_getcpu() call it replaces.  The
 * value can be stale by the time the heap lock is taken (the thread may
 * migrate): that costs locality, never correctness, since each heap has
 * its own lock.
 */
#ifndef MALLARD_CPU_H
#define MALLARD_CPU_H

#include <sched.h>
#include <stdint.h>

#ifdef MALLARD_HAVE_RSEQ
#include <sys/rseq.h>
#endif

/* Configured CPUs, as get_nprocs_conf() counts them; never 0. */
unsigned cpu_count_configured(void);

static inline void *cpu_thread_pointer(void)
{
#if defined(__x86_64__)
    void *pointer;
    __asm__("mov %%fs:0, %0" : "=r"(pointer));
    return pointer;
#else
    return __builtin_thread_pointer();
#endif
}

/* The CPU this thread is on now (may be stale immediately). */
static inline unsigned cpu_current(void)
{
#ifdef MALLARD_HAVE_RSEQ
    if (__rseq_size != 0) {
        const volatile struct rseq *area = (const volatile struct rseq *)
            ((char *)cpu_thread_pointer() + __rseq_offset);
        int32_t cpu = (int32_t)area->cpu_id;
        if (cpu >= 0)
            return (unsigned)cpu;
    }
#endif
    int cpu = sched_getcpu();
    return cpu < 0 ? 0 : (unsigned)cpu;
}

#endif
