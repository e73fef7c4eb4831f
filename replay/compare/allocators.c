/*
 * allocators.c - which allocators a comparison runs, and the baseline.
 *
 * Names resolve through the replay engine's own table
 * (replay_allocator_resolve), so compare and replay can never disagree
 * on what "jemalloc" means or which Debian package provides it.  By
 * default every known allocator that is installed runs, and the ones
 * skipped are said, with their package.  An allocator named explicitly
 * but missing is warned about and still scheduled: its runs become
 * failed rows, so the gap is visible in the results, never silent.
 */
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "engine.h"


/* 0 if the allocator's library is there; else err says what to do. */
static int alloc_available(const char *name, char *err, size_t err_len)
{
    struct replay_options ro;
    memset(&ro, 0, sizeof(ro));
    if (strlen(name) >= sizeof(ro.allocator)) {
        snprintf(err, err_len, "%s: name too long", name);
        return -1;
    }
    memcpy(ro.allocator, name, strlen(name) + 1);
    return replay_allocator_resolve(&ro, err, err_len);
}

static void alloc_defaults(struct cmp_options *opt, FILE *note)
{
    char err[CMP_ERR_MAX];
    size_t count;
    const struct replay_allocator_known *known =
        replay_allocators_known(&count);
    for (size_t i = 0; i < count; i++) {
        if (alloc_available(known[i].name, err, sizeof(err)) == 0)
            opt->allocators[opt->nallocators++] = strdup(known[i].name);
        else
            fprintf(note, "mallard compare: skipping %s: %s\n",
                    known[i].name, err);
    }
}

int cmp_allocators_pick(struct cmp_options *opt, FILE *note)
{
    char err[CMP_ERR_MAX];
    if (!opt->allocators_given)
        alloc_defaults(opt, note);
    else
        for (int i = 0; i < opt->nallocators; i++)
            if (alloc_available(opt->allocators[i], err, sizeof(err)))
                fprintf(note, "mallard compare: warning: %s; its runs "
                        "will be failed rows\n", err);
    if (opt->nallocators == 0) {
        fprintf(note, "mallard compare: no allocator to run\n");
        return -1;
    }
    for (int i = 0; i < opt->nallocators; i++)
        if (strchr(opt->allocators[i], ',')) {
            fprintf(note, "mallard compare: %s: no commas in names\n",
                    opt->allocators[i]);
            return -1;
        }
    if (!opt->baseline) {
        opt->baseline = opt->allocators[0];
        for (int i = 0; i < opt->nallocators; i++)
            if (strcmp(opt->allocators[i], "glibc") == 0)
                opt->baseline = "glibc";
    }
    for (int i = 0; i < opt->nallocators; i++)
        if (strcmp(opt->allocators[i], opt->baseline) == 0)
            return 0;
    fprintf(note, "mallard compare: --baseline %s is not among the "
            "allocators\n", opt->baseline);
    return -1;
}
