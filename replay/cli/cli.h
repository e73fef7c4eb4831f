/*
 * cli.h - helpers shared by the front end's trace subcommands: loading a
 * trace with its raw header (for reports), and argument conventions.
 */
#ifndef MALLARD_CLI_H
#define MALLARD_CLI_H

#include <stdio.h>

#include "trace_format.h"

/* Room for "FILE: offset N: what was expected". */
#define CLI_ERR_MAX 1024

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

int trace_cmd_info(int argc, char **argv);
int trace_cmd_stats(int argc, char **argv);
int trace_cmd_dump(int argc, char **argv);
int trace_cmd_check(int argc, char **argv);
int trace_cmd_finalize(int argc, char **argv);
/* Validates in and writes it compressed to out (may equal in). */
int trace_finalize_path(const char *in, const char *out, int quiet);

#endif
