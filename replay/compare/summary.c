/*
 * summary.c - what a comparison concluded: DIR/summary.json (schema
 * mallard-compare-2, docs/compare.md) for scripts, and the table printed
 * at the end of a compare for people.
 *
 * The table shows, per trace, each allocator's median time with its
 * bootstrap interval, the ratio to the baseline with its interval, peak
 * RSS, and two marks: "best" (lowest median) and "~" when the ratio's
 * interval contains 1, i.e. the difference is within the noise of the
 * runs.  NaN (no successful run) is printed as "failed", and as null in
 * JSON.
 */
#include <math.h>
#include <string.h>

#include "compare.h"

static void sum_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s < ' ')
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void sum_num(FILE *f, const char *key, double v)
{
    if (isfinite(v))
        fprintf(f, ", \"%s\": %.6g", key, v);
    else
        fprintf(f, ", \"%s\": null", key);
}

static void sum_case_json(FILE *f, const struct cmp_case *c)
{
    static const char *const lat[CMP_LAT_COUNT] = {
        "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns" };
    fputs("    {\"trace\": ", f);
    sum_str(f, c->trace);
    fputs(", \"allocator\": ", f);
    sum_str(f, c->allocator);
    fprintf(f, ", \"instances\": %d, \"machine\": ", c->instances);
    sum_str(f, c->machine ? c->machine : "");
    fprintf(f, ", \"runs_ok\": %d, \"runs_failed\": %d", c->n_ok,
            c->n_failed);
    sum_num(f, "wall_s_median", c->wall_med);
    sum_num(f, "wall_s_min", c->wall_min);
    sum_num(f, "wall_s_max", c->wall_max);
    sum_num(f, "wall_s_ci95_low", c->wall_lo);
    sum_num(f, "wall_s_ci95_high", c->wall_hi);
    sum_num(f, "time_ratio", c->ratio);
    sum_num(f, "time_ratio_ci95_low", c->ratio_lo);
    sum_num(f, "time_ratio_ci95_high", c->ratio_hi);
    fprintf(f, ", \"within_noise\": %s, \"best\": %s",
            c->within_noise ? "true" : "false", c->best ? "true" : "false");
    sum_num(f, "peak_memory_mib_median", c->rss_med);
    sum_num(f, "peak_memory_ratio", c->rss_ratio);
    sum_num(f, "calls_per_s_median", c->calls_per_s_med);
    sum_num(f, "fragmentation_median", c->frag_med);
    sum_num(f, "peak_live_bytes_median", c->live_med);
    sum_num(f, "live_ratio", c->live_ratio);
    fprintf(f, ", \"live_differs\": %s", c->live_differs ? "true" : "false");
    for (int i = 0; i < CMP_LAT_COUNT; i++)
        sum_num(f, lat[i], c->lat_med[i]);
    if (c->failure) {
        fputs(", \"failure\": ", f);
        sum_str(f, c->failure->status);
        fputs(", \"failure_message\": ", f);
        sum_str(f, c->failure->message);
    }
    fputs("}", f);
}

static void sum_geomeans_json(FILE *f, const struct cmp_stats *st)
{
    fputs("  \"geomean\": [\n", f);
    for (size_t a = 0; a < st->nallocators; a++) {
        fputs("    {\"allocator\": ", f);
        sum_str(f, st->allocators[a]);
        sum_num(f, "time_ratio", st->geo_time[a]);
        sum_num(f, "peak_memory_ratio", st->geo_rss[a]);
        fprintf(f, ", \"traces\": %d}%s\n", st->geo_traces[a],
                a + 1 < st->nallocators ? "," : "");
    }
    fputs("  ]\n", f);
}

int cmp_summary_write_json(const char *dir, const struct cmp_stats *st,
                           char *err, size_t err_len)
{
    char path[CMP_PATH_MAX];
    snprintf(path, sizeof(path), "%s/summary.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, err_len, "%s: cannot write", path);
        return -1;
    }
    fputs("{\"schema\": \"mallard-compare-2\", \"baseline\": ", f);
    sum_str(f, st->baseline);
    fputs(",\n  \"cases\": [\n", f);
    for (size_t i = 0; i < st->ncases; i++) {
        sum_case_json(f, &st->cases[i]);
        fputs(i + 1 < st->ncases ? ",\n" : "\n", f);
    }
    fputs("  ],\n", f);
    sum_geomeans_json(f, st);
    fputs("}\n", f);
    if (fclose(f) != 0) {
        snprintf(err, err_len, "%s: cannot write", path);
        return -1;
    }
    return 0;
}

/* The allocator column: as wide as the longest name shown, at least
 * 12. */
static int sum_name_width(const struct cmp_stats *st)
{
    int width = 12;
    for (size_t a = 0; a < st->nallocators; a++) {
        char name[CMP_NAME_MAX];
        cmp_display_name(st, st->allocators[a], name, sizeof(name));
        if ((int)strlen(name) > width)
            width = (int)strlen(name);
    }
    return width;
}

static void sum_print_case(FILE *out, const struct cmp_stats *st,
                           const struct cmp_case *c, int width)
{
    const char *baseline = st->baseline;
    char name[CMP_NAME_MAX];
    cmp_display_name(st, c->allocator, name, sizeof(name));
    fprintf(out, "  %-*s", width, name);
    if (!c->n_ok) {
        fprintf(out, " failed: %s (%s)\n", c->failure->status,
                c->failure->message);
        return;
    }
    fprintf(out, " %9.4f [%9.4f,%9.4f]", c->wall_med, c->wall_lo,
            c->wall_hi);
    if (strcmp(c->allocator, baseline) == 0)
        fprintf(out, "  %5.2fx %17s", 1.0, "(baseline)");
    else if (isfinite(c->ratio))
        fprintf(out, "  %5.2fx [%5.2f, %5.2f] %s", c->ratio, c->ratio_lo,
                c->ratio_hi, c->within_noise ? "~" : " ");
    else
        fprintf(out, "  %24s", "(no baseline)");
    fprintf(out, " %9.1f%s%9.4f%s", c->rss_med,
            c->live_differs ? "^" : " ", c->edge_wait_med,
            c->edge_wait_large ? "!" : " ");
    if (c->n_failed)
        fprintf(out, "  %d/%d runs failed", c->n_failed,
                c->n_ok + c->n_failed);
    fprintf(out, "%s\n", c->best ? "  best" : "");
}

/* The machine a trace's group ran on, for the heading ("" when every
 * run of the comparison ran on one machine). */
static const char *sum_machine(const struct cmp_stats *st,
                               const char *trace, int instances)
{
    for (size_t a = 0; st->nmachines > 1 && a < st->nallocators; a++) {
        const struct cmp_case *c = cmp_stats_find(st, trace,
                st->allocators[a], instances);
        if (c && c->machine)
            return c->machine;
    }
    return "";
}

static void sum_print_trace(FILE *out, const struct cmp_stats *st,
                            const char *trace, int instances, int width)
{
    char label[CMP_PATH_MAX];
    const char *machine = sum_machine(st, trace, instances);
    cmp_trace_label(trace, label, sizeof(label));
    fprintf(out, "\n%s, %d instance%s%s%s:\n  %-*s %9s %21s  %-24s %9s "
            "%9s\n", label, instances, instances == 1 ? "" : "s",
            *machine ? ", on " : "", machine, width,
            "allocator", "time s",
            "95% interval", "ratio to baseline [95%]", "memory MiB",
            "edge s");
    for (size_t a = 0; a < st->nallocators; a++) {
        const struct cmp_case *c = cmp_stats_find(st, trace,
                st->allocators[a], instances);
        if (c)
            sum_print_case(out, st, c, width);
    }
}

/* The note under the tables on live sets, when some case needs it. */
static void sum_print_live_note(FILE *out, const struct cmp_stats *st)
{
    for (size_t i = 0; i < st->ncases; i++) {
        if (!st->cases[i].live_differs)
            continue;
        fprintf(out, "^ : these replays peaked at over %.2fx (or under "
                "1/%.2f) the baseline's live bytes:\n    threads ran "
                "ahead of the recorded order differently, so the memory "
                "figures\n    compare different live sets; --max-lead US "
                "keeps threads near their recorded pace.\n",
                CMP_LIVE_SPREAD, CMP_LIVE_SPREAD);
        return;
    }
}

void cmp_summary_print(FILE *out, const struct cmp_stats *st)
{
    int width = sum_name_width(st);
    for (size_t t = 0; t < st->ntraces; t++)
        for (size_t k = 0; k < st->ninstances; k++)
            sum_print_trace(out, st, st->traces[t], st->instances[k],
                            width);
    fprintf(out, "\n~ : the ratio's 95%% interval contains 1.00, so the "
            "difference is within the noise of the runs.\nedge s: time "
            "threads waited for another thread's earlier op (the recorded "
            "order), summed;\n! : over %.0f%% of the wall time: the "
            "time depends on that order as much as on the allocator.\n",
            100.0 * CMP_EDGE_WAIT_SHARE);
    sum_print_live_note(out, st);
    if (!st->ninstances)
        return;
    fprintf(out, "geometric mean over traces (%d instance%s), ratio to "
            "%s:\n", st->instances[0], st->instances[0] == 1 ? "" : "s",
            st->baseline);
    for (size_t a = 0; a < st->nallocators; a++) {
        char name[CMP_NAME_MAX];
        cmp_display_name(st, st->allocators[a], name, sizeof(name));
        if (st->geo_traces[a])
            fprintf(out, "  %-*s time %5.2fx  peak memory %5.2fx  (%d "
                    "trace%s)\n", width, name, st->geo_time[a],
                    st->geo_rss[a], st->geo_traces[a],
                    st->geo_traces[a] == 1 ? "" : "s");
        else
            fprintf(out, "  %-*s no trace with a ratio\n", width, name);
    }
}
