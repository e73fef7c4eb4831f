#!/bin/sh
# `mallard replay` end to end on real recorded traces: a program whose
# blocks cross threads is recorded with `mallard record`; replaying it
# must perform exactly the counts `mallard trace info` reports (times
# --instances), on glibc, the bump allocator and libmallard, without
# deadlock at 1 to 16 threads; a truncated, empty or bit-flipped trace is
# refused with its offset.
# Usage: test_end_to_end.sh MALLARD XTHREAD_PROG
set -u
mallard=$1
prog=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# Per-kind counts as "kind count" lines, sorted, from trace info / JSON.
info_counts() {
    "$mallard" trace info "$1" |
        awk '/^  [a-z_]+ +[0-9]+$/ && $1 != "thread_start" &&
             $1 != "thread_exit" { print $1, $2 * '"$2"' }' | sort
}
replay_counts() {
    python3 -c 'import json, sys
d = json.load(sys.stdin)
r = d["runs"][0]
assert r["status"] == "ok", r["message"]
for k, v in r["latency_ns"].items():
    if k != "all":
        print(k, v["count"])' | sort
}

check_replay() {  # TRACE INSTANCES ARGS...
    trace=$1; k=$2; shift 2
    info_counts "$trace" "$k" >"$dir/want"
    if ! timeout 60 "$mallard" replay "$trace" --instances "$k" --json \
            "$@" >"$dir/out.json" 2>"$dir/err"; then
        fail "replay $trace $*: exit $?: $(cat "$dir/err")"
        return
    fi
    replay_counts <"$dir/out.json" >"$dir/got" ||
        fail "replay $trace $*: bad JSON or status"
    cmp -s "$dir/want" "$dir/got" ||
        fail "replay $trace x$k $*: counts differ: $(diff "$dir/want" \
             "$dir/got" | tr '\n' ' ')"
}

for threads in 1 2 16; do
    t="$dir/xt$threads.trace"
    "$mallard" record -o "$t" -- "$prog" "$threads" 60 2>/dev/null ||
        fail "record $threads threads"
    check_replay "$t" 1 --verify
done
t="$dir/xt2.trace"
check_replay "$t" 3
check_replay "$t" 1 --allocator none
check_replay "$t" 2 --allocator none --verify
check_replay "$t" 1 --passes 3 --runs 2
check_replay "$t" 1 --latency-every 1
check_replay "$t" 1 --timing recorded --touch all
check_replay "$dir/xt16.trace" 2 --max-lead 1 --verify
check_replay "$t" 1 --max-lead 100 --timing recorded
if "$mallard" replay "$t" --max-lead 0 >/dev/null 2>"$dir/err"; then
    fail "--max-lead 0 accepted"
fi
grep -q 'max-lead' "$dir/err" || fail "--max-lead 0: $(cat "$dir/err")"
check_replay "$t" 2 --allocator mallard
grep -q 'libmallard' "$dir/out.json" || fail "mallard run not in libmallard"

"$mallard" replay "$t" --runs 2 --csv --rss-csv "$dir/rss.csv" \
    >"$dir/out.csv" || fail "csv replay"
head -1 "$dir/out.csv" | grep -q '^trace,allocator,run,status' ||
    fail "csv header"
[ "$(grep -c ',ok,' "$dir/out.csv")" -ge 2 ] || fail "csv rows"
head -1 "$dir/rss.csv" | grep -q '^run,time_s,rss_bytes,live_bytes,anon_bytes$' ||
    fail "rss header"
[ "$(wc -l <"$dir/rss.csv")" -ge 3 ] || fail "rss rows"

# Bad traces: each refused with exit 2 and "FILE: offset N: ...".
size=$(wc -c <"$t")
head -c $((size / 2)) "$t" >"$dir/cut.trace"
: >"$dir/empty.trace"
python3 -c 'import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[len(d) // 2] ^= 0x10
open(sys.argv[2], "wb").write(d)' "$t" "$dir/flip.trace"
for bad in cut empty flip; do
    "$mallard" replay "$dir/$bad.trace" >/dev/null 2>"$dir/err"
    rc=$?
    [ $rc = 2 ] && grep -q "$bad.trace: offset [0-9]" "$dir/err" ||
        fail "$bad trace: exit $rc: $(cat "$dir/err")"
done
"$mallard" replay --help | grep -q -- '--allocator' || fail "--help"
echo "$failures failure(s)"
[ "$failures" = 0 ]
