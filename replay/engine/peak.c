/*
 * peak.c - the replay's own peak of live bytes, from windows each
 * thread keeps of its own count, with no shared counter.
 *
 * Why: with several threads the peak of the sum of their live bytes
 * depends on how their ops interleaved, which nothing records; a shared
 * counter would order them but costs ~40 ns an op on two cores, more
 * than the harness's whole per-op budget, and the sampler, reading the
 * threads' counts every 2 ms, misses peaks between its reads.
 *
 * Each worker closes a window of its ops at a cycle-counter reading:
 * before an op the image marked (its ops since the last mark moved
 * PEAK_WINDOW_BYTES), after the call of a block of that size (so a big
 * block's moment is pinned down) and around an edge wait.  Not at the
 * timed calls, though their counter read is there anyway: that cost
 * ~12 ns a timed call (sqlite's none replay: 0.2 of 2.9 ms) and moved
 * the bounds less than two runs differ.  The worker records
 * only when and after how many of its ops; each op's count of its
 * thread's live bytes is known before the run (slots.c puts it in the
 * image), so after the run peak_fill gives each window the most and
 * the fewest bytes its thread had live within it and the count at its
 * end, and the replay itself counts nothing.  Within a window a
 * thread's count is known only to lie between those, so:
 * - high: at every moment, no thread has more than the most of the
 *   window it is in; the largest sum of those over time bounds the peak
 *   from above.
 * - low: when a thread reached its window's most, every other thread
 *   had at least the fewest of its windows that overlap that window;
 *   the largest such sum bounds the peak from below.
 * One thread: both are its exact peak.  Several: the two differ by at
 * most what each thread can do within one window, a few KiB on the
 * shipped traces.
 *
 * The log is shared memory (the harness's, see sampler.c); when full,
 * neighbouring windows merge in pairs, which keeps both bounds true.
 * Nothing here calls malloc: the child's malloc is the allocator under
 * test, which may be the one that failed.
 */
#include <sys/mman.h>

#include "cycles.h"
#include "run.h"

/* Merges windows pairwise: half as many, each as long as two (their
 * counts are filled in after the run, over the merged ops). */
static void peak_coarsen(struct peak_log *log)
{
    uint32_t n = log->count / 2;
    for (uint32_t i = 0; i < n; i++)
        log->window[i] = log->window[2 * i + 1];
    if (log->count % 2)
        log->window[n++] = log->window[log->count - 1];
    log->count = n;
}

void peak_close(struct peak_log *log, uint64_t cycles, uint64_t end_op)
{
    if (!log->window)
        return;
    if (log->count == log->cap)
        peak_coarsen(log);
    log->window[log->count++] = (struct peak_window){
        .end_cycles = cycles, .end_op = end_op,
    };
}

/* The fewest live bytes during op, whose thread has `after` after it:
 * a realloc that moves counts its old block gone before its new one
 * (as the runtime once did).  Advances *x past the op's extra. */
static int64_t peak_dip(const struct replay_packed_op *op,
                        const struct replay_op_extra **x, int64_t after)
{
    uint64_t n = op->size, arg = 1;
    if (op->flags & REPLAY_OP_EXTRA) {
        n = (*x)->size;
        arg = (*x)->arg ? (*x)->arg : 1;
        (*x)++;
    }
    int moves = (op->kind == TRACE_REALLOC ||
                 op->kind == TRACE_REALLOCARRAY) &&
                op->slot != TRACE_NO_SLOT && op->old_slot != TRACE_NO_SLOT;
    if (!moves)
        return after;
    if (op->kind == TRACE_REALLOCARRAY && __builtin_mul_overflow(n, arg, &n))
        n = UINT64_MAX;
    return after - (int64_t)n;
}

void peak_fill(struct peak_log *log, const struct replay_packed_op *ops,
               const struct replay_op_extra *extras, const int64_t *live)
{
    uint64_t m = 0;
    int64_t now = 0;
    for (uint32_t k = 0; k < log->count; k++) {
        struct peak_window *win = &log->window[k];
        int64_t max = now, min = now;
        for (; m < win->end_op; m++) {
            int64_t dip = peak_dip(&ops[m], &extras, live[m]);
            now = live[m];
            max = now > max ? now : max;
            min = dip < min ? dip : min;
        }
        win->max = max;
        win->min = min;
        win->end = now;
    }
}

/* Where a window starts: where the one before it ended. */
static uint64_t peak_start(const struct peak_log *log, uint32_t k)
{
    return k ? log->window[k - 1].end_cycles : log->start_cycles;
}

/* The fewest bytes thread j had in any window overlapping [from, to];
 * *first: its first window that may, advanced as from grows. */
static int64_t peak_min_over(const struct peak_log *j, uint32_t *first,
                             uint64_t from, uint64_t to)
{
    while (*first < j->count && j->window[*first].end_cycles < from)
        (*first)++;
    if (*first == j->count)       /* ended before: its last count */
        return j->count ? j->window[j->count - 1].end : 0;
    int64_t min = j->window[*first].min;
    for (uint32_t k = *first + 1;
         k < j->count && peak_start(j, k) <= to; k++)
        if (j->window[k].min < min)
            min = j->window[k].min;
    return min;
}

/* The lower bound (see the top), over thread i's windows. */
static int64_t peak_low_of(const struct peak_log *const *logs, uint32_t n,
                           uint32_t i, uint32_t *first)
{
    int64_t low = 0;
    for (uint32_t j = 0; j < n; j++)
        first[j] = 0;
    for (uint32_t k = 0; k < logs[i]->count; k++) {
        uint64_t from = peak_start(logs[i], k);
        uint64_t to = logs[i]->window[k].end_cycles;
        int64_t sum = logs[i]->window[k].max;
        for (uint32_t j = 0; j < n; j++)
            if (j != i)
                sum += peak_min_over(logs[j], &first[j], from, to);
        if (sum > low)
            low = sum;
    }
    return low;
}

/* The thread whose current window ends first, or n when all ended. */
static uint32_t peak_next_end(const struct peak_log *const *logs,
                              uint32_t n, const uint32_t *at)
{
    uint32_t best = n;
    for (uint32_t j = 0; j < n; j++)
        if (at[j] < logs[j]->count &&
            (best == n || logs[j]->window[at[j]].end_cycles <
                          logs[best]->window[at[best]].end_cycles))
            best = j;
    return best;
}

/* The upper bound: the sum over threads of their current window's
 * most, at its largest over time (a thread past its last window holds
 * its last count). */
static int64_t peak_high(const struct peak_log *const *logs, uint32_t n,
                         uint32_t *at)
{
    int64_t sum = 0, high = 0;
    for (uint32_t j = 0; j < n; j++) {
        at[j] = 0;
        sum += logs[j]->count ? logs[j]->window[0].max : 0;
    }
    for (;;) {
        if (sum > high)
            high = sum;
        uint32_t j = peak_next_end(logs, n, at);
        if (j == n)
            return high;
        const struct peak_window *w = &logs[j]->window[at[j]++];
        sum -= w->max;
        sum += at[j] < logs[j]->count ? logs[j]->window[at[j]].max
                                      : w->end;
    }
}

int peak_bounds(const struct replay_worker *workers, uint32_t n,
                int64_t *low, int64_t *high)
{
    size_t bytes = ((size_t)n + 1) * (sizeof(uint32_t) + sizeof(void *));
    void *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return -1;
    const struct peak_log **logs = map;
    uint32_t *scratch = (uint32_t *)(logs + n + 1);
    int rc = 0;
    for (uint32_t j = 0; j < n; j++) {
        logs[j] = &workers[j].peak;
        rc |= logs[j]->window ? 0 : -1;
    }
    if (rc == 0) {
        *high = peak_high(logs, n, scratch);
        *low = 0;
        for (uint32_t i = 0; i < n; i++) {
            int64_t l = peak_low_of(logs, n, i, scratch);
            if (l > *low)
                *low = l;
        }
    }
    munmap(map, bytes);
    return rc;
}
