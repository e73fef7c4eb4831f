#!/usr/bin/env bash
# test_compare.sh - end-to-end tests of `mallard compare`, `plot` and
# `merge` on a tiny trace recorded from the images workload.
# usage: test_compare.sh CASE MALLARD IMAGES BROKEN_ALLOC ARTEFACT_DIR
# CASE: rows_and_charts | failed_allocator_is_a_row | shards_merge |
#       shards_on_two_machines | report_loads_in_chromium |
#       bad_input_is_a_clear_error
# Exit 0 pass, 1 fail, 77 skipped (chromium missing).
set -u
case_name=$1 mallard=$2 images=$3 broken=$4 artefacts=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A trace of about 180 calls on 3 threads: a run takes a few ms.
record_tiny() {
  "$mallard" record -o "$work/tiny.trace" -- "$images" --iterations 40 \
    --min-size 4K --max-size 128K >/dev/null 2>&1 ||
    fail "could not record the tiny trace"
}

# Column N of results.csv (header dropped).
col() { tail -n +2 "$1" | cut -d, -f"$2"; }

check_png() {
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = \
    "89504e470d0a1a0a" ] || fail "$1: no PNG signature"
  [ "$(stat -c %s "$1")" -gt 4000 ] || fail "$1: too small for a chart"
}

check_svg() {
  head -c 300 "$1" | grep -q '<svg' || fail "$1: no <svg> element"
  grep -q '</svg>' "$1" || fail "$1: SVG not closed"
  [ "$(stat -c %s "$1")" -gt 2000 ] || fail "$1: too small for a chart"
}

charts="time rss latency rss_time scaling geomean"

rows_and_charts() {
  record_tiny
  local out=$work/out
  "$mallard" compare --allocators glibc,mallard --runs 2 -o "$out" \
    "$work/tiny.trace" > "$work/stdout" 2> "$work/stderr" ||
    fail "compare exited $?: $(tail -3 "$work/stderr")"
  local csv=$out/results.csv
  [ "$(tail -n +2 "$csv" | wc -l)" -eq 4 ] || fail "expected 4 rows"
  [ "$(col "$csv" 1 | tr '\n' ' ')" = "0 1 2 3 " ] || fail "seq order"
  # interleaved: glibc mallard glibc mallard, runs 1 1 2 2
  [ "$(col "$csv" 3 | tr '\n' ' ')" = "glibc mallard glibc mallard " ] ||
    fail "allocator order: $(col "$csv" 3 | tr '\n' ' ')"
  [ "$(col "$csv" 5 | tr '\n' ' ')" = "1 1 2 2 " ] || fail "run numbers"
  [ "$(col "$csv" 6 | sort -u)" = "ok" ] || fail "a run failed"
  # every run did the calls of the trace, the same count each time
  [ "$(col "$csv" 12 | sort -u | wc -l)" -eq 1 ] || fail "calls differ"
  [ "$(col "$csv" 12 | head -1)" -gt 50 ] || fail "too few calls"
  for f in $(col "$csv" 28); do
    [ "$(head -1 "$out/$f")" = \
      "run,time_s,rss_bytes,live_bytes,anon_bytes" ] ||
      fail "$f: not an RSS timeline"
  done
  grep -q '"schema": "mallard-compare-2"' "$out/summary.json" ||
    fail "summary.json schema"
  [ "$(grep -c '"trace":' "$out/summary.json")" -eq 2 ] ||
    fail "summary.json should hold 2 cases"
  grep -q "ratio to baseline" "$work/stdout" || fail "no terminal summary"
  grep -q "edge s" "$work/stdout" && grep -q "edge wait s" "$out/index.html" ||
    fail "edge wait not shown in the summary and the report"
  for c in $charts; do
    check_png "$out/charts/$c.png"
    check_svg "$out/charts/$c.svg"
    grep -q "src=\"charts/$c.svg\"" "$out/index.html" ||
      fail "index.html does not show $c"
    grep -q "href=\"charts/$c.png\"" "$out/index.html" ||
      fail "index.html does not link $c.png"
  done
  for key in command cpu cores kernel glibc "version mallard"; do
    grep -q "^$key: " "$out/meta.txt" || fail "meta.txt lacks $key"
    grep -q ">$key</th>" "$out/index.html" || fail "report lacks $key"
  done
}

failed_allocator_is_a_row() {
  record_tiny
  local out=$work/out
  MALLARD_TEST_BREAK=crash "$mallard" compare --runs 2 \
    --allocators "glibc,$broken,/nonexistent/libnone.so" -o "$out" \
    "$work/tiny.trace" > "$work/stdout" 2> "$work/stderr" ||
    fail "compare should succeed with failed runs (exit $?)"
  local csv=$out/results.csv
  [ "$(tail -n +2 "$csv" | wc -l)" -eq 6 ] || fail "expected 6 rows"
  [ "$(grep -c ',glibc,1,[12],ok,' "$csv")" -eq 2 ] || fail "glibc rows"
  [ "$(grep -c ",$broken,1,[12],crashed," "$csv")" -eq 2 ] ||
    fail "the crashing allocator's runs should be crashed rows"
  [ "$(grep -c ',/nonexistent/libnone.so,1,[12],setup_failed,.*no such' \
       "$csv")" -eq 2 ] || fail "the missing library should be named"
  grep -q "warning: --allocator /nonexistent/libnone.so" "$work/stderr" ||
    fail "no warning about the missing library"
  grep -q "failed: crashed" "$work/stdout" || fail "summary hides failure"
  check_png "$out/charts/time.png"
  grep -q "crashed" "$out/index.html" || fail "report hides the failure"
  # a hanging allocator is cut by --timeout and is a row too
  MALLARD_TEST_BREAK=hang "$mallard" compare --runs 1 --timeout 1 \
    --no-plot --allocators "glibc,$broken" -o "$work/hang" \
    "$work/tiny.trace" > /dev/null 2>&1 || fail "compare with a hang"
  grep -q ",$broken,1,1,timeout,.*--timeout" "$work/hang/results.csv" ||
    fail "no timeout row"
  # a failing baseline and a trace every allocator rejects: the charts
  # still draw (frames saying there is nothing to show), no abort
  head -c 4096 /dev/urandom > "$work/garbage.trace"
  MALLARD_TEST_BREAK=crash "$mallard" compare --runs 1 --baseline \
    "$broken" --allocators "$broken,glibc" -o "$work/nobase" \
    "$work/tiny.trace" "$work/garbage.trace" > /dev/null 2>&1 ||
    fail "compare with a failing baseline exited $?"
  [ "$(grep -c 'garbage.trace,.*,setup_failed,' \
       "$work/nobase/results.csv")" -eq 2 ] || fail "garbage trace rows"
  for c in $charts; do
    check_png "$work/nobase/charts/$c.png"
    check_svg "$work/nobase/charts/$c.svg"
  done
}

# The identity of each row: seq, trace, allocator, instances, run, status.
keys() { tail -n +2 "$1/results.csv" | cut -d, -f1-6; }

shards_merge() {
  record_tiny
  cp "$work/tiny.trace" "$work/tiny2.trace"
  local args=(--allocators glibc,mallard --runs 2 --instances 1,2
              --no-plot "$work/tiny.trace" "$work/tiny2.trace")
  "$mallard" compare "${args[@]}" -o "$work/all" >/dev/null 2>&1 ||
    fail "whole compare"
  "$mallard" compare "${args[@]}" --shard 1/2 -o "$work/s1" \
    >/dev/null 2>&1 || fail "shard 1/2"
  "$mallard" compare "${args[@]}" --shard 2/2 -o "$work/s2" \
    >/dev/null 2>&1 || fail "shard 2/2"
  local n1 n2
  n1=$(keys "$work/s1" | wc -l) n2=$(keys "$work/s2" | wc -l)
  [ "$n1" -eq 8 ] && [ "$n2" -eq 8 ] || fail "halves of 8 rows: $n1 $n2"
  "$mallard" merge -o "$work/merged" "$work/s2" "$work/s1" \
    > "$work/stdout" 2> "$work/stderr" ||
    fail "merge exited $?: $(tail -3 "$work/stderr")"
  diff <(keys "$work/all") <(keys "$work/merged") > "$work/diff" ||
    fail "merged rows differ from one run: $(head "$work/diff")"
  [ "$(keys "$work/merged" | wc -l)" -eq 16 ] || fail "16 rows expected"
  for f in $(col "$work/merged/results.csv" 28); do
    [ -s "$work/merged/$f" ] || fail "merge lost $f"
  done
  check_png "$work/merged/charts/scaling.png"
  grep -q '"schema": "mallard-compare-2"' "$work/merged/summary.json" ||
    fail "merged summary.json"
  # a shard given twice is refused, not counted twice
  if "$mallard" merge --no-plot -o "$work/twice" "$work/s1" "$work/s1" \
       2> "$work/stderr"; then
    fail "merging a shard twice should fail"
  fi
  grep -q "shard 1 of 2 is given twice" "$work/stderr" ||
    fail "twice: message"
  # nor are shards of two different comparisons mixed
  "$mallard" compare "${args[@]}" --runs 1 --shard 2/2 -o "$work/other" \
    >/dev/null 2>&1 || fail "other comparison's shard"
  if "$mallard" merge --no-plot -o "$work/mixed" "$work/s1" \
       "$work/other" 2> "$work/stderr"; then
    fail "merging shards of different comparisons should fail"
  fi
  grep -q "not shards of one comparison" "$work/stderr" ||
    fail "mixed: message"
}

# Shards on two machines, told apart; a set with a gap is named.
shards_on_two_machines() {
  record_tiny
  cp "$work/tiny.trace" "$work/tiny2.trace"
  local args=(--allocators glibc,mallard --runs 1 --no-plot
              "$work/tiny.trace" "$work/tiny2.trace")
  "$mallard" compare "${args[@]}" --shard 1/2 --machine-label alpha \
    -o "$work/s1" >/dev/null 2>&1 || fail "shard 1/2 on alpha"
  # the Slurm form: shard ID - MIN + 1 of COUNT from the array task
  SLURM_ARRAY_JOB_ID=41 SLURM_ARRAY_TASK_ID=6 SLURM_ARRAY_TASK_MIN=5 \
    SLURM_ARRAY_TASK_MAX=6 SLURM_ARRAY_TASK_COUNT=2 \
    "$mallard" compare "${args[@]}" --shard slurm --machine-label beta \
    -o "$work/s2" >/dev/null 2>&1 || fail "shard slurm on beta"
  grep -q "^shard: 2/2$" "$work/s2/meta.txt" &&
    grep -q "^slurm job: 41_6$" "$work/s2/meta.txt" ||
    fail "--shard slurm: $(grep -E '^(shard|slurm)' "$work/s2/meta.txt")"
  # every allocator of a trace runs in one shard, on one machine
  [ "$(col "$work/s1/results.csv" 2 | sort -u)" = "$work/tiny.trace" ] ||
    fail "shard 1 should hold the first trace, every allocator"
  [ "$(col "$work/s2/results.csv" 30 | sort -u)" = beta ] ||
    fail "results.csv machine column"
  "$mallard" merge -o "$work/m" "$work/s2" "$work/s1" >"$work/stdout" \
    2>"$work/stderr" || fail "merge: $(tail -3 "$work/stderr")"
  grep -q "tiny, 1 instance, on alpha" "$work/stdout" &&
    grep -q "tiny2, 1 instance, on beta" "$work/stdout" ||
    fail "summary does not name the machines"
  grep -q "on alpha</span>" "$work/m/index.html" &&
    grep -q "on beta</span>" "$work/m/index.html" ||
    fail "report does not mark the machines"
  grep -q "^shard 1/2 machine: alpha$" "$work/m/meta.txt" &&
    grep -q "^shard 2/2 machine: beta$" "$work/m/meta.txt" ||
    fail "merged meta.txt lost a machine"
  for m in alpha beta; do
    grep -q "\"machine\": \"$m\".*\"time_ratio\": 1," \
      "$work/m/summary.json" || fail "no baseline ratio formed on $m"
  done
  # a missing shard and a cut-short one are named; --partial merges
  if "$mallard" merge --no-plot -o "$work/gap" "$work/s1" \
       2>"$work/stderr"; then fail "a missing shard should fail"; fi
  grep -q "shard 2 of 2 is missing" "$work/stderr" || fail "missing: msg"
  sed -i '/^finished:/d' "$work/s2/meta.txt"
  if "$mallard" merge --no-plot -o "$work/cut" "$work/s1" "$work/s2" \
       2>"$work/stderr"; then fail "a cut-short shard should fail"; fi
  grep -q "shard 2 of 2 did not finish" "$work/stderr" || fail "cut: msg"
  "$mallard" merge --no-plot --partial -o "$work/part" "$work/s1" \
    >/dev/null 2>&1 || fail "merge --partial"
  grep -q "^merge: partial: shard 2 of 2 missing" "$work/part/meta.txt" ||
    fail "--partial does not say what is missing"
  SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=5 \
    SLURM_ARRAY_TASK_COUNT=3 "$mallard" compare "${args[@]}" \
    --shard slurm -o "$work/step" 2>"$work/stderr" >/dev/null &&
    fail "a stepped job array should be refused"
  grep -q "must be a range" "$work/stderr" || fail "stepped array: msg"
}

report_loads_in_chromium() {
  command -v chromium >/dev/null || {
    echo "SKIP: chromium is not installed (apt-get install chromium)"
    exit 77
  }
  record_tiny
  local out=$work/out profile
  "$mallard" compare --allocators glibc,mallard --runs 1 -o "$out" \
    "$work/tiny.trace" >/dev/null 2>&1 || fail "compare"
  local flags=(--headless --no-sandbox --disable-gpu
    --disable-background-networking --disable-component-update
    --no-first-run --disable-sync)
  profile=$(mktemp -d -p "$work")
  timeout 60 chromium "${flags[@]}" --user-data-dir="$profile" \
    --virtual-time-budget=5000 --dump-dom "file://$out/index.html" \
    > "$work/dom.html" 2>/dev/null || fail "chromium --dump-dom"
  grep -q 'data-images-loaded="6/6"' "$work/dom.html" ||
    fail "not every chart loaded: $(grep -o 'data-images-loaded="[^"]*"' \
      "$work/dom.html")"
  mkdir -p "$artefacts"
  profile=$(mktemp -d -p "$work")
  timeout 60 chromium "${flags[@]}" --user-data-dir="$profile" \
    --window-size=1100,3000 --screenshot="$artefacts/report.png" \
    "file://$out/index.html" >/dev/null 2>&1 || fail "screenshot"
  check_png "$artefacts/report.png"
  echo "screenshot: $artefacts/report.png"
}

bad_input_is_a_clear_error() {
  "$mallard" compare -o "$work/x" "$work/missing.trace" 2> "$work/err"
  [ $? -eq 2 ] || fail "missing trace: exit status"
  grep -q "missing.trace: No such file or directory" "$work/err" ||
    fail "missing trace: message"
  "$mallard" compare -o "$work/x" "$work" 2> "$work/err"
  [ $? -eq 2 ] && grep -q "is a directory, not a trace" "$work/err" ||
    fail "a directory as a trace"
  record_tiny
  # The same words as replay's for the same mistake.
  "$mallard" compare --runs 0 "$work/tiny.trace" 2> "$work/err"
  [ $? -eq 2 ] && grep -q -- "--runs: expected a number from 1 to 1000, \
got '0'" "$work/err" || fail "--runs 0"
  "$mallard" replay --runs 0 "$work/tiny.trace" 2> "$work/err"
  [ $? -eq 2 ] && grep -q -- "--runs: expected a number from 1 to 1000, \
got '0'" "$work/err" || fail "replay --runs 0"
  "$mallard" compare --shard 3/2 "$work/tiny.trace" 2> "$work/err"
  [ $? -eq 2 ] && grep -q -- "--shard: expected I/N" "$work/err" ||
    fail "--shard 3/2"
  "$mallard" compare --allocators '' "$work/tiny.trace" 2> "$work/err"
  [ $? -eq 2 ] && grep -q -- "--allocators: expected a comma list" \
    "$work/err" || fail "--allocators ''"
  "$mallard" compare --allocators glibc,glibc "$work/tiny.trace" \
    2> "$work/err"
  [ $? -eq 2 ] && grep -q -- "--allocators: glibc is given twice" \
    "$work/err" || fail "--allocators glibc,glibc"
  # A folder reused: an earlier compare's files go; anything else in it
  # makes compare refuse the folder and touch nothing.
  "$mallard" compare --allocators glibc --runs 1 --no-plot \
    -o "$work/again" "$work/tiny.trace" > /dev/null 2>&1 || fail "compare"
  touch "$work/again/logs/99999.err" "$work/again/rss/99999.csv"
  "$mallard" compare --allocators glibc --runs 1 --no-plot \
    -o "$work/again" "$work/tiny.trace" > /dev/null 2>&1 || fail "again"
  [ ! -e "$work/again/logs/99999.err" ] &&
    [ ! -e "$work/again/rss/99999.csv" ] || fail "stale files kept"
  touch "$work/again/notes.txt"
  "$mallard" compare --allocators glibc --runs 1 --no-plot \
    -o "$work/again" "$work/tiny.trace" > /dev/null 2> "$work/err"
  [ $? -eq 2 ] && grep -q "holds notes.txt, which no compare writes" \
    "$work/err" && [ -e "$work/again/results.csv" ] ||
    fail "a foreign folder was not refused"
  "$mallard" compare --baseline tcmalloc --allocators glibc \
    "$work/tiny.trace" 2> "$work/err"
  [ $? -eq 2 ] && grep -q "baseline tcmalloc is not among" "$work/err" ||
    fail "baseline not run"
  mkdir -p "$work/empty"
  "$mallard" plot "$work/empty" 2> "$work/err"
  [ $? -eq 2 ] && grep -q "results.csv: cannot open" "$work/err" ||
    fail "plot without results"
  printf 'seq,trace\n' > "$work/empty/results.csv"
  "$mallard" plot "$work/empty" 2> "$work/err"
  [ $? -eq 2 ] && grep -q "line 1: expected the results.csv header" \
    "$work/err" || fail "plot of a bad results.csv"
  PATH=/nonexistent "$mallard" compare --allocators glibc --runs 1 \
    -o "$work/nognuplot" "$work/tiny.trace" > /dev/null 2> "$work/err"
  [ $? -eq 1 ] && grep -q "install the Debian package gnuplot-nox" \
    "$work/err" || fail "missing gnuplot: $(tail -2 "$work/err")"
  "$mallard" compare --max-lead 0 -o "$work/lead0" "$work/tiny.trace" \
    > /dev/null 2> "$work/err"
  [ $? -eq 2 ] || fail "compare --max-lead 0 accepted"
  # compare takes --max-lead for its replays, and they succeed.
  "$mallard" compare --allocators glibc --runs 1 --max-lead 50 \
    --no-plot -o "$work/lead" "$work/tiny.trace" > /dev/null 2>&1 ||
    fail "compare --max-lead 50"
  [ "$(col "$work/lead/results.csv" 6 | sort -u)" = ok ] ||
    fail "compare --max-lead 50: rows $(col "$work/lead/results.csv" 6)"
}

case "$case_name" in
  rows_and_charts|failed_allocator_is_a_row|shards_merge|\
  shards_on_two_machines|report_loads_in_chromium|\
  bad_input_is_a_clear_error) "$case_name" ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok: $case_name"
