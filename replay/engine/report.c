/*
 * report.c - what a replay prints: a readable table (default), JSON or
 * CSV, all with the fields documented in docs/replay-output.md, and the
 * RSS timeline CSV.  Runs in the parent, after every child has ended,
 * so nothing here is timed.
 *
 * Latencies are kept in cycles and turned into ns here with the rate
 * each run calibrated; a quantile is the upper bound of its log bucket
 * (at most 19% above the true value, never below it).
 */
#include <string.h>

#include "cycles.h"

#define REPORT_QUANTILES 4
static const double report_q[REPORT_QUANTILES] = { 0.5, 0.9, 0.99, 0.999 };
static const char *const report_q_name[REPORT_QUANTILES] = {
    "p50", "p90", "p99", "p999",
};
#define REPORT_NS_PER_S 1e9
#define REPORT_MIB (1024.0 * 1024.0)

const char *replay_kind_name(unsigned kind)
{
    static const char *const names[] = {
        [TRACE_MALLOC] = "malloc", [TRACE_CALLOC] = "calloc",
        [TRACE_REALLOC] = "realloc", [TRACE_REALLOCARRAY] = "reallocarray",
        [TRACE_FREE] = "free", [TRACE_POSIX_MEMALIGN] = "posix_memalign",
        [TRACE_ALIGNED_ALLOC] = "aligned_alloc",
        [TRACE_MEMALIGN] = "memalign", [TRACE_VALLOC] = "valloc",
        [TRACE_PVALLOC] = "pvalloc",
        [TRACE_USABLE_SIZE] = "malloc_usable_size",
        [TRACE_THREAD_START] = "thread_start",
        [TRACE_THREAD_EXIT] = "thread_exit",
    };
    if (kind < sizeof(names) / sizeof(names[0]) && names[kind])
        return names[kind];
    return "unknown";
}

static const char *report_status_name(enum replay_status s)
{
    static const char *const names[] = {
        "ok", "alloc_null", "corruption", "setup_failed", "wrong_library",
        "crashed", "exited", "timed_out",
    };
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s]
                                                          : "unknown";
}

static int report_is_call(unsigned kind)
{
    return kind >= TRACE_MALLOC && kind <= TRACE_USABLE_SIZE;
}

static double report_ns(const struct replay_result *r, uint64_t cycles)
{
    return r->cycles_per_ns > 0 ? (double)cycles / r->cycles_per_ns : 0;
}

/*
 * The allocator's peak memory (anonymous resident, sampler.c) over the
 * most bytes live in this replay: its own peak (peak.c; the upper of
 * its bounds, a few KiB above the lower with several threads), which
 * can be above the recording's (a producer that the program held back
 * with a lock runs ahead here: the trace has no such edge) or below it
 * (threads that ran apart in the recording overlap less here).  Where
 * that peak is unknown, the larger of the recorded and sampled ones.
 */
static double report_live_divisor(const struct replay_result *r)
{
    if (r->replay_peak_live_high > 0)
        return (double)r->replay_peak_live_high;
    double live = (double)r->peak_live_bytes;
    if ((double)r->sampled_peak_live_bytes > live)
        live = (double)r->sampled_peak_live_bytes;
    return live;
}

static double report_frag(const struct replay_result *r)
{
    double live = report_live_divisor(r);
    return live > 0 ? (double)r->peak_anon_bytes / live : 0;
}

/* "X MiB in this replay", exact or with its bounds' spread. */
static void report_replay_peak(FILE *out, const struct replay_result *r)
{
    if (r->replay_peak_live_high < 0) {
        fprintf(out, "%.1f MiB sampled in this replay",
                (double)r->sampled_peak_live_bytes / REPORT_MIB);
        return;
    }
    fprintf(out, "%.1f MiB in this replay",
            (double)r->replay_peak_live_high / REPORT_MIB);
    if (r->exact_peak_live_bytes < 0)
        fprintf(out, " (at most; at least %.1f)",
                (double)r->replay_peak_live_low / REPORT_MIB);
}

static double report_ops_per_s(const struct replay_result *r)
{
    return r->wall_ns ? (double)r->calls * REPORT_NS_PER_S /
                        (double)r->wall_ns : 0;
}

/* All call kinds of one run merged, for the "all" row. */
static struct replay_latency report_all_calls(const struct replay_result *r)
{
    struct replay_latency all;
    memset(&all, 0, sizeof(all));
    for (unsigned k = 0; k < REPLAY_KIND_SLOTS; k++)
        if (report_is_call(k))
            cycles_merge(&all, &r->latency[k]);
    return all;
}

static void report_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void report_table_runs(FILE *out, const struct replay_result *res,
                              int runs)
{
    fprintf(out, "%3s %-12s %9s %9s %8s %8s %9s %6s %9s %6s %9s %8s\n",
            "run", "status", "wall_s", "Mcalls/s", "user_s", "sys_s",
            "mem_MiB", "frag", "minflt", "majflt", "wait_ms", "waits");
    for (int i = 0; i < runs; i++) {
        const struct replay_result *r = &res[i];
        fprintf(out, "%3d %-12s %9.4f %9.3f %8.3f %8.3f %9.1f %6.2f "
                "%9llu %6llu %9.3f %8llu\n", i + 1,
                report_status_name(r->status),
                (double)r->wall_ns / REPORT_NS_PER_S,
                report_ops_per_s(r) / 1e6,
                (double)r->user_ns / REPORT_NS_PER_S,
                (double)r->sys_ns / REPORT_NS_PER_S,
                (double)r->peak_anon_bytes / REPORT_MIB, report_frag(r),
                (unsigned long long)r->minor_faults,
                (unsigned long long)r->major_faults,
                (double)r->edge_wait_ns / 1e6,
                (unsigned long long)r->edge_waits);
    }
}

static void report_table_latency_row(FILE *out, const char *name,
                                     const struct replay_result *r,
                                     const struct replay_latency *h,
                                     uint64_t calls)
{
    fprintf(out, "%-19s %10llu %8.0f", name, (unsigned long long)calls,
            h->count ? report_ns(r, h->sum_cycles) / (double)h->count : 0);
    for (int q = 0; q < REPORT_QUANTILES; q++)
        fprintf(out, " %8.0f",
                report_ns(r, cycles_quantile(h, report_q[q])));
    fprintf(out, " %10.0f\n", report_ns(r, h->max_cycles));
}

/* Latency of the last successful run (runs differ by a few percent). */
static void report_table_latency(FILE *out, const struct replay_result *r,
                                 int every)
{
    fprintf(out, "\nlatency in ns, per call (last run, %s%d call%s "
            "timed)\n%-19s %10s %8s", every > 1 ? "about 1 in " : "",
            every > 1 ? every : 1, every > 1 ? "s at random" : " in 1",
            "call", "count", "mean");
    for (int q = 0; q < REPORT_QUANTILES; q++)
        fprintf(out, " %8s", report_q_name[q]);
    fprintf(out, " %10s\n", "max");
    for (unsigned k = 0; k < REPLAY_KIND_SLOTS; k++)
        if (report_is_call(k) && r->kind_ops[k])
            report_table_latency_row(out, replay_kind_name(k), r,
                                     &r->latency[k], r->kind_ops[k]);
    struct replay_latency all = report_all_calls(r);
    if (all.count)
        report_table_latency_row(out, "all", r, &all, r->calls);
}

static void report_table(FILE *out, const struct replay_image *image,
                         const struct replay_result *res, int runs)
{
    const struct replay_options *o = &image->options;
    fprintf(out, "replay of %s: %u thread%s x %d instance%s, %llu ops "
            "per instance\nallocator %s: malloc from %s\n",
            o->trace_path, image->thread_count,
            image->thread_count == 1 ? "" : "s", o->instances,
            o->instances == 1 ? "" : "s",
            (unsigned long long)image->total_ops, o->allocator,
            res[0].library_resolved[0] ? res[0].library_resolved : "?");
    if (o->passes > 1)
        fprintf(out, "each run: the median of %d passes in one process "
                "(memory: pass 1)\n", o->passes);
    if (o->max_lead_us > 0)
        fprintf(out, "threads kept within %d us of recorded time of "
                "each other (--max-lead)\n", o->max_lead_us);
    fputc('\n', out);
    report_table_runs(out, res, runs);
    int last_ok = -1;
    for (int i = 0; i < runs; i++) {
        if (res[i].status == REPLAY_OK)
            last_ok = i;
        else
            fprintf(out, "run %d failed: %s\n", i + 1, res[i].message);
    }
    if (last_ok >= 0)
        report_table_latency(out, &res[last_ok], o->latency_every);
    if (image->usable_size_not_called)
        fprintf(out, "malloc_usable_size: %llu recorded; %llu of them, asked "
                "by another thread than the\nblock's holder, not replayed "
                "(nothing orders them before the holder's free)\n",
                (unsigned long long)image->kind_counts[TRACE_USABLE_SIZE],
                (unsigned long long)image->usable_size_not_called);
    if (last_ok >= 0) {
        const struct replay_result *r = &res[last_ok];
        double thread_ns = (double)r->wall_ns * image->thread_count *
                           o->instances + 1;
        fprintf(out, "\npeak live %.1f MiB recorded, ",
                (double)r->peak_live_bytes / REPORT_MIB);
        report_replay_peak(out, r);
        fprintf(out, "; edge wait %.2f%% of thread time, on %llu "
                "edges of the trace\nand %llu the replay added\n",
                100.0 * (double)r->edge_wait_ns / thread_ns,
                (unsigned long long)image->trace_edges,
                (unsigned long long)image->added_edges);
    }
}

static void report_json_latency(FILE *out, const char *name,
                                const struct replay_result *r,
                                const struct replay_latency *h,
                                uint64_t calls, const char *sep)
{
    fprintf(out, "%s\n      \"%s\": {\"count\": %llu, \"timed\": %llu, "
            "\"mean\": %.1f", sep, name, (unsigned long long)calls,
            (unsigned long long)h->count,
            h->count ? report_ns(r, h->sum_cycles) / (double)h->count : 0);
    for (int q = 0; q < REPORT_QUANTILES; q++)
        fprintf(out, ", \"%s\": %.1f", report_q_name[q],
                report_ns(r, cycles_quantile(h, report_q[q])));
    fprintf(out, ", \"max\": %.1f}", report_ns(r, h->max_cycles));
}

/* A run's memory figures, in JSON (docs/replay-output.md). */
static void report_json_memory(FILE *out, const struct replay_result *r)
{
    fprintf(out, "     \"peak_rss_bytes\": %llu, \"baseline_rss_bytes\": "
            "%llu, \"peak_anon_bytes\": %llu, \"baseline_anon_bytes\": "
            "%llu,\n     \"peak_live_bytes\": %llu, "
            "\"sampled_peak_live_bytes\": %lld, \"exact_peak_live_bytes\": "
            "%lld,\n     \"replay_peak_live_bytes\": %lld, "
            "\"replay_peak_live_low_bytes\": %lld, "
            "\"final_live_bytes\": %lld, \"fragmentation\": %.4f,\n",
            (unsigned long long)r->peak_rss_bytes,
            (unsigned long long)r->baseline_rss_bytes,
            (unsigned long long)r->peak_anon_bytes,
            (unsigned long long)r->baseline_anon_bytes,
            (unsigned long long)r->peak_live_bytes,
            (long long)r->sampled_peak_live_bytes,
            (long long)r->exact_peak_live_bytes,
            (long long)r->replay_peak_live_high,
            (long long)r->replay_peak_live_low,
            (long long)r->final_live_bytes, report_frag(r));
}

static void report_json_run(FILE *out, int index,
                            const struct replay_result *r)
{
    fprintf(out, "    {\"run\": %d, \"status\": \"%s\", \"signal\": %d, "
            "\"message\": ", index, report_status_name(r->status),
            r->signal);
    report_json_string(out, r->message);
    fprintf(out, ",\n     \"wall_s\": %.6f, \"user_s\": %.6f, "
            "\"sys_s\": %.6f, \"ops\": %llu, \"calls\": %llu, "
            "\"calls_per_s\": %.1f,\n", (double)r->wall_ns / 1e9,
            (double)r->user_ns / 1e9, (double)r->sys_ns / 1e9,
            (unsigned long long)r->ops, (unsigned long long)r->calls,
            report_ops_per_s(r));
    report_json_memory(out, r);
    fprintf(out, "     \"minor_faults\": %llu, \"major_faults\": %llu, "
            "\"edge_wait_s\": %.6f, \"edge_waits\": %llu, "
            "\"cycles_per_ns\": %.4f, \"timer_overhead_ns\": %.1f,\n"
            "     \"latency_ns\": {",
            (unsigned long long)r->minor_faults,
            (unsigned long long)r->major_faults,
            (double)r->edge_wait_ns / 1e9,
            (unsigned long long)r->edge_waits, r->cycles_per_ns,
            report_ns(r, r->timer_overhead_cycles));
    const char *sep = "";
    for (unsigned k = 0; k < REPLAY_KIND_SLOTS; k++) {
        if (!report_is_call(k) || !r->kind_ops[k])
            continue;
        report_json_latency(out, replay_kind_name(k), r, &r->latency[k],
                            r->kind_ops[k], sep);
        sep = ",";
    }
    struct replay_latency all = report_all_calls(r);
    report_json_latency(out, "all", r, &all, r->calls, sep);
    fprintf(out, "}}");
}

static void report_json(FILE *out, const struct replay_image *image,
                        const struct replay_result *res, int runs)
{
    const struct replay_options *o = &image->options;
    fprintf(out, "{\"schema\": \"mallard-replay-1\", \"trace\": ");
    report_json_string(out, o->trace_path);
    fprintf(out, ", \"allocator\": ");
    report_json_string(out, o->allocator);
    fprintf(out, ", \"library\": ");
    report_json_string(out, res[0].library_resolved);
    fprintf(out, ",\n  \"threads\": %u, \"instances\": %d, "
            "\"ops_per_instance\": %llu, \"touch\": \"%s\", \"timing\": "
            "\"%s\", \"verify\": %s, \"latency_every\": %d, "
            "\"passes\": %d, \"max_lead_us\": %d,\n  "
            "\"usable_size_recorded\": %llu, "
            "\"usable_size_not_replayed\": %llu,\n  \"trace_edges\": "
            "%llu, \"added_edges\": %llu,\n  \"runs\": [\n",
            image->thread_count,
            o->instances, (unsigned long long)image->total_ops,
            (const char *[]){ "none", "first", "pages", "all" }[o->touch],
            o->timing == REPLAY_TIMING_ASAP ? "asap" : "recorded",
            o->verify ? "true" : "false", o->latency_every,
            o->passes > 1 ? o->passes : 1, o->max_lead_us,
            (unsigned long long)image->kind_counts[TRACE_USABLE_SIZE],
            (unsigned long long)image->usable_size_not_called,
            (unsigned long long)image->trace_edges,
            (unsigned long long)image->added_edges);
    for (int i = 0; i < runs; i++) {
        report_json_run(out, i + 1, &res[i]);
        fprintf(out, i + 1 < runs ? ",\n" : "\n");
    }
    fprintf(out, "  ]}\n");
}

static void report_csv_row(FILE *out, const struct replay_options *o,
                           int index, const struct replay_result *r,
                           const char *name, const struct replay_latency *h,
                           uint64_t calls)
{
    fprintf(out, "%s,%s,%d,%s,%u,%u,%.6f,%.6f,%.6f,%llu,%.1f,%llu,%llu,"
            "%llu,%llu,%llu,%.4f,%llu,%llu,%.6f,%llu,%s,%llu,%llu,%.1f",
            o->trace_path, o->allocator, index,
            report_status_name(r->status), r->threads, r->instances,
            (double)r->wall_ns / 1e9, (double)r->user_ns / 1e9,
            (double)r->sys_ns / 1e9, (unsigned long long)r->calls,
            report_ops_per_s(r), (unsigned long long)r->peak_rss_bytes,
            (unsigned long long)r->baseline_rss_bytes,
            (unsigned long long)r->peak_anon_bytes,
            (unsigned long long)r->baseline_anon_bytes,
            (unsigned long long)r->peak_live_bytes, report_frag(r),
            (unsigned long long)r->minor_faults,
            (unsigned long long)r->major_faults,
            (double)r->edge_wait_ns / 1e9,
            (unsigned long long)r->edge_waits, name,
            (unsigned long long)calls, (unsigned long long)h->count,
            h->count ? report_ns(r, h->sum_cycles) / (double)h->count : 0);
    for (int q = 0; q < REPORT_QUANTILES; q++)
        fprintf(out, ",%.1f", report_ns(r, cycles_quantile(h,
                                                           report_q[q])));
    fprintf(out, ",%.1f\n", report_ns(r, h->max_cycles));
}

static void report_csv(FILE *out, const struct replay_image *image,
                       const struct replay_result *res, int runs)
{
    fputs("trace,allocator,run,status,threads,instances,wall_s,user_s,"
          "sys_s,calls,calls_per_s,peak_rss_bytes,baseline_rss_bytes,"
          "peak_anon_bytes,baseline_anon_bytes,peak_live_bytes,"
          "fragmentation,minor_faults,major_faults,"
          "edge_wait_s,edge_waits,call,count,timed,mean_ns,p50_ns,p90_ns,"
          "p99_ns,p999_ns,max_ns\n", out);
    for (int i = 0; i < runs; i++) {
        const struct replay_result *r = &res[i];
        for (unsigned k = 0; k < REPLAY_KIND_SLOTS; k++)
            if (report_is_call(k) && r->kind_ops[k])
                report_csv_row(out, &image->options, i + 1, r,
                               replay_kind_name(k), &r->latency[k],
                               r->kind_ops[k]);
        struct replay_latency all = report_all_calls(r);
        report_csv_row(out, &image->options, i + 1, r, "all", &all,
                       r->calls);
    }
}

void replay_report(FILE *out, const struct replay_image *image,
                   const struct replay_result *results, int runs)
{
    switch (image->options.format) {
    case REPLAY_OUT_JSON: report_json(out, image, results, runs); break;
    case REPLAY_OUT_CSV: report_csv(out, image, results, runs); break;
    default: report_table(out, image, results, runs); break;
    }
}

int replay_write_timeline(const char *path,
                          const struct replay_result *results,
                          struct replay_sample *const *samples, int runs)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("run,time_s,rss_bytes,live_bytes,anon_bytes\n", f);
    for (int i = 0; i < runs; i++)
        for (uint32_t s = 0; s < results[i].sample_count; s++)
            fprintf(f, "%d,%.6f,%llu,%lld,%llu\n", i + 1,
                    (double)samples[i][s].time_ns / 1e9,
                    (unsigned long long)samples[i][s].rss_bytes,
                    (long long)samples[i][s].live_bytes,
                    (unsigned long long)samples[i][s].anon_bytes);
    return fclose(f) == 0 ? 0 : -1;
}
