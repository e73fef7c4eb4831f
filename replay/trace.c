/*
 * trace.c - the two functions of trace.h's vocabulary: freeing a
 * struct trace and naming an op kind.
 *
 * They work on the in-memory form alone, whoever built it (the format's
 * loader, finaliser or slicer, or a test), so they sit beside trace.h
 * and below every stage of the format module, which frees the traces
 * it gives up on with them.
 */
#include <stdlib.h>
#include <string.h>

#include "trace.h"

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
