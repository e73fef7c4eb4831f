/*
 * compare.h - `mallard compare`, `mallard plot` and `mallard merge`: the
 * types they share and the one function each file exports.
 *
 * The flow: compare runs every (trace, allocator, instances) case as a
 * fresh `mallard replay --json` process, interleaved, and appends one
 * cmp_row per run to DIR/results.csv; summary.c turns those rows into
 * statistics (summary.json, the terminal table); plot.c writes the data
 * files plots/NAME.gp read, runs gnuplot and writes index.html.  merge joins
 * shard directories into one.  results.csv is the single source of truth:
 * everything after the runs is recomputed from it, so a merged directory
 * and a one-shot directory are handled by the same code.
 */
#ifndef MALLARD_COMPARE_H
#define MALLARD_COMPARE_H

#include <stddef.h>
#include <stdio.h>

#define CMP_PATH_MAX 1024
#define CMP_NAME_MAX 256
#define CMP_MSG_MAX 512
#define CMP_STATUS_MAX 32
#define CMP_ERR_MAX (2 * CMP_PATH_MAX)
/* A machine label: --machine-label or the host name. */
#define CMP_LABEL_MAX 64
/* Latency percentiles kept per run, for the `all` call kind. */
#define CMP_LAT_COUNT 5

/* One replay run: one line of results.csv (docs/compare.md). */
struct cmp_row {
    long seq;                     /* place in the interleaved schedule */
    char trace[CMP_PATH_MAX];     /* as given on the command line */
    char allocator[CMP_NAME_MAX];
    int instances;
    int run;                      /* 1..runs */
    char status[CMP_STATUS_MAX];  /* "ok" or why the run failed */
    int exit_code;
    int signal;
    double wall_s, user_s, sys_s;
    double calls, calls_per_s;
    double peak_rss_bytes, baseline_rss_bytes;
    double peak_anon_bytes, baseline_anon_bytes; /* the allocator's */
    double peak_live_bytes;
    double fragmentation;
    double minor_faults, major_faults, edge_wait_s;
    double lat_ns[CMP_LAT_COUNT]; /* p50 p90 p99 p99.9 max */
    char rss_file[CMP_PATH_MAX];  /* relative to DIR, "" if none */
    char message[CMP_MSG_MAX];
    char machine[CMP_LABEL_MAX];  /* where it ran (--machine-label) */
};

struct cmp_rows {
    struct cmp_row *v;
    size_t n, cap;
};

/* rows.c: the results.csv schema, written and read back. */
int cmp_rows_push(struct cmp_rows *rows, const struct cmp_row *row);
void cmp_rows_free(struct cmp_rows *rows);
void cmp_rows_sort(struct cmp_rows *rows);
void cmp_row_write_header(FILE *out);
void cmp_row_write(FILE *out, const struct cmp_row *row);
int cmp_rows_read(const char *path, struct cmp_rows *rows, char *err,
                  size_t err_len);
int cmp_row_ok(const struct cmp_row *row);
/* Replaces characters that would break a CSV field (comma, quotes,
 * newlines) so every field needs no quoting. */
void cmp_csv_clean(char *s);

/* replay_json.c: fills the measured fields of row from replay --json. */
int cmp_parse_replay_json(const char *text, struct cmp_row *row);

/* Small helpers (util.c). */
int cmp_mkdir_p(const char *path, char *err, size_t err_len);
char *cmp_read_file(const char *path, size_t *len);
int cmp_write_file(const char *path, const char *text, char *err,
                   size_t err_len);
int cmp_copy_file(const char *from, const char *to);
/* The base name of a trace without folders or a .trace suffix. */
void cmp_trace_label(const char *trace, char *out, size_t len);
/* Splits "a,b,c" into at most max strdup'd items; returns the count,
 * -1 on an empty item. */
int cmp_split_list(const char *list, char **items, int max);
/* out = dir/name; -1 (out truncated) when it does not fit. */
int cmp_join(char *out, size_t len, const char *dir, const char *name);
/* Path of the running mallard executable. */
int cmp_self_exe(char *out, size_t len);

/* meta.c: DIR/meta.txt, "key: value" lines: the machine, the command
 * line, the baseline, the shard.  What the report says about how it was
 * made, and what merge checks. */
struct cmp_options;
int cmp_meta_write(const char *dir, int argc, char **argv,
                   const struct cmp_options *opt, char *err,
                   size_t err_len);
/* Appends "key: value" to DIR/meta.txt (compare's "finished" mark). */
int cmp_meta_append(const char *dir, const char *key, const char *value);
/* The machine's default label: its host name. */
void cmp_meta_host(char *out, size_t len);
/* Value of key in DIR/meta.txt into out ("" if absent); -1 no file. */
int cmp_meta_get(const char *dir, const char *key, char *out, size_t len);

/* shards.c: the shards a merge is given.  Check: every shard of 1..N
 * once and finished (with partial, missing or cut-short ones are only
 * listed in note); sorts dirs into shard order.  0 ok, -1 err says
 * every problem, one a line. */
int cmp_shards_check(int ndirs, char **dirs, int partial, char *note,
                     size_t note_len, char *err, size_t err_len);
/* OUT/meta.txt of the merge: the command, the shards, each machine. */
int cmp_shards_write_meta(const char *out, int ndirs, char **dirs,
                          const char *note, char *err, size_t err_len);

/* stats.c: the statistics, pure functions of their inputs. */
double cmp_median(const double *x, size_t n);
/* Bootstrap 95% interval of the median of x (fixed seed: the same data
 * gives the same interval).  With n < 2 the interval is [x, x]. */
void cmp_bootstrap_median_ci(const double *x, size_t n, double *lo,
                             double *hi);
/* Bootstrap 95% interval of median(a) / median(b). */
void cmp_bootstrap_ratio_ci(const double *a, size_t na, const double *b,
                            size_t nb, double *lo, double *hi);
double cmp_geomean(const double *x, size_t n);

/* One case (trace, allocator, instances) summed up over its runs.
 * Every double is NaN when no run of the case succeeded. */
struct cmp_case {
    const char *trace, *allocator;
    int instances;
    const char *machine;                /* of its first run */
    int n_ok, n_failed;
    const struct cmp_row *failure;      /* first failed run, or NULL */
    const struct cmp_row *median_run;   /* ok run of median wall time */
    double wall_med, wall_min, wall_max, wall_lo, wall_hi;
    double ratio, ratio_lo, ratio_hi;   /* wall / baseline's, CI */
    int within_noise;                   /* ratio CI contains 1 */
    int best;                           /* fastest of its trace */
    double rss_med, rss_min, rss_max, rss_ratio;
    double calls_per_s_med, frag_med;
    double lat_med[CMP_LAT_COUNT];
    double live_med;                    /* the replay's own peak of
                                           live bytes */
    double live_ratio;                  /* live_med / baseline's */
    int live_differs;                   /* live_ratio beyond
                                           CMP_LIVE_SPREAD either way */
    double edge_wait_med;               /* s, summed over threads */
    int edge_wait_large;                /* over CMP_EDGE_WAIT_SHARE of
                                           the wall time */
};
/* Waiting on the recorded cross-thread order (edges) summed over the
 * threads, as a share of the wall time, above which the report flags a
 * case: its time then depends on that order as much as on the
 * allocator. */
#define CMP_EDGE_WAIT_SHARE 0.25
/* A case whose replays held this many times more (or fewer) bytes live
 * at their peak than the baseline's is flagged: threads ran ahead of
 * the recorded order differently (a producer the program held back
 * through a queue the trace does not show), so the two memory figures
 * measure different live sets, not only two allocators. */
#define CMP_LIVE_SPREAD 1.25

struct cmp_stats {
    struct cmp_case *cases;
    size_t ncases;
    const char **traces, **allocators;  /* first-seen order */
    int *instances;                     /* ascending */
    size_t ntraces, nallocators, ninstances;
    size_t nmachines;                   /* distinct machine labels */
    const char *baseline;
    /* Per allocator, over traces at the smallest instance count:
     * geometric means of the time and peak RSS ratios (NaN if none). */
    double *geo_time, *geo_rss;
    int *geo_traces;
};

/* aggregate.c: rows to cases; NULL case lookups mean "not run". */
int cmp_stats_build(const struct cmp_rows *rows, const char *baseline,
                    struct cmp_stats *st);
void cmp_stats_free(struct cmp_stats *st);
const struct cmp_case *cmp_stats_find(const struct cmp_stats *st,
                                      const char *trace,
                                      const char *allocator, int instances);

/* summary.c: DIR/summary.json and the table printed after a compare. */
int cmp_summary_write_json(const char *dir, const struct cmp_stats *st,
                           char *err, size_t err_len);
void cmp_summary_print(FILE *out, const struct cmp_stats *st);

/* Loads DIR/results.csv and DIR/meta.txt into stats (plot and merge). */
/* Empties a folder of an earlier compare's files (it may not exist);
 * refuses one holding anything a compare does not write. */
int cmp_clear_dir(const char *dir, char *err, size_t err_len);
int cmp_load_dir(const char *dir, struct cmp_rows *rows,
                 struct cmp_stats *st, char *baseline, size_t len,
                 char *err, size_t err_len);

/* compare_options.c: the command line of `mallard compare`. */
#define CMP_MAX_ALLOCATORS 32
#define CMP_MAX_INSTANCES 16
struct cmp_options {
    char *allocators[CMP_MAX_ALLOCATORS];
    int nallocators;
    int allocators_given;         /* 0: every installed one */
    int instances[CMP_MAX_INSTANCES];
    int ninstances;
    int runs;
    double timeout_s;
    int max_lead_us;              /* passed to replay; 0: not given */
    const char *baseline;         /* NULL: glibc, else the first */
    const char *out_dir;
    int shard, nshards;           /* 1-based slice I of N; 1/1 = all */
    int shard_from_slurm;         /* --shard slurm: from the array task */
    char machine[CMP_LABEL_MAX];  /* --machine-label, or the host name */
    int plot;                     /* run `mallard plot DIR` after */
    char **traces;
    int ntraces;
};
int cmp_options_parse(int argc, char **argv, struct cmp_options *opt,
                      char *err, size_t err_len);
void cmp_options_usage(FILE *out);

/* allocators.c: which allocators exist; fills the default list. */
int cmp_allocators_pick(struct cmp_options *opt, FILE *note);

/* run_one.c: one replay process for one run of one case. */
struct cmp_run_spec {
    const char *self;             /* the mallard executable */
    const char *dir;              /* output folder */
    const char *trace, *allocator;
    int instances, run;
    long seq;
    double timeout_s;
    int max_lead_us;              /* replay's --max-lead; 0: not given */
};
void cmp_run_one(const struct cmp_run_spec *spec, struct cmp_row *row);

/* progress.c: a bar on a terminal, plain lines otherwise. */
struct cmp_progress {
    FILE *out;
    int tty;
    size_t total, done, failed;
    double start_s;
};
void cmp_progress_start(struct cmp_progress *p, FILE *out, size_t total);
void cmp_progress_step(struct cmp_progress *p, const struct cmp_row *row);
void cmp_progress_end(struct cmp_progress *p);

/* palette.c: an allocator's colour (#rrggbb), fixed across charts, and
 * its name as charts and tables show it: a path's base name, or as many
 * of its last folders as tell it from the run's other allocators (st
 * may be NULL: the base name), no spaces. */
const char *cmp_colour(const struct cmp_stats *st, size_t allocator);
void cmp_display_name(const struct cmp_stats *st, const char *allocator,
                      char *out, size_t len);

/* plot_data.c: DIR/data/, the files plots/NAME.gp read. */
int cmp_plot_data_write(const char *dir, const struct cmp_stats *st,
                        char *err, size_t err_len);

/* The charts, in report order (plot.c). */
struct cmp_chart {
    const char *name;        /* plots/NAME.gp -> charts/NAME.png|svg */
    const char *title;
    const char *caption;     /* how to read it */
};
extern const struct cmp_chart cmp_charts[];
extern const size_t cmp_chart_count;

/* report_html.c: DIR/index.html; drawn[i] says chart i exists. */
int cmp_report_html(const char *dir, const struct cmp_stats *st,
                    const int *drawn, const char *plot_note, char *err,
                    size_t err_len);

/* plot.c: charts and index.html for DIR; 0 ok, 1 failed (told why). */
int cmp_plot_dir(const char *dir);

/* Subcommands (declared for main.c in replay/cli/commands.h). */
int cmd_compare(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_merge(int argc, char **argv);

#endif
