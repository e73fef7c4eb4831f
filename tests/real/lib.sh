# lib.sh - what every real-program test shares (sourced, not run).
#
# Owns: finding the program (a missing one FAILS, naming its Debian
# package: a skipped test would hide that the check never ran), the
# scratch folder, and running a command twice, once on the C library's
# malloc and once with the allocator under test preloaded, then
# comparing exit status and output.  Invariant: a test passes only if
# both runs exit 0 and print the same bytes, and the preloaded run
# really had the library loaded (ld.so only warns when it cannot
# preload, and the program then silently runs on glibc).
#
# Usage in a test:  . "$(dirname "$0")/lib.sh"; real_init "$@"
#   $1 = path of the allocator to preload (empty: preload nothing,
#        which checks the test itself while libmallard is not built).

set -eu

real_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# real_need PROGRAM PACKAGE: the program must exist.
real_need() {
    if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "$1" ]; then
        real_fail "$1 not found; install the Debian package '$2'" \
                  "(apt-get install $2)"
    fi
}

real_init() {
    REAL_LIB=${1:-}
    if [ -n "$REAL_LIB" ] && [ ! -f "$REAL_LIB" ]; then
        real_fail "allocator library $REAL_LIB does not exist"
    fi
    REAL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mallard-real.XXXXXX")
    trap 'rm -rf "$REAL_TMP"' EXIT
    [ -n "$REAL_LIB" ] || echo "note: no allocator given, comparing" \
        "glibc with glibc (checks the test, not an allocator)"
}

# real_run NAME CMD...: run CMD in $REAL_TMP with and without the
# preload; stdout goes to $REAL_TMP/NAME.{glibc,preload}.out.
real_run() {
    name=$1
    shift
    for mode in glibc preload; do
        out="$REAL_TMP/$name.$mode.out"
        err="$REAL_TMP/$name.$mode.err"
        preload=
        [ "$mode" = preload ] && preload=$REAL_LIB
        status=0
        (cd "$REAL_TMP" && env LD_PRELOAD="$preload" "$@") \
            >"$out" 2>"$err" || status=$?
        if [ "$status" -ne 0 ]; then
            echo "--- stderr of the $mode run:" >&2
            head -c 4000 "$err" >&2
            real_fail "$name: '$*' exited with status $status" \
                      "in the $mode run (LD_PRELOAD=$preload)"
        fi
        if grep -q "cannot be preloaded" "$err"; then
            real_fail "$name: ld.so could not preload $preload: $(cat "$err")"
        fi
    done
}

# real_same NAME FILE_A FILE_B: fail, showing the first differences,
# unless both files hold the same bytes.
real_same() {
    if ! cmp -s "$2" "$3"; then
        echo "--- first differences (glibc vs preload):" >&2
        diff "$2" "$3" 2>&1 | head -20 >&2 || true
        real_fail "$1: output differs under LD_PRELOAD=$REAL_LIB" \
                  "($2 vs $3)"
    fi
}

# real_compare NAME: the two runs of NAME printed the same stdout.
real_compare() {
    real_same "$1" "$REAL_TMP/$1.glibc.out" "$REAL_TMP/$1.preload.out"
    echo "ok: $1: $(wc -c <"$REAL_TMP/$1.glibc.out") bytes of output" \
         "identical with and without the preload"
}
