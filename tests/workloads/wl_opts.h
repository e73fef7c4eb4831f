/*
 * wl_opts.h - the command-line options the workload programs share.
 *
 * Owns: one option table for all workloads (threads, iterations, sizes,
 * duration, bounds, ...).  Each program sets its defaults, names the
 * options that apply to it and gives its --help text; asking for an
 * option a program does not use is an error, not a silent no-op.
 * Why one table: the bench script and the tests drive every program the
 * same way (--threads 2 --iterations N), and one parser gives one set of
 * error messages.
 */
#ifndef WL_OPTS_H
#define WL_OPTS_H

#include <stdint.h>

enum wl_opt_bit {
    WL_OPT_THREADS = 1u << 0,
    WL_OPT_ITERATIONS = 1u << 1,
    WL_OPT_MIN_SIZE = 1u << 2,
    WL_OPT_MAX_SIZE = 1u << 3,
    WL_OPT_SECONDS = 1u << 4,
    WL_OPT_LIVE = 1u << 5,
    WL_OPT_BOUND = 1u << 6,
    WL_OPT_SLOTS = 1u << 7,
    WL_OPT_HANDOFF = 1u << 8,
    WL_OPT_SEED = 1u << 9,
    WL_OPT_VERBOSE = 1u << 10,
    WL_OPT_CASE = 1u << 11,
    WL_OPT_EXPECT_ADDRESS = 1u << 12,
    WL_OPT_EXPECT_MALLARD = 1u << 13,
};

struct wl_opts {
    long threads;      /* worker threads (loaders, producers, ...) */
    long iterations;   /* work items per thread or in total; see --help */
    long min_size;     /* smallest block, bytes */
    long max_size;     /* largest block, bytes */
    double seconds;    /* run for this long instead of counting; 0 = off */
    long live;         /* blocks each thread keeps alive */
    long bound_kib;    /* allowed RSS growth, KiB; 0 = no check */
    long slots;        /* capacity of a shared buffer */
    long handoff_pct;  /* percent of blocks freed by another thread */
    uint64_t seed;     /* base of every random choice */
    int verbose;       /* print progress (RSS samples, ...) */
    const char *kase;  /* which case to run (invalidfree) */
    int expect_address;  /* abort message must name the pointer */
    int expect_mallard;  /* libmallard must be the preloaded allocator */
};

/*
 * Parse argv into *opts, which holds the program's defaults on entry.
 * `allowed` is a mask of wl_opt_bit.  Prints `usage` and exits 0 on
 * --help; prints a message naming the option and exits 2 on bad input.
 */
void wl_opts_parse(struct wl_opts *opts, int argc, char **argv,
                   unsigned allowed, const char *usage);

#endif
