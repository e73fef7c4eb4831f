/*
 * images.c - the course's image viewer: loaders fill, one player plays.
 *
 * Several loader threads each take the next image number, malloc an
 * "image" (64 KiB to 8 MiB by default, every byte written) and a small
 * malloc'd caption, and put both into a shared bounded buffer.  One
 * player thread takes them out strictly in image order, checks every
 * byte and the caption, and frees both: every large block is freed by a
 * different thread than the one that made it.
 * Invariant of the buffer: image k lives in slot k % slots, and a loader
 * may store image k only once k < played + slots, so the player never
 * waits for an image that is blocked behind a later one.
 */
#include "wl_opts.h"
#include "wl_pattern.h"
#include "wl_proc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAPTION_MAX 64

static const char usage[] =
    "usage: images [options]\n"
    "Loader threads malloc images and captions into a bounded buffer;\n"
    "one player thread checks them in order and frees them.\n"
    "  --threads N      loader threads (default 2)\n"
    "  --iterations N   images in total (default 64)\n"
    "  --min-size B     smallest image (default 64K)\n"
    "  --max-size B     largest image (default 8M)\n"
    "  --slots N        buffer capacity in images (default 4)\n"
    "  --seed N         seed for the image sizes (default 1)\n";

struct slot {
    int full;
    long number;
    unsigned loader;
    unsigned char *image;
    size_t size;
    char *caption;
};

struct show {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct slot *slots;
    long capacity;
    long next_to_load;
    long played;
    long total;
    uint64_t seed;
    size_t min_size, max_size;
    double bytes_played;
};

struct loader_arg {
    struct show *show;
    unsigned id;
};

/* The size of image `number` depends only on the seed and the number. */
static size_t image_size(const struct show *s, long number)
{
    uint64_t state = s->seed ^ ((uint64_t)number << 20);
    return wl_rand_size(&state, s->min_size, s->max_size);
}

static char *make_caption(long number, unsigned loader)
{
    char text[CAPTION_MAX];
    int len = snprintf(text, sizeof text, "image %ld loaded by %u",
                       number, loader);
    char *caption = wl_malloc((size_t)len + 1);
    memcpy(caption, text, (size_t)len + 1);
    return caption;
}

static void store(struct show *s, struct slot *filled)
{
    pthread_mutex_lock(&s->lock);
    while (filled->number >= s->played + s->capacity)
        pthread_cond_wait(&s->changed, &s->lock);
    s->slots[filled->number % s->capacity] = *filled;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

static void *loader_main(void *p)
{
    struct loader_arg *arg = p;
    struct show *s = arg->show;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        long number = s->next_to_load++;
        pthread_mutex_unlock(&s->lock);
        if (number >= s->total)
            return NULL;
        struct slot filled = { .full = 1, .number = number,
                               .loader = arg->id };
        filled.size = image_size(s, number);
        filled.image = wl_malloc(filled.size);
        wl_fill(filled.image, filled.size, wl_seed(arg->id, number));
        filled.caption = make_caption(number, arg->id);
        store(s, &filled);
    }
}

static void play(struct show *s, const struct slot *shown)
{
    if (shown->size != image_size(s, shown->number))
        wl_fail("image %ld has size %zu", shown->number, shown->size);
    wl_expect_intact(wl_check(shown->image, shown->size,
                              wl_seed(shown->loader, shown->number)),
                     shown->image, shown->size, "image");
    char expected[CAPTION_MAX];
    snprintf(expected, sizeof expected, "image %ld loaded by %u",
             shown->number, shown->loader);
    if (strcmp(expected, shown->caption) != 0)
        wl_fail("caption of image %ld reads \"%.*s\"", shown->number,
                CAPTION_MAX, shown->caption);
    s->bytes_played += (double)shown->size;
    free(shown->caption);
    free(shown->image);
}

static void *player_main(void *p)
{
    struct show *s = p;
    for (long number = 0; number < s->total; number++) {
        struct slot *slot = &s->slots[number % s->capacity];
        pthread_mutex_lock(&s->lock);
        while (!slot->full || slot->number != number)
            pthread_cond_wait(&s->changed, &s->lock);
        struct slot shown = *slot;
        pthread_mutex_unlock(&s->lock);
        play(s, &shown);
        pthread_mutex_lock(&s->lock);
        slot->full = 0;
        s->played = number + 1;
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

static void run(struct show *s, long loaders)
{
    pthread_t player, *threads = wl_malloc(sizeof *threads *
                                           (size_t)loaders);
    struct loader_arg *args = wl_malloc(sizeof *args * (size_t)loaders);
    if (pthread_create(&player, NULL, player_main, s) != 0)
        wl_fail("cannot start the player thread");
    for (long i = 0; i < loaders; i++) {
        args[i] = (struct loader_arg){ .show = s, .id = (unsigned)i };
        if (pthread_create(&threads[i], NULL, loader_main, &args[i]) != 0)
            wl_fail("cannot start loader thread %ld", i);
    }
    for (long i = 0; i < loaders; i++)
        pthread_join(threads[i], NULL);
    pthread_join(player, NULL);
    free(args);
    free(threads);
}

int main(int argc, char **argv)
{
    struct wl_opts o = { .threads = 2, .iterations = 64,
                         .min_size = 64L << 10, .max_size = 8L << 20,
                         .slots = 4, .seed = 1 };
    wl_set_name(argv[0]);
    wl_opts_parse(&o, argc, argv, WL_OPT_THREADS | WL_OPT_ITERATIONS |
                  WL_OPT_MIN_SIZE | WL_OPT_MAX_SIZE | WL_OPT_SLOTS |
                  WL_OPT_SEED, usage);
    struct show s = { .capacity = o.slots, .total = o.iterations,
                      .seed = o.seed, .min_size = (size_t)o.min_size,
                      .max_size = (size_t)o.max_size };
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.changed, NULL);
    s.slots = calloc((size_t)o.slots, sizeof *s.slots);
    if (!s.slots)
        wl_fail("calloc of %ld slots failed", o.slots);
    double start = wl_now();
    run(&s, o.threads);
    double secs = wl_now() - start;
    free(s.slots);
    printf("images: ok: %ld images (%.1f MiB) by %ld loaders in %.3f s\n",
           o.iterations, s.bytes_played / (1 << 20), o.threads, secs);
    return 0;
}
