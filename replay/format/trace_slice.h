/*
 * trace_slice.h - cutting a time window out of a finalised trace.
 *
 * A slice is itself a valid trace: blocks live at the start of the
 * window are allocated at the start of the slice (by the thread that
 * allocated them, or if it has no ops left, by their first toucher),
 * the first touch of such a block waits for that allocation, other
 * edges into the cut-off past are dropped, and both cuts are moved
 * forward where an edge would cross them backwards, so every edge of
 * the slice points inside it.
 */
#ifndef MALLARD_TRACE_SLICE_H
#define MALLARD_TRACE_SLICE_H

#include <stddef.h>
#include <stdint.h>

#include "../trace.h"

#define TRACE_SLICE_TO_END UINT64_MAX   /* window open to the end */

struct trace_slice_report {
    uint64_t carried_blocks;  /* live at the start cut, allocated first */
    uint64_t carried_bytes;
    uint64_t window_ops;      /* recorded ops kept (without the above) */
};

/*
 * Writes into out the ops of in whose times fall in [from_ns, to_ns)
 * (ns after the trace's start), made valid as described above; times
 * in out count from from_ns.  Returns 0, or -1 with the reason in err
 * (an empty window, out of memory).  out is freed with trace_free().
 */
int trace_slice(const struct trace *in, uint64_t from_ns, uint64_t to_ns,
                struct trace *out, struct trace_slice_report *report,
                char *err, size_t err_len);

/* The end time that keeps about max_ops ops after from_ns, or
 * TRACE_SLICE_TO_END if fewer remain; UINT64_MAX also on no memory. */
uint64_t trace_slice_end_for_ops(const struct trace *in, uint64_t from_ns,
                                 uint64_t max_ops);

#endif
