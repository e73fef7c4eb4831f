/*
 * pacing.h - --max-lead (pacing.c): edges that keep each replay thread
 * within lead_ns of recorded time of the others, for traces whose
 * program held its threads together by means the trace does not show.
 */
#ifndef MALLARD_REPLAY_PACING_H
#define MALLARD_REPLAY_PACING_H

#include <stdint.h>

#include "engine.h"

/*
 * Adds the edges to ops[] (the build form, laid out as image's thread
 * descs say, with their recorded times[]) and marks their targets;
 * edges already there stay.  0, or -1 when out of memory.
 */
int replay_pacing_add(struct replay_image *image,
                      struct replay_op *ops, const uint64_t *times,
                      uint64_t lead_ns);

#endif
