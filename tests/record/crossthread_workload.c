/*
 * crossthread_workload.c - the program the recorder tests record.
 *
 * Usage: crossthread_workload THREADS ROUNDS
 *            [crash|fork|exec|exec-child|solo-first|waves|vfork]
 * Worker threads call every function of the malloc API, and pass blocks
 * through a mutex-protected mailbox so that most are freed (or
 * realloc'd, or queried) on a thread other than the one that allocated
 * them.  The optional mode adds a fork (the child allocates too), an
 * exec of this program, or a crash (SIGSEGV) at the end; solo-first
 * makes the main thread churn blocks alone before the workers start;
 * waves does that WAVES times, so the main thread is alone again after
 * each set of workers exits (and frees the blocks they left); vfork
 * starts children as Python's subprocess does (vfork, then exec or
 * _exit in the child, on the parent's memory), then runs workers again.
 * It prints
 * "ok" on success, so a test can tell the program ran correctly.
 */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAILBOX_SLOTS 64      /* blocks in flight between threads */
#define ALIGNMENT 64          /* for the memalign family */

static void *mailbox[MAILBOX_SLOTS];
static pthread_mutex_t mailbox_lock = PTHREAD_MUTEX_INITIALIZER;
static int rounds;

/* Swaps a block into the mailbox and returns whatever was there. */
static void *mailbox_swap(unsigned index, void *block)
{
    pthread_mutex_lock(&mailbox_lock);
    void *old = mailbox[index % MAILBOX_SLOTS];
    mailbox[index % MAILBOX_SLOTS] = block;
    pthread_mutex_unlock(&mailbox_lock);
    return old;
}

/* Every API call once; volatile stores keep the compiler from
 * removing malloc/free pairs it could otherwise prove unused. */
static void every_call(unsigned i)
{
    void *volatile p = malloc(16 + i % 200);
    void *volatile q = calloc(1 + i % 4, 24);
    q = realloc(q, 100 + i % 300);
    q = reallocarray(q, 2, 64);
    void *a = NULL;
    if (posix_memalign(&a, ALIGNMENT, 96) != 0)
        abort();
    void *volatile b = aligned_alloc(ALIGNMENT, 128);
    void *volatile c = memalign(ALIGNMENT, 48);
    void *volatile d = valloc(32);
    void *volatile e = pvalloc(10);
    if (malloc_usable_size(p) < 16)
        abort();
    free(p);
    free(q);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    free(NULL);
}

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < rounds; i++) {
        unsigned index = id * 7 + (unsigned)i;
        if (i % 16 == 0)
            every_call((unsigned)i);
        void *mine = malloc(8 + (index % 500));
        memset(mine, 1, 8);
        void *theirs = mailbox_swap(index, mine);
        if (i % 3 == 0 && theirs)
            theirs = realloc(theirs, 700);   /* realloc another's block */
        if (theirs)
            malloc_usable_size(theirs);
        free(theirs);
    }
    return NULL;
}

static void run_threads(int threads)
{
    pthread_t tids[threads];
    for (int t = 0; t < threads; t++)
        if (pthread_create(&tids[t], NULL, worker, (void *)(uintptr_t)t))
            abort();
    for (int t = 0; t < threads; t++)
        pthread_join(tids[t], NULL);
    for (int i = 0; i < MAILBOX_SLOTS; i++)
        free(mailbox_swap((unsigned)i, NULL));
}

/* The main thread alone first (the recorder stamps a lone thread without
 * fences): it frees blocks whose addresses the workers then get, and
 * leaves blocks in the mailbox that the workers free. */
static void solo_prelude(void)
{
    for (int i = 0; i < rounds; i++)
        free(malloc(16 + (unsigned)i % 300));
    for (unsigned i = 0; i < MAILBOX_SLOTS; i++)
        mailbox[i] = malloc(8 + i);
}

#define WAVES 6

static void run_waves(int threads)
{
    for (int w = 0; w < WAVES; w++) {
        solo_prelude();
        run_threads(threads);
    }
}

/* One child that execs /bin/true and one that _exits, each from vfork;
 * then more threads, whose events must still reach the trace. */
static int vfork_child(const char *exec_path)
{
    pid_t pid = vfork();
    if (pid == 0) {
        if (exec_path)
            execl(exec_path, exec_path, (char *)0);
        _exit(0);
    }
    int status;
    return pid > 0 && waitpid(pid, &status, 0) == pid &&
           WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static int run_vfork_children(void)
{
    if (vfork_child("/bin/true") != 0 || vfork_child(NULL) != 0)
        return 1;
    run_threads(2);
    return 0;
}

extern char **environ;

/* Two forked children exec this program at the same time, and a third
 * is started with posix_spawn: three exec'd traces, one per pid. */
static int run_exec_children(char *self)
{
    char *child_argv[] = { self, "2", "50", "exec-child", NULL };
    pid_t pids[3];
    fflush(stdout);
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            execv("/proc/self/exe", child_argv);
            _exit(1);
        }
    }
    if (posix_spawn(&pids[2], "/proc/self/exe", NULL, NULL, child_argv,
                    environ) != 0)
        return 1;
    int failed = 0;
    for (int i = 0; i < 3; i++) {
        int status;
        waitpid(pids[i], &status, 0);
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    return failed;
}

static int run_mode(const char *mode, char *self)
{
    if (strcmp(mode, "crash") == 0) {
        fflush(stdout);
        raise(SIGSEGV);
    } else if (strcmp(mode, "fork") == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            run_threads(2);
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
    } else if (strcmp(mode, "vfork") == 0) {
        return run_vfork_children();
    } else if (strcmp(mode, "exec-children") == 0) {
        return run_exec_children(self);
    } else if (strcmp(mode, "exec") == 0) {
        fflush(stdout);
        /* execl: the recorder must rebuild it on its execv wrapper */
        execl("/proc/self/exe", self, "2", "50", "exec-child", (char *)0);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s THREADS ROUNDS "
                "[crash|fork|exec|exec-children|solo-first|waves|vfork]\n",
                argv[0]);
        return 2;
    }
    int threads = atoi(argv[1]);
    rounds = atoi(argv[2]);
    if (argc > 3 && strcmp(argv[3], "waves") == 0)
        run_waves(threads);
    else if (argc > 3 && strcmp(argv[3], "solo-first") == 0)
        solo_prelude();
    run_threads(threads);
    printf("ok\n");
    if (argc > 3 && run_mode(argv[3], argv[0]) != 0)
        return 1;
    return 0;
}
