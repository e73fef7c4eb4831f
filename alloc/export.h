/*
 * export.h - how the public functions are named and exported.
 *
 * The library is built with -fvisibility=hidden: only what EXPORT marks
 * is visible outside it.  API(name) is the C library's name in
 * libmallard, and mallard_name in the test build (MALLARD_PREFIX), whose
 * functions live beside a sanitizer's malloc in one process.
 */
#ifndef MALLARD_EXPORT_H
#define MALLARD_EXPORT_H

#ifdef MALLARD_PREFIX
#define API(name) mallard_##name
#else
#define API(name) name
#endif
#define EXPORT __attribute__((visibility("default")))

#endif
