/*
 * image.h - between image.c, which lays out the replay image, and
 * slots.c, which checks its ops and renames their slots.
 */
#ifndef MALLARD_REPLAY_IMAGE_H
#define MALLARD_REPLAY_IMAGE_H

#include "engine.h"

/*
 * Checks every op (the build form, ops[], with their recorded times[],
 * laid out as the image's thread descs say; kinds, slots, edges, no
 * cycle), renames
 * slots so a slot is reused only by the thread that freed it, marks the
 * ops other threads wait on and fills the image's counts.  On failure
 * returns -1 with "thread T op N: what was wrong" in err.
 */
int image_check_and_rename(struct replay_image *image,
                           struct replay_op *ops, const uint64_t *times,
                           uint32_t trace_slots, char *err,
                           size_t err_len);

/* Bytes an op asks for (calloc and reallocarray multiply, saturating);
 * inline because every replayed op asks. */
static inline uint64_t image_requested_bytes(const struct replay_op *op)
{
    uint64_t n = op->size;
    if (op->kind == TRACE_CALLOC || op->kind == TRACE_REALLOCARRAY) {
        if (__builtin_mul_overflow(op->arg, op->size, &n))
            n = UINT64_MAX;
    }
    return n;
}

#endif
