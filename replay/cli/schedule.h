/*
 * schedule.h - walking a finalised trace in one order a replay could
 * take: each thread in program order, an op only after the op its edge
 * names.  `trace check` uses it to prove the edges are acyclic and the
 * slot use sound; `trace stats` to pair each free with its allocation.
 */
#ifndef MALLARD_SCHEDULE_H
#define MALLARD_SCHEDULE_H

#include <stddef.h>

#include "trace.h"

typedef int (*schedule_visit)(void *ctx, uint32_t thread, uint64_t index,
                              const struct trace_op *op);

/* Visits every op once; returns 0, the first non-zero visit result, or
 * -1 with a message in err if the edges leave some thread stuck. */
int schedule_walk(const struct trace *t, schedule_visit visit, void *ctx,
                  char *err, size_t err_len);

#endif
