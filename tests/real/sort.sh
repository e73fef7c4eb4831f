#!/bin/sh
# sort.sh - GNU sort with two threads and a tiny buffer.
#
# --parallel=2 sorts with two threads; -S 1M makes the buffer far
# smaller than the input, so sort writes sorted runs to temporary files
# and merges them: many large buffers allocated, freed and reused across
# threads.  Both runs must produce the same bytes, and that output must
# be in order (sort -c) and hold every input line (same line count).
. "$(dirname "$0")/lib.sh"
real_init "$@"
real_need sort coreutils
real_need awk mawk
export LC_ALL=C   # one collation for both runs and the order check

LINES=300000
awk -v n=$LINES 'BEGIN {
    srand(7)
    for (i = 0; i < n; i++)
        printf "%08d %s %d\n", int(rand() * 1e8),
               substr("qwertyuiopasdfghjklzxcvbnm", 1 + i % 20, 6), i
}' >"$REAL_TMP/input.txt"

real_run sort sort --parallel=2 -S 1M -T . -k2,2 -k1,1n input.txt
real_compare sort
sort -c -k2,2 -k1,1n "$REAL_TMP/sort.preload.out" ||
    real_fail "sort: the preloaded run's output is not sorted"
[ "$(wc -l <"$REAL_TMP/sort.preload.out")" -eq $LINES ] ||
    real_fail "sort: output does not have $LINES lines"
