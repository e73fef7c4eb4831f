/*
 * cmd_compare.c - `mallard compare`: the schedule of runs and the order
 * of the work (options, allocators, folder, runs, summary, charts).
 *
 * The schedule interleaves: round r runs every case once before round
 * r + 1 starts (A B C A B C), so a slow drift of the machine (heat, a
 * background job) spreads over all allocators instead of landing on
 * one.  A run's seq is its place in the whole schedule, the same in
 * every shard, so merged shards sort back into one run's order.
 *
 * A shard (--shard I/N) takes whole groups: every allocator of a (trace,
 * instance count) runs in the same shard, on the same machine, so a
 * ratio to the baseline never divides times taken on two machines.
 * Group g belongs to shard g mod N + 1.
 */
#include <stdlib.h>
#include <string.h>

#include "compare.h"

struct compare_case {
    const char *trace, *allocator;
    int instances;
};

static struct compare_case *compare_cases(const struct cmp_options *o,
                                          size_t *n)
{
    size_t total = (size_t)o->ntraces * (size_t)o->ninstances *
                   (size_t)o->nallocators;
    struct compare_case *c = calloc(total + 1, sizeof(*c));
    *n = 0;
    for (int t = 0; c && t < o->ntraces; t++)
        for (int k = 0; k < o->ninstances; k++)
            for (int a = 0; a < o->nallocators; a++)
                c[(*n)++] = (struct compare_case){ o->traces[t],
                    o->allocators[a], o->instances[k] };
    return c;
}

static int compare_prepare_dir(const char *dir, char *err, size_t len)
{
    char sub[CMP_PATH_MAX];
    if (cmp_clear_dir(dir, err, len) != 0 || cmp_mkdir_p(dir, err, len))
        return -1;
    snprintf(sub, sizeof(sub), "%s/rss", dir);
    if (cmp_mkdir_p(sub, err, len) != 0)
        return -1;
    snprintf(sub, sizeof(sub), "%s/logs", dir);
    return cmp_mkdir_p(sub, err, len);
}

/* Whether case c (in compare_cases' order: trace, instances, then
 * allocator) is in this shard: its group's index modulo N. */
static int compare_in_shard(const struct cmp_options *o, size_t c)
{
    size_t group = c / (size_t)o->nallocators;
    return group % (size_t)o->nshards == (size_t)(o->shard - 1);
}

/* Runs this shard's slice of the schedule, appending rows to csv. */
static int compare_run_all(const struct cmp_options *o, const char *self,
                           FILE *csv, struct cmp_rows *rows)
{
    size_t ncases, total = 0;
    struct compare_case *cases = compare_cases(o, &ncases);
    if (!cases)
        return -1;
    for (size_t c = 0; c < ncases; c++)
        total += compare_in_shard(o, c);
    if (total == 0)
        fprintf(stderr, "compare: shard %d of %d has nothing to run "
                "(the comparison has %zu trace and instance-count "
                "pair%s)\n", o->shard, o->nshards,
                ncases / (size_t)o->nallocators,
                ncases == (size_t)o->nallocators ? "" : "s");
    struct cmp_progress prog;
    cmp_progress_start(&prog, stderr, total * (size_t)o->runs);
    for (int r = 1; r <= o->runs; r++)
        for (size_t c = 0; c < ncases; c++) {
            if (!compare_in_shard(o, c))
                continue;
            struct cmp_run_spec spec = { self, o->out_dir, cases[c].trace,
                cases[c].allocator, cases[c].instances, r,
                (long)((size_t)(r - 1) * ncases + c), o->timeout_s,
                o->max_lead_us };
            struct cmp_row row;
            cmp_run_one(&spec, &row);
            snprintf(row.machine, sizeof(row.machine), "%s", o->machine);
            cmp_row_write(csv, &row);
            fflush(csv);
            cmp_rows_push(rows, &row);
            cmp_progress_step(&prog, &row);
        }
    cmp_progress_end(&prog);
    free(cases);
    return 0;
}

/* Runs the shard and sums it up; *nruns: the rows it wrote. */
static int compare_results(const struct cmp_options *o, const char *self,
                           size_t *nruns)
{
    char path[CMP_PATH_MAX], err[CMP_ERR_MAX];
    snprintf(path, sizeof(path), "%s/results.csv", o->out_dir);
    FILE *csv = fopen(path, "w");
    if (!csv) {
        fprintf(stderr, "mallard compare: %s: cannot write\n", path);
        return 2;
    }
    cmp_row_write_header(csv);
    struct cmp_rows rows = { 0 };
    int rc = compare_run_all(o, self, csv, &rows);
    fclose(csv);
    if (rc == 0 && cmp_meta_append(o->out_dir, "finished", "yes") != 0)
        fprintf(stderr, "mallard compare: %s/meta.txt: cannot write\n",
                o->out_dir);
    struct cmp_stats st;
    if (rc == 0 && rows.n == 0) {
        /* an empty shard: nothing to sum up */
    } else if (rc == 0 && cmp_stats_build(&rows, o->baseline, &st) == 0) {
        if (cmp_summary_write_json(o->out_dir, &st, err, sizeof(err)))
            fprintf(stderr, "mallard compare: %s\n", err);
        cmp_summary_print(stdout, &st);
        cmp_stats_free(&st);
    } else {
        fprintf(stderr, "mallard compare: out of memory\n");
    }
    *nruns = rows.n;
    cmp_rows_free(&rows);
    printf("results: %s (one row per run, docs/compare.md)\n", path);
    return rc == 0 ? 0 : 1;
}

static int compare_setup(struct cmp_options *o, int argc, char **argv,
                         char *self, size_t len)
{
    char err[CMP_ERR_MAX];
    if (cmp_options_parse(argc, argv, o, err, sizeof(err)) != 0) {
        fprintf(stderr, "mallard compare: %s\n", err);
        cmp_options_usage(stderr);
        return -1;
    }
    if (cmp_self_exe(self, len) != 0) {
        fprintf(stderr, "mallard compare: cannot find the mallard "
                "executable (/proc/self/exe)\n");
        return -1;
    }
    if (cmp_allocators_pick(o, stderr) != 0)
        return -1;
    fprintf(stderr, "compare: allocators %s", o->allocators[0]);
    for (int i = 1; i < o->nallocators; i++)
        fprintf(stderr, ",%s", o->allocators[i]);
    fprintf(stderr, "%s; baseline %s; %d run%s per case\n",
            o->allocators_given ? "" : " (every one installed)",
            o->baseline, o->runs, o->runs == 1 ? "" : "s");
    if (compare_prepare_dir(o->out_dir, err, sizeof(err)) != 0 ||
        cmp_meta_write(o->out_dir, argc, argv, o, err, sizeof(err)) != 0) {
        fprintf(stderr, "mallard compare: %s\n", err);
        return -1;
    }
    return 0;
}

int cmd_compare(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cmp_options_usage(stdout);
            return 0;
        }
    struct cmp_options o;
    char self[CMP_PATH_MAX];
    if (compare_setup(&o, argc, argv, self, sizeof(self)) != 0)
        return 2;
    size_t nruns = 0;
    int rc = compare_results(&o, self, &nruns);
    if (rc == 0 && o.plot && nruns > 0)
        rc = cmp_plot_dir(o.out_dir);
    free(o.traces);
    for (int i = 0; i < o.nallocators; i++)
        free(o.allocators[i]);
    return rc;
}
