/*
 * trace_finalize.c - `mallard trace finalize IN [-o OUT]`: load a
 * recorder's trace (full validation, reporting dropped frees), turn it
 * into the replay-ready form (slots, per-thread streams, edges) and
 * write that, zstd-compressed, in place unless -o is given.  A trace
 * that is already final is rewritten as it is.
 */
#include <string.h>

#include "cli.h"

int trace_finalize_path(const char *in, const char *out, int quiet)
{
    struct cli_trace ct;
    char err[CLI_ERR_MAX];
    if (cli_trace_load(in, &ct) < 0)
        return 1;
    cli_trace_warn(&ct);
    int rc = trace_write_final(out, &ct.raw, &ct.trace, CLI_ZSTD_LEVEL,
                               CLI_TIME_UNIT_NS, err, sizeof(err));
    cli_trace_free(&ct);
    if (rc < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (!quiet)
        printf("%s: finalised into %s\n", in, out);
    return 0;
}

int trace_cmd_finalize(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: mallard trace finalize IN [-o OUT]\n"
                   "Validates IN and writes its replay-ready form "
                   "to OUT (default: IN).\n");
            return 0;
        }
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (!in && argv[i][0] != '-')
            in = argv[i];
        else {
            fprintf(stderr, "mallard trace finalize: unexpected '%s'\n",
                    argv[i]);
            return 2;
        }
    }
    if (!in) {
        fprintf(stderr, "usage: mallard trace finalize IN [-o OUT]\n");
        return 2;
    }
    return trace_finalize_path(in, out ? out : in, 0);
}
