#!/bin/sh
# bench_smoke.sh - scripts/bench end to end on one small case.
#
# Usage: bench_smoke.sh BUILD_DIR ALLOCATORS
# The bench must exit 0 and print a report with a timed row for the case
# under every allocator asked for, and the command that produced it.
set -eu
build=$1
allocators=$2
bench="$(dirname "$0")/../../scripts/bench"
[ -x /usr/bin/python3 ] ||
    { echo "FAIL: /usr/bin/python3 not found; install python3" >&2; exit 1; }
out=$(/usr/bin/python3 "$bench" --quick --runs 1 --cases larson-t1 \
      --allocators "$allocators" --build "$build")
echo "$out"
row=$(echo "$out" | grep '^| larson-t1 |' | head -1)
[ -n "$row" ] || { echo "FAIL: no larson-t1 row in the report" >&2; exit 1; }
want=$(echo "$allocators" | tr ',' '\n' | wc -l)
# a timed cell looks like 0.123 [0.120-0.130]
got=$(echo "$row" | grep -o '[0-9]\.[0-9]* \[' | wc -l)
[ "$got" -eq "$want" ] ||
    { echo "FAIL: $got timed cells for $want allocators: $row" >&2; exit 1; }
echo "$out" | grep -q '^Command: `/usr/bin/python3 scripts/bench' ||
    { echo "FAIL: the report does not give its command" >&2; exit 1; }
echo "ok: bench reported larson-t1 for $allocators"
