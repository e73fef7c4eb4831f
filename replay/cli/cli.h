/*
 * cli.h - helpers shared by the front end's trace subcommands: loading a
 * trace with its raw header (for reports), and argument conventions.
 */
#ifndef MALLARD_CLI_H
#define MALLARD_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "trace_format.h"

/* Room for "FILE: offset N: what was expected". */
#define CLI_ERR_MAX 1024
/* zstd level of finalised traces: on a 400,000-op larson trace level 9
 * gave 821 KB against 843 KB at level 3 and 790 KB at 19, finalising
 * in 0.08 s against 0.06 s and 0.9 s.  With today's columns (600,000
 * ops, hyperfine, 15 runs) level 5 writes 729 KB in 57 ms, level 9
 * 732 KB in 66 ms, level 3 736 KB in 56 ms (sqlite3: 15.1, 14.6 and
 * 15.4 KB).  Since a worker thread compresses while the merge runs,
 * zstd is half of that thread's work and sets the pace: on a 808,000-op
 * larson trace level 3 finalises in 13% fewer instructions than level
 * 5 (649M against 746M), 71 against 78 ms (medians of 10 alternating
 * runs), for a file 0.6% bigger (1,487 against 1,478 KB; sqlite3 4.2
 * against 4.1 KB, a python3 run 19 against 16 KB). */
#define CLI_ZSTD_LEVEL 3
/* Finalised times are kept to 10 microseconds: finer digits would be
 * most of the file (sqlite3's trace: 41 KB at 1 us, 18.5 KB at 10 us,
 * heaptrack's 24.6 KB with no times at all), and --timing recorded
 * paces gaps between calls, which matter from tens of us up.  The
 * recorder's own file keeps full resolution for the merge; --time-unit
 * picks finer. */
#define CLI_TIME_UNIT_NS 10000

struct cli_trace {
    const char *path;
    struct trace_raw raw;               /* header, children, chunks */
    struct trace trace;                 /* finalised */
    struct trace_finalize_report report;
};

/* Loads and finalises; on failure prints the error and returns -1. */
int cli_trace_load(const char *path, struct cli_trace *ct);
void cli_trace_free(struct cli_trace *ct);
/* Prints the dropped/missing-free warnings, if any, to stderr. */
void cli_trace_warn(const struct cli_trace *ct);
int cli_is_help(const char *arg);
/*
 * The start of a `mallard trace CMD FILE` command: prints usage for
 * --help (exit 0) or a wrong argument count (exit 2), else loads FILE
 * into *ct and prints its warnings.  Returns -1 to go on, else the
 * exit status.
 */
int cli_trace_open(int argc, char **argv, const char *usage,
                   struct cli_trace *ct);

int trace_cmd_info(int argc, char **argv);
int trace_cmd_stats(int argc, char **argv);
int trace_cmd_dump(int argc, char **argv);
int trace_cmd_check(int argc, char **argv);
int trace_cmd_finalize(int argc, char **argv);
int trace_cmd_slice(int argc, char **argv);
/* Loads in, validates and finalises it into out (may equal in) in one
 * pass, printing warnings and errors: -1 if in could not be read (ct
 * left empty), 1 if out could not be written, else 0.  ct keeps the
 * header, children and summary (no ops); free it with cli_trace_free. */
int cli_trace_finalize(const char *in, const char *out, uint64_t unit,
                       struct cli_trace *ct);
/* Validates in and writes its finalised form, times in multiples of
 * unit ns, to out (may equal in). */
int trace_finalize_path(const char *in, const char *out, uint64_t unit);
/* Parses a --time-unit value (ns, 1 to 1e9); -1 with a message if bad. */
int cli_parse_time_unit(const char *arg, uint64_t *unit);

/*
 * Per thread, how many frees and reallocs release a block allocated on
 * another thread (crossing.c); per_thread has thread_count entries.
 * Returns -1 when out of memory.
 */
int cli_count_crossings(const struct trace *t, uint64_t *per_thread);

#endif
