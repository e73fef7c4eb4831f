/*
 * options.c - the command line of `mallard replay`, parsed into struct
 * replay_options.  Every bad value is an error that names the option and
 * what was expected; nothing is silently defaulted.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define OPTIONS_MAX_RUNS 1000       /* a sanity bound, not a measurement */
#define OPTIONS_MAX_INSTANCES 256   /* each instance is threads x stacks */
#define OPTIONS_MAX_LATENCY_EVERY 1000000
#define OPTIONS_MAX_TIMEOUT_S 86400     /* a day */
#define OPTIONS_MAX_LEAD_US 1000000000  /* 1000 s: beyond any trace */

void replay_options_usage(FILE *out)
{
    fputs("usage: mallard replay FILE [options]\n"
          "Replays a finalised trace, one OS thread per recorded thread,\n"
          "against an allocator chosen by LD_PRELOAD, and reports time,\n"
          "latency per call, memory and distortion.\n"
          "  --allocator NAME|PATH  glibc (default), mallard, jemalloc,\n"
          "                         tcmalloc, mimalloc, none (no\n"
          "                         allocator: harness cost), or a .so\n"
          "  --runs N               runs, each in a fresh process (1)\n"
          "  --instances K          K copies of the trace at once (1)\n"
          "  --touch MODE           none|first|pages|all: how blocks are\n"
          "                         written after allocation (pages)\n"
          "  --timing MODE          asap (default) | recorded gaps\n"
          "  --max-lead US          keep every thread within US us of\n"
          "                         recorded time of the others (a\n"
          "                         producer the program held back\n"
          "                         cannot run ahead); unbounded if unset\n"
          "  --verify               fill blocks, check them before free\n"
          "  --latency-every N      time one call in about N per thread,\n"
          "                         picked at random (" 
          REPLAY_STR(REPLAY_LATENCY_EVERY_DEFAULT) "; 1: every call)\n"
          "  --passes P             replay P times in each run's process\n"
          "                         and report the median pass (1)\n"
          "  --timeout S            kill a run that takes over S seconds\n"
          "  --json | --csv         machine-readable output (see\n"
          "                         docs/replay-output.md)\n"
          "  --rss-csv FILE         write RSS and live bytes over time\n"
          "mallard replay --list-allocators prints the allocators known "
          "by name:\nname, library, Debian package.\n",
          out);
}

static int options_number(const char *opt, const char *text, int max,
                          int *out, char *err, size_t err_len)
{
    char *end;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || *end || v < 1 || v > max) {
        snprintf(err, err_len, "%s: expected a number from 1 to %d, "
                 "got '%s'", opt, max, text ? text : "");
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int options_pick(const char *opt, const char *text,
                        const char *const *names, int count, int *out,
                        char *err, size_t err_len)
{
    for (int i = 0; text && i < count; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    snprintf(err, err_len, "%s: expected one of", opt);
    for (int i = 0; i < count; i++)
        snprintf(err + strlen(err), err_len - strlen(err), " %s",
                 names[i]);
    snprintf(err + strlen(err), err_len - strlen(err), ", got '%s'",
             text ? text : "");
    return -1;
}

static int options_copy(const char *opt, const char *text, char *dst,
                        size_t len, char *err, size_t err_len)
{
    if (!text || !*text || strlen(text) >= len) {
        snprintf(err, err_len, "%s: expected a value (under %zu bytes)",
                 opt, len);
        return -1;
    }
    snprintf(dst, len, "%s", text);
    return 0;
}

static const char *const options_touch_names[] = {
    "none", "first", "pages", "all",
};
static const char *const options_timing_names[] = { "asap", "recorded" };

/* One option that takes a value; -1 on error. */
static int options_valued(const char *opt, const char *val,
                          struct replay_options *o, char *err,
                          size_t err_len)
{
    int v;
    if (strcmp(opt, "--allocator") == 0)
        return options_copy(opt, val, o->allocator, sizeof(o->allocator),
                            err, err_len);
    if (strcmp(opt, "--rss-csv") == 0)
        return options_copy(opt, val, o->rss_csv, sizeof(o->rss_csv),
                            err, err_len);
    if (strcmp(opt, "--runs") == 0)
        return options_number(opt, val, OPTIONS_MAX_RUNS, &o->runs, err,
                              err_len);
    if (strcmp(opt, "--latency-every") == 0)
        return options_number(opt, val, OPTIONS_MAX_LATENCY_EVERY,
                              &o->latency_every, err, err_len);
    if (strcmp(opt, "--timeout") == 0)
        return options_number(opt, val, OPTIONS_MAX_TIMEOUT_S,
                              &o->timeout_s, err, err_len);
    if (strcmp(opt, "--instances") == 0)
        return options_number(opt, val, OPTIONS_MAX_INSTANCES,
                              &o->instances, err, err_len);
    if (strcmp(opt, "--passes") == 0)
        return options_number(opt, val, REPLAY_MAX_PASSES, &o->passes,
                              err, err_len);
    if (strcmp(opt, "--max-lead") == 0)
        return options_number(opt, val, OPTIONS_MAX_LEAD_US,
                              &o->max_lead_us, err, err_len);
    if (strcmp(opt, "--touch") == 0) {
        if (options_pick(opt, val, options_touch_names, 4, &v, err,
                         err_len) != 0)
            return -1;
        o->touch = (enum replay_touch)v;
        return 0;
    }
    if (options_pick(opt, val, options_timing_names, 2, &v, err,
                     err_len) != 0)
        return -1;
    o->timing = (enum replay_timing)v;
    return 0;
}

static int options_takes_value(const char *opt)
{
    static const char *const valued[] = {
        "--allocator", "--rss-csv", "--runs", "--instances", "--touch",
        "--timing", "--latency-every", "--timeout", "--passes",
        "--max-lead",
    };
    for (size_t i = 0; i < sizeof(valued) / sizeof(valued[0]); i++)
        if (strcmp(opt, valued[i]) == 0)
            return 1;
    return 0;
}

static int options_flag(const char *arg, struct replay_options *o)
{
    if (strcmp(arg, "--verify") == 0)
        o->verify = 1;
    else if (strcmp(arg, "--json") == 0)
        o->format = REPLAY_OUT_JSON;
    else if (strcmp(arg, "--csv") == 0)
        o->format = REPLAY_OUT_CSV;
    else
        return -1;
    return 0;
}

static int options_file(const char *arg, struct replay_options *o,
                        char *err, size_t err_len)
{
    if (o->trace_path[0]) {
        snprintf(err, err_len, "%s: one trace FILE only (already have "
                 "%s)", arg, o->trace_path);
        return -1;
    }
    return options_copy("FILE", arg, o->trace_path, sizeof(o->trace_path),
                        err, err_len);
}

/* argv[0] is the subcommand's name; returns 1 for --help. */
int replay_options_parse(int argc, char **argv, struct replay_options *o,
                         char *err, size_t err_len)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->allocator, sizeof(o->allocator), "glibc");
    o->runs = o->instances = o->passes = 1;
    o->latency_every = REPLAY_LATENCY_EVERY_DEFAULT;
    o->touch = REPLAY_TOUCH_PAGES;
    for (int i = 1; i < argc; i++) {
        char opt[32];
        const char *arg = argv[i], *eq = strchr(arg, '=');
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return 1;
        snprintf(opt, sizeof(opt), "%.*s",
                 eq ? (int)(eq - arg) : (int)strlen(arg), arg);
        if (options_takes_value(opt)) {
            const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i]
                                                          : NULL);
            if (options_valued(opt, val, o, err, err_len) != 0)
                return -1;
        } else if ((strcmp(arg, "--json") == 0 &&
                    o->format == REPLAY_OUT_CSV) ||
                   (strcmp(arg, "--csv") == 0 &&
                    o->format == REPLAY_OUT_JSON)) {
            snprintf(err, err_len, "--json and --csv: choose one output "
                     "format");
            return -1;
        } else if (arg[0] == '-' && arg[1] && options_flag(arg, o) != 0) {
            snprintf(err, err_len, "%s: unknown option (see --help)", arg);
            return -1;
        } else if ((arg[0] != '-' || !arg[1]) &&
                   options_file(arg, o, err, err_len) != 0) {
            return -1;
        }
    }
    if (!o->trace_path[0]) {
        snprintf(err, err_len, "expected a trace FILE (see --help)");
        return -1;
    }
    return 0;
}

int replay_options_start(int argc, char **argv, const char *who,
                         struct replay_options *opt)
{
    char err[REPLAY_MSG_LEN];
    int rc = replay_options_parse(argc, argv, opt, err, sizeof(err));
    if (rc == 1) {
        replay_options_usage(stdout);
        return 0;
    }
    if (rc != 0 || replay_allocator_resolve(opt, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", who, err);
        return 2;
    }
    return -1;
}
