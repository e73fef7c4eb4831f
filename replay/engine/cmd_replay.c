/*
 * cmd_replay.c - `mallard replay`: the subcommand's entry point, called
 * by the front end (replay/cli/) with argv[0] the subcommand's name.
 * The engine's one use of the trace format module: trace_load(), from
 * its public header; everything after it sees only trace.h.
 *
 * The same entry serves the replay children, which the parent starts by
 * re-executing the mallard program: they are recognised by their
 * environment (see launch.c) before any argument is read.
 */
#include <string.h>

#include "engine.h"
#include "trace_format.h"

int cmd_replay(int argc, char **argv);

/* One line per allocator known by name: name, library (resolved for
 * mallard; "-" for glibc), Debian package ("-" if none).  For scripts,
 * which then need no table of their own. */
static int replay_list_allocators(void)
{
    size_t count;
    const struct replay_allocator_known *known =
        replay_allocators_known(&count);
    for (size_t i = 0; i < count; i++) {
        struct replay_options ro;
        char err[REPLAY_MSG_LEN];
        memset(&ro, 0, sizeof(ro));
        snprintf(ro.allocator, sizeof(ro.allocator), "%s", known[i].name);
        const char *library = known[i].library;
        if (replay_allocator_resolve(&ro, err, sizeof(err)) == 0 &&
            ro.library[0])
            library = ro.library;
        else if (strcmp(known[i].name, "mallard") == 0)
            library = "(not built)";
        printf("%s %s %s\n", known[i].name, library[0] ? library : "-",
               known[i].package[0] ? known[i].package : "-");
    }
    return 0;
}

int cmd_replay(int argc, char **argv)
{
    replay_child_main();   /* returns only in the parent */
    if (argc == 2 && strcmp(argv[1], "--list-allocators") == 0)
        return replay_list_allocators();
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
