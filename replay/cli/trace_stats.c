/*
 * trace_stats.c - `mallard trace stats FILE [--plot PNG]`: histograms
 * of request sizes and block lifetimes (power-of-two buckets, so a
 * reader can check any bucket by hand) and per-thread counts.  --plot
 * feeds the same numbers to gnuplot as inline data blocks; the chart is
 * made from what is printed, nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "schedule.h"

#define STATS_BUCKETS 65          /* bucket b: values in (2^(b-1), 2^b] */
#define STATS_BAR_WIDTH 40        /* characters of the longest text bar */

struct stats_ctx {
    uint64_t sizes[STATS_BUCKETS];
    uint64_t lifetimes[STATS_BUCKETS];
    uint64_t below_unit;          /* lifetimes under the time unit */
    uint64_t unit;                /* the trace's time unit, ns */
    uint64_t *born;               /* per slot: time_ns of its allocation */
};

static unsigned stats_bucket(uint64_t v)
{
    return v <= 1 ? 0 : 64 - (unsigned)__builtin_clzll(v - 1);
}

static uint64_t op_request(const struct trace_op *op)
{
    uint64_t n = (op->kind == TRACE_CALLOC ||
                  op->kind == TRACE_REALLOCARRAY) ? op->arg : 1;
    uint64_t bytes;
    return __builtin_mul_overflow(n, op->size, &bytes) ? UINT64_MAX : bytes;
}

static int stats_visit(void *ctx, uint32_t th, uint64_t i,
                       const struct trace_op *op)
{
    struct stats_ctx *s = ctx;
    (void)th;
    (void)i;
    if (op->old_slot != TRACE_NO_SLOT && op->kind != TRACE_USABLE_SIZE) {
        uint64_t born = s->born[op->old_slot];
        uint64_t lifetime = op->time_ns > born ? op->time_ns - born : 0;
        /* Times are kept to the unit: a block freed within the unit it
         * was allocated in has no measured lifetime, only "shorter". */
        if (lifetime == 0 && s->unit > 1)
            s->below_unit++;
        else
            s->lifetimes[stats_bucket(lifetime)]++;
    }
    if (op->slot != TRACE_NO_SLOT) {
        s->born[op->slot] = op->time_ns;
        s->sizes[stats_bucket(op_request(op))]++;
    }
    return 0;
}

/* below_unit: a first row for values under unit (when unit > 1). */
static void stats_print_histogram(const char *title, const uint64_t *h,
                                  uint64_t below_unit, uint64_t unit)
{
    uint64_t most = 1;
    for (unsigned b = 0; b < STATS_BUCKETS; b++)
        most = h[b] > most ? h[b] : most;
    printf("%s\n", title);
    if (unit > 1)
        printf("  < %llu ns %10llu  (shorter than the trace's time unit)\n",
               (unsigned long long)unit, (unsigned long long)below_unit);
    for (unsigned b = 0; b < STATS_BUCKETS; b++) {
        if (!h[b])
            continue;
        int bar = (int)((double)h[b] / (double)most * STATS_BAR_WIDTH);
        printf("  <= 2^%-2u %12llu  %.*s\n", b, (unsigned long long)h[b],
               bar > 0 ? bar : 1, "########################################");
    }
}

static void stats_print_threads(const struct trace *t)
{
    printf("threads:\n  %6s %10s %12s %12s %12s %12s\n", "index", "tid",
           "ops", "allocs", "frees", "cross-frees");
    uint64_t *crossed = calloc(t->thread_count + 1, sizeof(*crossed));
    if (crossed == NULL || cli_count_crossings(t, crossed) != 0) {
        free(crossed);
        return;
    }
    for (uint32_t i = 0; i < t->thread_count; i++) {
        uint64_t allocs = 0, frees = 0, cross = crossed[i];
        const struct trace_thread *th = &t->threads[i];
        for (uint64_t j = 0; j < th->op_count; j++) {
            const struct trace_op *op = &th->ops[j];
            allocs += op->slot != TRACE_NO_SLOT;
            int rel = op->old_slot != TRACE_NO_SLOT &&
                      op->kind != TRACE_USABLE_SIZE;
            frees += rel;
        }
        printf("  %6u %10llu %12llu %12llu %12llu %12llu\n", i,
               (unsigned long long)th->tid,
               (unsigned long long)th->op_count,
               (unsigned long long)allocs, (unsigned long long)frees,
               (unsigned long long)cross);
    }
    free(crossed);
}

static void stats_plot_block(FILE *gp, const char *name, const uint64_t *h)
{
    fprintf(gp, "$%s << EOD\n", name);
    for (unsigned b = 0; b < STATS_BUCKETS; b++)
        if (h[b])
            fprintf(gp, "%u %llu\n", b, (unsigned long long)h[b]);
    fprintf(gp, "EOD\n");
}

static int stats_plot(const struct stats_ctx *s, const char *png,
                      const char *title)
{
    FILE *gp = popen("gnuplot", "w");
    if (!gp) {
        fprintf(stderr, "mallard trace stats: cannot run gnuplot (apt-get "
                "install gnuplot-nox)\n");
        return -1;
    }
    stats_plot_block(gp, "sizes", s->sizes);
    stats_plot_block(gp, "lifetimes", s->lifetimes);
    fprintf(gp, "set terminal png size 1000,800\nset output '%s'\n"
            "set multiplot layout 2,1 title '%s'\nset style fill solid\n"
            "set logscale y\nset xlabel 'log2 bucket'\nset ylabel 'count'\n"
            "set title 'request sizes (bytes <= 2^x)'\n"
            "plot $sizes using 1:2 with boxes notitle\n"
            "set title 'lifetimes (ns <= 2^x)'\n"
            "plot $lifetimes using 1:2 with boxes notitle\n"
            "unset multiplot\n", png, title);
    int status = pclose(gp);
    if (status != 0) {
        fprintf(stderr, "mallard trace stats: gnuplot failed writing %s\n",
                png);
        return -1;
    }
    printf("plot:        %s\n", png);
    return 0;
}

/* The chart can be written where asked, checked before the work (and
 * instead of gnuplot's own words for it). */
static int stats_check_png(const char *png)
{
    int existed = access(png, F_OK) == 0;
    int fd = open(png, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "mallard trace stats: --plot %s: cannot write: "
                "%s\n", png, strerror(errno));
        return -1;
    }
    close(fd);
    if (!existed)
        unlink(png);
    return 0;
}

static int stats_run(const struct cli_trace *ct, const char *png)
{
    struct stats_ctx *s = calloc(1, sizeof(*s));
    char err[CLI_ERR_MAX];
    if (!s || !(s->born = calloc((size_t)ct->trace.slot_count + 1,
                                 sizeof(*s->born)))) {
        free(s);
        fprintf(stderr, "mallard trace stats: out of memory\n");
        return 1;
    }
    s->unit = ct->trace.time_unit_ns;
    int rc = schedule_walk(&ct->trace, stats_visit, s, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", ct->path, err);
    } else {
        stats_print_histogram("request sizes (allocations by bytes):",
                              s->sizes, 0, 1);
        stats_print_histogram("lifetimes (frees by ns since allocation):",
                              s->lifetimes, s->below_unit, s->unit);
        stats_print_threads(&ct->trace);
        if (png && strchr(png, '\'')) {
            fprintf(stderr, "mallard trace stats: --plot path must not "
                    "contain a quote\n");
            rc = 1;
        } else if (png) {
            rc = stats_plot(s, png, "mallard trace stats") < 0;
        }
    }
    free(s->born);
    free(s);
    return rc ? 1 : 0;
}

int trace_cmd_stats(int argc, char **argv)
{
    const char *file = NULL, *png = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: mallard trace stats FILE [--plot OUT.png]\n"
                   "Size and lifetime histograms, per-thread counts; "
                   "--plot draws the\nhistograms with gnuplot.\n");
            return 0;
        }
        if (strcmp(argv[i], "--plot") == 0 && i + 1 < argc)
            png = argv[++i];
        else if (!file && argv[i][0] != '-')
            file = argv[i];
        else {
            fprintf(stderr, "mallard trace stats: unexpected '%s' (see "
                    "--help)\n", argv[i]);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "usage: mallard trace stats FILE [--plot PNG]\n");
        return 2;
    }
    if (png && stats_check_png(png) < 0)
        return 1;
    struct cli_trace ct;
    if (cli_trace_load(file, &ct) < 0)
        return 1;
    cli_trace_warn(&ct);
    int rc = stats_run(&ct, png);
    cli_trace_free(&ct);
    return rc;
}
