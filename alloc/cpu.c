/*
 * cpu.c - counting configured CPUs without allocating.
 *
 * get_nprocs_conf() may open a directory (and so call malloc) on some
 * glibc versions; we run inside malloc's initialisation, so we read the
 * kernel's list of possible CPUs ourselves with plain open and read.
 * The list looks like "0-3,8-11\n"; the count is the highest id + 1,
 * which is what heap indexing by CPU id needs.
 */
#include "cpu.h"

#include <fcntl.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define CPU_LIST_PATH "/sys/devices/system/cpu/possible"

/* Highest number in a CPU list such as "0-3,8-11", or -1. */
static long highest_cpu_in_list(const char *text)
{
    long highest = -1, value = -1;
    for (const char *at = text; ; at++) {
        if (*at >= '0' && *at <= '9') {
            value = (value < 0 ? 0 : value * 10) + (*at - '0');
            continue;
        }
        if (value > highest)
            highest = value;
        value = -1;
        if (*at == '\0')
            return highest;
    }
}

unsigned cpu_count_configured(void)
{
    char text[256];
    int fd = open(CPU_LIST_PATH, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t got = read(fd, text, sizeof(text) - 1);
        close(fd);
        if (got > 0) {
            text[got] = '\0';
            long highest = highest_cpu_in_list(text);
            if (highest >= 0)
                return (unsigned)highest + 1;
        }
    }
    int counted = get_nprocs_conf();
    return counted > 0 ? (unsigned)counted : 1;
}
