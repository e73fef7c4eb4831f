#!/bin/bash
# sanitize-engine.sh SRCROOT WORKDIR - the replay engine's in-process
# tests (test_replay_engine.c, test_none_layout.c) built with clang
# under ThreadSanitizer and under AddressSanitizer + UBSan, and run.
# The sanitized meson builds leave the harness out, and the engine runs
# a thread per recorded thread (edges, the sampler, each worker's peak
# windows read after the join), so its races and overruns are checked
# here.  Exit status: non-zero on any report or failed check; 77 (skip)
# when clang is not installed.
set -euo pipefail
src=$1 work=$2
mkdir -p "$work"
if ! command -v clang >/dev/null; then
    echo "clang not installed: skipping"; exit 77
fi
eng=$src/replay/engine
# the engine less cmd_replay.c, which needs the trace format module
sources=()
for f in "$eng"/*.c; do
    [ "$(basename "$f")" = cmd_replay.c ] || sources+=("$f")
done
for san in thread address,undefined; do
    for t in test_replay_engine test_none_layout; do
        bin=$work/$t-${san%%,*}
        clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=$san \
            -fno-sanitize-recover=all -I"$eng" -I"$src/replay" \
            -I"$src/tests" -I"$src/tests/engine" \
            "$src/tests/engine/$t.c" "$src/tests/engine/builder.c" \
            "${sources[@]}" "$src/replay/trace.c" -lpthread -ldl -lm \
            -o "$bin"
        TSAN_OPTIONS=halt_on_error=1 "$bin"
        echo "ok: $t under $san"
    done
done
