/*
 * main.c - the `mallard` front end: one program, one table of
 * subcommands.  Adding a subcommand is one row here and one file (or
 * folder) that defines it; nothing else dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    { "record", cmd_record, "run a program and record its malloc calls" },
    { "trace", cmd_trace, "inspect, check and finalise a trace file" },
    { "replay", cmd_replay, "replay a trace against an allocator" },
    { "compare", cmd_compare, "compare allocators on traces" },
    { "plot", cmd_plot, "chart replay results" },
    { "merge", cmd_merge, "join the folders of sharded compares" },
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out, "usage: mallard COMMAND [ARGS...]\n"
                 "       mallard COMMAND --help\n"
                 "       mallard --version\n\ncommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("mallard %s\n", MALLARD_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mallard: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
