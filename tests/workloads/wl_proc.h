/*
 * wl_proc.h - what the workloads ask of the process: memory use, clock,
 * failing loudly, and allocating or giving up.
 *
 * Owns: reading VmRSS, the monotonic clock, and the one way a workload
 * reports a failed check (message on stderr, exit status 1).  Invariant:
 * a workload exits 0 only when every check passed; wl_fail never returns.
 */
#ifndef WL_PROC_H
#define WL_PROC_H

#include <stddef.h>

/* Resident set size of this process in KiB (VmRSS), or -1 if unknown. */
long wl_rss_kib(void);
/* Peak resident set (VmHWM) in KiB, or -1 if unreadable. */
long wl_hwm_kib(void);

/* Seconds on the monotonic clock. */
double wl_now(void);

/* Print "PROG: FAIL: message" to stderr and exit 1, from any thread. */
void wl_fail(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

/* Set the program name wl_fail prints (call first thing in main). */
void wl_set_name(const char *argv0);

/* malloc that fails the run, naming the size, when it returns NULL. */
void *wl_malloc(size_t size);

/* Fail the run if a block's pattern check (wl_check) found a bad byte. */
void wl_expect_intact(size_t bad_offset, const void *block, size_t size,
                      const char *what);

#endif
