/*
 * run_one.c - one run of one case: a fresh `mallard replay TRACE
 * --allocator A --instances K --runs 1 --json --rss-csv FILE` process,
 * bounded by --timeout, turned into a results row.
 *
 * Why a process per run: each run then starts with a fresh heap and
 * fresh counters, and an allocator that crashes or hangs costs one row,
 * never the comparison.  The replay runs in its own process group so a
 * timeout kills it together with the child it re-executes.  Its stdout
 * (the JSON) and stderr are files under DIR/logs/, kept for whoever
 * wants to know why a run failed.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "compare.h"

/* How often the parent checks whether the replay ended: small against
 * the shortest runs (tens of ms) and cheap on an idle core. */
#define RUN_POLL_NS 2000000L
#define RUN_ARG_MAX 32

static double run_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_child(const struct cmp_run_spec *s, const char *out,
                      const char *errf, const char *rss)
{
    char inst[RUN_ARG_MAX], lead[RUN_ARG_MAX];
    snprintf(inst, sizeof(inst), "%d", s->instances);
    snprintf(lead, sizeof(lead), "%d", s->max_lead_us);
    setpgid(0, 0);
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    int e = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (o < 0 || e < 0 || dup2(o, STDOUT_FILENO) < 0 ||
        dup2(e, STDERR_FILENO) < 0)
        _exit(127);
    char *argv[] = {
        "mallard", "replay", (char *)s->trace, "--allocator",
        (char *)s->allocator, "--instances", inst, "--runs", "1",
        "--json", "--rss-csv", (char *)rss,
        s->max_lead_us ? "--max-lead" : NULL, lead, NULL,
    };
    execv(s->self, argv);
    dprintf(e, "cannot run %s: %s\n", s->self, strerror(errno));
    _exit(127);
}

/* Waits for pid up to timeout_s; kills its group past it.  Returns the
 * wait status, or -1 when it timed out. */
static int run_wait(pid_t pid, double timeout_s)
{
    double deadline = run_now() + timeout_s;
    struct timespec pause = { 0, RUN_POLL_NS };
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return 0;
        if (run_now() > deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        nanosleep(&pause, NULL);
    }
}

/* The last non-empty line of the replay's stderr: its error message. */
static void run_last_error(const char *path, char *out, size_t len)
{
    char *text = cmp_read_file(path, NULL);
    out[0] = '\0';
    if (!text)
        return;
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    char *line = strrchr(text, '\n');
    snprintf(out, len, "%s", line ? line + 1 : text);
    free(text);
    cmp_csv_clean(out);
}

static void run_blank(const struct cmp_run_spec *s, struct cmp_row *row)
{
    memset(row, 0, sizeof(*row));
    row->seq = s->seq;
    snprintf(row->trace, sizeof(row->trace), "%s", s->trace);
    snprintf(row->allocator, sizeof(row->allocator), "%s", s->allocator);
    row->instances = s->instances;
    row->run = s->run;
    double *nums[] = { &row->wall_s, &row->user_s, &row->sys_s,
        &row->calls, &row->calls_per_s, &row->peak_rss_bytes,
        &row->baseline_rss_bytes, &row->peak_anon_bytes,
        &row->baseline_anon_bytes, &row->peak_live_bytes,
        &row->fragmentation, &row->minor_faults, &row->major_faults,
        &row->edge_wait_s };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        *nums[i] = NAN;
    for (int i = 0; i < CMP_LAT_COUNT; i++)
        row->lat_ns[i] = NAN;
}

/* Status and message when the replay gave no usable JSON. */
static void run_verdict(const struct cmp_run_spec *s, int status,
                        const char *errf, struct cmp_row *row)
{
    if (status == -1) {
        snprintf(row->status, sizeof(row->status), "timeout");
        snprintf(row->message, sizeof(row->message), "no result after "
                 "%.0f s (--timeout)", s->timeout_s);
    } else if (WIFSIGNALED(status)) {
        row->signal = WTERMSIG(status);
        snprintf(row->status, sizeof(row->status), "crashed");
        snprintf(row->message, sizeof(row->message), "replay killed by "
                 "signal %d", row->signal);
    } else {
        snprintf(row->status, sizeof(row->status), "setup_failed");
        run_last_error(errf, row->message, sizeof(row->message));
    }
}

void cmp_run_one(const struct cmp_run_spec *s, struct cmp_row *row)
{
    char out[CMP_PATH_MAX], errf[CMP_PATH_MAX], rss[CMP_PATH_MAX];
    run_blank(s, row);
    snprintf(out, sizeof(out), "%s/logs/%05ld.json", s->dir, s->seq);
    snprintf(errf, sizeof(errf), "%s/logs/%05ld.err", s->dir, s->seq);
    snprintf(row->rss_file, sizeof(row->rss_file), "rss/%05ld.csv", s->seq);
    cmp_join(rss, sizeof(rss), s->dir, row->rss_file);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        run_child(s, out, errf, rss);
    int status = pid < 0 ? 0 : run_wait(pid, s->timeout_s);
    row->exit_code = status >= 0 && WIFEXITED(status) ?
                     WEXITSTATUS(status) : -1;
    char *json = status == -1 ? NULL : cmp_read_file(out, NULL);
    if (!json || cmp_parse_replay_json(json, row) != 0)
        run_verdict(s, status, errf, row);
    else if (!cmp_row_ok(row) && !row->message[0])
        run_last_error(errf, row->message, sizeof(row->message));
    free(json);
    if (access(rss, R_OK) != 0)
        row->rss_file[0] = '\0';
}
