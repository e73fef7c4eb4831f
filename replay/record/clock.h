/*
 * clock.h - the recorder's clock (clock.c).  record_now() (record.h)
 * reads it; record_clock_tsc says which it is.
 */
#ifndef MALLARD_RECORD_CLOCK_H
#define MALLARD_RECORD_CLOCK_H

#include <stdint.h>

/* Picks the clock and calibrates it, once per process tree (a fork
 * child keeps its parent's choice). */
void clock_choose(void);
/* Ticks per second of the chosen clock. */
uint64_t clock_hz(void);
/* At the end of a recording: a CLOCK chunk with the rate measured over
 * the whole run, when that is longer than the calibration. */
void clock_write_final(void);

#endif
