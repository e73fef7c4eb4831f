/*
 * forkstdio.c - fork while other threads hold stdio locks and allocate.
 *
 * stdio takes its list lock before a FILE's lock (fflush(NULL)), and
 * getline calls malloc and realloc holding a FILE's lock; glibc's fork
 * takes the list lock after running the pthread_atfork prepare
 * handlers.  An allocator whose prepare handler takes its own locks
 * then waits, inside fork, for the list lock held by a thread that
 * waits for a FILE lock held by a thread that waits for the allocator:
 * a deadlock.  Here READERS threads read a file's one long line with
 * getline (a fresh buffer each time, grown by realloc past the thread
 * cache's sizes, so under a heap lock), one flushes every stream, and
 * FORKERS threads fork over and over; each child exits at once.  A fork
 * that does not return within STUCK_S seconds is taken as a deadlock:
 * SIGALRM ends the program with a failure.
 */
#include "wl_opts.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STUCK_S 10      /* no fork takes a second; ten is a hang */
#define LINE_BYTES 50000  /* getline's buffer grows to an arena block */
#define READERS 4
#define FORKERS 2

static const char usage[] =
    "usage: forkstdio [options]\n"
    "Forks while threads hold stdio locks and allocate.\n"
    "  --seconds S      how long to run (default 2)\n";

static atomic_int stop;
static char path[] = "/tmp/forkstdio-XXXXXX";

static void make_file(void)
{
    int fd = mkstemp(path);
    FILE *file = fd < 0 ? NULL : fdopen(fd, "w");
    if (file == NULL) {
        perror("forkstdio: mkstemp");
        exit(1);
    }
    for (int j = 0; j < LINE_BYTES; j++)
        fputc('x', file);
    fputc('\n', file);
    fclose(file);
}

static void *read_line(void *unused)
{
    (void)unused;
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        perror("forkstdio: fopen");
        exit(1);
    }
    while (!atomic_load(&stop)) {
        rewind(file);
        char *line = NULL;
        size_t size = 0;
        if (getline(&line, &size, file) < 0) {
            perror("forkstdio: getline");
            exit(1);
        }
        free(line);
    }
    fclose(file);
    return NULL;
}

static void *flush_all(void *unused)
{
    (void)unused;
    while (!atomic_load(&stop))
        fflush(NULL);
    return NULL;
}

static void on_stuck(int sig)
{
    (void)sig;
    static const char text[] = "forkstdio: a fork hung (deadlock)\n";
    write(2, text, sizeof(text) - 1);
    _exit(1);
}

static void *fork_until_stopped(void *unused)
{
    (void)unused;
    while (!atomic_load(&stop)) {
        alarm(STUCK_S);
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0 || waitpid(pid, NULL, 0) != pid) {
            perror("forkstdio: fork");
            exit(1);
        }
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct wl_opts opts = { .seconds = 2 };
    wl_opts_parse(&opts, argc, argv, WL_OPT_SECONDS, usage);
    signal(SIGALRM, on_stuck);
    make_file();
    pthread_t readers[READERS], forkers[FORKERS], flusher;
    for (int i = 0; i < READERS; i++)
        pthread_create(&readers[i], NULL, read_line, NULL);
    pthread_create(&flusher, NULL, flush_all, NULL);
    for (int i = 0; i < FORKERS; i++)
        pthread_create(&forkers[i], NULL, fork_until_stopped, NULL);
    for (double end = now_s() + opts.seconds; now_s() < end;)
        usleep(10000);
    atomic_store(&stop, 1);
    for (int i = 0; i < FORKERS; i++)
        pthread_join(forkers[i], NULL);
    alarm(0);
    for (int i = 0; i < READERS; i++)
        pthread_join(readers[i], NULL);
    pthread_join(flusher, NULL);
    unlink(path);
    printf("forkstdio: no fork hung in %.1f s\n", opts.seconds);
    return 0;
}
