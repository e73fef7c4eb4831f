/*
 * load.c - the loader: a trace file, or bytes, to the replay-ready
 * struct trace of ../trace.h.
 *
 * A file is mapped read-only and decoded (decode.c); the decoded file
 * (struct trace_raw) keeps the mapping while its events are still
 * encoded in it (a recording's, until finalised), else nothing of it.
 * It then becomes a struct trace: a recording is finalised
 * (finalize.c), a finalised file's ops are taken as they are
 * (final_read.c).  Every user, the front end's reports included, goes
 * through these entry points, so every user gets the same checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format_internal.h"

/* Maps a file read-only; returns 0 or -1 with the reason in err. */
static int load_map(const char *path, const uint8_t **data, size_t *size,
                    char *err, size_t err_len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        trace_error(err, err_len, path, 0, "cannot open: %s",
                    strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        trace_error(err, err_len, path, 0, "is a directory, not a trace");
        close(fd);
        return -1;
    }
    *size = (size_t)st.st_size;
    *data = NULL;
    if (*size > 0) {
        void *m = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            trace_error(err, err_len, path, 0, "cannot map: %s",
                        strerror(errno));
            close(fd);
            return -1;
        }
        /* Two pieces of advice, two calls: they are values, not flags
         * (or-ed, they read as MADV_WILLNEED alone). */
        madvise(m, *size, MADV_SEQUENTIAL);
        madvise(m, *size, MADV_WILLNEED);
        *data = m;
    }
    close(fd);
    return 0;
}

static void load_unmap(const uint8_t *data, size_t size)
{
    if (data)
        munmap((void *)data, size);
}

static int load_raw(const char *path, struct trace_raw *raw, int check,
                    char *err, size_t err_len)
{
    static const uint8_t empty[1];
    const uint8_t *data;
    size_t size;
    memset(raw, 0, sizeof(*raw));
    if (load_map(path, &data, &size, err, err_len) < 0)
        return -1;
    int rc = decode_read(path, data ? data : empty, size, raw, check, err,
                         err_len);
    if (rc == 0 && data && decode_borrows(raw)) {
        raw->kept = (void *)data;         /* raw's now: the events */
        raw->kept_size = size;
        raw->kept_mapped = 1;
    } else {
        load_unmap(data, size);
    }
    return rc;
}

int trace_raw_load(const char *path, struct trace_raw *raw, char *err,
                   size_t err_len)
{
    return load_raw(path, raw, 1, err, err_len);
}

int trace_raw_load_unchecked(const char *path, struct trace_raw *raw,
                             char *err, size_t err_len)
{
    return load_raw(path, raw, 0, err, err_len);
}

int trace_raw_to_trace(struct trace_raw *raw, struct trace *out,
                       struct trace_finalize_report *report, char *err,
                       size_t err_len)
{
    if (!raw->final && decode_pending_check(raw, err, err_len) < 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    if (!raw->final)
        return trace_finalize(raw, out, report, err, err_len);
    return final_read_take(raw, out, report, err, err_len);
}

/* raw's struct trace, then raw freed: the end of both loads. */
static int load_take(struct trace_raw *raw, struct trace *out, char *err,
                     size_t err_len)
{
    int rc = trace_raw_to_trace(raw, out, NULL, err, err_len);
    trace_raw_free(raw);
    return rc;
}

int trace_load_buffer(const char *name, const uint8_t *data, size_t size,
                      struct trace *out, char *err, size_t err_len)
{
    struct trace_raw raw;
    memset(out, 0, sizeof(*out));
    if (trace_raw_read(name, data, size, &raw, err, err_len) < 0)
        return -1;
    return load_take(&raw, out, err, err_len);
}

int trace_load(const char *path, struct trace *out, char *err,
               size_t err_len)
{
    struct trace_raw raw;
    memset(out, 0, sizeof(*out));
    if (trace_raw_load(path, &raw, err, err_len) < 0)
        return -1;
    return load_take(&raw, out, err, err_len);
}
