#!/bin/bash
# test_record.sh CASE MALLARD RECORD_LIB WORKLOAD COUNTING_SHIM [ALLOC_LIB]
# End-to-end tests of the recorder and `mallard record` / `mallard trace`
# on a real multithreaded program (crossthread_workload.c).  One CASE
# per meson test, so a failure names the behaviour.  ALLOC_LIB, if
# given, is an allocator preloaded behind the recorder (libmallard).
set -uo pipefail
case_name=$1 mallard=$2 reclib=$3 workload=$4 counter=$5 alloc=${6:-}
early=${7:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL [$case_name]: $*" >&2; exit 1; }

# Op counts of a trace's worker threads (tid != pid), "kind count".
worker_counts() {
    local pid
    pid=$("$mallard" trace info "$1" | awk '/^pid:/ {print $2}')
    "$mallard" trace dump "$1" | awk -v pid="$pid" -F'\t' \
        '!/^#/ && $2 != pid && $5 !~ /^thread_/ {n[$5]++}
         END {for (k in n) print k, n[k]}' | sort
}

case_counts_match_counting_shim() {
    local preload="$counter $reclib${alloc:+ $alloc}"
    LD_PRELOAD="$preload" MALLARD_TRACE="$work/t" \
        COUNTING_OUT="$work/counted" "$workload" 16 3000 > "$work/out" \
        || fail "workload failed under the recorder"
    grep -qx ok "$work/out" || fail "workload did not finish"
    "$mallard" trace check "$work/t" 2> "$work/warn" || fail "trace not sound"
    ! grep -q "without a recorded free" "$work/warn" ||
        fail "inconsistent block histories: $(cat "$work/warn")"
    worker_counts "$work/t" > "$work/recorded"
    awk '$2 > 0' "$work/counted" | sort > "$work/expected"
    [ -s "$work/expected" ] || fail "counting shim counted nothing"
    diff "$work/expected" "$work/recorded" ||
        fail "recorded counts differ from the counting shim's"
    echo "counts match: $(tr '\n' ' ' < "$work/expected")"
}

# Every call from the process's first, including those of a C++
# library's static initialiser (before the recorder's constructor) and
# a threaded python3's, equals an independent counter's count.
calls_match_whole_program() {
    local name=$1
    shift
    rm -f "$work/w"
    LD_PRELOAD="$counter $reclib" MALLARD_TRACE="$work/w" COUNTING_ALL=1 \
        COUNTING_OUT="$work/counted" "$@" > "$work/out" ||
        fail "$name failed under the recorder"
    "$mallard" trace info "$work/w" | sed -n '/^ops:/,/^slots:/p' |
        awk 'NF == 2 && $1 != "ops:" && $1 != "slots:" &&
             $1 !~ /^thread_/ { print $1, $2 }' | sort > "$work/recorded"
    awk '$2 > 0' "$work/counted" | sort > "$work/expected"
    diff "$work/expected" "$work/recorded" ||
        fail "$name: recorded counts differ from the counting shim's"
    echo "$name: $(tr '\n' ' ' < "$work/expected")"
}

case_first_calls_are_recorded() {
    calls_match_whole_program "C program, C++ library" "$early"
    [ "$(cat "$work/out")" = 100 ] || fail "early_alloc_main's output"
    grep -q "^malloc [0-9][0-9][0-9]" "$work/expected" ||
        fail "the library's initialiser was not counted"
    local py=/usr/bin/python3
    [ -x "$py" ] || return 0
    # join() returns before the OS thread has run its exit path (which
    # frees); wait until it is gone, or its last frees race the two
    # shims' _exit and the counts differ by a few.
    printf '%s\n' 'import json, os, sys, threading, time' \
        'def work():' '    for i in range(200): json.dumps(list(range(i)))' \
        't = threading.Thread(target=work); t.start(); work(); t.join()' \
        "while len(os.listdir('/proc/self/task')) > 1: time.sleep(0.001)" \
        'sys.stdout.flush(); os._exit(0)' > "$work/early.py"
    calls_match_whole_program python3 "$py" "$work/early.py"
}

case_round_trip() {
    "$mallard" record -o "$work/t" -- "$workload" 4 500 > "$work/out" ||
        fail "mallard record failed"
    grep -qx ok "$work/out" || fail "program output lost"
    "$mallard" trace check "$work/t" | grep -q "sound" || fail "check"
    "$mallard" trace info "$work/t" > "$work/info" || fail "info"
    grep -q "^threads: *5$" "$work/info" || fail "expected 5 threads"
    grep -q "^ended: *normally" "$work/info" || fail "not ended normally"
    grep -Eq "^chunks: .*\([1-9][0-9]* compressed" "$work/info" ||
        fail "mallard record did not compress"
    "$mallard" trace dump "$work/t" > "$work/d1" || fail "dump"
    "$mallard" trace finalize "$work/t" -o "$work/t2" > /dev/null ||
        fail "finalize"
    "$mallard" trace dump "$work/t2" > "$work/d2" || fail "dump again"
    cmp -s "$work/d1" "$work/d2" || fail "finalize changed the ops"
    local ops
    ops=$(awk '/^ops:/ {print $2}' "$work/info")
    [ "$(grep -vc '^#' "$work/d1")" = "$ops" ] || fail "dump != info ops"
    # The recorder's own file and its finalised form hold the same ops;
    # finalised times are kept to the default unit, 10 microseconds.
    LD_PRELOAD="$reclib" MALLARD_TRACE="$work/raw" "$workload" 4 500 \
        > /dev/null || fail "recording by hand"
    "$mallard" trace dump "$work/raw" | awk -F'\t' -v OFS='\t' \
        '!/^#/ {$4 = int($4 / 10000) * 10000} {print}' > "$work/r1"
    "$mallard" trace finalize "$work/raw" -o "$work/fin" > /dev/null ||
        fail "finalize raw"
    "$mallard" trace dump "$work/fin" > "$work/r2" || fail "dump final"
    cmp -s "$work/r1" "$work/r2" || fail "finalised ops differ from raw"
    "$mallard" trace finalize "$work/raw" -o "$work/fin1" --time-unit 1 \
        > /dev/null || fail "finalize --time-unit 1"
    cmp -s <("$mallard" trace dump "$work/raw") \
        <("$mallard" trace dump "$work/fin1") ||
        fail "a 1 ns time unit should keep every op exactly"
    "$mallard" trace finalize "$work/raw" --time-unit 0 2> /dev/null &&
        fail "time unit 0 accepted"
    [ "$(stat -c %s "$work/fin")" -lt "$(stat -c %s "$work/raw")" ] ||
        fail "finalised trace is not smaller"
}

# --raw keeps the recorder's file: readable as it is, finalised later
# into what `mallard record` would have written.
case_raw_record_finalises_later() {
    "$mallard" record --raw -o "$work/t" -- "$workload" 4 500 \
        > "$work/out" 2> "$work/err" || fail "mallard record --raw failed"
    grep -qx ok "$work/out" || fail "program output lost"
    grep -q "not finalised" "$work/err" || fail "no note on stderr"
    "$mallard" trace info "$work/t" > "$work/info" || fail "info of raw"
    grep -Eq "^chunks: .*\(0 compressed" "$work/info" ||
        fail "--raw compressed the trace"
    "$mallard" trace check "$work/t" | grep -q sound || fail "raw unsound"
    "$mallard" trace dump "$work/t" | awk -F'\t' -v OFS='\t' \
        '!/^#/ {$4 = int($4 / 10000) * 10000} {print}' > "$work/d1"
    "$mallard" trace finalize "$work/t" > /dev/null || fail "finalize"
    "$mallard" trace info "$work/t" | grep -Eq \
        "^chunks: .*\([1-9][0-9]* compressed" || fail "not finalised"
    "$mallard" trace dump "$work/t" > "$work/d2" || fail "dump final"
    cmp -s "$work/d1" "$work/d2" || fail "finalised ops differ from raw"
}

case_blocks_cross_threads() {
    "$mallard" record -o "$work/t" -- "$workload" 32 400 > /dev/null ||
        fail "record"
    "$mallard" trace check "$work/t" > /dev/null || fail "check"
    local edges
    edges=$("$mallard" trace dump "$work/t" |
            awk -F'\t' '!/^#/ && $10 != "-"' | wc -l)
    [ "$edges" -gt 1000 ] || fail "only $edges cross-thread edges"
    "$mallard" trace info "$work/t" | grep -q "^threads: *33$" ||
        fail "expected 33 threads"
}

# Records the workload with ARGS, then checks that every block history
# is exact: the trace is sound, no free lacks its allocation.  Leaves
# `trace info` in $work/info.
record_exactly() {
    "$mallard" record -o "$work/t" -- "$workload" "$@" \
        > "$work/out" 2> "$work/warn" || fail "record"
    grep -qx ok "$work/out" || fail "program output lost"
    "$mallard" trace check "$work/t" > /dev/null 2>> "$work/warn" ||
        fail "check"
    ! grep -q "without a recorded free" "$work/warn" ||
        fail "inconsistent block histories: $(cat "$work/warn")"
    "$mallard" trace info "$work/t" > "$work/info" || fail "info"
    grep -q "^dropped frees: *0$" "$work/info" ||
        fail "frees lost their allocation: $(grep dropped "$work/info")"
}

# A lone thread stamps without fences (on the TSC clock) until a second
# thread records: blocks it freed, or left for the workers to free, must
# still have exact histories once the workers run.
case_lone_thread_then_workers_stays_exact() {
    record_exactly 8 3000 solo-first
}

# Helpers that come and go: the main thread stamps alone again (bare,
# and carrying stamps through dense runs) each time the workers exit,
# and frees their leftovers or gets addresses they freed.  Every block
# history must stay exact across each transition.
case_waves_of_workers_stay_exact() {
    record_exactly 3 2000 waves
    grep -q "^threads: *22$" "$work/info" ||
        fail "expected 22 threads: $(grep threads "$work/info")"
}

# A vfork child runs on the parent's memory until it execs or _exits
# (Python's subprocess): the recorder must leave the parent's session
# alone there, and the parent's later threads must be recorded.
case_vfork_children_leave_the_trace_whole() {
    "$mallard" record -o "$work/t" -- "$workload" 3 300 vfork \
        > "$work/out" 2> "$work/warn" || fail "record: $(cat "$work/warn")"
    grep -qx ok "$work/out" || fail "program output lost"
    "$mallard" trace check "$work/t" > /dev/null || fail "check"
    "$mallard" trace info "$work/t" > "$work/info" || fail "info"
    grep -q "^ended: *normally$" "$work/info" ||
        fail "trace cut short: $(grep ended "$work/info")"
    grep -q "^threads: *6$" "$work/info" ||
        fail "expected 6 threads: $(grep threads "$work/info")"
}

# Whatever clock the recorder picked (TSC ticks calibrated at start, or
# CLOCK_MONOTONIC), the finalised times are nanoseconds: a 0.4 s sleep
# lasts about 0.4 s in its trace.
case_recorded_duration_is_wall_time() {
    local clock d
    for clock in default monotonic; do
        if [ $clock = monotonic ]; then
            export MALLARD_RECORD_CLOCK_MONOTONIC=1
        fi
        "$mallard" record -o "$work/t" -- sleep 0.4 > /dev/null 2>&1 ||
            fail "record ($clock)"
        d=$("$mallard" trace info "$work/t" |
            awk '/^duration:/ {print $2}')
        awk -v d="$d" 'BEGIN {exit !(d >= 0.39 && d < 1.5)}' ||
            fail "$clock clock: duration $d s for a 0.4 s sleep"
    done
    unset MALLARD_RECORD_CLOCK_MONOTONIC
}

case_fork_child_writes_own_trace() {
    "$mallard" record -o "$work/t" -- "$workload" 2 200 fork > /dev/null ||
        fail "record"
    local child
    child=$("$mallard" trace info "$work/t" | awk '/^child:/ {print $5}')
    [ -n "$child" ] || fail "parent trace names no child"
    [ -f "$child" ] || fail "child trace $child missing"
    "$mallard" trace check "$child" > /dev/null || fail "child trace"
    "$mallard" trace info "$child" | grep -q "^threads: *3$" ||
        fail "child trace should hold its 3 threads"
}

case_crash_leaves_truncated_trace() {
    "$mallard" record -o "$work/t" -- "$workload" 2 300 crash > /dev/null
    local rc=$?
    [ "$rc" = 139 ] || fail "expected exit 139 (SIGSEGV), got $rc"
    "$mallard" trace check "$work/t" | grep -q "sound: .*truncated" ||
        fail "crash trace not sound and truncated"
    "$mallard" trace info "$work/t" | grep -q "^ended: *truncated" ||
        fail "not marked truncated"
}

case_exec_followed_only_when_asked() {
    "$mallard" record -o "$work/t" -- "$workload" 2 50 exec \
        > "$work/out" || fail "record"
    [ "$(grep -c '^ok$' "$work/out")" = 2 ] || fail "exec'd program lost"
    ! ls "$work"/t.*.exec* > /dev/null 2>&1 ||
        fail "exec followed without --follow-exec"
    "$mallard" trace info "$work/t" | grep -q "normally (by exec)" ||
        fail "trace not ended by exec"
    "$mallard" record --follow-exec -o "$work/f" -- "$workload" 2 50 exec \
        > /dev/null || fail "record --follow-exec"
    local next
    next=$(ls "$work"/f.*.exec1.crossthread_workload) ||
        fail "exec'd program's trace not named FILE.PID.exec1.PROGRAM"
    "$mallard" trace check "$next" > /dev/null ||
        fail "exec'd program's trace unsound"
    "$mallard" trace info "$work/f" | grep -q "$next" ||
        fail "first trace does not name the exec'd one"
}

# Children that exec at the same time each keep their own trace (named
# by pid), posix_spawn's too, and the parent's trace lists them all.
case_concurrent_exec_children_keep_their_traces() {
    "$mallard" record --follow-exec -o "$work/c" -- "$workload" 2 50 \
        exec-children > "$work/out" 2> "$work/err" ||
        fail "record failed: $(cat "$work/err")"
    [ "$(grep -c '^ok$' "$work/out")" = 4 ] || fail "a program's output lost"
    local traces
    traces=$(ls "$work"/c.*.exec1.crossthread_workload | wc -l)
    [ "$traces" = 3 ] || fail "expected 3 exec'd traces, found $traces"
    for t in "$work"/c.*.exec1.crossthread_workload; do
        "$mallard" trace check "$t" | grep -q "sound" ||
            fail "$t unsound"
    done
    local named=0 t
    for t in "$work/c" "$work"/c.[0-9]*; do
        named=$((named + $("$mallard" trace info "$t" |
                          grep -c '^child: .*exec1.crossthread_workload')))
    done
    [ "$named" = 3 ] ||
        fail "the traces do not name all three exec'd children"
    ! grep -q "chunk lost\|error" "$work/err" ||
        fail "finalising reported: $(cat "$work/err")"
}

case_unwritable_output_keeps_program_running() {
    LD_PRELOAD="$reclib" MALLARD_TRACE=/nonexistent/dir/t \
        "$workload" 4 300 > "$work/out" 2> "$work/err" ||
        fail "program failed"
    grep -qx ok "$work/out" || fail "program output lost"
    [ "$(grep -c 'mallard-record:' "$work/err")" = 1 ] ||
        fail "expected exactly one warning, got: $(cat "$work/err")"
    # A full disk: every write fails with ENOSPC.
    LD_PRELOAD="$reclib" MALLARD_TRACE=/dev/full \
        "$workload" 4 3000 > "$work/out" 2> "$work/err" ||
        fail "program failed on a full disk"
    grep -qx ok "$work/out" || fail "program output lost (full disk)"
    [ "$(grep -c 'mallard-record: cannot write' "$work/err")" = 1 ] ||
        fail "expected one full-disk warning, got: $(cat "$work/err")"
    # mallard record checks the path before it runs anything.
    "$mallard" record -o /nonexistent/dir/t -- "$workload" 1 10 \
        > "$work/out" 2> "$work/err" && fail "record should fail"
    [ ! -s "$work/out" ] || fail "the program ran unrecorded"
    grep -q "cannot create the trace" "$work/err" || fail "no clear error"
}

# Every subcommand on every bad file: exit 1 with "FILE: offset N: ...".
case_bad_input_is_refused_with_offset() {
    "$mallard" record -o "$work/good" -- "$workload" 2 200 > /dev/null ||
        fail "record"
    local size
    size=$(stat -c %s "$work/good")
    : > "$work/empty"
    head -c $((size / 2)) "$work/good" > "$work/truncated"
    cp "$work/good" "$work/bitflip"
    # Flip bits of the middle byte (a byte set to a fixed value would
    # change nothing when it held that value already: 1 run in 256).
    local byte
    byte=$(od -An -tu1 -j $((size / 2)) -N1 "$work/good" | tr -d ' ')
    printf "\\$(printf %03o $((byte ^ 0x5a)))" |
        dd of="$work/bitflip" bs=1 seek=$((size / 2)) conv=notrunc \
            status=none
    cmp -s "$work/good" "$work/bitflip" && fail "bitflip changed nothing"
    cp "$work/good" "$work/version"
    printf '\x07' | dd of="$work/version" bs=1 seek=8 conv=notrunc \
        status=none
    cp "$work/good" "$work/reserved"
    printf '\x01' | dd of="$work/reserved" bs=1 seek=13 conv=notrunc \
        status=none
    yes "not a trace" | head -c 4096 > "$work/text"
    mkdir "$work/dir"
    for f in empty truncated bitflip version reserved text dir missing; do
        for sub in info stats dump check "finalize -o $work/out.t"; do
            timeout 20 "$mallard" trace $sub "$work/$f" \
                > /dev/null 2> "$work/err"
            local rc=$?
            [ "$rc" = 1 ] || fail "trace $sub $f: exit $rc, want 1"
            grep -q "^$work/$f: offset [0-9]*: " "$work/err" ||
                fail "trace $sub $f: message $(cat "$work/err")"
        done
        echo "$f: $(head -1 "$work/err")"
    done
    [ ! -e "$work/out.t" ] || fail "finalize wrote output for bad input"
    "$mallard" trace info "$work/dir" 2> "$work/err"
    grep -q "is a directory" "$work/err" ||
        fail "a directory is not called one"
    # Output that cannot be written is refused before any work: the
    # program never runs, no chart is attempted.
    local out
    for out in /proc/nope/x.trace "$work/dir"; do
        "$mallard" record -o "$out" -- touch "$work/ran" 2> "$work/err"
        [ $? = 1 ] && [ ! -e "$work/ran" ] ||
            fail "record -o $out ran the program"
        grep -q "^mallard record: -o $out: " "$work/err" ||
            fail "record -o $out: message $(cat "$work/err")"
    done
    "$mallard" trace stats --plot /proc/nope/x.png "$work/good" \
        > "$work/out" 2> "$work/err"
    [ $? = 1 ] && [ ! -s "$work/out" ] &&
        grep -q "^mallard trace stats: --plot /proc/nope/x.png: cannot" \
            "$work/err" || fail "stats --plot to a bad path"
    "$mallard" replay --json --csv "$work/good" 2> "$work/err"
    [ $? = 2 ] && grep -q "choose one output format" "$work/err" ||
        fail "replay --json --csv"
    "$mallard" --version | grep -q "^mallard [0-9]" || fail "--version"
}

case_stats_plot_draws_png() {
    "$mallard" record -o "$work/t" -- "$workload" 2 300 > /dev/null ||
        fail "record"
    "$mallard" trace stats "$work/t" --plot "$work/p.png" > "$work/s" ||
        fail "stats --plot"
    grep -q "^request sizes" "$work/s" || fail "no size histogram"
    grep -q "^lifetimes" "$work/s" || fail "no lifetime histogram"
    [ "$(head -c 4 "$work/p.png" | tail -c 3)" = PNG ] || fail "not a PNG"
    # Times are kept to 10 us: lifetimes below that are counted as such,
    # not as lifetimes of 1 ns; at 1 ns units there is no such row.
    sed -n '/^lifetimes/,/^threads/p' "$work/s" > "$work/life"
    grep -q "^  < 10000 ns " "$work/life" && ! grep -q "2^0 " "$work/life" ||
        fail "lifetimes ignore the time unit: $(cat "$work/life")"
    "$mallard" trace finalize --time-unit 1 -o "$work/t1" "$work/t" \
        > /dev/null 2>&1 || fail "finalize --time-unit 1"
    "$mallard" trace stats "$work/t1" | grep -q "^  < [0-9]* ns " &&
        fail "a below-unit row at a 1 ns unit"
    return 0
}

case_help_explains_each_command() {
    "$mallard" --help | grep -q record || fail "mallard --help"
    "$mallard" record --help | grep -q "follow-exec" || fail "record help"
    for sub in info stats dump check finalize; do
        "$mallard" trace $sub --help | grep -q usage || fail "help $sub"
    done
    "$mallard" nonsense 2> /dev/null && fail "unknown command accepted"
    "$mallard" trace nonsense 2> /dev/null && fail "unknown subcommand"
    true
}

"case_$case_name"
