/*
 * aggregate.c - from results rows to cases: each (trace, allocator,
 * instances) with its medians, intervals, ratios to the baseline, the
 * best of each trace and the geometric means per allocator.
 *
 * Invariants: only runs with status ok enter a statistic; a case with no
 * ok run has NaN everywhere (a gap in the charts) and keeps a pointer to
 * its first failure for the report.  Ratios compare a case with the
 * baseline's case of the same trace and instance count, and only when
 * both ran on the same machine (label): a shard keeps every allocator
 * of a trace together, so this holds for any merge of one comparison's
 * shards, and a mix that breaks it gets no ratio rather than a wrong
 * one.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

/* Most runs of one case that enter its statistics. */
#define AGG_MAX_RUNS 1024
/* Bytes per MiB, for the RSS figures people read. */
#define AGG_MIB 1048576.0

static int agg_index(const char **list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return (int)i;
    return -1;
}

static int agg_cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static size_t agg_machines(const struct cmp_rows *rows)
{
    size_t n = 0;
    for (size_t i = 0; i < rows->n; i++) {
        size_t j = 0;
        while (j < i && strcmp(rows->v[j].machine, rows->v[i].machine))
            j++;
        n += j == i;
    }
    return n;
}

/* Distinct traces, allocators (first-seen order) and instance counts. */
static int agg_axes(const struct cmp_rows *rows, struct cmp_stats *st)
{
    st->traces = calloc(rows->n + 1, sizeof(char *));
    st->allocators = calloc(rows->n + 1, sizeof(char *));
    st->instances = calloc(rows->n + 1, sizeof(int));
    if (!st->traces || !st->allocators || !st->instances)
        return -1;
    for (size_t i = 0; i < rows->n; i++) {
        const struct cmp_row *r = &rows->v[i];
        if (agg_index(st->traces, st->ntraces, r->trace) < 0)
            st->traces[st->ntraces++] = r->trace;
        if (agg_index(st->allocators, st->nallocators, r->allocator) < 0)
            st->allocators[st->nallocators++] = r->allocator;
        size_t k = 0;
        while (k < st->ninstances && st->instances[k] != r->instances)
            k++;
        if (k == st->ninstances)
            st->instances[st->ninstances++] = r->instances;
    }
    qsort(st->instances, st->ninstances, sizeof(int), agg_cmp_int);
    st->nmachines = agg_machines(rows);
    return 0;
}

/* Collects one measure of the case's ok runs into out. */
static size_t agg_collect(const struct cmp_rows *rows, const struct cmp_case *c,
                          size_t offset, double *out)
{
    size_t n = 0;
    for (size_t i = 0; i < rows->n && n < AGG_MAX_RUNS; i++) {
        const struct cmp_row *r = &rows->v[i];
        if (strcmp(r->trace, c->trace) || strcmp(r->allocator, c->allocator)
            || r->instances != c->instances || !cmp_row_ok(r))
            continue;
        out[n++] = *(const double *)((const char *)r + offset);
    }
    return n;
}

#define AGG_FIELD(name) offsetof(struct cmp_row, name)
#define AGG_LAT(i) (offsetof(struct cmp_row, lat_ns) + (i) * sizeof(double))

static double agg_median_of(const struct cmp_rows *rows,
                            const struct cmp_case *c, size_t offset)
{
    double v[AGG_MAX_RUNS];
    size_t n = agg_collect(rows, c, offset, v);
    return cmp_median(v, n);
}

/* The ok run whose wall time is nearest the median: its RSS timeline
 * stands for the case in the charts. */
static void agg_runs(const struct cmp_rows *rows, struct cmp_case *c)
{
    for (size_t i = 0; i < rows->n; i++) {
        const struct cmp_row *r = &rows->v[i];
        if (strcmp(r->trace, c->trace) || strcmp(r->allocator, c->allocator)
            || r->instances != c->instances)
            continue;
        if (!c->machine)
            c->machine = r->machine;
        if (!cmp_row_ok(r)) {
            c->n_failed++;
            if (!c->failure)
                c->failure = r;
            continue;
        }
        c->n_ok++;
        if (!c->median_run || fabs(r->wall_s - c->wall_med) <
                              fabs(c->median_run->wall_s - c->wall_med))
            c->median_run = r;
    }
}

static void agg_fill_case(const struct cmp_rows *rows, struct cmp_case *c)
{
    double v[AGG_MAX_RUNS];
    size_t n = agg_collect(rows, c, AGG_FIELD(wall_s), v);
    c->wall_med = cmp_median(v, n);
    c->wall_min = c->wall_max = n ? v[0] : NAN;
    for (size_t i = 0; i < n; i++) {
        c->wall_min = fmin(c->wall_min, v[i]);
        c->wall_max = fmax(c->wall_max, v[i]);
    }
    cmp_bootstrap_median_ci(v, n, &c->wall_lo, &c->wall_hi);
    agg_runs(rows, c);
    /* memory: the allocator's (anonymous resident), not the harness's */
    n = agg_collect(rows, c, AGG_FIELD(peak_anon_bytes), v);
    c->rss_med = cmp_median(v, n) / AGG_MIB;
    c->rss_min = c->rss_max = n ? v[0] / AGG_MIB : NAN;
    for (size_t i = 0; i < n; i++) {
        c->rss_min = fmin(c->rss_min, v[i] / AGG_MIB);
        c->rss_max = fmax(c->rss_max, v[i] / AGG_MIB);
    }
    c->calls_per_s_med = agg_median_of(rows, c, AGG_FIELD(calls_per_s));
    c->frag_med = agg_median_of(rows, c, AGG_FIELD(fragmentation));
    for (int i = 0; i < CMP_LAT_COUNT; i++)
        c->lat_med[i] = agg_median_of(rows, c, AGG_LAT(i));
    c->live_med = agg_median_of(rows, c, AGG_FIELD(peak_live_bytes));
    c->live_ratio = NAN;
    c->edge_wait_med = agg_median_of(rows, c, AGG_FIELD(edge_wait_s));
    c->edge_wait_large = c->edge_wait_med >
                         CMP_EDGE_WAIT_SHARE * c->wall_med;
    c->ratio = c->ratio_lo = c->ratio_hi = c->rss_ratio = NAN;
}

/* Ratios to the baseline's case of the same trace and instances. */
static void agg_ratio(const struct cmp_rows *rows, struct cmp_stats *st,
                      struct cmp_case *c)
{
    const struct cmp_case *base = cmp_stats_find(st, c->trace,
                                                 st->baseline, c->instances);
    if (!base || !base->n_ok || !c->n_ok ||
        strcmp(base->machine, c->machine) != 0)
        return;
    double a[AGG_MAX_RUNS], b[AGG_MAX_RUNS];
    size_t na = agg_collect(rows, c, AGG_FIELD(wall_s), a);
    size_t nb = agg_collect(rows, base, AGG_FIELD(wall_s), b);
    c->ratio = c->wall_med / base->wall_med;
    c->rss_ratio = c->rss_med / base->rss_med;
    c->live_ratio = c->live_med / base->live_med;
    c->live_differs = isfinite(c->live_ratio) &&
                      (c->live_ratio > CMP_LIVE_SPREAD ||
                       c->live_ratio * CMP_LIVE_SPREAD < 1.0);
    if (c == base) {
        c->ratio_lo = c->ratio_hi = 1.0;
        return;
    }
    cmp_bootstrap_ratio_ci(a, na, b, nb, &c->ratio_lo, &c->ratio_hi);
    c->within_noise = c->ratio_lo <= 1.0 && c->ratio_hi >= 1.0;
}

/* The fastest and the second fastest case of c's trace and instance
 * count (second NULL when c's group has one case). */
static void agg_two_fastest(struct cmp_stats *st, const struct cmp_case *c,
                            struct cmp_case **first,
                            struct cmp_case **second)
{
    *first = *second = NULL;
    for (size_t j = 0; j < st->ncases; j++) {
        struct cmp_case *o = &st->cases[j];
        if (!o->n_ok || o->instances != c->instances ||
            strcmp(o->trace, c->trace) != 0)
            continue;
        if (!*first || o->wall_med < (*first)->wall_med) {
            *second = *first;
            *first = o;
        } else if (!*second || o->wall_med < (*second)->wall_med) {
            *second = o;
        }
    }
}

/*
 * Marks the fastest case of each trace and instance count, when the
 * runs tell it apart from the second fastest: the bootstrap interval of
 * their ratio lies below 1.  Otherwise no case of the group is "best"
 * (a lead inside the noise is no lead).
 */
static void agg_best(const struct cmp_rows *rows, struct cmp_stats *st)
{
    for (size_t i = 0; i < st->ncases; i++) {
        struct cmp_case *c = &st->cases[i], *first, *second;
        c->best = 0;
        if (!c->n_ok)
            continue;
        agg_two_fastest(st, c, &first, &second);
        if (first != c)
            continue;
        if (second == NULL) {
            c->best = 1;
            continue;
        }
        double a[AGG_MAX_RUNS], b[AGG_MAX_RUNS], lo, hi;
        size_t na = agg_collect(rows, c, AGG_FIELD(wall_s), a);
        size_t nb = agg_collect(rows, second, AGG_FIELD(wall_s), b);
        cmp_bootstrap_ratio_ci(a, na, b, nb, &lo, &hi);
        c->best = hi < 1.0;
    }
}

static void agg_geomeans(struct cmp_stats *st)
{
    double t[st->ntraces + 1], m[st->ntraces + 1];
    for (size_t a = 0; a < st->nallocators; a++) {
        size_t n = 0;
        for (size_t i = 0; i < st->ntraces; i++) {
            const struct cmp_case *c = cmp_stats_find(st, st->traces[i],
                    st->allocators[a], st->instances[0]);
            if (c && isfinite(c->ratio) && isfinite(c->rss_ratio)) {
                t[n] = c->ratio;
                m[n++] = c->rss_ratio;
            }
        }
        st->geo_time[a] = cmp_geomean(t, n);
        st->geo_rss[a] = cmp_geomean(m, n);
        st->geo_traces[a] = (int)n;
    }
}

static int agg_alloc_cases(struct cmp_stats *st)
{
    size_t n = st->ntraces * st->nallocators * st->ninstances;
    st->cases = calloc(n + 1, sizeof(*st->cases));
    st->geo_time = calloc(st->nallocators + 1, sizeof(double));
    st->geo_rss = calloc(st->nallocators + 1, sizeof(double));
    st->geo_traces = calloc(st->nallocators + 1, sizeof(int));
    return (st->cases && st->geo_time && st->geo_rss && st->geo_traces)
           ? 0 : -1;
}

int cmp_stats_build(const struct cmp_rows *rows, const char *baseline,
                    struct cmp_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->baseline = baseline;
    if (agg_axes(rows, st) != 0 || agg_alloc_cases(st) != 0)
        return -1;
    for (size_t t = 0; t < st->ntraces; t++)
        for (size_t a = 0; a < st->nallocators; a++)
            for (size_t k = 0; k < st->ninstances; k++) {
                struct cmp_case *c = &st->cases[st->ncases];
                c->trace = st->traces[t];
                c->allocator = st->allocators[a];
                c->instances = st->instances[k];
                agg_fill_case(rows, c);
                if (c->n_ok || c->n_failed)
                    st->ncases++;
                else
                    memset(c, 0, sizeof(*c));
            }
    for (size_t i = 0; i < st->ncases; i++)
        agg_ratio(rows, st, &st->cases[i]);
    agg_best(rows, st);
    if (st->ninstances)
        agg_geomeans(st);
    return 0;
}

const struct cmp_case *cmp_stats_find(const struct cmp_stats *st,
                                      const char *trace,
                                      const char *allocator, int instances)
{
    for (size_t i = 0; i < st->ncases; i++) {
        const struct cmp_case *c = &st->cases[i];
        if (c->instances == instances && strcmp(c->trace, trace) == 0 &&
            strcmp(c->allocator, allocator) == 0)
            return c;
    }
    return NULL;
}

void cmp_stats_free(struct cmp_stats *st)
{
    free(st->cases);
    free(st->traces);
    free(st->allocators);
    free(st->instances);
    free(st->geo_time);
    free(st->geo_rss);
    free(st->geo_traces);
    memset(st, 0, sizeof(*st));
}
