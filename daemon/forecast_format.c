/* forecast_format.c -- writing forecasts as text lines or JSON objects. */
#include "forecast_format.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "reading.h"

#define FLOAT_MAX_LEN 16  /* "-1.23456789e+38" and a separator */

size_t tc_forecast_max_len(int n_outputs)
{
	/* An id escaped for JSON is at most 2 bytes a byte; 64 covers the rest. */
	return 2 * TC_ID_MAX + 32 + 64 + (size_t)n_outputs * FLOAT_MAX_LEN;
}

void tc_forecast_format_time(char *buf, size_t len, int64_t ms)
{
	const char *sign = ms < 0 ? "-" : "";
	uint64_t abs_ms = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
	uint64_t frac = abs_ms % 1000;
	if (frac == 0) {
		snprintf(buf, len, "%s%" PRIu64, sign, abs_ms / 1000);
		return;
	}
	int digits = frac % 100 == 0 ? 1 : frac % 10 == 0 ? 2 : 3;
	uint64_t shown = digits == 1 ? frac / 100 : digits == 2 ? frac / 10 : frac;
	snprintf(buf, len, "%s%" PRIu64 ".%0*" PRIu64, sign, abs_ms / 1000, digits, shown);
}

/* Series ids have no control characters; only " and \ need escaping. */
static size_t json_string(char *out, const char *s, size_t len)
{
	size_t n = 0;
	out[n++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			out[n++] = '\\';
		}
		out[n++] = s[i];
	}
	out[n++] = '"';
	return n;
}

/* Appends to buf at *used; tc_forecast_max_len leaves room for it all. */
__attribute__((format(printf, 3, 4)))
static void append(char *buf, size_t *used, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	*used += (size_t)vsprintf(buf + *used, fmt, ap);
	va_end(ap);
}

static size_t format_text(char *buf, const char *id, size_t len, const char *t,
	const float *y, int n)
{
	memcpy(buf, id, len);
	size_t used = len;
	append(buf, &used, " %s", t);
	for (int k = 0; k < n; k++) {
		append(buf, &used, " %.9g", (double)y[k]);
	}
	return used;
}

static size_t format_json(char *buf, const char *id, size_t len, const char *t,
	const float *y, int n, int warm)
{
	size_t used = 0;
	append(buf, &used, "{\"series\":");
	used += json_string(buf + used, id, len);
	append(buf, &used, ",\"t\":%s,\"forecast\":[", t);
	for (int k = 0; k < n; k++) {
		const char *sep = k ? "," : "";
		if (isfinite(y[k])) {
			append(buf, &used, "%s%.9g", sep, (double)y[k]);
		} else {
			append(buf, &used, "%snull", sep);
		}
	}
	append(buf, &used, warm ? "]}" : "],\"warm\":false}");
	return used;
}

size_t tc_forecast_format(char *buf, enum tc_format format, const char *id, size_t len,
	int64_t bucket_ms, const float *y, int n, int warm)
{
	char t[32];
	tc_forecast_format_time(t, sizeof t, bucket_ms);
	return format == TC_FORMAT_JSON ? format_json(buf, id, len, t, y, n, warm)
		: format_text(buf, id, len, t, y, n);
}
