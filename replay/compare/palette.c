/*
 * palette.c - one colour per allocator, the same in every chart and in
 * every report: the well-known allocators have fixed colours, others
 * take the spare ones in order.  Colours from the Okabe-Ito palette,
 * which stays distinguishable with the common colour-vision
 * deficiencies.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "compare.h"

struct palette_entry {
    const char *allocator, *colour;
};

static const struct palette_entry palette_fixed[] = {
    { "glibc", "#0072B2" },     /* blue */
    { "mallard", "#D55E00" },   /* vermilion */
    { "jemalloc", "#009E73" },  /* bluish green */
    { "tcmalloc", "#E69F00" },  /* orange */
    { "mimalloc", "#CC79A7" },  /* reddish purple */
    { "none", "#999999" },      /* grey: the harness alone */
};

static const char *const palette_spare[] = {
    "#56B4E9", "#000000", "#F0E442", "#8C564B", "#7F3C8D", "#11A579",
};

#define PALETTE_FIXED (sizeof(palette_fixed) / sizeof(palette_fixed[0]))
#define PALETTE_SPARE (sizeof(palette_spare) / sizeof(palette_spare[0]))

static const char *palette_fixed_colour(const char *allocator)
{
    for (size_t i = 0; i < PALETTE_FIXED; i++)
        if (strcmp(allocator, palette_fixed[i].allocator) == 0)
            return palette_fixed[i].colour;
    return NULL;
}

const char *cmp_colour(const struct cmp_stats *st, size_t allocator)
{
    const char *fixed = palette_fixed_colour(st->allocators[allocator]);
    if (fixed)
        return fixed;
    size_t spare = 0;
    for (size_t a = 0; a < allocator; a++)
        spare += palette_fixed_colour(st->allocators[a]) == NULL;
    return palette_spare[spare % PALETTE_SPARE];
}

/* The last `parts` slash-separated parts of path (all of it when it has
 * fewer). */
static const char *path_tail(const char *path, int parts)
{
    const char *tail = path + strlen(path);
    while (parts-- > 0) {
        while (tail > path && tail[-1] != '/')
            tail--;
        if (tail == path)
            return path;
        if (parts > 0)
            tail--;             /* step over the slash */
    }
    return tail;
}

/* Whether another allocator of the run shows as tail with `parts` parts:
 * two libraries of one name in different folders. */
static bool tail_shared(const struct cmp_stats *st, const char *allocator,
                        int parts)
{
    const char *tail = path_tail(allocator, parts);
    for (size_t a = 0; st != NULL && a < st->nallocators; a++) {
        const char *other = st->allocators[a];
        if (strcmp(other, allocator) != 0 &&
            strcmp(path_tail(other, parts), tail) == 0)
            return true;
    }
    return false;
}

void cmp_display_name(const struct cmp_stats *st, const char *allocator,
                      char *out, size_t len)
{
    int parts = 1;
    while (tail_shared(st, allocator, parts) &&
           path_tail(allocator, parts) != allocator)
        parts++;
    snprintf(out, len, "%s", path_tail(allocator, parts));
    for (char *p = out; *p; p++)
        if (*p == ' ' || *p == '\'' || *p == '"')
            *p = '_';
}
