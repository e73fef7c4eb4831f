/*
 * trace_slice.c - `mallard trace slice IN -o OUT [--from S] [--to S |
 * --ops N]`: keep a time window of a long recording as a valid trace
 * (replay/format/trace_slice.c says how), so traces/ can ship a
 * representative stretch of a run that would be too big whole.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define SLICE_USAGE \
    "usage: mallard trace slice IN -o OUT [--from S] [--to S | --ops N]\n"

struct slice_args {
    const char *in, *out;
    uint64_t from_ns, to_ns, max_ops;
};

/* Seconds after the trace's start, as a decimal ("1.5"). */
static int slice_parse_seconds(const char *arg, uint64_t *ns)
{
    char *end;
    double s = strtod(arg, &end);
    if (end == arg || *end || !(s >= 0) || s > 1e9) {
        fprintf(stderr, "mallard trace slice: want seconds, not '%s'\n",
                arg);
        return -1;
    }
    *ns = (uint64_t)(s * (double)TRACE_NS_PER_SEC);
    return 0;
}

static int slice_parse_count(const char *arg, uint64_t *n)
{
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    if (*arg < '0' || *arg > '9' || *end || v == 0) {
        fprintf(stderr, "mallard trace slice: want an op count, not "
                "'%s'\n", arg);
        return -1;
    }
    *n = v;
    return 0;
}

static int slice_parse_one(struct slice_args *a, int argc, char **argv,
                           int *i)
{
    const char *opt = argv[*i];
    int has_value = *i + 1 < argc;
    if (strcmp(opt, "-o") == 0 && has_value)
        a->out = argv[++*i];
    else if (strcmp(opt, "--from") == 0 && has_value)
        return slice_parse_seconds(argv[++*i], &a->from_ns);
    else if (strcmp(opt, "--to") == 0 && has_value)
        return slice_parse_seconds(argv[++*i], &a->to_ns);
    else if (strcmp(opt, "--ops") == 0 && has_value)
        return slice_parse_count(argv[++*i], &a->max_ops);
    else if (!a->in && opt[0] != '-')
        a->in = opt;
    else {
        fprintf(stderr, "mallard trace slice: unexpected '%s'\n", opt);
        return -1;
    }
    return 0;
}

static int slice_help(void)
{
    printf(SLICE_USAGE
           "Writes the ops of IN from S seconds after its start (--from,"
           " default 0)\nto --to S (default: the end), or the first N "
           "ops of that window (--ops),\nas a valid trace: blocks live "
           "at the start cut are allocated first.\n");
    return 0;
}

static int slice_write(const struct slice_args *a, struct cli_trace *ct)
{
    char err[CLI_ERR_MAX];
    struct trace sliced;
    struct trace_slice_report r;
    uint64_t to = a->to_ns;
    if (a->max_ops)
        to = trace_slice_end_for_ops(&ct->trace, a->from_ns, a->max_ops);
    if (trace_slice(&ct->trace, a->from_ns, to, &sliced, &r, err,
                    sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", a->in, err);
        return 1;
    }
    int rc = trace_write_final(a->out, &ct->raw, &sliced, CLI_ZSTD_LEVEL,
                               CLI_TIME_UNIT_NS, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    else
        printf("%s: %llu ops kept, %llu live blocks (%llu bytes) "
               "allocated first, into %s\n", a->in,
               (unsigned long long)r.window_ops,
               (unsigned long long)r.carried_blocks,
               (unsigned long long)r.carried_bytes, a->out);
    trace_free(&sliced);
    return rc < 0 ? 1 : 0;
}

int trace_cmd_slice(int argc, char **argv)
{
    struct slice_args a = { NULL, NULL, 0, TRACE_SLICE_TO_END, 0 };
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i]))
            return slice_help();
        if (slice_parse_one(&a, argc, argv, &i) < 0)
            return 2;
    }
    if (!a.in || !a.out || (a.max_ops && a.to_ns != TRACE_SLICE_TO_END)) {
        fprintf(stderr, SLICE_USAGE);
        return 2;
    }
    struct cli_trace ct;
    if (cli_trace_load(a.in, &ct) < 0)
        return 1;
    cli_trace_warn(&ct);
    int rc = slice_write(&a, &ct);
    cli_trace_free(&ct);
    return rc;
}
