/*
 * util.c - the small file and string chores of compare, plot and merge:
 * making folders, whole-file reads and writes, trace labels, splitting
 * comma lists.  Nothing here knows about results or statistics.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compare.h"

/* A trace file's conventional suffix, dropped from chart labels. */
#define UTIL_TRACE_SUFFIX ".trace"
#define UTIL_COPY_CHUNK 65536

int cmp_mkdir_p(const char *path, char *err, size_t err_len)
{
    char buf[CMP_PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
        snprintf(err, err_len, "%s: path too long", path);
        return -1;
    }
    for (char *p = buf + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            snprintf(err, err_len, "%s: cannot create: %s", buf,
                     strerror(errno));
            return -1;
        }
        *p = saved;
        if (saved == '\0')
            return 0;
    }
}

char *cmp_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = UTIL_COPY_CHUNK, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        char *grown = realloc(buf, cap + 1);
        if (!grown)
            free(buf);
        buf = grown;
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int cmp_write_file(const char *path, const char *text, char *err,
                   size_t err_len)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        snprintf(err, err_len, "%s: cannot write: %s", path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

int cmp_copy_file(const char *from, const char *to)
{
    size_t len;
    char *text = cmp_read_file(from, &len);
    if (!text)
        return -1;
    FILE *f = fopen(to, "wb");
    int rc = (f && fwrite(text, 1, len, f) == len) ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(text);
    return rc;
}

void cmp_trace_label(const char *trace, char *out, size_t len)
{
    const char *slash = strrchr(trace, '/');
    snprintf(out, len, "%s", slash ? slash + 1 : trace);
    size_t n = strlen(out), s = strlen(UTIL_TRACE_SUFFIX);
    if (n > s && strcmp(out + n - s, UTIL_TRACE_SUFFIX) == 0)
        out[n - s] = '\0';
}

int cmp_split_list(const char *list, char **items, int max)
{
    int n = 0;
    const char *p = list;
    while (n < max) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0)
            return -1;
        items[n++] = strndup(p, len);
        if (!comma)
            return n;
        p = comma + 1;
    }
    return -1;
}

int cmp_self_exe(char *out, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", out, len - 1);
    if (n <= 0 || (size_t)n >= len - 1)
        return -1;
    out[n] = '\0';
    return 0;
}

int cmp_join(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < len ? 0 : -1;
}
