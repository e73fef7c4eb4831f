#!/bin/sh
# stats.sh - MALLARD_STATS=1 prints the figures at exit, even for a
# program that closes its standard streams on the way out (GNU ls does,
# in an atexit handler that runs before the allocator's report), and the
# program's own output is unchanged.
. "$(dirname "$0")/lib.sh"
real_init "$@"
real_need ls coreutils
[ -n "$REAL_LIB" ] || { echo "no allocator: nothing to report"; exit 0; }

mkdir "$REAL_TMP/dir" && touch "$REAL_TMP/dir/a" "$REAL_TMP/dir/b"
MALLARD_STATS=1 LD_PRELOAD="$REAL_LIB" ls "$REAL_TMP/dir" \
    >"$REAL_TMP/ls.out" 2>"$REAL_TMP/ls.err" ||
    real_fail "ls failed under the preload"
[ "$(cat "$REAL_TMP/ls.out")" = "a
b" ] || real_fail "ls printed '$(cat "$REAL_TMP/ls.out")'"
for field in 'mallard stats:' bytes_in_use heap_count 'heap 0:'; do
    grep -q "$field" "$REAL_TMP/ls.err" ||
        real_fail "no '$field' in the report: $(cat "$REAL_TMP/ls.err")"
done
# The copy of stderr the report uses is not inherited across exec (env
# runs on Mallard, the ls it execs does not).
MALLARD_STATS=1 LD_PRELOAD="$REAL_LIB" env -u LD_PRELOAD ls /proc/self/fd \
    >"$REAL_TMP/fds.out" 2>/dev/null
if grep -qx 100 "$REAL_TMP/fds.out"; then
    real_fail "descriptor 100 leaked into an exec'd program"
fi
echo "ok: ls under MALLARD_STATS=1 reported its figures"
