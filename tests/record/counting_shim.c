/*
 * counting_shim.c - a trivial LD_PRELOAD shim that counts malloc API
 * calls, the recorder's independent witness.
 *
 * Preloaded in front of the recorder, it sees exactly the calls the
 * recorder sees.  It counts only calls from threads other than the main
 * thread: workers start after every constructor and end before exit,
 * so both shims see all of their calls, whatever order the two
 * libraries initialise in.  Like the recorder it counts only the
 * program's own calls, not those an allocator makes to the malloc API
 * from inside another (a depth counter per thread).  At exit it writes
 * "KIND COUNT" lines to $COUNTING_OUT, with the names `mallard trace
 * dump` uses.
 *
 * COUNTING_ALL=1 counts every call of every thread from the process's
 * first, the check that nothing before the recorder's constructor is
 * lost.  The program must then leave by _exit (wrapped here: the counts
 * are written before the recorder's own _exit closes the trace), since
 * destructors after ours would allocate unseen.  Counts are written
 * with write(2), which does not allocate.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COUNT_KINDS 12        /* TRACE_MALLOC .. TRACE_USABLE_SIZE */
#define BOOT_BYTES 4096       /* what dlsym may calloc before we resolve */

static const char *const kind_names[COUNT_KINDS] = {
    "", "malloc", "calloc", "realloc", "reallocarray", "free",
    "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
    "malloc_usable_size",
};
static atomic_ulong counts[COUNT_KINDS];
static _Alignas(16) char boot[BOOT_BYTES];
static size_t boot_used;
static __thread int resolving;
static __thread int depth;

static int count_all = -1;       /* COUNTING_ALL, read at first count */

static void count(int kind)
{
    if (count_all < 0) {
        const char *all = getenv("COUNTING_ALL");
        count_all = all && all[0] == '1';
    }
    if (depth == 1 && (count_all || gettid() != getpid()))
        atomic_fetch_add_explicit(&counts[kind], 1, memory_order_relaxed);
}

/* Runs `call` one level deeper; `kind` counts only at the top level. */
#define COUNTED(kind, call) \
    __extension__ ({ depth++; count(kind); __typeof__(call) r_ = (call); \
                     depth--; r_; })

static void *next(const char *name)
{
    resolving = 1;
    void *f = dlsym(RTLD_NEXT, name);
    resolving = 0;
    return f;
}

/* The next definition of `name`, typed like our own, found once. */
#define NEXT(name) \
    static __typeof__(name) *real; \
    if (!real) real = (__typeof__(name) *)next(#name)

void *malloc(size_t n)
{
    NEXT(malloc);
    return COUNTED(1, real(n));
}

void *calloc(size_t n, size_t s)
{
    if (resolving) {
        void *p = boot + boot_used;
        boot_used += (n * s + 15) & ~(size_t)15;
        return p;
    }
    NEXT(calloc);
    return COUNTED(2, real(n, s));
}

void *realloc(void *p, size_t n)
{
    NEXT(realloc);
    return COUNTED(3, real(p, n));
}

void *reallocarray(void *p, size_t n, size_t s)
{
    NEXT(reallocarray);
    return COUNTED(4, real(p, n, s));
}

void free(void *p)
{
    if ((char *)p >= boot && (char *)p < boot + BOOT_BYTES)
        return;
    NEXT(free);
    depth++;
    count(5);
    real(p);
    depth--;
}

int posix_memalign(void **out, size_t a, size_t n)
{
    NEXT(posix_memalign);
    return COUNTED(6, real(out, a, n));
}

void *aligned_alloc(size_t a, size_t n)
{
    NEXT(aligned_alloc);
    return COUNTED(7, real(a, n));
}

void *memalign(size_t a, size_t n)
{
    NEXT(memalign);
    return COUNTED(8, real(a, n));
}

void *valloc(size_t n)
{
    NEXT(valloc);
    return COUNTED(9, real(n));
}

void *pvalloc(size_t n)
{
    NEXT(pvalloc);
    return COUNTED(10, real(n));
}

size_t malloc_usable_size(void *p)
{
    NEXT(malloc_usable_size);
    return COUNTED(11, real(p));
}

__attribute__((destructor)) static void write_counts(void)
{
    const char *path = getenv("COUNTING_OUT");
    char text[COUNT_KINDS * 64];
    size_t used = 0;
    if (!path)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    for (int k = 1; k < COUNT_KINDS; k++)
        used += (size_t)snprintf(text + used, sizeof(text) - used,
                                 "%s %lu\n", kind_names[k],
                                 atomic_load(&counts[k]));
    (void)!write(fd, text, used);
    close(fd);
}

void _exit(int status)
{
    static __typeof__(_exit) *real_exit;
    write_counts();
    if (!real_exit)
        real_exit = (__typeof__(_exit) *)next("_exit");
    real_exit(status);
    __builtin_unreachable();
}
