/*
 * cmd_record.c - `mallard record [-o FILE] [--follow-exec] [--raw] --
 * PROG ARGS`.
 *
 * Runs PROG with libmallard-record.so first in LD_PRELOAD (anything the
 * user already preloads, e.g. another allocator, stays behind it and is
 * what gets recorded), waits, then finalises the trace: full validation
 * and compression.  --raw leaves the recorder's own file, which every
 * command reads as it is, for `mallard trace finalize` later (on
 * another machine, say): recording then costs the program's slowdown
 * alone.  The exit status is PROG's (128 + signal if killed), or 1 if
 * the trace could not be made.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#define RECORD_LIB_FILE "libmallard-record.so"
#define RECORD_DEFAULT_OUT "mallard.trace"
#define RECORD_EXIT_SIGNAL_BASE 128   /* shell convention for signals */
#define RECORD_EXEC_FAILED 127        /* shell convention: not found */

struct record_opts {
    const char *out;
    int follow_exec;
    int raw;                          /* keep the recorder's file */
    uint64_t unit;                    /* finalised time unit, ns */
    char **argv;                      /* the program and its arguments */
};

static void record_usage(FILE *f)
{
    fprintf(f, "usage: mallard record [-o FILE] [--follow-exec] [--raw] "
            "[--time-unit NS] -- PROGRAM [ARGS...]\n\n"
            "Runs PROGRAM with the recorder preloaded and writes its "
            "finalised trace\nto FILE (default %s); a forked child writes "
            "FILE.PID, named in FILE.\n--follow-exec also records programs"
            " it execs\n(FILE.PID.execN.PROGRAM, named in the exec'ing "
            "trace).\n--raw keeps the recorder's own, bigger file: every "
            "command reads it,\n`mallard trace "
            "finalize FILE` finalises it later.\n--time-unit keeps op "
            "times to NS nanoseconds (default %d).\nEnvironment: "
            "MALLARD_RECORD_LIB overrides the recorder library.\n",
            RECORD_DEFAULT_OUT, CLI_TIME_UNIT_NS);
}

static int record_parse(int argc, char **argv, struct record_opts *o)
{
    o->out = RECORD_DEFAULT_OUT;
    o->unit = CLI_TIME_UNIT_NS;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            record_usage(stdout);
            exit(0);
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            o->out = argv[++i];
        } else if (strcmp(argv[i], "--follow-exec") == 0) {
            o->follow_exec = 1;
        } else if (strcmp(argv[i], "--raw") == 0) {
            o->raw = 1;
        } else if (strcmp(argv[i], "--time-unit") == 0 && i + 1 < argc) {
            if (cli_parse_time_unit(argv[++i], &o->unit) < 0)
                return -1;
        } else if (strcmp(argv[i], "--") == 0 && i + 1 < argc) {
            o->argv = argv + i + 1;
            return 0;
        } else if (argv[i][0] != '-') {
            o->argv = argv + i;
            return 0;
        } else {
            break;
        }
    }
    record_usage(stderr);
    return -1;
}

/* The recorder beside this executable, unless MALLARD_RECORD_LIB. */
static int record_find_lib(char *lib, size_t cap)
{
    const char *env = getenv("MALLARD_RECORD_LIB");
    char exe[PATH_MAX];
    if (env && *env) {
        snprintf(lib, cap, "%s", env);
    } else {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n < 0)
            return -1;
        exe[n] = '\0';
        snprintf(lib, cap, "%s/%s", dirname(exe), RECORD_LIB_FILE);
    }
    if (access(lib, R_OK) != 0) {
        fprintf(stderr, "mallard record: cannot read recorder %s: %s\n",
                lib, strerror(errno));
        return -1;
    }
    return 0;
}

static int record_setenv(const struct record_opts *o, const char *lib,
                         const char *trace)
{
    const char *old = getenv("LD_PRELOAD");
    size_t len = strlen(lib) + (old ? strlen(old) + 1 : 0) + 1;
    char *preload = malloc(len);
    if (!preload)
        return -1;
    snprintf(preload, len, "%s%s%s", lib, old ? " " : "", old ? old : "");
    int rc = setenv("LD_PRELOAD", preload, 1) |
             setenv("MALLARD_TRACE", trace, 1);
    free(preload);
    if (o->follow_exec)
        rc |= setenv("MALLARD_FOLLOW_EXEC", "1", 1) |
              setenv("MALLARD_TRACE_GEN", "000000", 1);
    else
        rc |= unsetenv("MALLARD_FOLLOW_EXEC");
    return rc;
}

/* Runs the program; returns its wait status, or -1. */
static int record_run(char **argv)
{
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "mallard record: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "mallard record: cannot run %s: %s\n", argv[0],
                strerror(errno));
        _exit(RECORD_EXEC_FAILED);
    }
    /* ^C and ^\ are for the program; we stay to finish the trace. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

/* cli_trace_finalize of a trace in place, the events checked as they
 * are finalised, not in a pass of their own before (see
 * trace_raw_load_unchecked): the same file, or the same error.  -1 if
 * path could not be read, 1 if not written, else 0. */
static int record_finalize(const char *path, uint64_t unit,
                           struct cli_trace *ct)
{
    char err[CLI_ERR_MAX];
    memset(ct, 0, sizeof(*ct));
    ct->path = path;
    if (trace_raw_load_unchecked(path, &ct->raw, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    if (ct->raw.final) {             /* finalised already */
        cli_trace_free(ct);
        return cli_trace_finalize(path, path, unit, ct);
    }
    int rc = trace_finalize_write(path, &ct->raw, CLI_ZSTD_LEVEL, unit,
                                  &ct->trace, &ct->report, err,
                                  sizeof(err));
    cli_trace_warn(ct);
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    return rc < 0 ? 1 : 0;
}

/* Finalises a trace in place and, recursively, the traces it names. */
static int record_finish(const char *path, uint64_t unit)
{
    struct cli_trace ct;
    int written = record_finalize(path, unit, &ct);
    if (written < 0)
        return -1;
    int rc = written == 0 ? 0 : -1;
    uint64_t ops = 0;
    for (uint32_t i = 0; i < ct.trace.thread_count; i++)
        ops += ct.trace.threads[i].op_count;
    fprintf(stderr, "mallard record: %s: %llu ops on %u thread%s, peak "
            "%llu live bytes%s\n", path, (unsigned long long)ops,
            ct.trace.thread_count, ct.trace.thread_count == 1 ? "" : "s",
            (unsigned long long)ct.trace.peak_live_bytes,
            ct.trace.truncated ? ", truncated" : "");
    for (size_t i = 0; i < ct.raw.child_count; i++)
        if (access(ct.raw.children[i].path, F_OK) == 0)
            rc |= record_finish(ct.raw.children[i].path, unit);
    cli_trace_free(&ct);
    return rc;
}

/* The trace can be created where asked: checked before the program
 * runs, so a typo costs nothing (the recorder would only say so when
 * the program starts, and run it unrecorded).  Leaves no file. */
static int record_check_output(const char *trace)
{
    struct stat st;
    if (stat(trace, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "mallard record: -o %s: is a directory\n", trace);
        return -1;
    }
    int fd = open(trace, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "mallard record: -o %s: cannot create the trace: "
                "%s\n", trace, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(trace);                    /* never report a stale trace */
    return 0;
}

static int record_absolute(const char *path, char *out, size_t cap)
{
    char cwd[PATH_MAX];
    int n;
    if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        n = snprintf(out, cap, "%s", path);
    else
        n = snprintf(out, cap, "%s/%s", cwd, path);
    if (n >= 0 && (size_t)n < cap)
        return 0;
    fprintf(stderr, "mallard record: output path too long: %s\n", path);
    return -1;
}

int cmd_record(int argc, char **argv)
{
    struct record_opts o = { 0 };
    char lib[PATH_MAX], trace[PATH_MAX];
    if (record_parse(argc, argv, &o) < 0)
        return 2;
    if (record_find_lib(lib, sizeof(lib)) < 0)
        return 1;
    if (record_absolute(o.out, trace, sizeof(trace)) < 0)
        return 1;
    if (record_check_output(trace) < 0)
        return 1;
    if (record_setenv(&o, lib, trace) < 0)
        return 1;
    int status = record_run(o.argv);
    if (status < 0)
        return 1;
    if (access(trace, F_OK) != 0) {
        fprintf(stderr, "mallard record: no trace was written to %s\n",
                trace);
        return 1;
    }
    if (o.raw)
        fprintf(stderr, "mallard record: %s: the recorder's trace, not "
                "finalised (mallard trace finalize %s)\n", trace, trace);
    else if (record_finish(trace, o.unit) < 0)
        return 1;
    if (WIFSIGNALED(status))
        return RECORD_EXIT_SIGNAL_BASE + WTERMSIG(status);
    return WEXITSTATUS(status);
}
