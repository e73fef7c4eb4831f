/*
 * replay_synth.c - replays a synthetic trace built in memory through the
 * whole parent/child path of `mallard replay` (re-exec, LD_PRELOAD,
 * malloc check, result pipe, report).  For the engine's tests and for
 * benchmarks before recorded traces exist.
 *
 *   replay-synth mixed:ROUNDS [replay options]
 *   replay-synth cross:THREADS:ROUNDS:PER_ROUND [replay options]
 */
#include <stdlib.h>
#include <string.h>

#include "builder.h"

static int synth_build(const char *spec, struct builder *b)
{
    unsigned long long rounds, threads, per;
    if (sscanf(spec, "mixed:%llu", &rounds) == 1 && rounds > 0) {
        builder_mixed(b, rounds);
        return 0;
    }
    if (sscanf(spec, "cross:%llu:%llu:%llu", &threads, &rounds,
               &per) == 3 && threads > 0 && threads <= 4096 && per > 0) {
        builder_cross(b, (uint32_t)threads, rounds, (uint32_t)per);
        return 0;
    }
    fprintf(stderr, "replay-synth: %s: expected mixed:ROUNDS or "
            "cross:THREADS:ROUNDS:PER_ROUND\n", spec);
    return -1;
}

int main(int argc, char **argv)
{
    replay_child_main();   /* returns only in the parent */
    struct replay_options opt;
    int rc = replay_options_start(argc, argv, "replay-synth", &opt);
    if (rc >= 0)
        return rc;
    struct builder b;
    if (synth_build(opt.trace_path, &b) != 0)
        return 2;
    rc = replay_session(&b.trace, &opt);
    builder_free(&b);
    return rc;
}
