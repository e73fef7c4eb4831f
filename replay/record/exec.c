/*
 * exec.c - the exec family, wrapped so that a trace survives an exec.
 *
 * exec replaces the process without running exit handlers, so the
 * buffers are flushed and an END chunk (flag "exec") written first.
 * With follow-exec the trace names the next image's trace in a CHILD
 * chunk (same pid); the new image's recorder opens it.  If exec fails,
 * recording resumes; a later END supersedes the first.  The l-variants
 * call execve/execvpe inside glibc without passing through the PLT, so
 * they are rebuilt here on top of the v-variants.  Not covered:
 * posix_spawn and fexecve (glibc execs inside them directly).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "record.h"
#include "session.h"

#define EXEC_EXPORT __attribute__((visibility("default")))
/* execl's argument lists are short in practice; beyond this, E2BIG. */
#define EXEC_MAX_ARGS 4096

typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);

static int exec_begin(void)
{
    int was_active = atomic_load(&record_active);
    if (!was_active || !session_owned_here())
        return 0;
    if (session.follow_exec) {
        char next[PATH_MAX];
        int n = snprintf(next, sizeof(next), "%s.exec%llu", session.base,
                         (unsigned long long)session.generation + 1);
        if (n > 0 && (size_t)n < sizeof(next))
            session_name_child((uint64_t)getpid(), next);
    }
    session_close(TRACE_END_EXEC, 0);
    return 1;
}

static int exec_end(int was_active, int rc)
{
    if (was_active)
        session_reopen_after_exec();
    return rc;
}

EXEC_EXPORT int execve(const char *path, char *const argv[],
                       char *const envp[])
{
    execvpe_fn real = (execvpe_fn)dlsym(RTLD_NEXT, "execve");
    int was = exec_begin();
    return exec_end(was, real(path, argv, envp));
}

EXEC_EXPORT int execvpe(const char *file, char *const argv[],
                        char *const envp[])
{
    execvpe_fn real = (execvpe_fn)dlsym(RTLD_NEXT, "execvpe");
    int was = exec_begin();
    return exec_end(was, real(file, argv, envp));
}

EXEC_EXPORT int execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

EXEC_EXPORT int execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

/* Gathers execl-style arguments (up to the NULL) into argv; -1 if too
 * many.  *envp receives the word after the NULL when want_env is set. */
static int exec_gather(const char *arg0, va_list ap, char **argv,
                       int want_env, char ***envp)
{
    int n = 0;
    argv[n++] = (char *)arg0;
    while (arg0 && (argv[n] = va_arg(ap, char *)) != NULL)
        if (++n >= EXEC_MAX_ARGS)
            return -1;
    argv[n] = NULL;
    if (want_env)
        *envp = va_arg(ap, char **);
    return 0;
}

/* Runs the v-variant once the list is gathered (E2BIG if it was not). */
static int exec_gathered(const char *target, int search, char **argv,
                         int gathered)
{
    if (gathered < 0) {
        errno = E2BIG;
        return -1;
    }
    return search ? execvp(target, argv) : execv(target, argv);
}

EXEC_EXPORT int execl(const char *path, const char *arg0, ...)
{
    char *argv[EXEC_MAX_ARGS + 1];
    va_list ap;
    va_start(ap, arg0);
    int rc = exec_gather(arg0, ap, argv, 0, NULL);
    va_end(ap);
    return exec_gathered(path, 0, argv, rc);
}

EXEC_EXPORT int execlp(const char *file, const char *arg0, ...)
{
    char *argv[EXEC_MAX_ARGS + 1];
    va_list ap;
    va_start(ap, arg0);
    int rc = exec_gather(arg0, ap, argv, 0, NULL);
    va_end(ap);
    return exec_gathered(file, 1, argv, rc);
}

EXEC_EXPORT int execle(const char *path, const char *arg0, ...)
{
    char *argv[EXEC_MAX_ARGS + 1];
    char **envp = NULL;
    va_list ap;
    va_start(ap, arg0);
    int rc = exec_gather(arg0, ap, argv, 1, &envp);
    va_end(ap);
    if (rc < 0) {
        errno = E2BIG;
        return -1;
    }
    return execve(path, argv, envp);
}
