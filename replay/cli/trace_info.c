/*
 * trace_info.c - `mallard trace info FILE`: what was recorded, in one
 * screen: header, counts per operation, threads, duration, peak live
 * bytes, the share of frees that cross threads, children.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define OP_KIND_LIMIT (TRACE_THREAD_EXIT + 1)

struct info_counts {
    uint64_t per_kind[OP_KIND_LIMIT];
    uint64_t ops, releases, cross_releases;
};

static void info_count(const struct trace *t, struct info_counts *c)
{
    memset(c, 0, sizeof(*c));
    for (uint32_t i = 0; i < t->thread_count; i++)
        for (uint64_t j = 0; j < t->threads[i].op_count; j++) {
            const struct trace_op *op = &t->threads[i].ops[j];
            c->per_kind[op->kind < OP_KIND_LIMIT ? op->kind : 0]++;
            c->ops++;
            int releases = op->kind == TRACE_FREE ||
                           op->kind == TRACE_REALLOC ||
                           op->kind == TRACE_REALLOCARRAY;
            if (!releases || op->old_slot == TRACE_NO_SLOT)
                continue;
            c->releases++;
        }
    uint64_t *crossed = calloc(t->thread_count + 1, sizeof(*crossed));
    if (crossed && cli_count_crossings(t, crossed) == 0)
        for (uint32_t i = 0; i < t->thread_count; i++)
            c->cross_releases += crossed[i];
    free(crossed);
}

static void info_header(const struct cli_trace *ct)
{
    const struct trace_header_info *h = &ct->raw.header;
    const struct trace *t = &ct->trace;
    char when[64] = "?";
    time_t secs = (time_t)(h->start_unix_ns / TRACE_NS_PER_SEC);
    struct tm tm;
    if (gmtime_r(&secs, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    printf("file:        %s\n", ct->path);
    printf("command:     %s\n", t->command_line);
    printf("pid:         %llu (parent %llu, exec generation %llu)\n",
           (unsigned long long)h->pid, (unsigned long long)h->ppid,
           (unsigned long long)h->generation);
    printf("started:     %s\n", when);
    printf("clock:       %s, %llu Hz\n",
           h->clock_id == TRACE_CLOCK_MONOTONIC_NS ? "CLOCK_MONOTONIC" :
           h->clock_id == TRACE_CLOCK_TSC ? "time-stamp counter" :
                                            "unknown",
           (unsigned long long)h->clock_hz);
    printf("duration:    %.6f s\n", (double)t->duration_ns / 1e9);
    printf("ended:       %s%s\n", t->truncated ? "truncated" : "normally",
           (ct->raw.end_flags & TRACE_END_EXEC) ? " (by exec)" : "");
    printf("chunks:      %zu (%zu compressed, %zu of unknown type)\n",
           ct->raw.chunk_count, ct->raw.compressed_chunks,
           ct->raw.unknown_chunks);
}

static void info_body(const struct cli_trace *ct)
{
    const struct trace *t = &ct->trace;
    struct info_counts c;
    info_count(t, &c);
    printf("threads:     %u\n", t->thread_count);
    printf("ops:         %llu\n", (unsigned long long)c.ops);
    for (unsigned k = 1; k < OP_KIND_LIMIT; k++)
        if (c.per_kind[k])
            printf("  %-20s %llu\n", trace_op_name(k),
                   (unsigned long long)c.per_kind[k]);
    printf("slots:       %u\n", t->slot_count);
    printf("peak live:   %llu bytes\n",
           (unsigned long long)t->peak_live_bytes);
    printf("cross-thread frees: %llu of %llu (%.1f%%)\n",
           (unsigned long long)c.cross_releases,
           (unsigned long long)c.releases,
           c.releases ? 100.0 * (double)c.cross_releases /
                        (double)c.releases : 0.0);
    printf("dropped frees: %llu\n", (unsigned long long)t->dropped_frees);
    for (size_t i = 0; i < ct->raw.child_count; i++)
        printf("child:       pid %llu, trace %s\n",
               (unsigned long long)ct->raw.children[i].pid,
               ct->raw.children[i].path);
}

static const char info_usage[] =
    "usage: mallard trace info FILE\n"
    "Prints the header, counts per operation, threads, "
    "duration,\npeak live bytes and cross-thread frees.\n";

int trace_cmd_info(int argc, char **argv)
{
    struct cli_trace ct;
    int rc = cli_trace_open(argc, argv, info_usage, &ct);
    if (rc >= 0)
        return rc;
    info_header(&ct);
    info_body(&ct);
    cli_trace_free(&ct);
    return 0;
}
