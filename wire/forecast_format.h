/* forecast_format.h -- one forecast as a text line or a JSON object.
 *
 *   text:  <series> <t> <y1> ... <yO>
 *   json:  {"series":"<series>","t":<t>,"forecast":[<y1>,...,<yO>]}
 *          {"series":"<series>","t":<t>,"forecast":[...],"warm":false}
 *          (the second while the series' scaler warms up, model.scaler)
 *
 * Shared by replay (to a file) and the daemon's publisher (to messages), so
 * both write the same bytes. t is the bucket start in seconds with at most
 * three decimals (12, 1.5); floats as "%.9g" writes them (wire/float_text.h),
 * which parses back to the same float32; a non-finite value is written as
 * nan/inf in text and null in JSON. */
#ifndef TC_FORECAST_FORMAT_H
#define TC_FORECAST_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Bytes that always suffice for one forecast of n outputs, NUL included. */
size_t tc_forecast_max_len(int n_outputs);

/* Writes the forecast of series id (len bytes) for the bucket starting at
 * bucket_ms, without a newline, NUL-terminated; warm 0 adds "warm":false to
 * JSON (text is the same either way). buf must hold tc_forecast_max_len(n).
 * Returns the length written. */
size_t tc_forecast_format(char *buf, enum tc_format format, const char *id, size_t len,
	int64_t bucket_ms, const float *y, int n, int warm);

#endif
