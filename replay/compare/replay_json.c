/*
 * replay_json.c - reads the one-run object that `mallard replay --json`
 * prints (schema mallard-replay-1, docs/replay-output.md) into a
 * cmp_row.
 *
 * Not a general JSON parser: it looks keys up inside the first element
 * of "runs", which is all compare asks for (one run per process).  The
 * schema string is checked first so that a changed format is an error
 * rather than a row of wrong numbers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

#define JSON_SCHEMA "\"schema\": \"mallard-replay-1\""
#define JSON_KEY_MAX 64

/* Points just past `"key": ` at or after from, NULL if absent. */
static const char *json_value(const char *from, const char *key)
{
    char pattern[JSON_KEY_MAX];
    snprintf(pattern, sizeof(pattern), "\"%s\":", key);
    const char *p = strstr(from, pattern);
    if (!p)
        return NULL;
    p += strlen(pattern);
    while (*p == ' ')
        p++;
    return p;
}

static double json_number(const char *from, const char *key)
{
    const char *p = json_value(from, key);
    char *end;
    double v = p ? strtod(p, &end) : NAN;
    return (p && end != p) ? v : NAN;
}

/* Copies a JSON string value (escapes reduced to their character). */
static void json_string(const char *from, const char *key, char *out,
                        size_t len)
{
    const char *p = json_value(from, key);
    size_t n = 0;
    if (p && *p == '"')
        for (p++; *p && *p != '"' && n + 1 < len; p++) {
            if (*p == '\\' && p[1])
                p++;
            out[n++] = *p;
        }
    out[n] = '\0';
}

static void json_latency(const char *run, struct cmp_row *row)
{
    static const char *const keys[CMP_LAT_COUNT] = {
        "p50", "p90", "p99", "p999", "max" };
    const char *lat = json_value(run, "latency_ns");
    const char *all = lat ? json_value(lat, "all") : NULL;
    for (int i = 0; i < CMP_LAT_COUNT; i++)
        row->lat_ns[i] = all ? json_number(all, keys[i]) : NAN;
}

int cmp_parse_replay_json(const char *text, struct cmp_row *row)
{
    const char *runs = strstr(text, JSON_SCHEMA) ?
                       json_value(text, "runs") : NULL;
    const char *run = runs ? strstr(runs, "{\"run\":") : NULL;
    if (!run)
        return -1;
    json_string(run, "status", row->status, sizeof(row->status));
    json_string(run, "message", row->message, sizeof(row->message));
    cmp_csv_clean(row->message);
    double sig = json_number(run, "signal");
    row->signal = isnan(sig) ? 0 : (int)sig;
    row->wall_s = json_number(run, "wall_s");
    row->user_s = json_number(run, "user_s");
    row->sys_s = json_number(run, "sys_s");
    row->calls = json_number(run, "calls");
    row->calls_per_s = json_number(run, "calls_per_s");
    row->peak_rss_bytes = json_number(run, "peak_rss_bytes");
    row->baseline_rss_bytes = json_number(run, "baseline_rss_bytes");
    row->peak_anon_bytes = json_number(run, "peak_anon_bytes");
    row->baseline_anon_bytes = json_number(run, "baseline_anon_bytes");
    /* this run's own peak, which its fragmentation divides by; the
     * recorded one from a replay that does not know it */
    row->peak_live_bytes = json_number(run, "replay_peak_live_bytes");
    if (!(row->peak_live_bytes > 0))
        row->peak_live_bytes = json_number(run, "peak_live_bytes");
    row->fragmentation = json_number(run, "fragmentation");
    row->minor_faults = json_number(run, "minor_faults");
    row->major_faults = json_number(run, "major_faults");
    row->edge_wait_s = json_number(run, "edge_wait_s");
    json_latency(run, row);
    return row->status[0] ? 0 : -1;
}
