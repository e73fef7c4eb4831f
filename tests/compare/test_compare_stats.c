/*
 * test_compare_stats.c - the arithmetic and file formats behind
 * `mallard compare`: medians, bootstrap intervals, geometric means,
 * ratios to the baseline (on one machine only), the results.csv round
 * trip and the reading of `mallard replay --json`.  Each check prints
 * what failed and the test exits 1 if any did.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "compare.h"

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1.0, fabs(b));
}

static void test_median_of_odd_and_even_counts(void)
{
    double odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 };
    CHECK(near(cmp_median(odd, 3), 3));
    CHECK(near(cmp_median(even, 4), 2.5));
    CHECK(isnan(cmp_median(odd, 0)));
    CHECK(odd[0] == 5);   /* the input is left in its order */
}

static void test_bootstrap_interval_brackets_median(void)
{
    double x[] = { 1.00, 1.02, 0.98, 1.05, 0.97, 1.01, 1.03 };
    double lo, hi, lo2, hi2;
    cmp_bootstrap_median_ci(x, 7, &lo, &hi);
    CHECK(lo <= cmp_median(x, 7) && hi >= cmp_median(x, 7));
    CHECK(lo >= 0.97 && hi <= 1.05);
    CHECK(lo < hi);
    cmp_bootstrap_median_ci(x, 7, &lo2, &hi2);
    CHECK(lo == lo2 && hi == hi2);   /* fixed seed: reproducible */
    double same[] = { 2, 2, 2 };
    cmp_bootstrap_median_ci(same, 3, &lo, &hi);
    CHECK(near(lo, 2) && near(hi, 2));
    cmp_bootstrap_median_ci(x, 1, &lo, &hi);
    CHECK(near(lo, 1) && near(hi, 1));
}

static void test_ratio_interval_of_twice_as_slow(void)
{
    double a[] = { 2.0, 2.1, 1.9, 2.0, 2.05 }, b[] = { 1.0, 1.05, 0.95,
                                                      1.0, 1.02 };
    double lo, hi;
    cmp_bootstrap_ratio_ci(a, 5, b, 5, &lo, &hi);
    CHECK(lo > 1.7 && lo <= 2.0 && hi >= 2.0 && hi < 2.3);
    /* the same distribution on both sides: the interval contains 1 */
    cmp_bootstrap_ratio_ci(b, 5, b, 5, &lo, &hi);
    CHECK(lo <= 1.0 && hi >= 1.0);
}

static void test_geomean_ignores_missing(void)
{
    double x[] = { 2.0, 0.5, NAN, 4.0 };
    CHECK(near(cmp_geomean(x, 2), 1.0));
    CHECK(near(cmp_geomean(x, 4), cbrt(4.0)));   /* of 2, 0.5 and 4 */
    CHECK(isnan(cmp_geomean(x + 2, 1)));
}

static struct cmp_row make_row(long seq, const char *alloc, int run,
                               const char *status, double wall)
{
    struct cmp_row r;
    memset(&r, 0, sizeof(r));
    r.seq = seq;
    snprintf(r.trace, sizeof(r.trace), "traces/t.trace");
    snprintf(r.allocator, sizeof(r.allocator), "%s", alloc);
    snprintf(r.status, sizeof(r.status), "%s", status);
    snprintf(r.message, sizeof(r.message), "%s",
             strcmp(status, "ok") ? "killed; by \"signal\" 11" : "");
    cmp_csv_clean(r.message);
    r.instances = 1;
    r.run = run;
    r.wall_s = wall;
    r.peak_rss_bytes = 1048576.0 * wall + 65536.0;
    r.peak_anon_bytes = 1048576.0 * wall;
    for (int i = 0; i < CMP_LAT_COUNT; i++)
        r.lat_ns[i] = 100.0 * (i + 1);
    return r;
}

static void test_stats_ratios_best_and_failed_cases(void)
{
    struct cmp_rows rows = { 0 };
    const double base[] = { 1.0, 1.1, 0.9 }, fast[] = { 0.5, 0.55, 0.45 };
    for (int r = 0; r < 3; r++) {
        struct cmp_row b = make_row(3 * r, "glibc", r + 1, "ok", base[r]);
        struct cmp_row f = make_row(3 * r + 1, "fast", r + 1, "ok", fast[r]);
        struct cmp_row x = make_row(3 * r + 2, "broken", r + 1, "crashed",
                                    NAN);
        cmp_rows_push(&rows, &b);
        cmp_rows_push(&rows, &f);
        cmp_rows_push(&rows, &x);
    }
    struct cmp_stats st;
    CHECK(cmp_stats_build(&rows, "glibc", &st) == 0);
    CHECK(st.ncases == 3 && st.nallocators == 3 && st.ntraces == 1);
    const struct cmp_case *g = cmp_stats_find(&st, "traces/t.trace",
                                              "glibc", 1);
    const struct cmp_case *f = cmp_stats_find(&st, "traces/t.trace",
                                              "fast", 1);
    const struct cmp_case *x = cmp_stats_find(&st, "traces/t.trace",
                                              "broken", 1);
    CHECK(g && f && x);
    if (g && f && x) {
        CHECK(near(g->ratio, 1.0) && near(f->ratio, 0.5));
        CHECK(f->best && !g->best && !x->best);
        CHECK(!f->within_noise && f->ratio_hi < 1.0);
        CHECK(x->n_ok == 0 && x->n_failed == 3 && isnan(x->ratio));
        CHECK(x->failure && strcmp(x->failure->status, "crashed") == 0);
        CHECK(near(f->rss_med, 0.5) && near(f->lat_med[4], 500));
        CHECK(f->median_run && near(f->median_run->wall_s, 0.5));
    }
    CHECK(near(st.geo_time[1], 0.5) && isnan(st.geo_time[2]));
    cmp_stats_free(&st);
    cmp_rows_free(&rows);
}

/* Two allocators whose runs overlap: neither is "best". */
static void test_no_best_within_noise(void)
{
    struct cmp_rows rows = { 0 };
    const double a[] = { 1.0, 1.2, 0.9 }, b[] = { 0.95, 1.15, 1.05 };
    for (int r = 0; r < 3; r++) {
        struct cmp_row ra = make_row(2 * r, "glibc", r + 1, "ok", a[r]);
        struct cmp_row rb = make_row(2 * r + 1, "other", r + 1, "ok", b[r]);
        cmp_rows_push(&rows, &ra);
        cmp_rows_push(&rows, &rb);
    }
    struct cmp_stats st;
    CHECK(cmp_stats_build(&rows, "glibc", &st) == 0);
    const struct cmp_case *g = cmp_stats_find(&st, "traces/t.trace",
                                              "glibc", 1);
    const struct cmp_case *o = cmp_stats_find(&st, "traces/t.trace",
                                              "other", 1);
    CHECK(g && o && !g->best && !o->best && o->within_noise);
    cmp_stats_free(&st);
    cmp_rows_free(&rows);
}

/* A baseline measured on another machine gives no ratio. */
static void test_no_ratio_across_machines(void)
{
    struct cmp_rows rows = { 0 };
    for (int r = 0; r < 2; r++) {
        struct cmp_row b = make_row(2 * r, "glibc", r + 1, "ok", 1.0);
        struct cmp_row o = make_row(2 * r + 1, "other", r + 1, "ok", 0.5);
        snprintf(b.machine, sizeof(b.machine), "alpha");
        snprintf(o.machine, sizeof(o.machine), "beta");
        cmp_rows_push(&rows, &b);
        cmp_rows_push(&rows, &o);
    }
    struct cmp_stats st;
    CHECK(cmp_stats_build(&rows, "glibc", &st) == 0);
    CHECK(st.nmachines == 2);
    const struct cmp_case *o = cmp_stats_find(&st, "traces/t.trace",
                                              "other", 1);
    CHECK(o && strcmp(o->machine, "beta") == 0 && isnan(o->ratio));
    CHECK(isnan(st.geo_time[1]));
    cmp_stats_free(&st);
    cmp_rows_free(&rows);
}

static void test_results_csv_round_trip(void)
{
    char path[] = "/tmp/mallard-test-results-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    struct cmp_row a = make_row(7, "jemalloc", 2, "ok", 0.25);
    struct cmp_row b = make_row(3, "x", 1, "timeout", NAN);
    snprintf(a.machine, sizeof(a.machine), "node-7");
    cmp_row_write_header(f);
    cmp_row_write(f, &a);
    cmp_row_write(f, &b);
    fclose(f);
    struct cmp_rows rows = { 0 };
    char err[CMP_ERR_MAX];
    CHECK(cmp_rows_read(path, &rows, err, sizeof(err)) == 0);
    CHECK(rows.n == 2);
    if (rows.n == 2) {
        CHECK(rows.v[0].seq == 7 && rows.v[0].run == 2);
        CHECK(strcmp(rows.v[0].allocator, "jemalloc") == 0);
        CHECK(strcmp(rows.v[0].machine, "node-7") == 0);
        CHECK(near(rows.v[0].wall_s, 0.25) && cmp_row_ok(&rows.v[0]));
        CHECK(strcmp(rows.v[1].status, "timeout") == 0);
        CHECK(isnan(rows.v[1].wall_s));
        CHECK(strchr(rows.v[1].message, ',') == NULL);
        cmp_rows_sort(&rows);
        CHECK(rows.v[0].seq == 3);
    }
    cmp_rows_free(&rows);
    /* a damaged line is an error naming the file and the line */
    f = fopen(path, "a");
    fputs("8,t,glibc,1\n", f);
    fclose(f);
    CHECK(cmp_rows_read(path, &rows, err, sizeof(err)) != 0);
    CHECK(strstr(err, "line 4") != NULL);
    cmp_rows_free(&rows);
    unlink(path);
}

static void test_reads_replay_json(void)
{
    const char *json =
        "{\"schema\": \"mallard-replay-1\", \"trace\": \"t\",\n"
        " \"runs\": [\n {\"run\": 1, \"status\": \"alloc_null\", "
        "\"signal\": 0, \"message\": \"malloc(21), \\\"NULL\\\"\",\n"
        "  \"wall_s\": 0.5, \"peak_rss_bytes\": 4096, \"calls\": 10,\n"
        "  \"latency_ns\": {\"malloc\": {\"p50\": 1, \"max\": 2},\n"
        "   \"all\": {\"p50\": 10.5, \"p90\": 20, \"p99\": 30, "
        "\"p999\": 40, \"max\": 50}}}]}";
    struct cmp_row r;
    memset(&r, 0, sizeof(r));
    CHECK(cmp_parse_replay_json(json, &r) == 0);
    CHECK(strcmp(r.status, "alloc_null") == 0);
    CHECK(strcmp(r.message, "malloc(21); 'NULL'") == 0);
    CHECK(near(r.wall_s, 0.5) && near(r.peak_rss_bytes, 4096));
    CHECK(near(r.lat_ns[0], 10.5) && near(r.lat_ns[4], 50));
    CHECK(isnan(r.user_s));   /* absent field: not measured */
    CHECK(cmp_parse_replay_json("{\"schema\": \"other\"}", &r) != 0);
}

/* Names in tables and charts: the base name, or as many folders more
 * as tell two libraries of one name apart. */
static void test_display_names_stay_distinct(void)
{
    const char *allocators[] = { "glibc", "/tmp/old/libmallard.so",
                                 "/tmp/new/libmallard.so", "x/y/libz.so",
                                 "libz.so" };
    struct cmp_stats st;
    memset(&st, 0, sizeof(st));
    st.allocators = allocators;
    st.nallocators = 5;
    const char *want[] = { "glibc", "old/libmallard.so",
                           "new/libmallard.so", "y/libz.so", "libz.so" };
    char name[CMP_NAME_MAX];
    for (size_t a = 0; a < 5; a++) {
        cmp_display_name(&st, allocators[a], name, sizeof(name));
        CHECK_MSG(strcmp(name, want[a]) == 0, "%s shown as %s",
                  allocators[a], name);
    }
    cmp_display_name(NULL, "/tmp/my lib.so", name, sizeof(name));
    CHECK(strcmp(name, "my_lib.so") == 0);
}

/*
 * Replays whose own peak of live bytes is far from the baseline's (a
 * thread ran ahead of the recorded order in one and not the other)
 * are flagged, in the terminal summary too: their memory figures
 * compare different live sets.  Within CMP_LIVE_SPREAD, no flag.
 */
static void test_live_sets_that_differ_are_flagged(void)
{
    struct cmp_rows rows = { 0 };
    const char *names[] = { "glibc", "near", "ahead", "behind" };
    const double live[] = { 10e6, 11e6, 20e6, 7e6 };
    for (int r = 0; r < 3; r++)
        for (int a = 0; a < 4; a++) {
            struct cmp_row row = make_row(4 * r + a, names[a], r + 1, "ok",
                                          1.0 + 0.01 * r);
            row.peak_live_bytes = live[a] * (1.0 + 0.01 * r);
            cmp_rows_push(&rows, &row);
        }
    struct cmp_stats st;
    CHECK(cmp_stats_build(&rows, "glibc", &st) == 0);
    int flagged[4];
    for (int a = 0; a < 4; a++) {
        const struct cmp_case *c = cmp_stats_find(&st, "traces/t.trace",
                                                  names[a], 1);
        CHECK(c != NULL);
        flagged[a] = c ? c->live_differs : -1;
    }
    CHECK(!flagged[0] && !flagged[1] && flagged[2] && flagged[3]);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CHECK(out != NULL);
    if (out) {
        cmp_summary_print(out, &st);
        fclose(out);
        CHECK(strstr(text, "^ : these replays peaked") != NULL);
        const char *ahead = strstr(text, "  ahead ");
        CHECK(ahead && strchr(ahead, '^') < strchr(ahead, '\n'));
        const char *near_line = strstr(text, "  near ");
        CHECK(near_line && (!strchr(near_line, '^') ||
                            strchr(near_line, '^') > strchr(near_line, '\n')));
        free(text);
    }
    cmp_stats_free(&st);
    cmp_rows_free(&rows);
}

int main(void)
{
    test_median_of_odd_and_even_counts();
    test_bootstrap_interval_brackets_median();
    test_ratio_interval_of_twice_as_slow();
    test_geomean_ignores_missing();
    test_stats_ratios_best_and_failed_cases();
    test_no_best_within_noise();
    test_no_ratio_across_machines();
    test_results_csv_round_trip();
    test_reads_replay_json();
    test_display_names_stay_distinct();
    test_live_sets_that_differ_are_flagged();
    CHECK_DONE();
}
