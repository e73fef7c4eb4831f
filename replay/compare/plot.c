/*
 * plot.c - `mallard plot DIR`: from DIR/results.csv to charts and
 * DIR/index.html.  Writes the data files, runs gnuplot once per chart
 * and format (plots/NAME.gp, PNG and SVG), then the report.
 *
 * gnuplot gets everything through -e variables (data folder, output
 * file, format, allocator names and colours, trace labels), so the
 * scripts read only result files and hold no knowledge of the run.  A
 * missing gnuplot is a message naming the Debian package; a chart that
 * fails is reported and left out of the page, and the others still
 * draw.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compare.h"

#ifndef MALLARD_PLOTS_DIR
#define MALLARD_PLOTS_DIR "plots"
#endif
#define PLOT_GNUPLOT "gnuplot"
#define PLOT_PACKAGE "gnuplot-nox"
/* exit status of the forked child when exec fails: as the shell does */
#define PLOT_NOT_FOUND 127
#define PLOT_VARS_MAX 8192

const struct cmp_chart cmp_charts[] = {
    { "time", "Run time, normalised to the baseline",
      "Median wall time of each allocator divided by the baseline's on "
      "the same trace; bars are 95% bootstrap intervals. Lower is "
      "better." },
    { "rss", "Peak memory of the allocator",
      "Median peak of the allocator's memory (anonymous resident memory; "
      "the harness's own is kept apart) per trace; bars span min to max "
      "over runs. Lower is better." },
    { "latency", "Latency percentiles per call",
      "Per-call latency of all allocator calls, p50 to max, median over "
      "runs; log scale." },
    { "rss_time", "Memory over time against ideal live bytes",
      "The allocator's memory (anonymous resident) in the run of median "
      "time per allocator; the dashed line is the bytes the program had "
      "live (a perfect allocator)." },
    { "scaling", "Scaling with instances",
      "Allocator calls per second with K copies of the trace "
      "at once (--instances). Higher is better." },
    { "geomean", "Summary: geometric means over traces",
      "Geometric mean over traces of the time and peak memory ratios to "
      "the baseline. Lower is better." },
};
const size_t cmp_chart_count = sizeof(cmp_charts) / sizeof(cmp_charts[0]);

static const char *plot_scripts_dir(void)
{
    const char *env = getenv("MALLARD_PLOTS_DIR");
    return env && *env ? env : MALLARD_PLOTS_DIR;
}

/* Runs gnuplot with stderr to log; returns its exit status, or
 * PLOT_NOT_FOUND when gnuplot cannot be started. */
static int plot_gnuplot(char *const argv[], const char *log)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (fd >= 0)
            dup2(fd, STDERR_FILENO);
        execvp(PLOT_GNUPLOT, argv);
        _exit(PLOT_NOT_FOUND);
    }
    int status;
    if (pid < 0)
        return PLOT_NOT_FOUND;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return PLOT_NOT_FOUND;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Appends name='value' with gnuplot's quote doubling. */
static void plot_var(char *buf, size_t len, const char *name,
                     const char *value)
{
    size_t n = strlen(buf);
    n += (size_t)snprintf(buf + n, len - n, "%s='", name);
    for (; *value && n + 3 < len; value++) {
        buf[n++] = *value;
        if (*value == '\'')
            buf[n++] = '\'';
    }
    snprintf(buf + n, len - n, "'; ");
}

/* Space-separated words: allocator display names, colours, labels. */
static void plot_words(char *buf, size_t len, const struct cmp_stats *st,
                       int what)
{
    buf[0] = '\0';
    size_t count = what == 2 ? st->ntraces : st->nallocators;
    for (size_t i = 0; i < count; i++) {
        char word[CMP_PATH_MAX];
        if (what == 0)
            cmp_display_name(st, st->allocators[i], word, sizeof(word));
        else if (what == 1)
            snprintf(word, sizeof(word), "%s", cmp_colour(st, i));
        else
            cmp_trace_label(st->traces[i], word, sizeof(word));
        for (char *p = word; *p; p++)
            if (*p == ' ' || *p == '\'')
                *p = '_';
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, "%s%s", i ? " " : "", word);
    }
}

/* What there is to draw: okpanels, a 1 or 0 per trace (a run of the
 * trace succeeded); has_ok (any did); has_ratio (a ratio to the
 * baseline exists).  Charts draw a "nothing to show" frame instead of
 * failing on data that is all gaps. */
static void plot_presence_vars(char *vars, size_t len,
                               const struct cmp_stats *st)
{
    int has_ok = 0, has_ratio = 0;
    char panels[PLOT_VARS_MAX / 4] = "";
    for (size_t t = 0; t < st->ntraces; t++) {
        int ok = 0;
        for (size_t i = 0; i < st->ncases; i++) {
            const struct cmp_case *c = &st->cases[i];
            ok |= c->n_ok > 0 && strcmp(c->trace, st->traces[t]) == 0;
            has_ratio |= c->ratio == c->ratio;   /* not NaN */
        }
        has_ok |= ok;
        size_t n = strlen(panels);
        snprintf(panels + n, sizeof(panels) - n, "%s%d", t ? " " : "", ok);
    }
    plot_var(vars, len, "okpanels", panels);
    size_t n = strlen(vars);
    snprintf(vars + n, len - n, "has_ok=%d; has_ratio=%d; ", has_ok,
             has_ratio);
}

static void plot_common_vars(char *vars, size_t len, const char *dir,
                             const struct cmp_stats *st)
{
    char words[PLOT_VARS_MAX / 4], path[CMP_PATH_MAX];
    vars[0] = '\0';
    snprintf(path, sizeof(path), "%s/data", dir);
    plot_var(vars, len, "datadir", path);
    plot_var(vars, len, "plotsdir", plot_scripts_dir());
    plot_words(words, sizeof(words), st, 0);
    plot_var(vars, len, "allocs", words);
    plot_words(words, sizeof(words), st, 1);
    plot_var(vars, len, "colours", words);
    plot_words(words, sizeof(words), st, 2);
    plot_var(vars, len, "traces", words);
    cmp_display_name(st, st->baseline, words, sizeof(words));
    plot_var(vars, len, "baseline", words);
    size_t n = strlen(vars);
    snprintf(vars + n, len - n, "inst=%d; ", st->instances[0]);
    plot_presence_vars(vars, len, st);
}

/* Draws one chart in one format; 0 when the file exists, non-empty. */
static int plot_chart(const char *dir, const char *common,
                      const struct cmp_chart *chart, const char *fmt)
{
    char vars[PLOT_VARS_MAX], out[CMP_PATH_MAX], script[CMP_PATH_MAX];
    char log[CMP_PATH_MAX];
    snprintf(vars, sizeof(vars), "%s", common);
    snprintf(out, sizeof(out), "%s/charts/%s.%s", dir, chart->name, fmt);
    snprintf(script, sizeof(script), "%s/%s.gp", plot_scripts_dir(),
             chart->name);
    snprintf(log, sizeof(log), "%s/logs/gnuplot-%s.%s.err", dir,
             chart->name, fmt);
    plot_var(vars, sizeof(vars), "out", out);
    plot_var(vars, sizeof(vars), "fmt", fmt);
    unlink(out);
    char *argv[] = { PLOT_GNUPLOT, "-e", vars, script, NULL };
    int rc = plot_gnuplot(argv, log);
    if (rc == PLOT_NOT_FOUND)
        return rc;
    struct stat sb;
    if (rc != 0 || stat(out, &sb) != 0 || sb.st_size == 0) {
        fprintf(stderr, "mallard plot: %s: gnuplot failed on %s (see "
                "%s)\n", out, script, log);
        return 1;
    }
    return 0;
}

/* Draws every chart in both formats; drawn[i] is 1 where both exist. */
static int plot_all(const char *dir, const struct cmp_stats *st,
                    int *drawn, char *note, size_t note_len)
{
    char common[PLOT_VARS_MAX], log[CMP_PATH_MAX], err[CMP_ERR_MAX];
    snprintf(log, sizeof(log), "%s/charts", dir);
    if (cmp_mkdir_p(log, err, sizeof(err)) != 0) {
        snprintf(note, note_len, "%s", err);
        return 1;
    }
    plot_common_vars(common, sizeof(common), dir, st);
    int failed = 0;
    for (size_t i = 0; i < cmp_chart_count; i++) {
        int png = plot_chart(dir, common, &cmp_charts[i], "png");
        if (png == PLOT_NOT_FOUND) {
            snprintf(note, note_len, "gnuplot was not found: install the "
                     "Debian package %s (apt-get install %s), then run "
                     "mallard plot %s", PLOT_PACKAGE, PLOT_PACKAGE, dir);
            return 1;
        }
        int svg = plot_chart(dir, common, &cmp_charts[i], "svg");
        drawn[i] = png == 0 && svg == 0;
        failed += !drawn[i];
    }
    if (failed)
        snprintf(note, note_len, "%d chart%s could not be drawn; see "
                 "%s/logs/gnuplot-*.err", failed, failed == 1 ? "" : "s",
                 dir);
    return failed ? 1 : 0;
}

int cmp_plot_dir(const char *dir)
{
    struct cmp_rows rows = { 0 };
    struct cmp_stats st;
    char baseline[CMP_NAME_MAX], err[CMP_ERR_MAX], note[CMP_ERR_MAX] = "";
    if (cmp_load_dir(dir, &rows, &st, baseline, sizeof(baseline), err,
                     sizeof(err)) != 0) {
        fprintf(stderr, "mallard plot: %s\n", err);
        cmp_rows_free(&rows);
        return 2;
    }
    int drawn[sizeof(cmp_charts) / sizeof(cmp_charts[0])] = { 0 };
    int rc = cmp_plot_data_write(dir, &st, err, sizeof(err));
    if (rc != 0)
        snprintf(note, sizeof(note), "%s", err);
    else
        rc = plot_all(dir, &st, drawn, note, sizeof(note));
    if (note[0])
        fprintf(stderr, "mallard plot: %s\n", note);
    if (cmp_report_html(dir, &st, drawn, note, err, sizeof(err)) != 0) {
        fprintf(stderr, "mallard plot: %s\n", err);
        rc = 1;
    } else {
        printf("report: %s/index.html\n", dir);
    }
    cmp_stats_free(&st);
    cmp_rows_free(&rows);
    return rc ? 1 : 0;
}

int cmd_plot(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        printf("usage: mallard plot DIR\nDraws the charts of a compare "
               "folder (DIR/results.csv) with gnuplot into\nDIR/charts/ "
               "(PNG and SVG) and writes DIR/index.html.  Needs the "
               "Debian\npackage %s.  Docs: docs/compare.md.\n",
               PLOT_PACKAGE);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: mallard plot DIR\n");
        return 2;
    }
    return cmp_plot_dir(argv[1]);
}
