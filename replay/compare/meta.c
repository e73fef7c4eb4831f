/*
 * meta.c - DIR/meta.txt: how a result was made, so it can be shared and
 * reproduced.  One "key: value" per line: the command line (shell
 * quoted) and the folder it ran in, the baseline, the machine (its
 * label, CPU model, cores, kernel, glibc), the shard (I/N, and the Slurm
 * task) and each allocator's version (the Debian package's, or ours);
 * "finished" is appended when every run of the folder is done.
 *
 * Written by compare, read by plot for index.html and by merge, which
 * checks the shards with it (shards.c).  Versions come
 * from dpkg-query because the Debian package is what a reader installs
 * to reproduce a run.
 */
#include <gnu/libc-version.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "compare.h"
#include "engine.h"

#define META_FILE "meta.txt"
#define META_LINE_MAX 4096

#ifndef MALLARD_VERSION
#define MALLARD_VERSION "unknown"
#endif


static void meta_cpu_model(char *out, size_t len)
{
    snprintf(out, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[META_LINE_MAX];
    while (f && fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(out, len, "%s", colon + 2);
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    }
    if (f)
        fclose(f);
}

/* Version of a Debian package via dpkg-query, "not installed" else. */
static void meta_package_version(const char *package, char *out,
                                 size_t len)
{
    char cmd[CMP_PATH_MAX];
    snprintf(cmd, sizeof(cmd), "dpkg-query -W -f='${Version}' '%s' "
             "2>/dev/null", package);
    snprintf(out, len, "not installed");
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    char buf[CMP_NAME_MAX / 2];
    if (fgets(buf, sizeof(buf), p) && *buf)
        snprintf(out, len, "%s %s", package, buf);
    pclose(p);
}

static void meta_allocator_version(const char *name, char *out,
                                   size_t len)
{
    if (strcmp(name, "glibc") == 0) {
        snprintf(out, len, "glibc %s", gnu_get_libc_version());
        return;
    }
    if (strcmp(name, "mallard") == 0) {
        snprintf(out, len, "libmallard %s (this tree)", MALLARD_VERSION);
        return;
    }
    size_t count;
    const struct replay_allocator_known *known =
        replay_allocators_known(&count);
    for (size_t i = 0; i < count; i++)
        if (strcmp(name, known[i].name) == 0 && known[i].package[0]) {
            meta_package_version(known[i].package, out, len);
            return;
        }
    snprintf(out, len, "%s", name);  /* a path: the path says it */
}

/* argv as a shell would need it: words with odd characters quoted. */
static void meta_command_line(FILE *f, int argc, char **argv)
{
    fputs("command: mallard", f);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (*a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
                         "QRSTUVWXYZ0123456789-_./,=:+@%") == strlen(a)) {
            fprintf(f, " %s", a);
            continue;
        }
        fputs(" '", f);
        for (; *a; a++)
            if (*a == '\'')
                fputs("'\\''", f);
            else
                fputc(*a, f);
        fputc('\'', f);
    }
    fputc('\n', f);
}

static void meta_machine(FILE *f)
{
    char cpu[META_LINE_MAX];
    struct utsname u;
    meta_cpu_model(cpu, sizeof(cpu));
    fprintf(f, "cpu: %s\ncores: %ld\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    if (uname(&u) == 0)
        fprintf(f, "kernel: %s %s %s\nhost: %s\n", u.sysname, u.release,
                u.machine, u.nodename);
    fprintf(f, "glibc: %s\n", gnu_get_libc_version());
}

void cmp_meta_host(char *out, size_t len)
{
    struct utsname u;
    snprintf(out, len, "%s", uname(&u) == 0 && *u.nodename ? u.nodename
             : "unknown");
    cmp_csv_clean(out);
}

/* Which shard this folder holds, and the Slurm task that ran it (to
 * find its log and re-run it). */
static void meta_shard(FILE *f, const struct cmp_options *opt)
{
    fprintf(f, "machine: %s\nshard: %d/%d\n", opt->machine, opt->shard,
            opt->nshards);
    const char *job = getenv("SLURM_ARRAY_JOB_ID");
    const char *task = getenv("SLURM_ARRAY_TASK_ID");
    if (opt->shard_from_slurm && job && task)
        fprintf(f, "slurm job: %s_%s\n", job, task);
}

int cmp_meta_write(const char *dir, int argc, char **argv,
                   const struct cmp_options *opt, char *err,
                   size_t err_len)
{
    char path[CMP_PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, META_FILE);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, err_len, "%s: cannot write", path);
        return -1;
    }
    meta_command_line(f, argc, argv);
    char cwd[CMP_PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)))
        fprintf(f, "directory: %s\n", cwd);   /* trace paths are from here */
    fprintf(f, "baseline: %s\n", opt->baseline);
    meta_shard(f, opt);
    meta_machine(f);
    for (int i = 0; i < opt->nallocators; i++) {
        char version[CMP_NAME_MAX];
        meta_allocator_version(opt->allocators[i], version,
                               sizeof(version));
        cmp_csv_clean(version);
        fprintf(f, "version %s: %s\n", opt->allocators[i], version);
    }
    if (fclose(f) != 0) {
        snprintf(err, err_len, "%s: cannot write", path);
        return -1;
    }
    return 0;
}

int cmp_meta_append(const char *dir, const char *key, const char *value)
{
    char path[CMP_PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, META_FILE);
    FILE *f = fopen(path, "a");
    if (!f)
        return -1;
    fprintf(f, "%s: %s\n", key, value);
    return fclose(f) == 0 ? 0 : -1;
}

int cmp_meta_get(const char *dir, const char *key, char *out, size_t len)
{
    char path[CMP_PATH_MAX], line[META_LINE_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, META_FILE);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t klen = strlen(key);
    out[0] = '\0';
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            snprintf(out, len, "%s", line + klen + 2);
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    fclose(f);
    return 0;
}
