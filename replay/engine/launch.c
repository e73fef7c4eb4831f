/*
 * launch.c - the process boundary of a replay.  The parent starts one
 * child per run by re-executing its own program (/proc/self/exe) with
 * the allocator in LD_PRELOAD; the child maps the parent's replay image,
 * checks its malloc, runs, and writes its result and RSS samples back
 * through a pipe.
 *
 * Why a child per run: the allocator serves every malloc of a process
 * from its first, so it must be preloaded at exec; each run starts from
 * a fresh heap, a fresh VmHWM and fresh fault counters; and a crashing
 * allocator kills only the child, whose signal the parent reports as
 * that allocator's failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"

/* "PARENT_PID:IMAGE_FD:RESULT_FD"; the pid must be our parent's, so a
 * stray variable in a user's environment is ignored. */
#define LAUNCH_ENV "MALLARD_REPLAY_CHILD"
#define LAUNCH_EXIT_EXEC_FAILED 127

extern char **environ;

static void launch_send(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* The child's scratch memory: mmap, never the allocator under test. */
/* Shared: out of the anonymous memory that is the allocator's. */
static void *launch_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void launch_unmap(void *p, size_t bytes)
{
    if (p)
        munmap(p, bytes);
}

/* Index of the pass with the median wall time (the lower median). */
static int launch_median_pass(const struct replay_result *r, int n)
{
    int order[REPLAY_MAX_PASSES];
    for (int i = 0; i < n; i++) {
        int j = i;
        for (; j > 0 && r[order[j - 1]].wall_ns > r[i].wall_ns; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    return order[(n - 1) / 2];
}

/*
 * --passes P: P replays in this process, one after another, and the
 * median one's times reported (a failing pass is reported at once).
 * Pass 1 meets a fresh heap, later ones a heap the earlier passes
 * warmed; the median damps a pass that a page-fault storm or a busy
 * core hit.  Memory (RSS, its timeline) is pass 1's, from a fresh heap.
 */
static void launch_passes(const struct replay_image *image,
                          struct replay_result *res,
                          struct replay_sample *samples)
{
    int n = image->options.passes > 1 ? image->options.passes : 1;
    size_t rbytes = (size_t)n * sizeof(*res);
    size_t sbytes = (size_t)n * REPLAY_MAX_SAMPLES * sizeof(*samples);
    struct replay_result *r = n > 1 ? launch_map(rbytes) : NULL;
    struct replay_sample *s = n > 1 ? launch_map(sbytes) : NULL;
    if (!r || !s) {   /* one pass, or no room to keep several */
        replay_run(image, res, samples);
        launch_unmap(r, rbytes);
        launch_unmap(s, sbytes);
        return;
    }
    int done = 0;
    while (done < n && replay_run(image, &r[done],
                                  s + (size_t)done * REPLAY_MAX_SAMPLES) == 0)
        done++;
    int pick = done < n ? done : launch_median_pass(r, n);
    *res = r[pick];
    /* memory from pass 1: later passes start on a warmed heap, so
     * their baseline already holds what the allocator kept */
    res->baseline_rss_bytes = r[0].baseline_rss_bytes;
    res->peak_rss_bytes = r[0].peak_rss_bytes;
    res->baseline_anon_bytes = r[0].baseline_anon_bytes;
    res->peak_anon_bytes = r[0].peak_anon_bytes;
    res->sampled_peak_live_bytes = r[0].sampled_peak_live_bytes;
    res->replay_peak_live_low = r[0].replay_peak_live_low;
    res->replay_peak_live_high = r[0].replay_peak_live_high;
    res->exact_peak_live_bytes = r[0].exact_peak_live_bytes;
    res->sample_count = r[0].sample_count;
    memcpy(samples, s, res->sample_count * sizeof(*samples));
    launch_unmap(r, rbytes);
    launch_unmap(s, sbytes);
}

static void launch_child_run(int image_fd, struct replay_result *res,
                             struct replay_sample *samples)
{
    char err[REPLAY_MSG_LEN];
    struct replay_image *image = replay_image_map(image_fd, err,
                                                  sizeof(err));
    if (!image) {
        res->status = REPLAY_SETUP_FAILED;
        snprintf(res->message, sizeof(res->message), "%s", err);
        return;
    }
    char where[REPLAY_PATH_LEN];
    if (replay_allocator_check(&image->options, where, sizeof(where),
                               err, sizeof(err)) != 0) {
        res->status = REPLAY_WRONG_LIBRARY;
        snprintf(res->message, sizeof(res->message), "%s", err);
        return;
    }
    launch_passes(image, res, samples);
    if (!res->library_resolved[0])   /* else the run said more */
        snprintf(res->library_resolved, sizeof(res->library_resolved),
                 "%s", where);
}

int replay_child_main(void)
{
    const char *env = getenv(LAUNCH_ENV);
    int image_fd, result_fd;
    long parent;
    if (!env || sscanf(env, "%ld:%d:%d", &parent, &image_fd,
                       &result_fd) != 3 || parent != (long)getppid())
        return 0;
    static struct replay_result res;
    size_t sample_bytes = REPLAY_MAX_SAMPLES * sizeof(struct replay_sample);
    struct replay_sample *samples = mmap(NULL, sample_bytes,
        PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE,
        -1, 0);
    if (samples == MAP_FAILED) {
        res.status = REPLAY_SETUP_FAILED;
        snprintf(res.message, sizeof(res.message), "cannot map samples");
    } else {
        launch_child_run(image_fd, &res, samples);
    }
    launch_send(result_fd, &res, sizeof(res));
    if (res.sample_count)
        launch_send(result_fd, samples,
                    res.sample_count * sizeof(struct replay_sample));
    /* _exit: an allocator's exit-time hooks are not part of the run */
    _exit(res.status == REPLAY_OK ? 0 : 1);
}

/* The child's environment: ours, with LD_PRELOAD and LAUNCH_ENV set. */
static char **launch_environment(const struct replay_options *opt,
                                 char *preload, size_t preload_len,
                                 char *marker)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 3, sizeof(char *));
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
            strncmp(environ[i], LAUNCH_ENV "=", sizeof(LAUNCH_ENV)) != 0)
            env[k++] = environ[i];
    env[k++] = marker;
    if (opt->library[0]) {
        snprintf(preload, preload_len, "LD_PRELOAD=%s", opt->library);
        env[k++] = preload;
    }
    return env;
}

static uint64_t launch_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reads len bytes unless EOF or the deadline (ms, 0 = none) comes
 * first; *late says it was the deadline. */
static size_t launch_receive(int fd, void *buf, size_t len,
                             uint64_t deadline, int *late)
{
    size_t got = 0;
    while (got < len && !*late) {
        if (deadline) {
            uint64_t now = launch_now_ms();
            struct pollfd p = { .fd = fd, .events = POLLIN };
            int left = now < deadline ? (int)(deadline - now) : 0;
            if (poll(&p, 1, left) == 0) {
                *late = 1;
                break;
            }
        }
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

/* The child's result and samples; a late child is killed. */
static size_t launch_collect(pid_t pid, int fd, int timeout_s,
                             struct replay_result *res,
                             struct replay_sample *samples, int *late)
{
    uint64_t deadline = timeout_s > 0 ?
        launch_now_ms() + (uint64_t)timeout_s * 1000u : 0;
    size_t got = launch_receive(fd, res, sizeof(*res), deadline, late);
    if (got == sizeof(*res) && res->sample_count <= REPLAY_MAX_SAMPLES)
        launch_receive(fd, samples, res->sample_count * sizeof(*samples),
                       deadline, late);
    else
        res->sample_count = 0;
    if (*late)
        kill(pid, SIGKILL);
    return got;
}

/* Turns how the child ended into the run's verdict. */
static void launch_verdict(const struct replay_options *opt, int wstatus,
                           size_t got, struct replay_result *res)
{
    if (WIFSIGNALED(wstatus)) {
        res->status = REPLAY_CRASHED;
        res->signal = WTERMSIG(wstatus);
        snprintf(res->message, sizeof(res->message), "allocator %.100s "
                 "crashed the replay: signal %d (%s)", opt->allocator,
                 res->signal, strsignal(res->signal));
    } else if (got < sizeof(*res)) {
        int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
        res->status = REPLAY_EXITED;
        snprintf(res->message, sizeof(res->message), "replay child "
                 "exited with status %d before reporting%s", code,
                 code == LAUNCH_EXIT_EXEC_FAILED ? " (exec failed)" : "");
    }
}

static int launch_one(const struct replay_image *image, int image_fd,
                      char **argv, struct replay_result *res,
                      struct replay_sample *samples)
{
    int pfd[2];
    char marker[64], preload[REPLAY_PATH_LEN + 16];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return -1;
    snprintf(marker, sizeof(marker), LAUNCH_ENV "=%ld:%d:%d",
             (long)getpid(), image_fd, pfd[1]);
    char **env = launch_environment(&image->options, preload,
                                    sizeof(preload), marker);
    pid_t pid = env ? fork() : -1;
    if (pid == 0) {
        fcntl(pfd[1], F_SETFD, 0);
        execve("/proc/self/exe", argv, env);
        _exit(LAUNCH_EXIT_EXEC_FAILED);
    }
    close(pfd[1]);
    free(env);
    size_t got = 0;
    int late = 0;
    memset(res, 0, sizeof(*res));
    if (pid > 0)
        got = launch_collect(pid, pfd[0], image->options.timeout_s, res,
                             samples, &late);
    close(pfd[0]);
    int wstatus = 0;
    if (pid < 0 || waitpid(pid, &wstatus, 0) != pid)
        return -1;
    if (late) {
        res->status = REPLAY_TIMED_OUT;
        snprintf(res->message, sizeof(res->message), "allocator %.100s: "
                 "the replay did not finish in %d s (killed)",
                 image->options.allocator, image->options.timeout_s);
    } else {
        launch_verdict(&image->options, wstatus, got, res);
    }
    return 0;
}

int replay_launch(const struct replay_image *image, int image_fd,
                  struct replay_result *results,
                  struct replay_sample **samples)
{
    char *argv[] = { "mallard", "replay", NULL };
    int r = 0;
    while (r < image->options.runs) {
        if (launch_one(image, image_fd, argv, &results[r],
                       samples[r]) != 0) {
            results[r].status = REPLAY_SETUP_FAILED;
            snprintf(results[r].message, sizeof(results[r].message),
                     "cannot start a replay child: %s", strerror(errno));
        }
        /* a failing allocator fails again: stop at the first failure */
        if (results[r++].status != REPLAY_OK)
            break;
    }
    return r;
}
