#!/bin/sh
# compress.sh - xz and zstd, each with two worker threads, round trip.
#
# Both compress in parallel blocks with one buffer set per thread, so
# large buffers are allocated in one thread and freed in another.  Their
# output is deterministic for a given thread count: the compressed
# bytes must be the same with and without the preload, and decompressing
# under the preload must give back the input exactly.
. "$(dirname "$0")/lib.sh"
real_init "$@"
real_need xz xz-utils
real_need zstd zstd
real_need awk mawk

awk 'BEGIN {
    srand(3)
    for (i = 0; i < 250000; i++)
        printf "%d,%s,%.3f\n", i, substr("lorem ipsum dolor sit amet",
               1 + int(rand() * 20)), rand() * 100
}' >"$REAL_TMP/data.csv"

real_run xz sh -c 'xz -T2 --block-size=1MiB -3 -c data.csv >data.xz &&
                   xz -T2 -d -c data.xz >back.csv && cmp data.csv back.csv &&
                   cat data.xz'
real_compare xz
real_run zstd sh -c 'zstd -q -T2 -3 -f -o data.zst data.csv &&
                     zstd -q -d -f -o back2.csv data.zst &&
                     cmp data.csv back2.csv && cat data.zst'
real_compare zstd
