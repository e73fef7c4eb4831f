#!/usr/bin/env bash
# test_slurm.sh - the Slurm scripts (scripts/slurm/) on a real one-node
# Slurm cluster that slurm_cluster.sh starts on localhost for this test
# alone, no mock:
#  1. scripts/slurm/submit runs a 2-shard comparison of two traces as a
#     job array plus the dependent merge job; the merged report holds
#     every run, all ok, and its charts.
#  2. compare.sbatch submitted by hand, held, task 2 cancelled, released:
#     `mallard merge` of the one shard that exists fails and names the
#     missing shard.
# usage: test_slurm.sh MALLARD TRACE1 TRACE2 REPO
# Exit 0 pass, 1 fail (a cluster that cannot start is a failure, with
# the daemons' log tails).  Needs root and the Debian packages munge,
# slurmctld, slurmd, slurm-client (scripts/install-deps --tests).
set -u
[ $# -eq 4 ] || { echo "usage: test_slurm.sh MALLARD TRACE1 TRACE2 REPO" >&2
                  exit 1; }
mallard=$1 trace1=$2 trace2=$3 repo=$4
# Both cases take about 10 s; the bound is for a loaded machine.
readonly JOBS_TIMEOUT_S=150
readonly RUNS=1
readonly COMPARE_ARGS=(--allocators glibc,mallard --runs "$RUNS"
                       "$trace1" "$trace2")
readonly CHARTS="time rss latency rss_time scaling geomean"

work=$(mktemp -d)
cluster=$work/cluster
cleanup() {
  "$repo/tests/compare/slurm_cluster.sh" stop "$cluster"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "FAIL: interrupted" >&2; exit 1' INT TERM HUP
deadline=$((SECONDS + JOBS_TIMEOUT_S))

fail() {
  echo "FAIL: $*" >&2
  show_job_logs >&2
  exit 1
}

show_job_logs() {
  local log
  for log in "$work"/*/slurm-logs/* "$work"/cancel/*.out; do
    [ -f "$log" ] || continue
    echo "--- $log"
    tail -20 "$log"
  done
}

# JobState of the job and of each task of an array, one a line.
job_states() {
  scontrol -o show job "$1" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2
}

# Waits until none of the jobs is pending or running; fails past the
# test's deadline, cancelling them so the cluster can stop.
wait_for_jobs() {
  local id
  for id in "$@"; do
    while job_states "$id" | grep -Eq \
        'PENDING|CONFIGURING|RUNNING|COMPLETING|SUSPENDED'; do
      [ $SECONDS -lt $deadline ] || {
        scancel "$@"
        fail "job $id not done after ${JOBS_TIMEOUT_S}s:" \
          "$(job_states "$id" | tr '\n' ' ')"
      }
      sleep 0.3
    done
  done
}

expect_states() {
  local id=$1 expected=$2 got
  got=$(job_states "$id" | sort | tr '\n' ' ')
  [ "$got" = "$expected" ] || fail "job $id: states $got, not $expected"
}

# Column N of results.csv (header dropped).
col() { tail -n +2 "$1" | cut -d, -f"$2"; }

check_merged_report() {
  local merged=$1 rows=$((2 * 2 * RUNS)) c
  [ "$(col "$merged/results.csv" 1 | wc -l)" -eq $rows ] ||
    fail "merged results.csv: $(col "$merged/results.csv" 1 | wc -l)" \
      "rows, not $rows"
  [ "$(col "$merged/results.csv" 6 | sort -u)" = ok ] ||
    fail "a run failed: $(col "$merged/results.csv" 6 | tr '\n' ' ')"
  [ "$(col "$merged/results.csv" 3 | sort -u | tr '\n' ' ')" = \
    "glibc mallard " ] || fail "merged results lack an allocator"
  for c in $CHARTS; do
    [ -s "$merged/charts/$c.png" ] || fail "no chart $merged/charts/$c.png"
  done
  grep -q 'src="charts/' "$merged/index.html" ||
    fail "no $merged/index.html with charts"
}

submit_then_merge() {
  local out=$work/submitted ids compare_id merge_id
  ids=$("$repo/scripts/slurm/submit" --shards 2 -o "$out" -- \
    "${COMPARE_ARGS[@]}") || fail "submit exited $?: $ids"
  compare_id=$(sed -n 's/^compare job \([0-9]*\).*/\1/p' <<< "$ids")
  merge_id=$(sed -n 's/.*merge job \([0-9]*\).*/\1/p' <<< "$ids")
  [ -n "$compare_id" ] && [ -n "$merge_id" ] ||
    fail "submit did not print the job ids: $ids"
  wait_for_jobs "$compare_id" "$merge_id"
  expect_states "$compare_id" "COMPLETED COMPLETED "
  expect_states "$merge_id" "COMPLETED "
  [ -s "$out/shard-1/results.csv" ] && [ -s "$out/shard-2/results.csv" ] ||
    fail "a shard folder is missing: $(ls "$out")"
  check_merged_report "$out/merged"
  echo "ok: submit ran jobs $compare_id (2 shards) and $merge_id (merge)"
}

missing_shard_is_named() {
  local out=$work/cancel id status
  mkdir -p "$out"
  id=$(cd "$work" && sbatch --parsable --hold --array=1-2 \
    --output="$out/compare-%A_%a.out" \
    "$repo/scripts/slurm/compare.sbatch" "$out" "${COMPARE_ARGS[@]}") ||
    fail "sbatch compare.sbatch: $id"
  scancel "${id}_2" && scontrol release "$id" ||
    fail "could not cancel task 2 of $id and release the rest"
  # A pending task cancelled leaves no record: task 1 is all that ran.
  wait_for_jobs "$id"
  expect_states "$id" "COMPLETED "
  [ -d "$out/shard-1" ] && [ ! -e "$out/shard-2" ] ||
    fail "expected shard-1 alone: $(ls "$out")"
  "$mallard" merge -o "$out/merged" "$out"/shard-* > "$work/merge.out" \
    2> "$work/merge.err"
  status=$?
  [ $status -ne 0 ] || fail "merge of 1 of 2 shards exited 0"
  grep -q "shard 2" "$work/merge.err" ||
    fail "merge (exit $status) did not name shard 2:" \
      "$(tail -3 "$work/merge.err")"
  echo "ok: merge names the cancelled shard: $(grep "shard 2" \
    "$work/merge.err" | head -1)"
}

"$repo/tests/compare/slurm_cluster.sh" start "$cluster" ||
  fail "the Slurm cluster did not start (logs above)"
export SLURM_CONF=$cluster/slurm.conf MALLARD=$mallard
cd "$work" || fail "cd $work"
submit_then_merge
missing_shard_is_named
echo "ok: slurm scripts on a one-node cluster"
