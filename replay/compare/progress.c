/*
 * progress.c - how far a comparison is: on a terminal a bar redrawn in
 * place (runs done of total, elapsed, time left), otherwise one plain
 * line per run so logs and CI output stay readable.
 *
 * Time left is elapsed / done * remaining: runs of one comparison are
 * alike enough, and interleaving spreads slow allocators evenly, so the
 * estimate settles after one round.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compare.h"

#define PROGRESS_BAR_WIDTH 30
#define PROGRESS_SECONDS_PER_MINUTE 60
/* Room for "minutes:seconds" of any long. */
#define PROGRESS_CLOCK_LEN 32

static double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_clock(char *out, size_t len, double s)
{
    long t = (long)(s + 0.5);
    snprintf(out, len, "%ld:%02ld", t / PROGRESS_SECONDS_PER_MINUTE,
             t % PROGRESS_SECONDS_PER_MINUTE);
}

/* r: the run just done, NULL before the first. */
static void progress_bar(struct cmp_progress *p, const struct cmp_row *r)
{
    char bar[PROGRESS_BAR_WIDTH + 1], label[64];
    char spent[PROGRESS_CLOCK_LEN], left[PROGRESS_CLOCK_LEN];
    size_t fill = p->total ? p->done * PROGRESS_BAR_WIDTH / p->total : 0;
    for (size_t i = 0; i < PROGRESS_BAR_WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[PROGRESS_BAR_WIDTH] = '\0';
    double elapsed = progress_now() - p->start_s;
    progress_clock(spent, sizeof(spent), elapsed);
    progress_clock(left, sizeof(left), p->done ? elapsed / (double)p->done
                   * (double)(p->total - p->done) : 0);
    label[0] = '\0';
    if (r)
        cmp_trace_label(r->trace, label, sizeof(label));
    fprintf(p->out, "\r\033[K[%s] %zu/%zu runs  %s elapsed  ~%s left  "
            "%s %s", bar, p->done, p->total, spent, left, label,
            r ? r->allocator : "");
    if (p->failed)
        fprintf(p->out, "  (%zu failed)", p->failed);
    fflush(p->out);
}

void cmp_progress_start(struct cmp_progress *p, FILE *out, size_t total)
{
    memset(p, 0, sizeof(*p));
    p->out = out;
    p->tty = isatty(fileno(out));
    p->total = total;
    p->start_s = progress_now();
    if (p->tty)
        progress_bar(p, NULL);   /* the bar shows before the first run */
}

void cmp_progress_step(struct cmp_progress *p, const struct cmp_row *r)
{
    p->done++;
    p->failed += !cmp_row_ok(r);
    if (p->tty) {
        progress_bar(p, r);
        return;
    }
    char label[CMP_PATH_MAX];
    cmp_trace_label(r->trace, label, sizeof(label));
    fprintf(p->out, "compare: [%zu/%zu] %s %s x%d run %d: %s", p->done,
            p->total, label, r->allocator, r->instances, r->run, r->status);
    if (cmp_row_ok(r))
        fprintf(p->out, " %.3f s\n", r->wall_s);
    else
        fprintf(p->out, " (%s)\n", r->message);
    fflush(p->out);
}

void cmp_progress_end(struct cmp_progress *p)
{
    char spent[PROGRESS_CLOCK_LEN];
    progress_clock(spent, sizeof(spent), progress_now() - p->start_s);
    if (p->tty)
        fputc('\n', p->out);
    fprintf(p->out, "compare: %zu runs in %s, %zu failed\n", p->done,
            spent, p->failed);
}
