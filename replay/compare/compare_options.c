/*
 * compare_options.c - the command line of `mallard compare`: allocators,
 * runs, instance counts, baseline, output folder, timeout, shard,
 * machine label.
 *
 * Every value is checked here, so a typo is one clear message before
 * any run starts rather than a failure an hour in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compare.h"

#define OPT_DEFAULT_RUNS 3
#define OPT_MAX_RUNS 1000
/* Instances per replay process: the engine's own limit. */
#define OPT_MAX_INSTANCES 256
/* A run of a shipped trace takes under a second; five minutes is room
 * for a recorded real program without letting a hang stall a night. */
#define OPT_MAX_LEAD_US 1000000000 /* replay's own bound */
#define OPT_DEFAULT_TIMEOUT_S 300.0
#define OPT_DEFAULT_DIR "mallard-compare"

void cmp_options_usage(FILE *out)
{
    fprintf(out,
"usage: mallard compare [options] -o DIR TRACE...\n"
"Replays every trace on every allocator (each run a fresh `mallard\n"
"replay` process, interleaved A B C A B C), writes DIR/results.csv,\n"
"DIR/summary.json and RSS timelines, prints ratios to the baseline and\n"
"draws charts and DIR/index.html (`mallard plot DIR`).\n"
"  --allocators LIST  comma list of names or .so paths (default: every\n"
"                     installed one of glibc,mallard,jemalloc,tcmalloc,\n"
"                     mimalloc)\n"
"  --runs N           runs per case (%d)\n"
"  --instances LIST   instance counts, e.g. 1,2,4 (1)\n"
"  --baseline NAME    allocator the ratios divide by (glibc)\n"
"  -o, --output DIR   output folder (%s)\n"
"  --timeout SEC      limit per run; a run over it is a failed row (%.0f)\n"
"  --max-lead US      replay with --max-lead US (threads kept within US\n"
"                     us of recorded time of each other)\n"
"  --shard I/N        run slice I of N of the traces; join the slices'\n"
"                     folders with `mallard merge`\n"
"  --shard slurm      I and N from the Slurm job array task\n"
"                     (sbatch --array=1-N; scripts/slurm/)\n"
"  --machine-label L  name of this machine in the results (host name)\n"
"  --no-plot          skip the charts and index.html\n"
"Docs: docs/compare.md.\n", OPT_DEFAULT_RUNS, OPT_DEFAULT_DIR,
            OPT_DEFAULT_TIMEOUT_S);
}

static int opt_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int opt_instances(const char *s, struct cmp_options *opt)
{
    char *items[CMP_MAX_INSTANCES];
    int n = cmp_split_list(s, items, CMP_MAX_INSTANCES);
    int rc = n > 0 ? 0 : -1;
    for (int i = 0; i < n; i++) {
        if (opt_int(items[i], 1, OPT_MAX_INSTANCES, &opt->instances[i]))
            rc = -1;
        free(items[i]);
    }
    opt->ninstances = rc == 0 ? n : 0;
    return rc;
}

/* An environment variable as a whole number, -1 if unset or not one. */
static long opt_env_number(const char *name)
{
    const char *v = getenv(name);
    char *end;
    long n = v ? strtol(v, &end, 10) : -1;
    return v && *v && !*end && n >= 0 ? n : -1;
}

/*
 * --shard slurm: a job array task (sbatch --array=A-B) is shard
 * ID - MIN + 1 of COUNT.  Only a dense range maps one to one onto 1..N,
 * so a stepped or listed array (1,3,5 or 1-9:2) is refused.
 */
static int opt_shard_slurm(struct cmp_options *opt, char *err,
                           size_t err_len)
{
    long id = opt_env_number("SLURM_ARRAY_TASK_ID");
    long min = opt_env_number("SLURM_ARRAY_TASK_MIN");
    long max = opt_env_number("SLURM_ARRAY_TASK_MAX");
    long count = opt_env_number("SLURM_ARRAY_TASK_COUNT");
    if (id < 0 || min < 0 || max < 0 || count < 1) {
        snprintf(err, err_len, "--shard slurm: not in a Slurm job array "
                 "task (SLURM_ARRAY_TASK_ID, _MIN, _MAX, _COUNT unset); "
                 "submit with sbatch --array=1-N, or give --shard I/N");
        return -1;
    }
    if (max - min + 1 != count || id < min || id > max) {
        snprintf(err, err_len, "--shard slurm: the job array must be a "
                 "range such as --array=1-%ld (task %ld of %ld..%ld, %ld "
                 "tasks)", count, id, min, max, count);
        return -1;
    }
    opt->shard = (int)(id - min + 1);
    opt->nshards = (int)count;
    opt->shard_from_slurm = 1;
    return 1;
}

static int opt_shard(const char *s, struct cmp_options *opt, char *err,
                     size_t err_len)
{
    char tail;
    if (strcmp(s, "slurm") == 0)
        return opt_shard_slurm(opt, err, err_len);
    if (sscanf(s, "%d/%d%c", &opt->shard, &opt->nshards, &tail) != 2 ||
        opt->nshards < 1 || opt->shard < 1 || opt->shard > opt->nshards) {
        snprintf(err, err_len, "--shard: expected I/N with 1 <= I <= N, "
                 "or slurm, got '%s'", s);
        return -1;
    }
    return 1;
}

/* A label goes into results.csv and the report: short, no comma. */
static int opt_machine(const char *s, struct cmp_options *opt, char *err,
                       size_t err_len)
{
    size_t n = strlen(s);
    int printable = n > 0 && n < CMP_LABEL_MAX;
    for (size_t i = 0; printable && i < n; i++)
        printable = s[i] > ' ' && s[i] < 127 && s[i] != ',' &&
                    s[i] != '"';
    if (!printable) {
        snprintf(err, err_len, "--machine-label: expected 1 to %d "
                 "printable characters without spaces, commas or quotes, "
                 "got '%s'", CMP_LABEL_MAX - 1, s);
        return -1;
    }
    snprintf(opt->machine, sizeof(opt->machine), "%s", s);
    return 1;
}

static int opt_timeout(const char *s, struct cmp_options *opt)
{
    char *end;
    opt->timeout_s = strtod(s, &end);
    return (end == s || *end || !(opt->timeout_s > 0)) ? -1 : 0;
}

/* The allocator list: not empty, no name twice. */
static int opt_allocators(const char *val, struct cmp_options *opt,
                          char *err, size_t err_len)
{
    opt->nallocators = cmp_split_list(val, opt->allocators,
                                      CMP_MAX_ALLOCATORS);
    opt->allocators_given = 1;
    if (opt->nallocators <= 0) {
        snprintf(err, err_len, "--allocators: expected a comma list of "
                 "allocator names or .so paths, got '%s'", val);
        return -1;
    }
    for (int i = 0; i < opt->nallocators; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(opt->allocators[i], opt->allocators[j]) == 0) {
                snprintf(err, err_len, "--allocators: %s is given twice",
                         opt->allocators[i]);
                return -1;
            }
    return 1;
}

/* Options that take a value; returns 1 if arg was one, 0 if not, -1 if
 * its value is bad (err says what was expected). */
static int opt_valued(const char *arg, const char *val,
                      struct cmp_options *opt, char *err, size_t err_len)
{
    static const char *const valued[] = {
        "--allocators", "--runs", "--instances", "--baseline", "-o",
        "--output", "--timeout", "--shard", "--max-lead",
        "--machine-label",
    };
    size_t known = 0;
    while (known < sizeof(valued) / sizeof(valued[0]) &&
           strcmp(arg, valued[known]) != 0)
        known++;
    if (known == sizeof(valued) / sizeof(valued[0]))
        return 0;
    const char *expected = NULL;
    if (strcmp(arg, "--allocators") == 0)
        return opt_allocators(val, opt, err, err_len);
    if (strcmp(arg, "--shard") == 0)
        return opt_shard(val, opt, err, err_len);
    if (strcmp(arg, "--machine-label") == 0)
        return opt_machine(val, opt, err, err_len);
    if (strcmp(arg, "--runs") == 0 &&
        opt_int(val, 1, OPT_MAX_RUNS, &opt->runs))
        expected = "a number from 1 to 1000";
    else if (strcmp(arg, "--instances") == 0 && opt_instances(val, opt))
        expected = "a comma list of numbers from 1 to 256";
    else if (strcmp(arg, "--baseline") == 0)
        opt->baseline = val;
    else if (strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0)
        opt->out_dir = val;
    else if (strcmp(arg, "--timeout") == 0 && opt_timeout(val, opt))
        expected = "a number of seconds above 0";
    else if (strcmp(arg, "--max-lead") == 0 &&
             opt_int(val, 1, OPT_MAX_LEAD_US, &opt->max_lead_us))
        expected = "a number from 1 to 1000000000";
    if (expected == NULL)
        return 1;
    snprintf(err, err_len, "%s: expected %s, got '%s'", arg, expected, val);
    return -1;
}

static void opt_defaults(struct cmp_options *opt, char **traces)
{
    memset(opt, 0, sizeof(*opt));
    opt->runs = OPT_DEFAULT_RUNS;
    opt->instances[0] = 1;
    opt->ninstances = 1;
    opt->timeout_s = OPT_DEFAULT_TIMEOUT_S;
    opt->out_dir = OPT_DEFAULT_DIR;
    opt->shard = opt->nshards = 1;
    cmp_meta_host(opt->machine, sizeof(opt->machine));
    opt->plot = 1;
    opt->traces = traces;
}

/* Traces must exist and contain no comma (results.csv is unquoted). */
static int opt_check_traces(const struct cmp_options *opt, char *err,
                            size_t err_len)
{
    if (opt->ntraces == 0) {
        snprintf(err, err_len, "no trace given (mallard compare "
                 "[options] -o DIR TRACE...)");
        return -1;
    }
    for (int i = 0; i < opt->ntraces; i++) {
        struct stat st;
        const char *problem = stat(opt->traces[i], &st) != 0 ?
                              strerror(errno) : S_ISDIR(st.st_mode) ?
                              "is a directory, not a trace" : NULL;
        if (problem) {
            snprintf(err, err_len, "%s: %s", opt->traces[i], problem);
            return -1;
        }
        if (strchr(opt->traces[i], ',') ||
            strlen(opt->traces[i]) >= CMP_PATH_MAX / 2) {
            snprintf(err, err_len, "%s: a trace path may not contain a "
                     "comma or be this long", opt->traces[i]);
            return -1;
        }
    }
    return 0;
}

int cmp_options_parse(int argc, char **argv, struct cmp_options *opt,
                      char *err, size_t err_len)
{
    /* argv outlives opt, so traces point into a copy of its tail */
    char **traces = calloc((size_t)argc + 1, sizeof(char *));
    if (!traces)
        return -1;
    opt_defaults(opt, traces);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--no-plot") == 0) {
            opt->plot = 0;
            continue;
        }
        if (arg[0] != '-' || strcmp(arg, "-") == 0) {
            traces[opt->ntraces++] = argv[i];
            continue;
        }
        int r = i + 1 < argc ?
                opt_valued(arg, argv[i + 1], opt, err, err_len) : 0;
        if (r == 1) {
            i++;
            continue;
        }
        if (r == 0)
            snprintf(err, err_len, "%s: unknown option or missing value",
                     arg);
        return -1;
    }
    if (strlen(opt->out_dir) >= CMP_PATH_MAX / 2) {
        snprintf(err, err_len, "-o %.40s...: path too long", opt->out_dir);
        return -1;
    }
    return opt_check_traces(opt, err, err_len);
}
