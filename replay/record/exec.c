/*
 * exec.c - the exec family, wrapped so that a trace survives an exec.
 *
 * exec replaces the process without running exit handlers, so the
 * buffers are flushed and an END chunk (flag "exec") written first.
 * With follow-exec the trace names the next image's trace in a CHILD
 * chunk (same pid; session_exec_path gives the name); the new image's
 * recorder opens it.  If exec fails,
 * recording resumes; a later END supersedes the first.  The l-variants
 * call execve/execvpe inside glibc without passing through the PLT, so
 * they are rebuilt here on top of the v-variants.  posix_spawn's
 * children are named after the spawn (below).  Not covered: fexecve
 * (no program name to give the trace).
 */
#include <dlfcn.h>
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "session.h"

#define EXEC_EXPORT __attribute__((visibility("default")))
/* execl's argument lists are short in practice; beyond this, E2BIG. */
#define EXEC_MAX_ARGS 4096

typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);

static int exec_begin(char *const argv[])
{
    int was_active = atomic_load(&record_active);
    if (!was_active || !session_owned_here())
        return 0;
    char next[PATH_MAX];
    if (session.follow_exec &&
        session_exec_path(next, sizeof(next), (uint64_t)getpid(),
                          session.generation + 1,
                          argv ? argv[0] : NULL) == 0)
        session_name_child((uint64_t)getpid(), next);
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
    int was = exec_begin(argv);
    return exec_end(was, real(path, argv, envp));
}

EXEC_EXPORT int execvpe(const char *file, char *const argv[],
                        char *const envp[])
{
    execvpe_fn real = (execvpe_fn)dlsym(RTLD_NEXT, "execvpe");
    int was = exec_begin(argv);
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

/*
 * posix_spawn execs inside glibc, past the wrappers above, and the
 * child, still preloaded, records itself under the name
 * session_exec_path gives it: its pid, the generation it finds in the
 * environment it was given, its argv[0].  The parent names that trace
 * here, once the pid is known, so that it is finalised and listed with
 * the others.
 */
typedef int (*spawn_fn)(pid_t *, const char *,
                        const posix_spawn_file_actions_t *,
                        const posix_spawnattr_t *, char *const[],
                        char *const[]);

static uint64_t spawn_generation(char *const envp[])
{
    static const char key[] = "MALLARD_TRACE_GEN=";
    uint64_t gen = 0;
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], key, sizeof(key) - 1) == 0)
            for (const char *d = envp[i] + sizeof(key) - 1;
                 *d >= '0' && *d <= '9'; d++)
                gen = gen * 10 + (uint64_t)(*d - '0');
    return gen;
}

static void spawn_name_child(int rc, const pid_t *pid, char *const argv[],
                             char *const envp[])
{
    char path[PATH_MAX];
    if (rc != 0 || pid == NULL || !session.follow_exec ||
        !atomic_load(&record_active) || !session_owned_here())
        return;
    if (session_exec_path(path, sizeof(path), (uint64_t)*pid,
                          spawn_generation(envp),
                          argv ? argv[0] : NULL) == 0)
        session_name_child((uint64_t)*pid, path);
}

/* The C library's spawn called name (posix_spawn or posix_spawnp),
 * then the child named. */
static int spawn_then_name(const char *name, pid_t *pid,
                           const char *target,
                           const posix_spawn_file_actions_t *actions,
                           const posix_spawnattr_t *attr,
                           char *const argv[], char *const envp[])
{
    spawn_fn real = (spawn_fn)dlsym(RTLD_NEXT, name);
    int rc = real(pid, target, actions, attr, argv, envp);
    spawn_name_child(rc, pid, argv, envp);
    return rc;
}

EXEC_EXPORT int posix_spawn(pid_t *pid, const char *path,
                            const posix_spawn_file_actions_t *actions,
                            const posix_spawnattr_t *attr,
                            char *const argv[], char *const envp[])
{
    return spawn_then_name("posix_spawn", pid, path, actions, attr, argv,
                           envp);
}

EXEC_EXPORT int posix_spawnp(pid_t *pid, const char *file,
                             const posix_spawn_file_actions_t *actions,
                             const posix_spawnattr_t *attr,
                             char *const argv[], char *const envp[])
{
    return spawn_then_name("posix_spawnp", pid, file, actions, attr, argv,
                           envp);
}
