/*
 * session.h - state of the recording session, shared by session.c (the
 * trace file), lifecycle.c (start, exit, fork, signals) and exec.c.
 */
#ifndef MALLARD_RECORD_SESSION_H
#define MALLARD_RECORD_SESSION_H

#include <limits.h>
#include <stdint.h>

/* Payload bound of END and CHILD chunks written from the stack. */
#define SESSION_SMALL_MAX (PATH_MAX + 4 * TRACE_VARINT_MAX)

struct session_state {
    int fd;                     /* the trace, O_APPEND; -1 if none */
    char path[PATH_MAX];        /* absolute path of this process's trace */
    char base[PATH_MAX];        /* MALLARD_TRACE made absolute */
    int follow_exec;
    uint64_t generation;        /* exec generation: 0 for the first */
    uint64_t pid;               /* the process this session records */
};

extern struct session_state session;

int session_open(uint64_t ppid);
void session_write_small(unsigned type, const uint8_t *payload, size_t len);
void session_close(unsigned end_flags, int from_signal);
void session_reopen_after_exec(void);
void session_name_child(uint64_t pid, const char *path);
/*
 * The trace path of a program exec'd as generation gen by process pid
 * from argv0: "<base>.<pid>.exec<gen>.<program>".  The exec'ing image
 * names it in its trace (a CHILD chunk) and the new image opens it, so
 * both compute it from what both know; the pid keeps concurrent
 * children apart.  0, or -1 when it does not fit.
 */
int session_exec_path(char *out, size_t cap, uint64_t pid, uint64_t gen,
                      const char *argv0);
/*
 * 0 in a child that shares our memory without having forked it a
 * session of its own: vfork, or posix_spawn's clone.  Such a child runs
 * on the parent's memory until it execs or _exits (Python's subprocess
 * does exactly that), so it must leave the session alone: closing it
 * there ended the parent's recording in mid-run.
 */
int session_owned_here(void);

#endif
