/*
 * peak_anon.c - preloaded into a program run by itself (not recorded),
 * writes at exit the program's peak anonymous memory to the file named
 * by PEAK_ANON_OUT: VmHWM less the file and shared memory resident at
 * exit, as the replayer's child reckons its own (sampler.c).  It does
 * not replace malloc: the program runs on glibc as it would alone.
 * test_traces.sh compares that with a glibc replay of its recording.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long peak_kib(const char *status, const char *key)
{
    const char *at = strstr(status, key);
    return at ? strtol(at + strlen(key), NULL, 10) : 0;
}

__attribute__((destructor)) static void peak_anon_report(void)
{
    const char *out = getenv("PEAK_ANON_OUT");
    char buf[8192];
    if (!out)
        return;
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    long kib = peak_kib(buf, "VmHWM:") - peak_kib(buf, "RssFile:") -
               peak_kib(buf, "RssShmem:");
    FILE *f = fopen(out, "w");
    if (f) {
        fprintf(f, "%ld\n", kib * 1024);
        fclose(f);
    }
}
