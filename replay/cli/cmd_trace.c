/*
 * cmd_trace.c - `mallard trace`: dispatch to info, stats, dump, check,
 * finalize and slice (one file each), plus the loading they share: the
 * format's loader (trace_raw_load, trace_raw_to_trace), keeping the
 * decoded file beside the trace for the reports.  Every error reaches
 * the user as "FILE: offset N: what was expected".
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct trace_subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct trace_subcommand subcommands[] = {
    { "info", trace_cmd_info, "header, counts per operation, threads" },
    { "stats", trace_cmd_stats, "size and lifetime histograms (--plot)" },
    { "dump", trace_cmd_dump, "one op per line, as text" },
    { "check", trace_cmd_check, "full validation; exit 0 only if sound" },
    { "finalize", trace_cmd_finalize, "validate and compress a trace" },
    { "slice", trace_cmd_slice, "a time window as a valid trace" },
};

#define SUBCOMMAND_COUNT (sizeof(subcommands) / sizeof(subcommands[0]))

int cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

static void trace_usage(FILE *out)
{
    fprintf(out, "usage: mallard trace SUBCOMMAND FILE [OPTIONS]\n\n");
    for (size_t i = 0; i < SUBCOMMAND_COUNT; i++)
        fprintf(out, "  %-9s %s\n", subcommands[i].name,
                subcommands[i].summary);
}

int cmd_trace(int argc, char **argv)
{
    if (argc < 2) {
        trace_usage(stderr);
        return 2;
    }
    if (cli_is_help(argv[1])) {
        trace_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < SUBCOMMAND_COUNT; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mallard trace: unknown subcommand '%s'\n", argv[1]);
    trace_usage(stderr);
    return 2;
}

/* Decodes path into ct->raw with the format's loader; 0, or -1 with
 * the error printed and ct empty. */
static int cli_trace_read(const char *path, struct cli_trace *ct)
{
    char err[CLI_ERR_MAX];
    memset(ct, 0, sizeof(*ct));
    ct->path = path;
    if (trace_raw_load(path, &ct->raw, err, sizeof(err)) == 0)
        return 0;
    fprintf(stderr, "%s\n", err);
    return -1;
}

int cli_trace_load(const char *path, struct cli_trace *ct)
{
    char err[CLI_ERR_MAX];
    if (cli_trace_read(path, ct) < 0)
        return -1;
    if (trace_raw_to_trace(&ct->raw, &ct->trace, &ct->report, err,
                           sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        trace_raw_free(&ct->raw);
        return -1;
    }
    return 0;
}

int cli_trace_finalize(const char *in, const char *out, uint64_t unit,
                       struct cli_trace *ct)
{
    char err[CLI_ERR_MAX];
    int rc;
    if (cli_trace_read(in, ct) < 0)
        return -1;
    if (ct->raw.final == NULL) {   /* a recording: one streaming pass */
        rc = trace_finalize_write(out, &ct->raw, CLI_ZSTD_LEVEL, unit,
                                  &ct->trace, &ct->report, err,
                                  sizeof(err));
    } else {                       /* final already: rewritten as it is */
        rc = trace_raw_to_trace(&ct->raw, &ct->trace, &ct->report, err,
                                sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "%s\n", err);
            cli_trace_free(ct);
            return -1;
        }
        rc = trace_write_final(out, &ct->raw, &ct->trace, CLI_ZSTD_LEVEL,
                               unit, err, sizeof(err));
    }
    cli_trace_warn(ct);
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    return rc < 0 ? 1 : 0;
}

void cli_trace_free(struct cli_trace *ct)
{
    trace_raw_free(&ct->raw);
    trace_free(&ct->trace);
}

int cli_trace_open(int argc, char **argv, const char *usage,
                   struct cli_trace *ct)
{
    if (argc != 2 || cli_is_help(argv[1])) {
        fputs(usage, argc == 2 ? stdout : stderr);
        return argc == 2 ? 0 : 2;
    }
    if (cli_trace_load(argv[1], ct) < 0)
        return 1;
    cli_trace_warn(ct);
    return -1;
}

void cli_trace_warn(const struct cli_trace *ct)
{
    if (ct->report.dropped_frees)
        fprintf(stderr, "%s: warning: dropped %llu frees of blocks "
                "allocated before recording started\n", ct->path,
                (unsigned long long)ct->report.dropped_frees);
    if (ct->report.missing_frees)
        fprintf(stderr, "%s: warning: %llu addresses were handed out "
                "again without a recorded free\n", ct->path,
                (unsigned long long)ct->report.missing_frees);
    if (ct->trace.truncated)
        fprintf(stderr, "%s: warning: recording ended abnormally; the "
                "trace is truncated\n", ct->path);
}
