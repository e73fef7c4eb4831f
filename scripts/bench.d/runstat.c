/*
 * runstat.c - run a command and report its wall time and peak RSS.
 *
 * Usage: runstat REPORT_FILE COMMAND [ARG...]
 * Writes "STATUS SECONDS MAXRSS_KIB" (STATUS as from wait4) to
 * REPORT_FILE and exits 0 once the command has ended, however it ended.
 * Why a C helper and not os.wait4 in the bench itself: Linux starts a
 * process's ru_maxrss at the peak of the memory image it replaced at
 * exec.  A child spawned by Python inherits Python's ~18 MiB that way,
 * which would hide every smaller peak.  This program is small, and its
 * child is forked from it, so the measured peak is the command's own.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Exit status for a failure of runstat itself (not of the command). */
#define RUNSTAT_FAILED 125

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: runstat REPORT_FILE COMMAND [ARG...]\n");
        return RUNSTAT_FAILED;
    }
    double start = now();
    pid_t pid = fork();
    if (pid < 0) {
        perror("runstat: fork");
        return RUNSTAT_FAILED;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror("runstat: exec");
        _exit(RUNSTAT_FAILED);
    }
    int status;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) != pid) {
        perror("runstat: wait4");
        return RUNSTAT_FAILED;
    }
    double seconds = now() - start;
    FILE *report = fopen(argv[1], "w");
    if (!report) {
        perror(argv[1]);
        return RUNSTAT_FAILED;
    }
    fprintf(report, "%d %.6f %ld\n", status, seconds, usage.ru_maxrss);
    return fclose(report) == 0 ? 0 : RUNSTAT_FAILED;
}
