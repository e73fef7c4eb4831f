#!/bin/sh
# Allocator failures across the process boundary: a library that returns
# NULL, one that crashes, one that hangs (--timeout), one that hands out
# a live block again (found by --verify), one that does not define malloc
# at all, and a missing one must each be reported (status and message),
# never hidden.
# Usage: test_failures.sh REPLAY_SYNTH FAIL_ALLOC_SO
set -u
synth=$1
fail_so=$2
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
failures=0

# expect EXIT_CODE PATTERN_IN_STDERR -- ARGS: runs synth, checks both.
expect() {
    want=$1; pattern=$2; shift 3
    "$synth" "$@" >"$out" 2>"$err"
    got=$?
    if [ "$got" != "$want" ] ||
       { [ -n "$pattern" ] && ! grep -q -- "$pattern" "$err"; }; then
        echo "FAIL: $*: exit $got (want $want), stderr:" >&2
        cat "$err" >&2
        failures=$((failures + 1))
    fi
}

trace=cross:4:500:8
expect 0 '' -- "$trace" --allocator glibc
grep -q 'libc.so' "$out" || { echo "FAIL: glibc run not in libc" >&2;
                              failures=$((failures + 1)); }
expect 0 '' -- "$trace" --allocator "$fail_so"
MALLARD_FAIL_AFTER=3000 MALLARD_FAIL_MODE=hang \
    expect 1 'did not finish in 1 s' -- "$trace" --allocator "$fail_so" \
    --timeout 1
MALLARD_FAIL_AFTER=3000 MALLARD_FAIL_MODE=overlap \
    expect 1 'contents changed' -- "$trace" --allocator "$fail_so" --verify
MALLARD_FAIL_AFTER=3000 expect 1 'returned NULL' -- "$trace" \
    --allocator "$fail_so"
MALLARD_FAIL_AFTER=3000 MALLARD_FAIL_MODE=crash \
    expect 1 'crashed the replay: signal 11' -- "$trace" \
    --allocator "$fail_so" --json
MALLARD_FAIL_AFTER=3000 expect 1 'returned NULL' -- "$trace" \
    --allocator "$fail_so" --csv
grep -q ',alloc_null,' "$out" || { echo "FAIL: csv lacks alloc_null" >&2;
                                   failures=$((failures + 1)); }
libm=$(ls /usr/lib/*/libm.so.6 /lib/*/libm.so.6 2>/dev/null | head -1)
expect 1 'malloc resolves into' -- "$trace" --allocator "$libm"
expect 2 'no such library' -- "$trace" --allocator /nonexistent/x.so
expect 2 'unknown allocator' -- "$trace" --allocator nosuch
expect 2 'expected a number' -- "$trace" --runs 0
expect 2 'expected one of' -- "$trace" --touch sometimes
expect 2 'one trace FILE only' -- "$trace" "$trace"
expect 2 'unknown option' -- "$trace" --frobnicate
expect 2 'expected a number' -- "$trace" --instances
echo "$failures failure(s)"
[ "$failures" = 0 ]
