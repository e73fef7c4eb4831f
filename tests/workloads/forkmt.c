/*
 * forkmt.c - fork from a process whose other threads are allocating.
 *
 * Busy threads malloc, fill, check and free without pause while the main
 * thread forks again and again.  Each child mallocs and checks blocks of
 * several sizes, starts a thread that does the same (the child's
 * allocator must work for threads too), frees all and exits 0.  A child
 * that finds the allocator's locks held by a thread that did not survive
 * the fork would hang; CHILD_ALARM_S turns that hang into a SIGALRM death
 * that the parent reports.  The parent checks every child's exit status.
 */
#include "wl_opts.h"
#include "wl_pattern.h"
#include "wl_proc.h"

#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A child that has not finished after this long is taken as deadlocked. */
#define CHILD_ALARM_S 10
/* Blocks a child allocates (sizes min..max) before checking them. */
#define CHILD_BLOCKS 64
/* Blocks each busy parent thread keeps in flight. */
#define BUSY_LIVE 64
/* Exit status a child uses to report a failed check. */
#define CHILD_FAILED 1

static const char usage[] =
    "usage: forkmt [options]\n"
    "Threads allocate while the main thread forks; children allocate.\n"
    "  --threads N      busy allocating threads (default 2)\n"
    "  --iterations N   forks (default 50)\n"
    "  --min-size B     smallest block (default 16)\n"
    "  --max-size B     largest block (default 64K)\n";

static const struct wl_opts *opts;
static atomic_int stop_busy;

/* Allocate, check and free CHILD_BLOCKS blocks as thread `who`. */
static void churn_once(unsigned who, uint64_t *rng)
{
    unsigned char *blocks[CHILD_BLOCKS];
    size_t sizes[CHILD_BLOCKS];
    for (int i = 0; i < CHILD_BLOCKS; i++) {
        sizes[i] = wl_rand_size(rng, (size_t)opts->min_size,
                                (size_t)opts->max_size);
        blocks[i] = wl_malloc(sizes[i]);
        wl_fill(blocks[i], sizes[i], wl_seed(who, (uint64_t)i));
    }
    for (int i = 0; i < CHILD_BLOCKS; i++) {
        wl_expect_intact(wl_check(blocks[i], sizes[i],
                                  wl_seed(who, (uint64_t)i)),
                         blocks[i], sizes[i], "child block");
        free(blocks[i]);
    }
}

static void *child_thread(void *p)
{
    uint64_t rng = (uint64_t)(uintptr_t)p;
    churn_once(1, &rng);
    return NULL;
}

static void child_main(long fork_number)
{
    alarm(CHILD_ALARM_S);
    uint64_t rng = (uint64_t)fork_number;
    churn_once(0, &rng);
    pthread_t t;
    if (pthread_create(&t, NULL, child_thread, (void *)(uintptr_t)rng))
        wl_fail("child %ld cannot start a thread", fork_number);
    pthread_join(t, NULL);
    _exit(0);
}

static void *busy_main(void *p)
{
    unsigned id = (unsigned)(uintptr_t)p;
    uint64_t rng = id, made = 0;
    unsigned char *live[BUSY_LIVE] = { 0 };
    size_t sizes[BUSY_LIVE] = { 0 };
    uint64_t seeds[BUSY_LIVE] = { 0 };
    while (!atomic_load(&stop_busy)) {
        int k = (int)(wl_rand(&rng) % BUSY_LIVE);
        if (live[k]) {
            wl_expect_intact(wl_check(live[k], sizes[k], seeds[k]),
                             live[k], sizes[k], "busy block");
            free(live[k]);
        }
        sizes[k] = wl_rand_size(&rng, (size_t)opts->min_size,
                                (size_t)opts->max_size);
        seeds[k] = wl_seed(id, made++);
        live[k] = wl_malloc(sizes[k]);
        wl_fill(live[k], sizes[k], seeds[k]);
    }
    for (int k = 0; k < BUSY_LIVE; k++)
        free(live[k]);
    return NULL;
}

static void fork_and_check(long n)
{
    pid_t pid = fork();
    if (pid < 0)
        wl_fail("fork %ld: %s", n, strerror(errno));
    if (pid == 0)
        child_main(n);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        wl_fail("waitpid for child %ld: %s", n, strerror(errno));
    if (WIFSIGNALED(status))
        wl_fail("child %ld killed by signal %d (%s)%s", n,
                WTERMSIG(status), strsignal(WTERMSIG(status)),
                WTERMSIG(status) == SIGALRM ? ": deadlocked after fork?"
                                            : "");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        wl_fail("child %ld exited with status %d", n, WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
    struct wl_opts o = { .threads = 2, .iterations = 50,
                         .min_size = 16, .max_size = 64L << 10 };
    wl_set_name(argv[0]);
    wl_opts_parse(&o, argc, argv, WL_OPT_THREADS | WL_OPT_ITERATIONS |
                  WL_OPT_MIN_SIZE | WL_OPT_MAX_SIZE, usage);
    opts = &o;
    pthread_t *t = wl_malloc(sizeof *t * (size_t)o.threads);
    double start = wl_now();
    for (long i = 0; i < o.threads; i++)
        if (pthread_create(&t[i], NULL, busy_main,
                           (void *)(uintptr_t)(i + 2)) != 0)
            wl_fail("cannot start busy thread %ld", i);
    for (long n = 0; n < o.iterations; n++)
        fork_and_check(n);
    atomic_store(&stop_busy, 1);
    for (long i = 0; i < o.threads; i++)
        pthread_join(t[i], NULL);
    printf("forkmt: ok: %ld children exited 0 while %ld threads "
           "allocated, %.3f s\n", o.iterations, o.threads,
           wl_now() - start);
    free(t);
    return 0;
}
