#!/usr/bin/env bash
# test_traces.sh - the shipped traces (traces/*.trace, issue 6) are
# sound, small, and replay with their recorded operation counts; and
# `mallard trace slice` cuts a valid trace out of one.
#
# usage: test_traces.sh CASE MALLARD TRACES_DIR [ARGS...]
#   check NAME              `mallard trace check` passes
#   replay NAME ALLOCATOR   replays; counts equal `mallard trace info`'s
#   shipped_set NAME...     traces/ holds exactly these, within size
#   slice_keeps_trace_valid NAME
#   memory_is_the_allocators ALLOCATOR HOLD_BLOCKS_PROGRAM
#   none_memory_is_live NAME
#   fragmentation_is_the_programs PEAK_ANON_SO NAME COMMAND...
set -euo pipefail

case_name=$1 mallard=$2 traces=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
# The issue's bounds: 5 MiB a file, 30 MiB in all.
MAX_FILE_BYTES=$((5 << 20))
MAX_TOTAL_BYTES=$((30 << 20))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

test_check() {
  "$mallard" trace check "$traces/$1.trace" ||
    fail "$1.trace does not pass trace check"
}

# replay_matches TRACE ALLOCATOR: one replay, counts against info's.
replay_matches() {
  "$mallard" trace info "$1" >"$tmp/info.txt"
  "$mallard" replay "$1" --allocator "$2" --json >"$tmp/replay.json" ||
    fail "replay of $1 on $2 failed"
  "$python" "$here/replay_counts.py" "$tmp/info.txt" "$tmp/replay.json" ||
    fail "replay of $1 on $2 made other calls than were recorded"
}

test_shipped_set() {
  local total=0 f name bytes
  for f in "$traces"/*.trace; do
    name=$(basename "$f" .trace)
    [[ " $* " = *" $name "* ]] || fail "$f is shipped but not tested"
    bytes=$(stat -c %s "$f")
    [ "$bytes" -le "$MAX_FILE_BYTES" ] || fail "$f: $bytes bytes"
    total=$((total + bytes))
  done
  for name in "$@"; do
    [ -f "$traces/$name.trace" ] || fail "$name.trace is missing"
  done
  [ "$total" -le "$MAX_TOTAL_BYTES" ] || fail "traces: $total bytes"
}

# ops_of TRACE: the op total that `mallard trace info` reports.
ops_of() { "$mallard" trace info "$1" | awk '/^ops:/ { print $2 }'; }

# A window from the middle keeps blocks live at the cut (allocated
# first), passes check and replays; the whole window is the whole trace.
test_slice_keeps_trace_valid() {
  local in=$traces/$1.trace out=$tmp/slice.trace
  local seconds
  seconds=$("$mallard" trace info "$in" |
            awk '/^duration:/ { print $2 / 2 }')
  "$mallard" trace slice "$in" -o "$out" --from "$seconds" \
    --ops 50000 >"$tmp/slice.txt"
  cat "$tmp/slice.txt"
  grep -Eq ' [1-9][0-9]* live blocks' "$tmp/slice.txt" ||
    fail "no block was live at the cut of $1"
  "$mallard" trace check "$out" || fail "the slice is not sound"
  replay_matches "$out" mallard
  "$mallard" trace slice "$in" -o "$out" >/dev/null
  [ "$(ops_of "$out")" = "$(ops_of "$in")" ] ||
    fail "a slice of the whole run lost ops"
}

# On a trace whose blocks all stay live (hold_blocks.c: 48 MiB), any
# allocator must hold about the live bytes: the memory the replay
# reports is within 1 MiB + 2% of them, so the harness's own (the trace
# image, its tables: shared memory, kept apart) is not in it.
test_memory_is_the_allocators() {
  "$mallard" record -o "$tmp/hold.trace" -- "$2" >/dev/null 2>&1 ||
    fail "recording $2 failed"
  "$mallard" replay "$tmp/hold.trace" --allocator "$1" --json \
    >"$tmp/replay.json" || fail "replay on $1 failed"
  "$python" - "$tmp/replay.json" <<'PY' || fail "$1 on $2: memory figure"
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
anon, live = run["peak_anon_bytes"], run["peak_live_bytes"]
bound = (1 << 20) + 0.02 * live
print(f"allocator memory {anon / 2**20:.2f} MiB, live {live / 2**20:.2f},"
      f" harness anonymous {run['baseline_anon_bytes'] / 2**20:.2f},"
      f" all RSS {run['peak_rss_bytes'] / 2**20:.2f}")
sys.exit(0 if abs(anon - live) <= bound and
         run["baseline_anon_bytes"] < (1 << 20) else 1)
PY
  # and on a shipped trace, the image is in the plain RSS only
  "$mallard" replay "$traces/python.trace" --allocator "$1" --json \
    >"$tmp/replay.json" || fail "replay of python.trace failed"
  "$python" - "$tmp/replay.json" <<'PY' || fail "python.trace: memory"
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
print(f"python.trace: allocator {run['peak_anon_bytes'] / 2**20:.1f} MiB,"
      f" all RSS {run['peak_rss_bytes'] / 2**20:.1f},"
      f" live {run['peak_live_bytes'] / 2**20:.1f}")
sys.exit(0 if run["peak_rss_bytes"] - run["peak_anon_bytes"] > 16 << 20
         and run["peak_anon_bytes"] < 2 * run["peak_live_bytes"] else 1)
PY
}

# The issue's check that the memory figure is the allocator's: with no
# allocator at all (none lays every block out in one region, packed as
# the recorded order allows) it is the trace's peak of live bytes,
# within 1 MiB + 2%.
test_none_memory_is_live() {
  "$mallard" replay "$traces/$1.trace" --allocator none --json \
    >"$tmp/none.json" || fail "none replay of $1 failed"
  "$python" - "$tmp/none.json" "$1" <<'PY' || fail "$1: none's memory"
import json, sys
d = json.load(open(sys.argv[1]))
run = d["runs"][0]
anon, live = run["peak_anon_bytes"], run["peak_live_bytes"]
print(f"{sys.argv[2]}: none's memory {anon / 2**20:.2f} MiB, live "
      f"{live / 2**20:.2f}, layout {d['library']}")
sys.exit(0 if "packed" in d["library"] and
         abs(anon - live) <= (1 << 20) + 0.02 * live else 1)
PY
}

# The issue's check that a glibc replay's fragmentation is the
# program's: a workload run alone (peak_anon.so reports its peak
# anonymous memory) and recorded; its glibc replay's fragmentation
# (allocator memory / the replay's peak live) is within 10% of the
# program's own (its anonymous peak / the recorded peak live).  One
# thread: the run alone and the recorded run hold the same blocks in the
# same order (see meson.build).
test_fragmentation_is_the_programs() {
  local preload=$1 name=$2
  shift 2
  PEAK_ANON_OUT="$tmp/prog" LD_PRELOAD="$preload" "$@" >/dev/null ||
    fail "$name alone failed"
  "$mallard" record -o "$tmp/$name.trace" -- "$@" >/dev/null 2>&1 ||
    fail "recording $name failed"
  "$mallard" replay "$tmp/$name.trace" --allocator glibc --json \
    >"$tmp/replay.json" || fail "glibc replay of $name failed"
  "$python" - "$tmp/replay.json" "$tmp/prog" "$name" <<'PY' ||
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
prog = int(open(sys.argv[2]).read()) / run["peak_live_bytes"]
replay = run["fragmentation"]
print(f"{sys.argv[3]}: fragmentation on glibc, the program {prog:.3f},"
      f" its replay {replay:.3f}")
sys.exit(0 if abs(replay / prog - 1) <= 0.10 else 1)
PY
    fail "$name: the replay's fragmentation is not the program's"
}

case $case_name in
  check) test_check "$1" ;;
  memory_is_the_allocators) test_memory_is_the_allocators "$1" "$2" ;;
  none_memory_is_live) test_none_memory_is_live "$1" ;;
  fragmentation_is_the_programs) test_fragmentation_is_the_programs "$@" ;;
  replay) replay_matches "$traces/$1.trace" "$2" ;;
  shipped_set) test_shipped_set "$@" ;;
  slice_keeps_trace_valid) test_slice_keeps_trace_valid "$1" ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok: $case_name $*"
