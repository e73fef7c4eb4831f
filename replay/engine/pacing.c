/*
 * pacing.c - --max-lead: extra dependency edges that keep a replay's
 * threads within a window of recorded time of one another.
 *
 * Edges order only "allocated before freed" (trace.h).  A program's own
 * back-pressure, such as a bounded queue between a producer and a
 * consumer, is not in the trace, so in a replay a producer can run far
 * ahead of its consumer and hold many times the recorded live bytes (a
 * prodcons trace with a 2.9 MB peak reached 8-115 MB replayed asap).
 * With a lead of L ns, an allocation recorded at time t on thread A also
 * waits until one other thread B has done every op it made before
 * t - L: the next of the other threads, in turn, whose ops before
 * t - L go beyond what A's earlier edges on B asked (looking at most
 * PACING_TRIES of them, so a trace of hundreds of threads, most of them
 * long finished, costs a few binary searches an allocation).  Only
 * allocations get one (they are what grows memory), and only those
 * without an edge already (an op has one).
 * The waits count as edge waits: the report's distortion shows their
 * cost.
 *
 * No cycle: every edge, old or new, waits for an op earlier in the
 * recorded order (an allocation before the free of its block; here, an
 * op recorded strictly earlier), so waits never close a loop.  That
 * needs each thread's times in order; a thread whose times are not (a
 * damaged trace) is left out as a target.
 */
#include "pacing.h"

#include <stdlib.h>

#define PACING_TRIES 8

static int pacing_in_order(const uint64_t *times, uint64_t count)
{
    for (uint64_t i = 1; i < count; i++)
        if (times[i] < times[i - 1])
            return 0;
    return 1;
}

/* How many of the count times (in order) are below `before`. */
static uint64_t pacing_count_before(const uint64_t *times, uint64_t count,
                                    uint64_t before)
{
    uint64_t lo = 0, hi = count;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (times[mid] < before)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct pacing_walk {
    const struct replay_thread_desc *desc;
    struct replay_op *ops;
    const uint64_t *times;
    const uint8_t *ordered;   /* per thread: its times are in order */
    uint64_t *asked;          /* per thread: ops A's edges already ask */
    uint32_t threads;
    uint64_t lead_ns;
    uint64_t added;           /* edges added */
};

/* Ops of thread b that an allocation of A recorded at t must wait for,
 * when that asks more of b than A's edges so far; else 0. */
static uint64_t pacing_ask(struct pacing_walk *w, uint32_t b, uint64_t t)
{
    const struct replay_thread_desc *db = &w->desc[b];
    if (!w->ordered[b])
        return 0;
    uint64_t done = pacing_count_before(w->times + db->first_op,
                                        db->op_count, t - w->lead_ns);
    return done > w->asked[b] ? done : 0;
}

/* Gives thread a's allocations their pacing edges. */
static void pacing_thread(struct pacing_walk *w, uint32_t a)
{
    const struct replay_thread_desc *da = &w->desc[a];
    uint32_t others = w->threads - 1, next = 0;
    for (uint32_t b = 0; b < w->threads; b++)
        w->asked[b] = 0;
    for (uint64_t i = 0; i < da->op_count; i++) {
        struct replay_op *op = &w->ops[da->first_op + i];
        uint64_t t = w->times[da->first_op + i];
        /* an allocation that got a block (it grows memory) */
        if (op->slot == TRACE_NO_SLOT || op->dep_thread != TRACE_NO_DEP ||
            t <= w->lead_ns)
            continue;
        for (uint32_t k = 0; k < PACING_TRIES && k < others; k++) {
            uint32_t b = (a + 1 + next++ % others) % w->threads;
            uint64_t done = pacing_ask(w, b, t);
            if (done == 0)
                continue;
            w->asked[b] = done;
            w->added++;
            op->dep_thread = b;
            op->dep_op = (uint32_t)(done - 1);
            w->ops[w->desc[b].first_op + done - 1].flags |=
                REPLAY_OP_IS_DEP_TARGET;
            break;
        }
    }
}

int replay_pacing_add(struct replay_image *image,
                      struct replay_op *ops, const uint64_t *times,
                      uint64_t lead_ns)
{
    uint32_t n = image->thread_count;
    if (n < 2 || lead_ns == 0)
        return 0;
    struct pacing_walk w = {
        .desc = replay_image_threads(image), .ops = ops, .times = times,
        .threads = n, .lead_ns = lead_ns,
    };
    uint8_t *ordered = malloc(n);
    w.asked = malloc(n * sizeof(*w.asked));
    if (!ordered || !w.asked) {
        free(ordered);
        free(w.asked);
        return -1;
    }
    for (uint32_t t = 0; t < n; t++)
        ordered[t] = (uint8_t)pacing_in_order(times + w.desc[t].first_op,
                                              w.desc[t].op_count);
    w.ordered = ordered;
    for (uint32_t a = 0; a < n; a++)
        pacing_thread(&w, a);
    image->added_edges += w.added;
    free(ordered);
    free(w.asked);
    return 0;
}
