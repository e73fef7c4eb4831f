/*
 * commands.h - the subcommands of the `mallard` front end.
 *
 * Each subcommand is `int cmd_NAME(int argc, char **argv)` with argv[0]
 * the subcommand's name; it returns the process exit status (0 success,
 * 1 failure, 2 usage error) and handles its own --help.  Subcommands
 * built in other folders (replay/engine/ for replay, later compare, plot,
 * merge) are declared here under the MALLARD_HAVE_* macro that
 * replay/meson.build defines when that folder is built.
 */
#ifndef MALLARD_COMMANDS_H
#define MALLARD_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_trace(int argc, char **argv);
#ifdef MALLARD_HAVE_REPLAY
int cmd_replay(int argc, char **argv);
#endif
#ifdef MALLARD_HAVE_COMPARE
int cmd_compare(int argc, char **argv);
#endif
#ifdef MALLARD_HAVE_PLOT
int cmd_plot(int argc, char **argv);
#endif
#ifdef MALLARD_HAVE_MERGE
int cmd_merge(int argc, char **argv);
#endif

#endif
