/*
 * merge.c - `mallard merge -o OUT DIR...`: joins the folders of a
 * sharded comparison (`mallard compare --shard I/N`) into one, as if one
 * compare had made it: rows in schedule order, their RSS timelines, a
 * meta.txt with every shard's machine, a new summary.json, the charts.
 *
 * Invariants: the folders hold shards 1..N of one comparison, each once
 * and finished (shards.c checks, naming any that is missing, doubled or
 * cut short; --partial joins what there is and says so); they ran one
 * command (meta.txt's, but for --shard, -o and --machine-label); and a
 * run's seq is unique across them (its place in the one global
 * schedule).  Every breach is an error, never a silent mix or a short
 * report.
 */
#include <stdlib.h>
#include <string.h>

#include "compare.h"

static void merge_usage(FILE *out)
{
    fprintf(out, "usage: mallard merge [--no-plot] [--partial] -o OUT "
            "DIR...\n"
            "Joins the folders of `mallard compare --shard I/N` runs into "
            "OUT:\nresults.csv, RSS timelines, summary.json, charts and "
            "index.html.\nEvery shard 1..N must be there once, finished; "
            "--partial joins what there is.\n");
}

/* Copies the RSS timelines of rows[first..) from dir into out. */
static void merge_timelines(const char *dir, const char *out,
                            struct cmp_rows *rows, size_t first)
{
    for (size_t i = first; i < rows->n; i++) {
        struct cmp_row *r = &rows->v[i];
        char from[CMP_PATH_MAX], to[CMP_PATH_MAX];
        if (!r->rss_file[0])
            continue;
        if (cmp_join(from, sizeof(from), dir, r->rss_file) != 0 ||
            cmp_join(to, sizeof(to), out, r->rss_file) != 0 ||
            cmp_copy_file(from, to) != 0)
            r->rss_file[0] = '\0';   /* the chart shows a gap */
    }
}

/* The command line of a shard without what differs between the shards
 * of one comparison: the --shard, -o and --machine-label values. */
static void merge_command_core(const char *dir, char *out, size_t len)
{
    char cmd[CMP_ERR_MAX];
    out[0] = '\0';
    if (cmp_meta_get(dir, "command", cmd, sizeof(cmd)) != 0)
        return;
    int skip = 0;
    for (char *w = strtok(cmd, " "); w; w = strtok(NULL, " ")) {
        if (skip) {
            skip = 0;
            continue;
        }
        skip = strcmp(w, "--shard") == 0 || strcmp(w, "-o") == 0 ||
               strcmp(w, "--output") == 0 ||
               strcmp(w, "--machine-label") == 0;
        size_t n = strlen(out);
        if (!skip)
            snprintf(out + n, len - n, "%s%s", n ? " " : "", w);
    }
}

/* Shards must come from one comparison: the same command but for
 * --shard and -o.  Folders without meta.txt are not checked. */
static int merge_same_comparison(int ndirs, char **dirs, char *err,
                                 size_t err_len)
{
    char first[CMP_ERR_MAX], other[CMP_ERR_MAX];
    merge_command_core(dirs[0], first, sizeof(first));
    for (int d = 1; d < ndirs; d++) {
        merge_command_core(dirs[d], other, sizeof(other));
        if (first[0] && other[0] && strcmp(first, other) != 0) {
            snprintf(err, err_len, "%s and %s are not shards of one "
                     "comparison (their commands differ beyond --shard "
                     "and -o)", dirs[0], dirs[d]);
            return -1;
        }
    }
    return 0;
}

static int merge_rows(const char *out, int ndirs, char **dirs,
                      struct cmp_rows *rows, char *err, size_t err_len)
{
    for (int d = 0; d < ndirs; d++) {
        char path[CMP_PATH_MAX];
        size_t first = rows->n;
        snprintf(path, sizeof(path), "%s/results.csv", dirs[d]);
        if (cmp_rows_read(path, rows, err, err_len) != 0)
            return -1;
        merge_timelines(dirs[d], out, rows, first);
    }
    cmp_rows_sort(rows);
    for (size_t i = 1; i < rows->n; i++)
        if (rows->v[i].seq == rows->v[i - 1].seq) {
            snprintf(err, err_len, "run %ld (%s on %s) appears in two "
                     "folders: give each shard once", rows->v[i].seq,
                     rows->v[i].allocator, rows->v[i].trace);
            return -1;
        }
    if (rows->n == 0) {
        snprintf(err, err_len, "no runs in the folders given");
        return -1;
    }
    return 0;
}

static int merge_write(const char *out, const struct cmp_rows *rows,
                       char *err, size_t err_len)
{
    char path[CMP_PATH_MAX];
    snprintf(path, sizeof(path), "%s/results.csv", out);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, err_len, "%s: cannot write", path);
        return -1;
    }
    cmp_row_write_header(f);
    for (size_t i = 0; i < rows->n; i++)
        cmp_row_write(f, &rows->v[i]);
    if (fclose(f) != 0) {
        snprintf(err, err_len, "%s: cannot write", path);
        return -1;
    }
    return 0;
}

/* OUT, OUT/rss and OUT/logs; out may not be one of the inputs. */
static int merge_prepare(const char *out, int ndirs, char **dirs,
                         char *err, size_t err_len)
{
    char sub[CMP_PATH_MAX];
    for (int d = 0; d < ndirs; d++)
        if (strcmp(dirs[d], out) == 0) {
            snprintf(err, err_len, "%s: the output may not be one of the "
                     "shards", out);
            return -1;
        }
    snprintf(sub, sizeof(sub), "%s/rss", out);
    if (cmp_mkdir_p(sub, err, err_len) != 0)
        return -1;
    snprintf(sub, sizeof(sub), "%s/logs", out);
    return cmp_mkdir_p(sub, err, err_len);
}

static int merge_run(const char *out, int ndirs, char **dirs, int plot,
                     int partial)
{
    struct cmp_rows rows = { 0 };
    struct cmp_stats st;
    char err[CMP_ERR_MAX], baseline[CMP_NAME_MAX], note[CMP_NAME_MAX];
    int rc = 2;
    if (cmp_shards_check(ndirs, dirs, partial, note, sizeof(note), err,
                         sizeof(err)) == 0 &&
        merge_same_comparison(ndirs, dirs, err, sizeof(err)) == 0 &&
        merge_prepare(out, ndirs, dirs, err, sizeof(err)) == 0 &&
        merge_rows(out, ndirs, dirs, &rows, err, sizeof(err)) == 0 &&
        merge_write(out, &rows, err, sizeof(err)) == 0 &&
        cmp_shards_write_meta(out, ndirs, dirs, note, err,
                              sizeof(err)) == 0) {
        cmp_rows_free(&rows);
        if (cmp_load_dir(out, &rows, &st, baseline, sizeof(baseline), err,
                         sizeof(err)) == 0) {
            rc = cmp_summary_write_json(out, &st, err, sizeof(err)) ? 1 : 0;
            cmp_summary_print(stdout, &st);
            cmp_stats_free(&st);
            printf("merged %zu runs from %d folders into %s%s%s\n", rows.n,
                   ndirs, out, note[0] ? "; " : "", note);
        }
    }
    cmp_rows_free(&rows);
    if (rc != 0) {
        fprintf(stderr, "mallard merge: %s\n", err);
        return rc;
    }
    return plot ? cmp_plot_dir(out) : 0;
}

int cmd_merge(int argc, char **argv)
{
    const char *out = NULL;
    int plot = 1, partial = 0, first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--help") == 0 ||
            strcmp(argv[first], "-h") == 0) {
            merge_usage(stdout);
            return 0;
        }
        if (strcmp(argv[first], "--no-plot") == 0)
            plot = 0;
        else if (strcmp(argv[first], "--partial") == 0)
            partial = 1;
        else if (strcmp(argv[first], "-o") == 0 && first + 1 < argc)
            out = argv[++first];
        else
            break;
    }
    if (!out || first >= argc) {
        fprintf(stderr, "mallard merge: %s\n", !out ? "-o OUT is required"
                : "no shard folder given");
        merge_usage(stderr);
        return 2;
    }
    return merge_run(out, argc - first, argv + first, plot, partial);
}
