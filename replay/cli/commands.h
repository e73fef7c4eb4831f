/*
 * commands.h - the subcommands of the `mallard` front end.
 *
 * Each subcommand is `int cmd_NAME(int argc, char **argv)` with argv[0]
 * the subcommand's name; it returns the process exit status (0 success,
 * 1 failure, 2 usage error) and handles its own --help.  replay is
 * defined in replay/engine/, compare, plot and merge in replay/compare/.
 */
#ifndef MALLARD_COMMANDS_H
#define MALLARD_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_merge(int argc, char **argv);

#endif
