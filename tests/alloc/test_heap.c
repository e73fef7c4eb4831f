/*
 * test_heap.c - the per-CPU heaps (heap.c): one per configured CPU, and
 * a thread takes the lock of the heap of the CPU it runs on.  Each
 * check pins the thread to one CPU, then allocates and frees blocks too
 * big for the thread cache (so every call takes a heap lock) and reads
 * which heap's lock count moved.  Another heap's lock may move once or
 * twice, no more: a heap with no free block that fits adopts the region
 * holding one from another heap (heap.c), after which the churn stays
 * in the adopting heap.
 */
#include "check.h"
#include "mallard.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/sysinfo.h>

#define MAX_HEAPS 1024
#define ROUNDS 200
/* Over the cached classes (64 KiB) and under the mmap threshold: a
 * heap lock at every malloc and every free. */
#define UNCACHED_BYTES (80 << 10)
/* Acquisitions of another heap's lock a check allows: adopting a region
 * tries each other heap's lock once, and the churn adopts at most once
 * (its block then always finds room in the adopted region). */
#define ADOPT_ACQUISITIONS 2

static struct mallard_heap_stats before[MAX_HEAPS], after[MAX_HEAPS];

static size_t read_heaps(struct mallard_heap_stats *out)
{
    return mallard_heap_stats(out, MAX_HEAPS);
}

static int pin_to(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof(one), &one);
}

static void churn(void)
{
    for (int i = 0; i < ROUNDS; i++) {
        char *block = mallard_malloc(UNCACHED_BYTES);
        block[0] = 1;
        mallard_free(block);
    }
}

/* On CPU cpu, heap cpu's lock moves (by a malloc and a free a round),
 * the other heaps' hardly (the test is the only thread). */
static void check_heap_of_cpu(int cpu)
{
    if (pin_to(cpu) != 0)
        return;     /* not in our affinity mask (a container): skip */
    size_t heaps = read_heaps(before);
    churn();
    CHECK(read_heaps(after) == heaps);
    for (size_t h = 0; h < heaps && h < MAX_HEAPS; h++) {
        uint64_t moved = after[h].lock_acquisitions -
                         before[h].lock_acquisitions;
        if (h == (size_t)cpu)
            CHECK(moved >= 2 * ROUNDS);
        else
            CHECK_MSG(moved <= ADOPT_ACQUISITIONS,
                      "heap %zu moved %llu on CPU %d", h,
                      (unsigned long long)moved, cpu);
    }
}

static void *pinned_thread(void *arg)
{
    check_heap_of_cpu((int)(intptr_t)arg);
    return NULL;
}

int main(void)
{
    mallard_free(mallard_malloc(1));    /* initialise */
    struct mallard_stats stats;
    mallard_stats(&stats);
    CHECK(stats.heap_count == (uint32_t)get_nprocs_conf());
    CHECK(read_heaps(before) == stats.heap_count);
    int cpus = get_nprocs_conf() < MAX_HEAPS ? get_nprocs_conf() : MAX_HEAPS;
    for (int cpu = 0; cpu < cpus; cpu++)
        check_heap_of_cpu(cpu);
    /* A new thread follows its CPU too, from its first call. */
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, pinned_thread,
                         (void *)(intptr_t)(cpus - 1)) == 0);
    pthread_join(thread, NULL);
    CHECK_DONE();
}
