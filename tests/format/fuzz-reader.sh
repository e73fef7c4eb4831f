#!/bin/bash
# fuzz-reader.sh SRCROOT WORKDIR SECONDS - build the reader's libFuzzer
# target with clang (ASan + UBSan) and run it for a bounded time over the
# committed regression corpus (tests/format/corpus).  Checksums are not
# enforced in this build, so mutations reach the decoders behind them.
# New inputs go to a scratch corpus in WORKDIR, never into the source
# tree.  Exit status: non-zero on a crash, leak or timeout; 77 (skip)
# when clang is not installed.
set -euo pipefail
src=$1 work=$2 seconds=${3:-20}
mkdir -p "$work/new-corpus"
fmt=$src/replay/format
if ! command -v clang >/dev/null; then
    echo "clang not installed: skipping"; exit 77
fi
clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -DTRACE_CHECK_CRC_OFF=1 \
    -I"$fmt" -I"$src/replay" \
    "$src/tests/format/fuzz_reader.c" "$src/replay/trace.c" \
    "$fmt"/crc32c.c "$fmt"/chunk_write.c "$fmt"/reader.c "$fmt"/decode.c \
    "$fmt"/decode_events.c "$fmt"/final_read.c "$fmt"/load.c \
    "$fmt"/addr_map.c "$fmt"/finalize.c "$fmt"/finalize_step.c \
    -lzstd -lpthread -o "$work/fuzz-reader"
# -rss_limit_mb: a damaged length must never make the reader balloon.
# -error_exitcode=1: libFuzzer's default, 77, would read as "skipped".
exec "$work/fuzz-reader" -max_total_time="$seconds" -timeout=5 \
    -error_exitcode=1 -artifact_prefix="$work/" -rss_limit_mb=1024 \
    -max_len=65536 -print_final_stats=1 \
    "$work/new-corpus" "$src/tests/format/corpus"
