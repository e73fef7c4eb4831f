/*
 * session.c - a whole replay from the parent's side: a loaded trace in,
 * an image built, one child per run, the report out, an exit status.
 * Shared by `mallard replay` (cmd_replay.c) and the test driver, which
 * builds its traces in memory.
 *
 * Exit status: 0 all runs succeeded; 1 the allocator failed (NULL,
 * corruption, crash: reported, never hidden); 2 bad input or setup.
 */
#include <stdlib.h>
#include <unistd.h>

#include "engine.h"

static void session_free(struct replay_result *results,
                         struct replay_sample **samples, int runs)
{
    for (int i = 0; samples && i < runs; i++)
        free(samples[i]);
    free(samples);
    free(results);
}

static int session_alloc(int runs, struct replay_result **results,
                         struct replay_sample ***samples)
{
    *results = calloc((size_t)runs, sizeof(**results));
    *samples = calloc((size_t)runs, sizeof(**samples));
    if (!*results || !*samples)
        return -1;
    for (int i = 0; i < runs; i++) {
        (*samples)[i] = malloc(REPLAY_MAX_SAMPLES *
                               sizeof(struct replay_sample));
        if (!(*samples)[i])
            return -1;
    }
    return 0;
}

static int session_finish(const struct replay_image *image,
                          struct replay_result *results,
                          struct replay_sample **samples, int done)
{
    const struct replay_options *o = &image->options;
    int status = 0;
    replay_report(stdout, image, results, done);
    fflush(stdout);
    for (int i = 0; i < done; i++) {
        if (results[i].status != REPLAY_OK) {
            fprintf(stderr, "mallard replay: %s: run %d: %s\n",
                    o->trace_path, i + 1, results[i].message);
            status = 1;
        }
    }
    if (o->rss_csv[0] &&
        replay_write_timeline(o->rss_csv, results, samples, done) != 0) {
        fprintf(stderr, "mallard replay: %s: cannot write the RSS "
                "timeline\n", o->rss_csv);
        status = status ? status : 2;
    }
    return status;
}

int replay_session(const struct trace *trace,
                   const struct replay_options *opt)
{
    char err[REPLAY_MSG_LEN];
    int fd = -1;
    struct replay_image *image = replay_image_build(trace, opt, 1, &fd,
                                                    err, sizeof(err));
    if (!image) {
        fprintf(stderr, "mallard replay: %s: %s\n", opt->trace_path, err);
        return 2;
    }
    struct replay_result *results = NULL;
    struct replay_sample **samples = NULL;
    int status = 2;
    if (session_alloc(opt->runs, &results, &samples) != 0) {
        fprintf(stderr, "mallard replay: out of memory\n");
    } else {
        int done = replay_launch(image, fd, results, samples);
        status = session_finish(image, results, samples, done);
    }
    session_free(results, samples, opt->runs);
    replay_image_unmap(image);
    close(fd);
    return status;
}
