/*
 * check.h - the unit tests' assertion: CHECK(cond) reports the failing
 * line (CHECK_MSG adds what was found) and counts it, so one run shows
 * every failure; CHECK_DONE() ends main with the count as the exit
 * status (meson's test protocol).
 */
#ifndef MALLARD_TEST_CHECK_H
#define MALLARD_TEST_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int check_failures;

#define CHECK(cond) do { \
    if (!(cond)) { \
        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                #cond); \
        check_failures++; \
    } \
} while (0)

/* CHECK with a printf-style account of what was found instead. */
#define CHECK_MSG(cond, ...) do { \
    if (!(cond)) { \
        fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, \
                #cond); \
        fprintf(stderr, __VA_ARGS__); \
        fputc('\n', stderr); \
        check_failures++; \
    } \
} while (0)

#define CHECK_DONE() do { \
    if (check_failures) \
        fprintf(stderr, "%d check(s) failed\n", check_failures); \
    return check_failures ? 1 : 0; \
} while (0)

/* Monotonic time in ns, for tests that time themselves (below). */
static inline uint64_t check_now_ns(void)
{
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    return (uint64_t)at.tv_sec * 1000000000u + (uint64_t)at.tv_nsec;
}

/*
 * For checks that depend on the allocator's timing (spans given back
 * after an idle time): attempt, an expression, returns false when a
 * loaded machine stretched it past what it relies on, which proves
 * nothing; up to three attempts, and a failure if none proved anything.
 */
#define CHECK_IN_TIME(attempt) do { \
    bool proved_ = false; \
    for (int try_ = 0; try_ < 3 && !proved_; try_++) \
        proved_ = (attempt); \
    CHECK(proved_); \
} while (0)

/*
 * Runs fn in a child process with stderr captured; returns the child's
 * wait status and copies up to len-1 bytes of its stderr into text.
 */
static inline int run_in_child(void (*fn)(void *), void *arg, char *text,
                               size_t len)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn(arg);
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < len && (n = read(fds[0], text + got,
                                      len - 1 - got)) > 0)
        got += (size_t)n;
    text[got] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

#endif
