/*
 * forksignal.c - fork from a signal handler that interrupted malloc.
 *
 * fork() is async-signal-safe, so a handler may call it at any moment,
 * also while the thread it interrupted is inside malloc or free holding
 * an allocator lock.  An allocator whose fork handlers wait for every
 * lock then waits for itself forever.  One thread mallocs and frees in
 * a loop (sizes from every layer: thread cache, arena, mapped) while an
 * interval timer sends it SIGALRM; the handler forks, the child exits at
 * once (a handler may not call malloc: it may have interrupted one), the
 * parent reaps it and goes on allocating, which also checks that the
 * fork left the parent's allocator working.  A hang is caught by the
 * test's timeout.
 */
#include "wl_opts.h"
#include "wl_pattern.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Blocks kept in flight by the allocating loop. */
#define LIVE_BLOCKS 64
/* Timer period: often enough to land inside malloc thousands of times. */
#define TIMER_PERIOD_US 200

static const char usage[] =
    "usage: forksignal [options]\n"
    "Forks from a SIGALRM handler while the main thread allocates.\n"
    "  --seconds S      how long to run (default 1)\n"
    "  --max-size B     largest block (default 256K)\n";

static volatile sig_atomic_t forks, failed_children;

static void on_alarm(int sig)
{
    (void)sig;
    int saved = errno;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid > 0) {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed_children++;
        forks++;
    }
    errno = saved;
}

static void start_timer(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_alarm;
    action.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &action, NULL);
    struct itimerval every = {{0, TIMER_PERIOD_US}, {0, TIMER_PERIOD_US}};
    setitimer(ITIMER_REAL, &every, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct wl_opts opts = { .seconds = 1, .max_size = 256 << 10,
                            .seed = 1 };
    wl_opts_parse(&opts, argc, argv, WL_OPT_SECONDS | WL_OPT_MAX_SIZE,
                  usage);
    void *blocks[LIVE_BLOCKS] = { 0 };
    uint64_t rng = opts.seed;
    start_timer();
    double end = now_s() + opts.seconds;
    while (now_s() < end) {
        for (int i = 0; i < 1000; i++) {
            unsigned slot = (unsigned)(wl_rand(&rng) % LIVE_BLOCKS);
            free(blocks[slot]);
            size_t size = 1 + wl_rand(&rng) % (uint64_t)opts.max_size;
            blocks[slot] = malloc(size);
            if (blocks[slot] == NULL) {
                fprintf(stderr, "forksignal: malloc(%zu) failed\n", size);
                return 1;
            }
            memset(blocks[slot], 1, size < 64 ? size : 64);
        }
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    for (int i = 0; i < LIVE_BLOCKS; i++)
        free(blocks[i]);
    printf("forksignal: %d forks from the handler, %d children failed\n",
           (int)forks, (int)failed_children);
    return failed_children == 0 && forks > 0 ? 0 : 1;
}
