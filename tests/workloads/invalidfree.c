/*
 * invalidfree.c - an invalid free must stop the program, loudly.
 *
 * For each case a child process frees a pointer it must not: the same
 * block twice ("double"), a pointer 8 bytes into a block ("interior"),
 * or the address of a static array that malloc never returned ("wild").
 * The parent captures the child's stderr and expects the child to die
 * by SIGABRT; with --expect-address, also that the message names the
 * bad pointer (its hex digits), which is what libmallard promises and
 * what makes such a crash debuggable.  A child that survives the free
 * exits with CHILD_SURVIVED, and that is a failure: memory corruption
 * that goes unnoticed.
 */
#include "wl_opts.h"
#include "wl_proc.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exit status of a child whose invalid free returned normally. */
#define CHILD_SURVIVED 3
/* Most of a child's stderr kept for the report. */
#define MESSAGE_MAX 4096
#define BLOCK_SIZE 64
#define INTERIOR_OFFSET 8

static const char usage[] =
    "usage: invalidfree [options]\n"
    "A child frees an invalid pointer; it must die by SIGABRT.\n"
    "  --case C          double, interior, wild or all (default all)\n"
    "  --expect-address  stderr must name the pointer\n";

static const char *const case_names[] = { "double", "interior", "wild" };
#define N_CASES (sizeof case_names / sizeof case_names[0])

/* Never returned by malloc; aligned as a malloc block would be. */
static _Alignas(16) unsigned char not_from_malloc[BLOCK_SIZE];

/* The pointer case `c` frees; the block is made before the fork. */
static void *bad_pointer(size_t c, unsigned char *block)
{
    switch (c) {
    case 0: return block;
    case 1: return block + INTERIOR_OFFSET;
    default: return not_from_malloc;
    }
}

static void child_main(size_t c, unsigned char *block, int err_fd)
{
    struct rlimit no_core = { 0, 0 };
    setrlimit(RLIMIT_CORE, &no_core);  /* an expected crash, no core */
    setenv("LIBC_FATAL_STDERR_", "1", 1);  /* glibc: stderr, not tty */
    dup2(err_fd, STDERR_FILENO);
    void (*volatile do_free)(void *) = free;
    if (c == 0)
        do_free(block);
    do_free(bad_pointer(c, block));
    _exit(CHILD_SURVIVED);
}

/* Does `message` contain the hex digits of `p` (any case, any prefix)? */
static int names_pointer(const char *message, const void *p)
{
    char hex[2 * sizeof(uintptr_t) + 1];
    snprintf(hex, sizeof hex, "%jx", (uintmax_t)(uintptr_t)p);
    return strcasestr(message, hex) != NULL;
}

static void report(const char *name, const void *bad, int status,
                   const char *message, int expect_address)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SURVIVED)
        wl_fail("%s free of %p went unnoticed (child survived)", name, bad);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
        wl_fail("%s free of %p: child ended with status %#x, not SIGABRT;"
                " stderr: %s", name, bad, (unsigned)status, message);
    if (expect_address && !names_pointer(message, bad))
        wl_fail("%s free of %p: SIGABRT, but stderr does not name the "
                "pointer: %s", name, bad, message);
    printf("invalidfree: %s free of %p: SIGABRT: %s", name, bad,
           message[0] ? message : "(no message)\n");
}

/* Read fd to EOF; keep the first cap - 1 bytes as a C string. */
static void read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    char sink[MESSAGE_MAX];
    ssize_t got;
    for (;;) {
        char *to = len < cap - 1 ? buf + len : sink;
        size_t room = len < cap - 1 ? cap - 1 - len : sizeof sink;
        got = read(fd, to, room);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (to != sink)
            len += (size_t)got;
    }
    buf[len] = '\0';
}

/* Run case `c` in a child; fail unless it dies as it must. */
static void run_case(size_t c, int expect_address)
{
    unsigned char *block = wl_malloc(BLOCK_SIZE);
    memset(block, 0, BLOCK_SIZE);
    void *bad = bad_pointer(c, block);
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        wl_fail("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        wl_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        close(pipe_fds[0]);
        child_main(c, block, pipe_fds[1]);
    }
    close(pipe_fds[1]);
    char message[MESSAGE_MAX];
    read_all(pipe_fds[0], message, sizeof message);
    close(pipe_fds[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        wl_fail("waitpid: %s", strerror(errno));
    report(case_names[c], bad, status, message, expect_address);
    free(block);
}

int main(int argc, char **argv)
{
    struct wl_opts o = { .kase = "all" };
    wl_set_name(argv[0]);
    wl_opts_parse(&o, argc, argv, WL_OPT_CASE | WL_OPT_EXPECT_ADDRESS,
                  usage);
    int ran = 0;
    for (size_t c = 0; c < N_CASES; c++)
        if (!strcmp(o.kase, "all") || !strcmp(o.kase, case_names[c])) {
            run_case(c, o.expect_address);
            ran++;
        }
    if (!ran)
        wl_fail("unknown --case %s (double, interior, wild or all)",
                o.kase);
    printf("invalidfree: ok: %d case(s) aborted as expected\n", ran);
    return 0;
}
