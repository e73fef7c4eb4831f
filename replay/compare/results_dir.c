/*
 * results_dir.c - a compare folder read back: its rows
 * (DIR/results.csv, in schedule order) and its baseline (DIR/meta.txt),
 * made into statistics.  Plot and merge start here, so a folder made by
 * one compare and one made by merging shards are treated alike.
 */
#include <string.h>

#include "compare.h"

int cmp_load_dir(const char *dir, struct cmp_rows *rows,
                 struct cmp_stats *st, char *baseline, size_t len,
                 char *err, size_t err_len)
{
    char path[CMP_PATH_MAX];
    snprintf(path, sizeof(path), "%s/results.csv", dir);
    if (cmp_rows_read(path, rows, err, err_len) != 0)
        return -1;
    if (rows->n == 0) {
        snprintf(err, err_len, "%s: no runs in the file", path);
        return -1;
    }
    cmp_rows_sort(rows);
    if (cmp_meta_get(dir, "baseline", baseline, len) != 0 || !*baseline) {
        snprintf(baseline, len, "%s", rows->v[0].allocator);
        for (size_t i = 0; i < rows->n; i++)
            if (strcmp(rows->v[i].allocator, "glibc") == 0)
                snprintf(baseline, len, "glibc");
    }
    if (cmp_stats_build(rows, baseline, st) != 0) {
        snprintf(err, err_len, "%s: out of memory", path);
        return -1;
    }
    return 0;
}
