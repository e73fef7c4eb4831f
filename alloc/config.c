/*
 * config.c - parsing MALLARD_* settings.  Runs inside the first malloc,
 * so it uses getenv (which reads environ in place) and its own number
 * parser: nothing here may allocate.
 */
#include "config.h"

#include <stdlib.h>

struct config config = {
    .thread_cache = true,
    .print_stats = false,
    .use_sbrk = true,
    .mmap_threshold_fixed = false,
    .mmap_threshold = 0, /* read only when mmap_threshold_fixed */
};

/* A decimal number with an optional k/m/g suffix; 0 when malformed. */
static size_t parse_size(const char *text)
{
    size_t value = 0;
    for (; *text >= '0' && *text <= '9'; text++)
        value = value * 10 + (size_t)(*text - '0');
    switch (*text) {
    case 'k': case 'K': return value << 10;
    case 'm': case 'M': return value << 20;
    case 'g': case 'G': return value << 30;
    case '\0': return value;
    default: return 0;
    }
}

static bool read_flag(const char *name, bool fallback)
{
    const char *text = getenv(name);
    if (text == NULL || *text == '\0')
        return fallback;
    return !(text[0] == '0' || text[0] == 'n' || text[0] == 'N' ||
             text[0] == 'f' || text[0] == 'F');
}

void config_read(void)
{
    config.thread_cache = read_flag("MALLARD_THREAD_CACHE", true);
    config.print_stats = read_flag("MALLARD_STATS", false);
    config.use_sbrk = read_flag("MALLARD_SBRK", true);
    config.check = read_flag("MALLARD_CHECK", false);
    if (config.check)
        config.thread_cache = false;    /* every call reaches heapcheck.c */
    const char *threshold = getenv("MALLARD_MMAP_THRESHOLD");
    /* Clamped where it is applied (huge_fix_threshold). */
    if (threshold != NULL && parse_size(threshold) > 0) {
        config.mmap_threshold = parse_size(threshold);
        config.mmap_threshold_fixed = true;
    }
}
