/*
 * cmd_replay.c - `mallard replay`: the subcommand's entry point, called
 * by the front end (replay/cli/) with argv[0] the subcommand's name.
 *
 * The same entry serves the replay children, which the parent starts by
 * re-executing the mallard program: they are recognised by their
 * environment (see launch.c) before any argument is read.
 */
#include <string.h>

#include "engine.h"

int cmd_replay(int argc, char **argv);

int cmd_replay(int argc, char **argv)
{
    replay_child_main();   /* returns only in the parent */
    struct replay_options opt;
    int rc = replay_options_start(argc, argv, "mallard replay", &opt);
    if (rc >= 0)
        return rc;
    char err[REPLAY_MSG_LEN];
    struct trace trace;
    memset(&trace, 0, sizeof(trace));
    if (trace_load(opt.trace_path, &trace, err, sizeof(err)) != 0) {
        fprintf(stderr, "mallard replay: %s\n", err);
        return 2;
    }
    if (trace.truncated)
        fprintf(stderr, "mallard replay: %s: warning: the recording ended "
                "abnormally; replaying the ops it has\n", opt.trace_path);
    rc = replay_session(&trace, &opt);
    trace_free(&trace);
    return rc;
}
