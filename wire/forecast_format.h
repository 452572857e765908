/* forecast_format.h -- one forecast as a text line or a JSON object.
 *
 *   text:  <series> <t> <y1> ... <yO>
 *          <series> <t> <y1> ... <yO> lower <l1> ... <lO> upper <u1> ... <uO>
 *   json:  {"series":"<series>","t":<t>,"forecast":[<y1>,...,<yO>]}
 *          {"series":"<series>","t":<t>,"forecast":[...],"warm":false}
 *          {"series":"<series>","t":<t>,"forecast":[...],"lower":[...],"upper":[...]}
 *          ("warm":false while the series' scaler warms up, model.scaler;
 *          lower and upper with model.intervals, and always last but warm)
 *
 * Shared by replay (to a file) and the daemon's publisher (to messages), so
 * both write the same bytes. t is the bucket start in seconds with at most
 * three decimals (12, 1.5); floats as "%.9g" writes them (wire/float_text.h),
 * which parses back to the same float32; a non-finite value is written as
 * nan/inf in text and null in JSON. The same rules write anomaly events
 * (anomaly_format.h), through the helpers at the end. */
#ifndef TC_FORECAST_FORMAT_H
#define TC_FORECAST_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* One series' forecast, borrowed for the call. */
struct tc_forecast_values {
	const float *y;              /* [n]: the forecast, series' units */
	const float *lower, *upper;  /* [n] each: its interval; both NULL: none */
	int n;                       /* outputs */
	int warm;                    /* 0 while the series' scaler warms up */
};

/* Bytes that always suffice for one forecast of n outputs, with or without
 * an interval, NUL included. */
size_t tc_forecast_max_len(int n_outputs, int has_interval);

/* Writes the forecast v of series id (len bytes) for the bucket starting at
 * bucket_ms, without a newline, NUL-terminated; v->warm 0 adds "warm":false
 * to JSON (text is the same either way). buf must hold
 * tc_forecast_max_len(v->n, v->lower != NULL). Returns the length written. */
size_t tc_forecast_format(char *buf, enum tc_format format, const char *id, size_t len,
	int64_t bucket_ms, const struct tc_forecast_values *v);

/* ---- the pieces, for other messages written by the same rules ---- */

#define TC_FORECAST_TIME_MAX 32      /* bytes that hold any t, "-9223372036854775.808" */

/* Writes ms (since the epoch) as seconds, "12", "1.5", "-0.25"; no NUL. */
size_t tc_forecast_format_time(char *buf, int64_t ms);

/* Writes s (len bytes) as a JSON string, quotes included: " and \ escaped,
 * a byte that is not UTF-8 as U+FFFD; at most 3 * len + 2 bytes, no NUL. */
size_t tc_forecast_format_json_string(char *out, const char *s, size_t len);

/* Writes v as JSON writes it: as text, or null when it is not finite. */
size_t tc_forecast_format_json_float(char *out, float v);

#endif
