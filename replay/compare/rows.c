/*
 * rows.c - results.csv: one line per replay run, the schema documented
 * in docs/compare.md.  Written as runs finish (so an interrupted compare
 * keeps what it measured) and read back by plot and merge.
 *
 * Invariant: no field is quoted.  Free text (messages, paths) goes
 * through cmp_csv_clean, and trace paths with a comma are refused on
 * the command line, so a line splits on commas alone, for awk and
 * gnuplot as well as for us.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

#define ROWS_HEADER \
    "seq,trace,allocator,instances,run,status,exit_code,signal,wall_s," \
    "user_s,sys_s,calls,calls_per_s,peak_rss_bytes,baseline_rss_bytes," \
    "peak_anon_bytes,baseline_anon_bytes," \
    "peak_live_bytes,fragmentation,minor_faults,major_faults," \
    "edge_wait_s,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,rss_file,message," \
    "machine"
#define ROWS_FIELDS 30
#define ROWS_LINE_MAX 8192
#define ROWS_FIRST_CAP 64
/* Fields wall_s .. max_ns: the numbers, in file order. */
#define ROWS_FIRST_NUMBER 8
#define ROWS_NUMBERS 19

int cmp_rows_push(struct cmp_rows *rows, const struct cmp_row *row)
{
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : ROWS_FIRST_CAP;
        struct cmp_row *v = realloc(rows->v, cap * sizeof(*v));
        if (!v)
            return -1;
        rows->v = v;
        rows->cap = cap;
    }
    rows->v[rows->n++] = *row;
    return 0;
}

void cmp_rows_free(struct cmp_rows *rows)
{
    free(rows->v);
    memset(rows, 0, sizeof(*rows));
}

static int rows_by_seq(const void *a, const void *b)
{
    long x = ((const struct cmp_row *)a)->seq;
    long y = ((const struct cmp_row *)b)->seq;
    return (x > y) - (x < y);
}

void cmp_rows_sort(struct cmp_rows *rows)
{
    if (rows->n > 1)
        qsort(rows->v, rows->n, sizeof(rows->v[0]), rows_by_seq);
}

int cmp_row_ok(const struct cmp_row *row)
{
    return strcmp(row->status, "ok") == 0;
}

void cmp_csv_clean(char *s)
{
    for (; *s; s++)
        if (*s == ',' || *s == '"' || *s == '\n' || *s == '\r')
            *s = *s == ',' ? ';' : (*s == '"' ? '\'' : ' ');
}

void cmp_row_write_header(FILE *out)
{
    fprintf(out, "%s\n", ROWS_HEADER);
}

void cmp_row_write(FILE *out, const struct cmp_row *r)
{
    fprintf(out, "%ld,%s,%s,%d,%d,%s,%d,%d,%.6f,%.6f,%.6f,%.0f,%.1f,"
            "%.0f,%.0f,%.0f,%.0f,%.0f,%.4f,%.0f,%.0f,%.6f",
            r->seq, r->trace, r->allocator, r->instances, r->run,
            r->status, r->exit_code, r->signal, r->wall_s, r->user_s,
            r->sys_s, r->calls, r->calls_per_s, r->peak_rss_bytes,
            r->baseline_rss_bytes, r->peak_anon_bytes,
            r->baseline_anon_bytes, r->peak_live_bytes, r->fragmentation,
            r->minor_faults, r->major_faults, r->edge_wait_s);
    for (int i = 0; i < CMP_LAT_COUNT; i++)
        fprintf(out, ",%.1f", r->lat_ns[i]);
    fprintf(out, ",%s,%s,%s\n", r->rss_file, r->message, r->machine);
}

/* Splits line in place at commas; returns the field count. */
static int rows_split(char *line, char **fields, int max)
{
    int n = 0;
    fields[n++] = line;
    for (char *p = line; *p; p++) {
        if (*p != ',')
            continue;
        if (n == max)
            return max + 1;
        *p = '\0';
        fields[n++] = p + 1;
    }
    return n;
}

static int rows_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return (end == s || *end != '\0' || errno == ERANGE) ? -1 : 0;
}

/* The numeric fields in file order, from wall_s (field 8) onwards. */
static double *rows_numbers(struct cmp_row *r, int i)
{
    double *fixed[] = {
        &r->wall_s, &r->user_s, &r->sys_s, &r->calls, &r->calls_per_s,
        &r->peak_rss_bytes, &r->baseline_rss_bytes, &r->peak_anon_bytes,
        &r->baseline_anon_bytes, &r->peak_live_bytes,
        &r->fragmentation, &r->minor_faults, &r->major_faults,
        &r->edge_wait_s, &r->lat_ns[0], &r->lat_ns[1], &r->lat_ns[2],
        &r->lat_ns[3], &r->lat_ns[4],
    };
    return fixed[i];
}

static int rows_parse(char *line, struct cmp_row *r, const char **what)
{
    char *f[ROWS_FIELDS];
    memset(r, 0, sizeof(*r));
    if (rows_split(line, f, ROWS_FIELDS) != ROWS_FIELDS) {
        *what = "30 comma-separated fields";
        return -1;
    }
    char *end;
    r->seq = strtol(f[0], &end, 10);
    r->instances = atoi(f[3]);
    r->run = atoi(f[4]);
    r->exit_code = atoi(f[6]);
    r->signal = atoi(f[7]);
    if (*end || r->instances < 1 || r->run < 1 || !*f[1] || !*f[2] ||
        !*f[5]) {
        *what = "seq, trace, allocator, instances >= 1, run >= 1, status";
        return -1;
    }
    snprintf(r->trace, sizeof(r->trace), "%s", f[1]);
    snprintf(r->allocator, sizeof(r->allocator), "%s", f[2]);
    snprintf(r->status, sizeof(r->status), "%s", f[5]);
    for (int i = 0; i < ROWS_NUMBERS; i++)
        if (rows_number(f[ROWS_FIRST_NUMBER + i], rows_numbers(r, i))) {
            *what = "a number in each measured field";
            return -1;
        }
    snprintf(r->rss_file, sizeof(r->rss_file), "%s",
             f[ROWS_FIRST_NUMBER + ROWS_NUMBERS]);
    snprintf(r->message, sizeof(r->message), "%s",
             f[ROWS_FIRST_NUMBER + ROWS_NUMBERS + 1]);
    snprintf(r->machine, sizeof(r->machine), "%s",
             f[ROWS_FIRST_NUMBER + ROWS_NUMBERS + 2]);
    return 0;
}

static int rows_read_lines(FILE *f, const char *path, struct cmp_rows *rows,
                           char *err, size_t err_len)
{
    char line[ROWS_LINE_MAX];
    for (long lineno = 2; fgets(line, sizeof(line), f); lineno++) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line)
            continue;
        struct cmp_row r;
        const char *what = NULL;
        if (rows_parse(line, &r, &what) != 0) {
            snprintf(err, err_len, "%s: line %ld: expected %s", path,
                     lineno, what);
            return -1;
        }
        if (cmp_rows_push(rows, &r) != 0) {
            snprintf(err, err_len, "%s: out of memory", path);
            return -1;
        }
    }
    return 0;
}

int cmp_rows_read(const char *path, struct cmp_rows *rows, char *err,
                  size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "%s: cannot open: %s", path,
                 strerror(errno));
        return -1;
    }
    char line[ROWS_LINE_MAX];
    int rc = -1;
    if (!fgets(line, sizeof(line), f) ||
        strncmp(line, ROWS_HEADER, strlen(ROWS_HEADER)) != 0)
        snprintf(err, err_len, "%s: line 1: expected the results.csv "
                 "header (%.40s...)", path, ROWS_HEADER);
    else
        rc = rows_read_lines(f, path, rows, err, err_len);
    fclose(f);
    return rc;
}
