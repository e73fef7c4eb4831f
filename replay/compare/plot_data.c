/*
 * plot_data.c - DIR/data/: the whitespace-separated tables the gnuplot
 * scripts in plots/ read (plots/ reads result files and nothing else).
 *
 * Invariants: columns follow the allocator order of the stats (the
 * order of the colours passed to gnuplot); a missing value is NaN, which
 * gnuplot leaves out, so a failed case is a gap, not a zero.  Multi-trace
 * files hold one gnuplot "index" block per trace (two blank lines apart),
 * in trace order.  Bar charts use the smallest instance count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

#define DATA_MIB 1048576.0

static FILE *data_open(const char *dir, const char *name, char *err,
                       size_t err_len)
{
    char path[CMP_PATH_MAX];
    snprintf(path, sizeof(path), "%s/data/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        snprintf(err, err_len, "%s: cannot write", path);
    return f;
}

static void data_label(FILE *f, const char *trace)
{
    char label[CMP_PATH_MAX];
    cmp_trace_label(trace, label, sizeof(label));
    cmp_csv_clean(label);
    for (char *p = label; *p; p++)
        if (*p == ' ' || *p == '\'')
            *p = '_';
    fprintf(f, "\"%s\"", label);
}

/* Case of trace t, allocator a at the smallest instance count. */
static const struct cmp_case *data_case(const struct cmp_stats *st,
                                        size_t t, size_t a)
{
    return cmp_stats_find(st, st->traces[t], st->allocators[a],
                          st->instances[0]);
}

/* time.dat: trace, then per allocator ratio, low, high (95% CI). */
static void data_time(FILE *f, const struct cmp_stats *st)
{
    fprintf(f, "# trace, then per allocator: time ratio to %s, 95%% "
            "interval low, high\n", st->baseline);
    for (size_t t = 0; t < st->ntraces; t++) {
        data_label(f, st->traces[t]);
        for (size_t a = 0; a < st->nallocators; a++) {
            const struct cmp_case *c = data_case(st, t, a);
            fprintf(f, " %g %g %g", c ? c->ratio : NAN,
                    c ? c->ratio_lo : NAN, c ? c->ratio_hi : NAN);
        }
        fputc('\n', f);
    }
}

/* rss.dat: trace, then per allocator median, min, max peak memory (the
 * allocator's anonymous resident memory), MiB. */
static void data_rss(FILE *f, const struct cmp_stats *st)
{
    fprintf(f, "# trace, then per allocator: peak memory MiB median, min, "
            "max\n");
    for (size_t t = 0; t < st->ntraces; t++) {
        data_label(f, st->traces[t]);
        for (size_t a = 0; a < st->nallocators; a++) {
            const struct cmp_case *c = data_case(st, t, a);
            fprintf(f, " %g %g %g", c ? c->rss_med : NAN,
                    c ? c->rss_min : NAN, c ? c->rss_max : NAN);
        }
        fputc('\n', f);
    }
}

/* latency.dat: a block per trace; rows p50..max, a column per
 * allocator (median over runs, ns, all call kinds). */
static void data_latency(FILE *f, const struct cmp_stats *st)
{
    static const char *const names[CMP_LAT_COUNT] = {
        "p50", "p90", "p99", "p99.9", "max" };
    fprintf(f, "# per trace: percentile, then per allocator ns\n");
    for (size_t t = 0; t < st->ntraces; t++) {
        for (int q = 0; q < CMP_LAT_COUNT; q++) {
            fprintf(f, "\"%s\"", names[q]);
            for (size_t a = 0; a < st->nallocators; a++) {
                const struct cmp_case *c = data_case(st, t, a);
                fprintf(f, " %g", c ? c->lat_med[q] : NAN);
            }
            fputc('\n', f);
        }
        fputs("\n\n", f);
    }
}

/* scaling.dat: a block per trace; rows instance counts, a column per
 * allocator: median calls per second (all instances). */
static void data_scaling(FILE *f, const struct cmp_stats *st)
{
    fprintf(f, "# per trace: instances, then per allocator calls/s\n");
    for (size_t t = 0; t < st->ntraces; t++) {
        for (size_t k = 0; k < st->ninstances; k++) {
            fprintf(f, "%d", st->instances[k]);
            for (size_t a = 0; a < st->nallocators; a++) {
                const struct cmp_case *c = cmp_stats_find(st,
                        st->traces[t], st->allocators[a], st->instances[k]);
                fprintf(f, " %g", c ? c->calls_per_s_med : NAN);
            }
            fputc('\n', f);
        }
        fputs("\n\n", f);
    }
}

/* geomean.dat: rows time and peak memory, a column per allocator. */
static void data_geomean(FILE *f, const struct cmp_stats *st)
{
    fprintf(f, "# measure, then per allocator geometric mean of the "
            "ratios to %s\n\"time\"", st->baseline);
    for (size_t a = 0; a < st->nallocators; a++)
        fprintf(f, " %g", st->geo_time[a]);
    fputs("\n\"peak memory\"", f);
    for (size_t a = 0; a < st->nallocators; a++)
        fprintf(f, " %g", st->geo_rss[a]);
    fputc('\n', f);
}

/* rss-T-A.dat (1-based): time s, the allocator's memory (anonymous
 * resident) MiB, ideal live MiB of the run of median time; one NaN row
 * when the case has no successful run. */
static int data_timeline(const char *dir, const struct cmp_case *c,
                         FILE *out)
{
    char path[CMP_PATH_MAX], line[CMP_PATH_MAX];
    FILE *in = NULL;
    if (c && c->median_run && c->median_run->rss_file[0] &&
        cmp_join(path, sizeof(path), dir, c->median_run->rss_file) == 0)
        in = fopen(path, "r");
    fprintf(out, "# time_s memory_mib live_mib\n");
    int rows = 0;
    while (in && fgets(line, sizeof(line), in)) {
        int run;
        double t, rss, live, anon;
        if (sscanf(line, "%d,%lf,%lf,%lf,%lf", &run, &t, &rss, &live,
                   &anon) == 5) {
            fprintf(out, "%g %g %g\n", t, anon / DATA_MIB,
                    live / DATA_MIB);
            rows++;
        }
    }
    if (in)
        fclose(in);
    if (!rows)
        fprintf(out, "NaN NaN NaN\n");
    return 0;
}

/* The case whose live bytes stand for the ideal of trace t: the
 * baseline's if it ran, else the first that did (live bytes are the
 * trace's, the same under every allocator). */
static const struct cmp_case *data_ideal(const struct cmp_stats *st,
                                         size_t t)
{
    const struct cmp_case *c = cmp_stats_find(st, st->traces[t],
                                              st->baseline,
                                              st->instances[0]);
    for (size_t a = 0; a < st->nallocators && !(c && c->median_run); a++)
        c = data_case(st, t, a);
    return c;
}

/* rss-T-A.dat for every allocator A >= 1, and rss-T-0.dat the ideal. */
static int data_timelines(const char *dir, const struct cmp_stats *st,
                          char *err, size_t err_len)
{
    for (size_t t = 0; t < st->ntraces; t++)
        for (size_t a = 0; a <= st->nallocators; a++) {
            char name[CMP_NAME_MAX];
            snprintf(name, sizeof(name), "rss-%zu-%zu.dat", t + 1, a);
            FILE *f = data_open(dir, name, err, err_len);
            if (!f)
                return -1;
            data_timeline(dir, a ? data_case(st, t, a - 1)
                                 : data_ideal(st, t), f);
            fclose(f);
        }
    return 0;
}

int cmp_plot_data_write(const char *dir, const struct cmp_stats *st,
                        char *err, size_t err_len)
{
    static const struct {
        const char *name;
        void (*write)(FILE *, const struct cmp_stats *);
    } files[] = {
        { "time.dat", data_time }, { "rss.dat", data_rss },
        { "latency.dat", data_latency }, { "scaling.dat", data_scaling },
        { "geomean.dat", data_geomean },
    };
    char sub[CMP_PATH_MAX];
    snprintf(sub, sizeof(sub), "%s/data", dir);
    if (cmp_mkdir_p(sub, err, err_len) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        FILE *f = data_open(dir, files[i].name, err, err_len);
        if (!f)
            return -1;
        files[i].write(f, st);
        if (fclose(f) != 0) {
            snprintf(err, err_len, "%s/data/%s: cannot write", dir,
                     files[i].name);
            return -1;
        }
    }
    return data_timelines(dir, st, err, err_len);
}
