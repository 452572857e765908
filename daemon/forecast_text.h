/* forecast_text.h -- the text forecast line, `<series> <t> <y1> ... <yO>`.
 *
 * Shared by replay (to a file) and the daemon's publisher (to a message), so
 * that both print the same bytes: the timestamp is the bucket start in
 * seconds with at most three decimals (12, 1.5), floats are %.9g, which
 * parses back to the same float32. */
#ifndef TC_FORECAST_TEXT_H
#define TC_FORECAST_TEXT_H

#include <stdint.h>
#include <stdio.h>

#include "tick.h"

/* Writes ms as seconds into buf (at least 32 bytes): "12", "1.5", "-0.25". */
void tc_forecast_text_time(char *buf, size_t len, int64_t ms);

/* Writes the line of series i of f, newline included, to out. Returns 0 or -1. */
int tc_forecast_text_write(FILE *out, const struct tc_forecasts *f, size_t i);

#endif
