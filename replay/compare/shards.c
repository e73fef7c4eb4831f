/*
 * shards.c - the shards of one comparison, as `mallard merge` finds
 * them: which shard each folder holds, whether the set is whole, and
 * the merged meta.txt that keeps every shard's machine.
 *
 * A compare folder's meta.txt says "shard: I/N" when it starts and
 * "finished: yes" when its last run is done (meta.c).  So the set of
 * folders tells by itself which of 1..N are missing, given twice or cut
 * short (a killed job), and merge names each instead of joining a
 * short report.  With --partial it joins what there is and says so.
 */
#include <stdlib.h>
#include <string.h>

#include "compare.h"

#define SHARDS_LINE_MAX 4096

/* The shard a folder holds; index 0 when its meta.txt does not say. */
struct shard_dir {
    const char *dir;
    int index, count;
    int finished;
};

static int shards_by_index(const void *a, const void *b)
{
    const struct shard_dir *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

static void shards_read(const char *dir, struct shard_dir *s)
{
    char value[CMP_NAME_MAX], tail;
    memset(s, 0, sizeof(*s));
    s->dir = dir;
    if (cmp_meta_get(dir, "shard", value, sizeof(value)) != 0 ||
        sscanf(value, "%d/%d%c", &s->index, &s->count, &tail) != 2 ||
        s->index < 1 || s->index > s->count)
        s->index = s->count = 0;
    s->finished = cmp_meta_get(dir, "finished", value, sizeof(value)) ==
                  0 && strcmp(value, "yes") == 0;
}

/* Adds one problem, on a line of its own, to err. */
static void shards_problem(char *err, size_t len, const char *line)
{
    size_t used = strlen(err);
    snprintf(err + used, len - used, "%s%s", used ? "\n" : "", line);
}

/* What is wrong with folder s[d] (sorted by index), or "" if nothing:
 * it holds no shard, disagrees on N, repeats s[d-1] or was cut short. */
static void shards_misfit(const struct shard_dir *s, int d, char *line,
                          size_t len)
{
    const struct shard_dir *me = &s[d];
    line[0] = '\0';
    if (me->count == 0)
        snprintf(line, len, "%s: meta.txt does not say which shard it "
                 "holds (not a compare folder?)", me->dir);
    else if (me->count != s[0].count)
        snprintf(line, len, "%s holds shard %d of %d, %s one of %d: not "
                 "shards of one comparison", me->dir, me->index,
                 me->count, s[0].dir, s[0].count);
    else if (d > 0 && me->index == s[d - 1].index)
        snprintf(line, len, "shard %d of %d is given twice: %s and %s",
                 me->index, me->count, s[d - 1].dir, me->dir);
    else if (!me->finished)
        snprintf(line, len, "shard %d of %d did not finish (its job was "
                 "killed or still runs): %s; re-run it", me->index,
                 me->count, me->dir);
}

/* Lists the shards of 1..N that no folder holds; returns how many. */
static int shards_missing(const struct shard_dir *s, int n, char *missing,
                          size_t len)
{
    int count = 0;
    missing[0] = '\0';
    for (int i = 1, d = 0; i <= s[0].count; i++) {
        while (d < n && s[d].index < i)
            d++;
        if (d < n && s[d].index == i)
            continue;
        size_t used = strlen(missing);
        snprintf(missing + used, len - used, "%s%d", count ? ", " : "", i);
        count++;
    }
    return count;
}

/* Problems with the set as a whole: missing shards, unless partial. */
static int shards_whole(const struct shard_dir *s, int n, int partial,
                        char *note, size_t note_len, char *err,
                        size_t err_len)
{
    char missing[CMP_NAME_MAX], line[CMP_ERR_MAX];
    int lost = shards_missing(s, n, missing, sizeof(missing));
    if (lost == 0)
        return 0;
    if (partial) {
        snprintf(note, note_len, "partial: shard%s %s of %d missing",
                 lost > 1 ? "s" : "", missing, s[0].count);
        return 0;
    }
    snprintf(line, sizeof(line), "shard%s %s of %d %s missing: no folder "
             "given holds %s (re-run with --shard I/%d, or merge "
             "--partial)", lost > 1 ? "s" : "", missing, s[0].count,
             lost > 1 ? "are" : "is", lost > 1 ? "them" : "it",
             s[0].count);
    shards_problem(err, err_len, line);
    return -1;
}

int cmp_shards_check(int ndirs, char **dirs, int partial, char *note,
                     size_t note_len, char *err, size_t err_len)
{
    struct shard_dir *s = calloc((size_t)ndirs, sizeof(*s));
    char line[CMP_ERR_MAX], short_ones[CMP_NAME_MAX] = "";
    int bad = 0;
    err[0] = note[0] = '\0';
    if (!s) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    for (int d = 0; d < ndirs; d++)
        shards_read(dirs[d], &s[d]);
    qsort(s, (size_t)ndirs, sizeof(*s), shards_by_index);
    for (int d = 0; d < ndirs; d++)
        dirs[d] = (char *)s[d].dir;     /* shard order from here on */
    for (int d = 0; d < ndirs; d++) {
        shards_misfit(s, d, line, sizeof(line));
        if (line[0] && partial && s[d].count && !s[d].finished) {
            size_t used = strlen(short_ones);
            snprintf(short_ones + used, sizeof(short_ones) - used, "%s%d",
                     used ? ", " : "", s[d].index);
        } else if (line[0]) {
            shards_problem(err, err_len, line);
            bad = 1;
        }
    }
    if (!bad)
        bad = shards_whole(s, ndirs, partial, note, note_len, err,
                           err_len) != 0;
    if (!bad && short_ones[0]) {
        size_t used = strlen(note);
        snprintf(note + used, note_len - used, "%spartial: shard %s cut "
                 "short", used ? "; " : "", short_ones);
    }
    free(s);
    return bad ? -1 : 0;
}

/* Keys of meta.txt that describe the comparison, not the machine. */
static int shards_common_key(const char *line)
{
    static const char *const keys[] = { "command: ", "directory: ",
        "baseline: " };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strncmp(line, keys[i], strlen(keys[i])) == 0)
            return 1;
    return 0;
}

/* Keys that differ per shard even on one machine. */
static int shards_own_key(const char *line)
{
    return strncmp(line, "shard: ", 7) == 0 ||
           strncmp(line, "finished: ", 10) == 0 ||
           strncmp(line, "slurm job: ", 11) == 0;
}

/* Writes dir's meta.txt lines of one kind (common or machine) to out,
 * each after prefix. */
static void shards_copy_lines(FILE *out, const char *dir, int common,
                              const char *prefix)
{
    char path[CMP_PATH_MAX], line[SHARDS_LINE_MAX];
    snprintf(path, sizeof(path), "%s/meta.txt", dir);
    FILE *in = fopen(path, "r");
    while (in && fgets(line, sizeof(line), in))
        if (shards_common_key(line) == common && !shards_own_key(line))
            fprintf(out, "%s%s", prefix, line);
    if (in)
        fclose(in);
}

/* The machine lines of a folder's meta.txt, as one string. */
static void shards_machine_text(const char *dir, char *out, size_t len)
{
    FILE *mem = fmemopen(out, len, "w");
    if (!mem) {
        out[0] = '\0';
        return;
    }
    shards_copy_lines(mem, dir, 0, "");
    fclose(mem);
}

/* One "shard I: FOLDER" line per shard, with its Slurm task if any. */
static void shards_list(FILE *f, int ndirs, char **dirs)
{
    for (int d = 0; d < ndirs; d++) {
        char shard[CMP_NAME_MAX], job[CMP_NAME_MAX];
        cmp_meta_get(dirs[d], "shard", shard, sizeof(shard));
        cmp_meta_get(dirs[d], "slurm job", job, sizeof(job));
        fprintf(f, "shard %s: %s%s%s\n", shard, dirs[d],
                job[0] ? ", slurm job " : "", job);
    }
}

/*
 * OUT/meta.txt of a merge: the comparison's lines (first folder), the
 * shards, a note when partial, then the machine: once when every shard
 * ran on the same one (same lines), else each shard's lines prefixed
 * "shard I/N ", so the report lists the machines apart.
 */
int cmp_shards_write_meta(const char *out, int ndirs, char **dirs,
                          const char *note, char *err, size_t err_len)
{
    char path[CMP_PATH_MAX], first[SHARDS_LINE_MAX * 4];
    char other[SHARDS_LINE_MAX * 4];
    snprintf(path, sizeof(path), "%s/meta.txt", out);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, err_len, "%s: cannot write", path);
        return -1;
    }
    shards_copy_lines(f, dirs[0], 1, "");
    shards_list(f, ndirs, dirs);
    if (note && note[0])
        fprintf(f, "merge: %s\n", note);
    shards_machine_text(dirs[0], first, sizeof(first));
    int same = 1;
    for (int d = 1; d < ndirs && same; d++) {
        shards_machine_text(dirs[d], other, sizeof(other));
        same = strcmp(first, other) == 0;
    }
    for (int d = 0; d < ndirs; d++) {
        char prefix[CMP_NAME_MAX + 8], shard[CMP_NAME_MAX];
        cmp_meta_get(dirs[d], "shard", shard, sizeof(shard));
        snprintf(prefix, sizeof(prefix), same ? "" : "shard %s ", shard);
        if (!same || d == 0)
            shards_copy_lines(f, dirs[d], 0, prefix);
    }
    if (fclose(f) != 0) {
        snprintf(err, err_len, "%s: cannot write", path);
        return -1;
    }
    return 0;
}
