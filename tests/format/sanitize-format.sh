#!/bin/bash
# sanitize-format.sh SRCROOT WORKDIR - the trace module's unit tests
# (test_trace_format.c, test_finalize_stream.c) built with clang under
# ThreadSanitizer and under AddressSanitizer + UBSan, and run.  The
# sanitized meson builds leave the harness out, and the format module
# runs threads of its own (events decoded on two cores, chunks
# compressed by a worker while the merge goes on), so its races and
# overruns are checked here.  Exit status: non-zero on any report or
# failed check; 77 (skip) when clang is not installed.
set -euo pipefail
src=$1 work=$2
mkdir -p "$work"
if ! command -v clang >/dev/null; then
    echo "clang not installed: skipping"; exit 77
fi
fmt=$src/replay/format
for san in thread address,undefined; do
    for t in test_trace_format test_finalize_stream; do
        bin=$work/$t-${san%%,*}
        clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=$san \
            -fno-sanitize-recover=all -I"$fmt" -I"$src/replay" \
            -I"$src/tests" "$src/tests/format/$t.c" "$fmt"/*.c \
            "$src/replay/trace.c" -lzstd -lpthread -o "$bin"
        TSAN_OPTIONS=halt_on_error=1 "$bin" "$src/tests/format/corpus"
        echo "ok: $t under $san"
    done
done
