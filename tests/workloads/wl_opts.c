/*
 * wl_opts.c - parse the shared workload options.
 *
 * Sizes accept a K, M or G suffix (powers of 1024) so a test can say
 * --max-size 8M.  Every number is range-checked here, so the programs
 * can trust their options: threads >= 1, min_size <= max_size, and so on.
 */
#include "wl_opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper limits that keep a typo from asking for a terabyte or a million
 * threads; far above anything a test or the bench uses. */
#define MAX_THREADS 1024L
#define MAX_SIZE_BYTES (1L << 34)
#define MAX_COUNT (1L << 40)
#define MAX_SECONDS 3600.0
#define KIB 1024L

static const struct option table[] = {
    {"threads", required_argument, NULL, 't'},
    {"iterations", required_argument, NULL, 'n'},
    {"min-size", required_argument, NULL, 'm'},
    {"max-size", required_argument, NULL, 'M'},
    {"seconds", required_argument, NULL, 's'},
    {"live", required_argument, NULL, 'l'},
    {"bound", required_argument, NULL, 'b'},
    {"slots", required_argument, NULL, 'q'},
    {"handoff", required_argument, NULL, 'f'},
    {"seed", required_argument, NULL, 'S'},
    {"verbose", no_argument, NULL, 'v'},
    {"case", required_argument, NULL, 'c'},
    {"expect-address", no_argument, NULL, 'A'},
    {"expect-mallard", no_argument, NULL, 'L'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The wl_opt_bit for each short code, in table order. */
static const unsigned table_bits[] = {
    WL_OPT_THREADS, WL_OPT_ITERATIONS, WL_OPT_MIN_SIZE, WL_OPT_MAX_SIZE,
    WL_OPT_SECONDS, WL_OPT_LIVE, WL_OPT_BOUND, WL_OPT_SLOTS,
    WL_OPT_HANDOFF, WL_OPT_SEED, WL_OPT_VERBOSE, WL_OPT_CASE,
    WL_OPT_EXPECT_ADDRESS, WL_OPT_EXPECT_MALLARD, 0,
};

static void die(const char *prog, const char *opt, const char *val,
                const char *why)
{
    fprintf(stderr, "%s: --%s %s: %s (see --help)\n", prog, opt,
            val ? val : "", why);
    exit(2);
}

/* A whole number with an optional K/M/G suffix, in [min, max]. */
static long parse_number(const char *prog, const char *opt,
                         const char *val, long min, long max)
{
    char *end;
    errno = 0;
    long n = strtol(val, &end, 10);
    if (end == val || errno != 0)
        die(prog, opt, val, "expected a whole number");
    long scale = 1;
    if (*end == 'K' || *end == 'k')
        scale = KIB;
    else if (*end == 'M' || *end == 'm')
        scale = KIB * KIB;
    else if (*end == 'G' || *end == 'g')
        scale = KIB * KIB * KIB;
    if (scale != 1)
        end++;
    if (*end != '\0')
        die(prog, opt, val, "unexpected characters after the number");
    if (n < min / scale || n > max / scale)
        die(prog, opt, val, "out of range");
    return n * scale;
}

static double parse_seconds(const char *prog, const char *val)
{
    char *end;
    double s = strtod(val, &end);
    if (end == val || *end != '\0' || !(s >= 0.0 && s <= MAX_SECONDS))
        die(prog, "seconds", val, "expected 0 to 3600 seconds");
    return s;
}

static unsigned bit_of(int code)
{
    for (int i = 0; table[i].name; i++)
        if (table[i].val == code)
            return table_bits[i];
    return 0;
}

static const char *name_of(int code)
{
    for (int i = 0; table[i].name; i++)
        if (table[i].val == code)
            return table[i].name;
    return "?";
}

static void apply(struct wl_opts *o, const char *prog, int code,
                  const char *v)
{
    const char *n = name_of(code);
    switch (code) {
    case 't': o->threads = parse_number(prog, n, v, 1, MAX_THREADS); break;
    case 'n': o->iterations = parse_number(prog, n, v, 1, MAX_COUNT); break;
    case 'm': o->min_size = parse_number(prog, n, v, 0, MAX_SIZE_BYTES);
        break;
    case 'M': o->max_size = parse_number(prog, n, v, 1, MAX_SIZE_BYTES);
        break;
    case 's': o->seconds = parse_seconds(prog, v); break;
    case 'l': o->live = parse_number(prog, n, v, 1, MAX_COUNT); break;
    case 'b': o->bound_kib = parse_number(prog, n, v, 0, MAX_SIZE_BYTES)
                             / KIB; break;
    case 'q': o->slots = parse_number(prog, n, v, 1, MAX_COUNT); break;
    case 'f': o->handoff_pct = parse_number(prog, n, v, 0, 100); break;
    case 'S': o->seed = (uint64_t)parse_number(prog, n, v, 0, MAX_COUNT);
        break;
    case 'v': o->verbose = 1; break;
    case 'c': o->kase = v; break;
    case 'A': o->expect_address = 1; break;
    case 'L': o->expect_mallard = 1; break;
    }
}

void wl_opts_parse(struct wl_opts *opts, int argc, char **argv,
                   unsigned allowed, const char *usage)
{
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1
                                              : argv[0];
    int code;
    while ((code = getopt_long(argc, argv, "", table, NULL)) != -1) {
        if (code == 'h') {
            fputs(usage, stdout);
            exit(0);
        }
        if (code == '?')
            exit(2);  /* getopt already named the bad option */
        if (!(bit_of(code) & allowed))
            die(prog, name_of(code), "", "does not apply to this program");
        apply(opts, prog, code, optarg);
    }
    if (optind < argc)
        die(prog, "", argv[optind], "unexpected argument");
    if (opts->min_size > opts->max_size)
        die(prog, "min-size", "", "is larger than --max-size");
}
