/*
 * trace_finalize.c - `mallard trace finalize IN [-o OUT]`: load a
 * recorder's trace (full validation, reporting dropped frees), turn it
 * into the replay-ready form (slots, per-thread streams, edges) and
 * write that, zstd-compressed, in place unless -o is given.  A trace
 * that is already final is rewritten as it is.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int trace_finalize_path(const char *in, const char *out, uint64_t unit)
{
    struct cli_trace ct;
    int rc = cli_trace_finalize(in, out, unit, &ct);
    cli_trace_free(&ct);
    if (rc != 0)
        return 1;
    printf("%s: finalised into %s\n", in, out);
    return 0;
}

int trace_cmd_finalize(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    uint64_t unit = CLI_TIME_UNIT_NS;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: mallard trace finalize IN [-o OUT] "
                   "[--time-unit NS]\n"
                   "Validates IN and writes its replay-ready form "
                   "to OUT (default: IN),\nwith op times kept to NS "
                   "nanoseconds (default %d).\n", CLI_TIME_UNIT_NS);
            return 0;
        }
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--time-unit") == 0 && i + 1 < argc) {
            if (cli_parse_time_unit(argv[++i], &unit) < 0)
                return 2;
        }
        else if (!in && argv[i][0] != '-')
            in = argv[i];
        else {
            fprintf(stderr, "mallard trace finalize: unexpected '%s'\n",
                    argv[i]);
            return 2;
        }
    }
    if (!in) {
        fprintf(stderr, "usage: mallard trace finalize IN [-o OUT] "
                "[--time-unit NS]\n");
        return 2;
    }
    return trace_finalize_path(in, out ? out : in, unit);
}

int cli_parse_time_unit(const char *arg, uint64_t *unit)
{
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    if (*arg < '0' || *arg > '9' || *end || v == 0 ||
        v > TRACE_NS_PER_SEC) {
        fprintf(stderr, "mallard: --time-unit wants nanoseconds from 1 "
                "to %llu, not '%s'\n", TRACE_NS_PER_SEC, arg);
        return -1;
    }
    *unit = v;
    return 0;
}
