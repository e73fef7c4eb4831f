/*
 * session.c - the trace file: opening it (its path made absolute by
 * lifecycle.c, so a chdir does not move forked children's traces), the
 * header, small chunks (CHILD, END, CLOCK), closing it with every
 * buffer flushed.  When recording starts and stops (exit, fork, fatal
 * signals) is lifecycle.c; exec is exec.c; the clock is clock.c.
 * A trace that cannot be written costs the program nothing but one
 * warning: recording stops, the calls keep being forwarded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "record.h"
#include "session.h"

/* Longest command line kept in the header; longer ones are cut. */
#define SESSION_CMDLINE_MAX 4096

atomic_int record_active;
struct session_state session;

static atomic_int session_warned;
static atomic_int session_closing;
static uint8_t session_header_buf[TRACE_FILE_HEADER_SIZE +
                                  TRACE_CHUNK_HEADER_SIZE +
                                  8 * TRACE_VARINT_MAX + SESSION_CMDLINE_MAX];

static void session_warn(const char *what, int err)
{
    if (atomic_exchange(&session_warned, 1))
        return;
    char msg[PATH_MAX + 256];
    int n = snprintf(msg, sizeof(msg), "mallard-record: %s %s: %s; "
                     "recording stopped, the program continues\n", what,
                     session.path, strerror(err));
    if (n > 0)
        (void)!write(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ?
                     (size_t)n : sizeof(msg) - 1);
}

void record_write(const void *bytes, size_t len)
{
    int saved = errno;
    const uint8_t *p = bytes;
    while (len > 0 && session.fd >= 0) {
        ssize_t n = write(session.fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            atomic_store(&record_active, 0);
            session_warn("cannot write trace", n < 0 ? errno : ENOSPC);
            break;
        }
        p += n;
        len -= (size_t)n;
    }
    errno = saved;
}

/* /proc/self/cmdline with NULs as spaces, cut at SESSION_CMDLINE_MAX. */
static size_t session_cmdline(char *out, size_t cap)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, out, cap);
    close(fd);
    if (n <= 0)
        return 0;
    for (ssize_t i = 0; i < n; i++)
        if (out[i] == '\0')
            out[i] = ' ';
    while (n > 0 && out[n - 1] == ' ')
        n--;
    return (size_t)n;
}

static void session_write_header(uint64_t ppid)
{
    static char cmd[SESSION_CMDLINE_MAX];
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    clock_choose();
    struct trace_header_info h = {
        .pid = (uint64_t)getpid(), .ppid = ppid,
        .start_unix_ns = (uint64_t)wall.tv_sec * TRACE_NS_PER_SEC +
                         (uint64_t)wall.tv_nsec,
        .start_clock_ns = record_now(),
        .clock_id = record_clock_tsc ? TRACE_CLOCK_TSC
                                     : TRACE_CLOCK_MONOTONIC_NS,
        .clock_hz = clock_hz(),
        .generation = session.generation,
        .command_line = cmd,
        .command_len = session_cmdline(cmd, sizeof(cmd)),
    };
    uint8_t *chunk = session_header_buf + TRACE_FILE_HEADER_SIZE;
    size_t cap = sizeof(session_header_buf) - TRACE_FILE_HEADER_SIZE -
                 TRACE_CHUNK_HEADER_SIZE;
    size_t len = trace_encode_header(chunk + TRACE_CHUNK_HEADER_SIZE, cap,
                                     &h);
    trace_put_file_header(session_header_buf);
    trace_seal_chunk(chunk, TRACE_CHUNK_HEADER, 0, len, len);
    record_write(session_header_buf, TRACE_FILE_HEADER_SIZE +
                 TRACE_CHUNK_HEADER_SIZE + len);
}

/* Opens session.path and writes the header; 0 if recording can start. */
int session_open(uint64_t ppid)
{
    session.fd = open(session.path, O_WRONLY | O_CREAT | O_TRUNC |
                      O_APPEND | O_CLOEXEC, 0644);
    if (session.fd < 0) {
        session_warn("cannot create trace", errno);
        return -1;
    }
    session.pid = (uint64_t)getpid();
    session_write_header(ppid);
    return atomic_load(&session_warned) ? -1 : 0;
}

int session_owned_here(void)
{
    return (uint64_t)getpid() == session.pid;
}

void session_write_small(unsigned type, const uint8_t *payload, size_t len)
{
    uint8_t chunk[TRACE_CHUNK_HEADER_SIZE + SESSION_SMALL_MAX];
    if (len > SESSION_SMALL_MAX)
        return;
    memcpy(chunk + TRACE_CHUNK_HEADER_SIZE, payload, len);
    trace_seal_chunk(chunk, type, 0, len, len);
    record_write(chunk, TRACE_CHUNK_HEADER_SIZE + len);
}

/* Ends recording: every buffer out, then END.  Idempotent; nothing in
 * a child that only shares our memory (session_owned_here). */
void session_close(unsigned end_flags, int from_signal)
{
    if (!session_owned_here())
        return;
    if (atomic_exchange(&session_closing, 1))
        return;
    if (!from_signal && !(end_flags & TRACE_END_EXEC))
        record_thread_exit_mark();
    if (!atomic_exchange(&record_active, 0))
        return;            /* never started, or the file failed */
    record_flush_all(from_signal);
    clock_write_final();
    uint8_t end[SESSION_SMALL_MAX];
    size_t len = trace_encode_end(end, sizeof(end), end_flags,
                                  record_now(), 0);
    session_write_small(TRACE_CHUNK_END, end, len);
}

/* An exec failed: the program goes on, and so does its trace. */
void session_reopen_after_exec(void)
{
    if (session.fd < 0 || atomic_load(&session_warned))
        return;
    atomic_store(&session_closing, 0);
    atomic_store(&record_active, 1);
}

/* A CHILD chunk: this trace names another process's trace. */
int session_exec_path(char *out, size_t cap, uint64_t pid, uint64_t gen,
                      const char *argv0)
{
    const char *program = argv0 ? strrchr(argv0, '/') : NULL;
    program = program ? program + 1 : argv0;
    if (program == NULL || *program == '\0')
        program = "program";
    int n = snprintf(out, cap, "%s.%llu.exec%llu.%.64s", session.base,
                     (unsigned long long)pid, (unsigned long long)gen,
                     program);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

void session_name_child(uint64_t pid, const char *path)
{
    uint8_t payload[SESSION_SMALL_MAX];
    size_t len = trace_encode_child(payload, sizeof(payload), pid, path);
    if (len > 0)
        session_write_small(TRACE_CHUNK_CHILD, payload, len);
}
