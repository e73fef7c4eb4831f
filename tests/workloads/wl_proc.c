/*
 * wl_proc.c - RSS, clock and failure reporting for the workloads.
 *
 * VmRSS comes from /proc/self/status (not getrusage, whose ru_maxrss is a
 * peak and cannot show memory being given back).  Failure exits with
 * status 1 through _exit(), not abort(), so the tests can tell a failed
 * check (1) from an allocator crash (a signal).
 */
#include "wl_proc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Longest /proc/self/status line we need to read whole. */
#define STATUS_LINE_MAX 256

static const char *program_name = "workload";

void wl_set_name(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    program_name = slash ? slash + 1 : argv0;
}

/* A VmRSS-style field of /proc/self/status, in KiB; -1 if unreadable. */
static long status_kib(const char *field)
{
    FILE *status = fopen("/proc/self/status", "r");
    if (!status)
        return -1;
    char line[STATUS_LINE_MAX];
    size_t field_len = strlen(field);
    long kib = -1;
    while (fgets(line, sizeof line, status))
        if (strncmp(line, field, field_len) == 0 && line[field_len] == ':') {
            kib = strtol(line + field_len + 1, NULL, 10);
            break;
        }
    fclose(status);
    return kib;
}

long wl_rss_kib(void)
{
    return status_kib("VmRSS");
}

long wl_hwm_kib(void)
{
    return status_kib("VmHWM");
}

double wl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void wl_fail(const char *fmt, ...)
{
    va_list args;
    fprintf(stderr, "%s: FAIL: ", program_name);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    fflush(NULL);
    _exit(1);  /* not exit(): other threads may still be running */
}

void *wl_malloc(size_t size)
{
    void *block = malloc(size);
    if (!block)
        wl_fail("malloc(%zu) returned NULL", size);
    return block;
}

void wl_expect_intact(size_t bad_offset, const void *block, size_t size,
                      const char *what)
{
    if (bad_offset != SIZE_MAX)
        wl_fail("%s %p (%zu bytes) corrupted at offset %zu", what, block,
                size, bad_offset);
}
