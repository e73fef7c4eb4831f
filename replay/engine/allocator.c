/*
 * allocator.c - which allocator a replay runs against: names to library
 * paths in the parent, and in the child the proof that malloc really
 * resolves into that library.
 *
 * The allocator is swapped by LD_PRELOAD on a fresh exec, never by
 * dlopen, so it serves every malloc of the process from the first one,
 * as it would for a real program.  A library that is missing is an
 * error naming the Debian package; we never fall back to glibc, since a
 * benchmark labelled jemalloc that ran glibc is worse than no result.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"

#if defined(__aarch64__)
#define ALLOCATOR_LIBDIR "/usr/lib/aarch64-linux-gnu/"
#else
#define ALLOCATOR_LIBDIR "/usr/lib/x86_64-linux-gnu/"
#endif
/* Where meson puts libmallard.so, from the mallard executable's folder. */
#define ALLOCATOR_MALLARD_REL "/../alloc/libmallard.so"

/* In the order a comparison runs them. */
static const struct replay_allocator_known allocator_table[] = {
    { "glibc", "", "libc6" },
    { "mallard", "mallard", "" },
    { "jemalloc", ALLOCATOR_LIBDIR "libjemalloc.so.2", "libjemalloc2" },
    { "tcmalloc", ALLOCATOR_LIBDIR "libtcmalloc_minimal.so.4",
      "libtcmalloc-minimal4" },
    { "mimalloc", ALLOCATOR_LIBDIR "libmimalloc.so.2", "libmimalloc2.0" },
};
#define ALLOCATOR_KNOWN (sizeof(allocator_table) / sizeof(allocator_table[0]))

const struct replay_allocator_known *replay_allocators_known(size_t *n)
{
    *n = ALLOCATOR_KNOWN;
    return allocator_table;
}

static int allocator_mallard_path(char *out, size_t len)
{
    const char *env = getenv("MALLARD_LIB");
    if (env && *env)
        return snprintf(out, len, "%s", env) < (int)len ? 0 : -1;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    return snprintf(out, len, "%s%s", exe, ALLOCATOR_MALLARD_REL) <
           (int)len ? 0 : -1;
}

/* Fills want with the library to preload; -1 with err for unknown. */
static int allocator_lookup(const struct replay_options *opt, char *want,
                            size_t len, const char **hint, char *err,
                            size_t err_len)
{
    const char *name = opt->allocator;
    if (strcmp(name, "mallard") == 0) {
        *hint = NULL;
        return allocator_mallard_path(want, len);
    }
    for (size_t i = 0; i < ALLOCATOR_KNOWN; i++) {
        if (strcmp(name, allocator_table[i].name) == 0) {
            snprintf(want, len, "%s", allocator_table[i].library);
            *hint = allocator_table[i].package;
            return 0;
        }
    }
    if (strchr(name, '/')) {
        snprintf(want, len, "%s", name);
        *hint = NULL;
        return 0;
    }
    snprintf(err, err_len, "--allocator %s: unknown allocator (expected "
             "glibc, mallard, jemalloc, tcmalloc, mimalloc, none or a "
             "path to a .so)", name);
    return -1;
}

int replay_allocator_resolve(struct replay_options *opt, char *err,
                             size_t err_len)
{
    opt->library[0] = '\0';
    opt->bump = strcmp(opt->allocator, "none") == 0;
    if (opt->bump || strcmp(opt->allocator, "glibc") == 0)
        return 0;
    char want[REPLAY_PATH_LEN];
    const char *package = NULL;
    if (allocator_lookup(opt, want, sizeof(want), &package, err,
                         err_len) != 0)
        return -1;
    char real[PATH_MAX];
    if (!realpath(want, real) || access(real, R_OK) != 0) {
        if (package)
            snprintf(err, err_len, "--allocator %s: %s is missing; "
                     "install the Debian package %s", opt->allocator,
                     want, package);
        else if (strcmp(opt->allocator, "mallard") == 0)
            snprintf(err, err_len, "--allocator mallard: %s is missing; "
                     "build it (meson compile) or set MALLARD_LIB", want);
        else
            snprintf(err, err_len, "--allocator %s: no such library",
                     want);
        return -1;
    }
    if (strlen(real) >= sizeof(opt->library)) {
        snprintf(err, err_len, "--allocator %s: path too long", want);
        return -1;
    }
    memcpy(opt->library, real, strlen(real) + 1);
    return 0;
}

/* Where the process's malloc is defined: a resolved path, or -1. */
static int allocator_where_is_malloc(char *out, size_t len)
{
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    if (!sym || !dladdr(sym, &info) || !info.dli_fname)
        return -1;
    char real[PATH_MAX];
    const char *name = realpath(info.dli_fname, real) ? real
                                                      : info.dli_fname;
    snprintf(out, len, "%s", name);
    return 0;
}

int replay_allocator_check(const struct replay_options *opt,
                           char *resolved, size_t resolved_len,
                           char *err, size_t err_len)
{
    if (opt->bump) {
        /* none.c's two layouts */
        snprintf(resolved, resolved_len, "(none: %s memory in replayer)",
                 opt->verify ? "slot" : "packed");
        return 0;
    }
    if (allocator_where_is_malloc(resolved, resolved_len) != 0) {
        snprintf(err, err_len, "cannot find which library defines "
                 "malloc (dlsym/dladdr failed)");
        return -1;
    }
    const char *base = strrchr(resolved, '/');
    base = base ? base + 1 : resolved;
    int ok = opt->library[0] ? strcmp(resolved, opt->library) == 0
                             : strncmp(base, "libc.so", 7) == 0 ||
                               strncmp(base, "libc-", 5) == 0;
    if (!ok)
        snprintf(err, err_len, "--allocator %s: malloc resolves into %s, "
                 "not %s (LD_PRELOAD did not take effect)",
                 opt->allocator, resolved,
                 opt->library[0] ? opt->library : "glibc's libc.so");
    return ok ? 0 : -1;
}
