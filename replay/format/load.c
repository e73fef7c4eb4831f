/*
 * load.c - the public entry points of trace.h: load, free, op names.
 *
 * A trace file is mapped read-only, decoded (decode.c) and finalised
 * (finalize.c), or read as already finalised (final_read.c); the caller
 * gets only the finalised form.  Loading is
 * the single path every user takes, so every user gets the same checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace_format.h"

int trace_map_file(const char *path, const uint8_t **data, size_t *size,
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

void trace_unmap_file(const uint8_t *data, size_t size)
{
    if (data)
        munmap((void *)data, size);
}

int trace_load_buffer(const char *name, const uint8_t *data, size_t size,
                      struct trace *out, char *err, size_t err_len)
{
    struct trace_raw raw;
    memset(out, 0, sizeof(*out));
    if (trace_raw_read(name, data, size, &raw, err, err_len) < 0)
        return -1;
    int rc = trace_raw_to_trace(&raw, out, NULL, err, err_len);
    trace_raw_free(&raw);
    return rc;
}

int trace_load(const char *path, struct trace *out, char *err,
               size_t err_len)
{
    const uint8_t *data;
    size_t size;
    memset(out, 0, sizeof(*out));
    if (trace_map_file(path, &data, &size, err, err_len) < 0)
        return -1;
    static const uint8_t empty[1];
    int rc = trace_load_buffer(path, data ? data : empty, size, out, err,
                               err_len);
    trace_unmap_file(data, size);
    return rc;
}

void trace_free(struct trace *trace)
{
    if (!trace)
        return;
    for (uint32_t i = 0; trace->threads && i < trace->thread_count; i++)
        free(trace->threads[i].ops);
    free(trace->threads);
    free(trace->command_line);
    memset(trace, 0, sizeof(*trace));
}

static const char *const op_names[] = {
    [TRACE_MALLOC] = "malloc",
    [TRACE_CALLOC] = "calloc",
    [TRACE_REALLOC] = "realloc",
    [TRACE_REALLOCARRAY] = "reallocarray",
    [TRACE_FREE] = "free",
    [TRACE_POSIX_MEMALIGN] = "posix_memalign",
    [TRACE_ALIGNED_ALLOC] = "aligned_alloc",
    [TRACE_MEMALIGN] = "memalign",
    [TRACE_VALLOC] = "valloc",
    [TRACE_PVALLOC] = "pvalloc",
    [TRACE_USABLE_SIZE] = "malloc_usable_size",
    [TRACE_THREAD_START] = "thread_start",
    [TRACE_THREAD_EXIT] = "thread_exit",
};

const char *trace_op_name(unsigned kind)
{
    if (kind >= sizeof(op_names) / sizeof(op_names[0]) || !op_names[kind])
        return "unknown";
    return op_names[kind];
}
