/*
 * lifecycle.c - when recording starts and stops.
 *
 * Starts at the program's first malloc-family call, or in a constructor
 * if none came before: reads MALLARD_TRACE, MALLARD_FOLLOW_EXEC and
 * MALLARD_TRACE_GEN, opens the trace, hooks fork and fatal signals.  A
 * preloaded library is initialised after every library the program
 * links, so other libraries' constructors (C++ static initialisers)
 * allocate before our constructor runs: starting at the first call
 * records them too.  Calls made before the C library has set up the
 * environment (the dynamic loader's own) are forwarded unrecorded.
 * Stops in a destructor (normal exit), in _exit/_Exit (which skip the
 * destructors; fork children often leave that way) or a fatal-signal
 * handler.
 * The environment is edited in place, never through setenv (which would
 * allocate): the exec generation counter is a fixed-width digit string,
 * and without follow-exec our entry in LD_PRELOAD is blanked out so an
 * exec'd program runs unrecorded.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "session.h"

#define RECORD_LIB_NAME "libmallard-record.so"
#define DEFAULT_TRACE_FMT "mallard-%ld.trace"

extern char **environ;

/* Signals whose default action ends the process without exit handlers. */
static const int fatal_signals[] = {
    SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTERM, SIGINT, SIGHUP,
    SIGQUIT,
};

/* Blanks every LD_PRELOAD entry naming this library. */
static void strip_preload(void)
{
    for (char **env = environ; env && *env; env++) {
        if (strncmp(*env, "LD_PRELOAD=", 11) != 0)
            continue;
        char *entry = *env + 11;
        while (*entry) {
            size_t len = strcspn(entry, ": ");
            char *hit = strstr(entry, RECORD_LIB_NAME);
            if (hit && hit < entry + len)
                memset(entry, ' ', len);
            entry += len;
            entry += *entry != '\0';
        }
    }
}

/* Reads our generation from MALLARD_TRACE_GEN and leaves n + 1 there. */
static uint64_t take_generation(void)
{
    char *digits = getenv("MALLARD_TRACE_GEN");
    uint64_t gen = 0;
    if (!digits)
        return 0;
    size_t n = strspn(digits, "0123456789");
    for (size_t i = 0; i < n; i++)
        gen = gen * 10 + (uint64_t)(digits[i] - '0');
    for (size_t i = n; i-- > 0;) {       /* in-place increment */
        if (digits[i] != '9') {
            digits[i]++;
            break;
        }
        digits[i] = '0';
    }
    return gen;
}

/* 0, or -1 if the path does not fit in PATH_MAX. */
static int choose_paths(void)
{
    char cwd[PATH_MAX], name[PATH_MAX];
    const char *env = getenv("MALLARD_TRACE");
    int n;
    if (!env || !*env) {
        snprintf(name, sizeof(name), DEFAULT_TRACE_FMT, (long)getpid());
        env = name;
    }
    if (env[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        n = snprintf(session.base, sizeof(session.base), "%s", env);
    else
        n = snprintf(session.base, sizeof(session.base), "%s/%s", cwd, env);
    if (n < 0 || (size_t)n >= sizeof(session.base))
        return -1;
    if (session.generation == 0) {
        n = snprintf(session.path, sizeof(session.path), "%s",
                     session.base);
        return n < 0 || (size_t)n >= sizeof(session.path) ? -1 : 0;
    }
    return session_exec_path(session.path, sizeof(session.path),
                             (uint64_t)getpid(), session.generation,
                             program_invocation_name);
}

static void on_fatal_signal(int sig)
{
    int saved = errno;
    session_close(TRACE_END_TRUNCATED, 1);
    errno = saved;
    raise(sig);   /* SA_RESETHAND restored the default: die as before */
}

/* Only where the program left the default: we never displace its own
 * handler or an inherited SIG_IGN. */
static void hook_signals(void)
{
    struct sigaction ours, old;
    memset(&ours, 0, sizeof(ours));
    ours.sa_handler = on_fatal_signal;
    ours.sa_flags = SA_RESETHAND;
    sigemptyset(&ours.sa_mask);
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(int); i++)
        if (sigaction(fatal_signals[i], NULL, &old) == 0 &&
            !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL)
            sigaction(fatal_signals[i], &ours, NULL);
}

static void fork_prepare(void)
{
    record_threads_lock();
}

static void fork_parent(void)
{
    record_threads_unlock();
}

/* The child names its trace in the parent's (the inherited descriptor
 * appends atomically), then records into "<parent trace>.<pid>". */
static void fork_child(void)
{
    int was_active = atomic_exchange(&record_active, 0);
    record_threads_after_fork();
    if (!was_active || session.fd < 0)
        return;
    char parent_path[PATH_MAX];
    memcpy(parent_path, session.path, sizeof(parent_path));
    int n = snprintf(session.path, sizeof(session.path), "%s.%ld",
                     parent_path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(session.path))
        return;                       /* too long: the child goes unrecorded */
    session_name_child((uint64_t)getpid(), session.path);
    close(session.fd);
    if (session_open((uint64_t)getppid()) == 0)
        atomic_store(&record_active, 1);
}

/* Set by the first start, lazy or from the constructor: one try only. */
static atomic_int start_tried;

static void record_start(void)
{
    if (atomic_exchange(&start_tried, 1))
        return;
    session.fd = -1;
    if (record_resolve() < 0 || record_threads_init() != 0)
        return;
    trace_crc32c(0, "", 0);             /* build the table now */
    const char *follow = getenv("MALLARD_FOLLOW_EXEC");
    session.follow_exec = follow && strcmp(follow, "1") == 0;
    if (session.follow_exec)
        session.generation = take_generation();
    else
        strip_preload();
    if (choose_paths() < 0) {
        static const char msg[] = "mallard-record: trace path too long; "
                                  "recording off, the program continues\n";
        (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
        return;
    }
    if (session_open(0) < 0)
        return;
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    hook_signals();
    atomic_store(&record_active, 1);
}

__attribute__((constructor(101))) static void record_start_at_load(void)
{
    record_start();
}

int record_start_lazily(void)
{
    if (environ == NULL || atomic_load(&start_tried))
        return atomic_load(&record_active);
    record_start();
    return atomic_load(&record_active);
}

__attribute__((destructor)) static void record_stop(void)
{
    session_close(0, 0);
}

typedef void (*exit_fn)(int);

__attribute__((visibility("default"), noreturn)) void _exit(int status)
{
    session_close(0, 0);
    exit_fn real = (exit_fn)dlsym(RTLD_NEXT, "_exit");
    real(status);
    __builtin_unreachable();
}

__attribute__((visibility("default"), noreturn)) void _Exit(int status)
{
    _exit(status);
}
