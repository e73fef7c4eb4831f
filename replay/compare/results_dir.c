/*
 * results_dir.c - a compare folder: what it holds, cleared before a new
 * compare writes into it, and read back: its rows (DIR/results.csv, in
 * schedule order) and its baseline (DIR/meta.txt), made into
 * statistics.  Plot and merge start here, so a folder made by one
 * compare and one made by merging shards are treated alike.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "compare.h"

/* The files a compare (and plot) writes; the folders hold only files. */
static const char *const owned_files[] = {
    "results.csv", "summary.json", "meta.txt", "index.html",
};
static const char *const owned_folders[] = { "rss", "logs", "charts",
                                             "data" };
#define OWNED_FILES (sizeof(owned_files) / sizeof(owned_files[0]))
#define OWNED_FOLDERS (sizeof(owned_folders) / sizeof(owned_folders[0]))

static int is_owned(const char *name)
{
    for (size_t i = 0; i < OWNED_FILES; i++)
        if (strcmp(name, owned_files[i]) == 0)
            return 1;
    for (size_t i = 0; i < OWNED_FOLDERS; i++)
        if (strcmp(name, owned_folders[i]) == 0)
            return 2;
    return 0;
}

/* Removes the regular files of one owned folder. */
static void clear_folder(const char *path)
{
    DIR *d = opendir(path);
    char file[CMP_PATH_MAX];
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.' &&
            snprintf(file, sizeof(file), "%s/%s", path, e->d_name) <
            (int)sizeof(file))
            unlink(file);
    if (d)
        closedir(d);
}

/* The first entry of dir that no compare writes, into foreign; 0 if
 * none, -1 if dir cannot be read (a missing dir has none). */
static int find_foreign(const char *dir, char *foreign, size_t len)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : -1;
    int found = 0;
    for (struct dirent *e; !found && (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            !is_owned(e->d_name)) {
            snprintf(foreign, len, "%s", e->d_name);
            found = 1;
        }
    closedir(d);
    return found;
}

int cmp_clear_dir(const char *dir, char *err, size_t err_len)
{
    char name[256], path[CMP_PATH_MAX];
    int foreign = find_foreign(dir, name, sizeof(name));
    if (foreign < 0)
        snprintf(err, err_len, "%s: %s", dir, strerror(errno));
    else if (foreign > 0)
        snprintf(err, err_len, "%s: holds %s, which no compare writes: "
                 "give -o a new folder or an earlier compare's", dir,
                 name);
    if (foreign != 0)
        return -1;
    for (size_t i = 0; i < OWNED_FILES; i++)
        if (snprintf(path, sizeof(path), "%s/%s", dir, owned_files[i]) <
            (int)sizeof(path))
            unlink(path);
    for (size_t i = 0; i < OWNED_FOLDERS; i++)
        if (snprintf(path, sizeof(path), "%s/%s", dir, owned_folders[i]) <
            (int)sizeof(path))
            clear_folder(path);
    return 0;
}

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
