/* forecast_format.c -- writing forecasts as text lines or JSON objects, without printf. */
#include "forecast_format.h"

#include <math.h>
#include <string.h>

#include "float_text.h"
#include "reading.h"
#include "uint_text.h"
#include "utf8.h"

#define FLOAT_MAX_LEN (TC_FLOAT_TEXT_MAX + 1)  /* and a separator */

size_t tc_forecast_max_len(int n_outputs, int has_interval)
{
	/* An id escaped for JSON is at most 3 bytes a byte (U+FFFD for a byte
	 * that is not UTF-8); 64 covers the rest, and 32 more the interval's
	 * keys. */
	size_t floats = (size_t)n_outputs * (has_interval ? 3 : 1);
	return 3 * TC_ID_MAX + TC_FORECAST_TIME_MAX + 64 + (has_interval ? 32 : 0)
		+ floats * FLOAT_MAX_LEN;
}

/* Called for every forecast, so no printf: "12", "1.5", "-0.25". */
size_t tc_forecast_format_time(char *buf, int64_t ms)
{
	size_t n = 0;
	uint64_t abs_ms = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
	if (ms < 0) {
		buf[n++] = '-';
	}
	n += tc_uint_text(buf + n, abs_ms / 1000, 1);
	uint64_t frac = abs_ms % 1000;
	if (frac != 0) {
		int digits = frac % 100 == 0 ? 1 : frac % 10 == 0 ? 2 : 3;
		buf[n++] = '.';
		n += tc_uint_text(buf + n, digits == 1 ? frac / 100 : digits == 2 ? frac / 10 : frac,
			digits);
	}
	return n;
}

/* Series ids have no control characters, so only " and \ need escaping;
 * but they are bytes, and JSON is UTF-8: a byte that does not start a
 * well-formed sequence is written as U+FFFD, as control replies do. */
size_t tc_forecast_format_json_string(char *out, const char *s, size_t len)
{
	size_t n = 0;
	out[n++] = '"';
	for (size_t i = 0; i < len;) {
		if ((unsigned char)s[i] >= 0x80) {
			n += tc_utf8_put(out + n, s, len, &i);
			continue;
		}
		if (s[i] == '"' || s[i] == '\\') {
			out[n++] = '\\';
		}
		out[n++] = s[i++];
	}
	out[n++] = '"';
	return n;
}

static size_t append(char *buf, size_t used, const char *s, size_t len)
{
	memcpy(buf + used, s, len);
	return used + len;
}

/* Appends " <keyword>" (when keyword is not NULL) and " <v1> ... <vn>". */
static size_t text_floats(char *buf, size_t used, const char *keyword, const float *v, int n)
{
	if (keyword) {
		buf[used++] = ' ';
		used = append(buf, used, keyword, strlen(keyword));
	}
	for (int k = 0; k < n; k++) {
		buf[used++] = ' ';
		used += tc_float_text(buf + used, v[k]);
	}
	return used;
}

static size_t format_text(char *buf, const char *id, size_t len, const char *t,
	size_t t_len, const struct tc_forecast_values *v)
{
	size_t used = append(buf, 0, id, len);
	buf[used++] = ' ';
	used = append(buf, used, t, t_len);
	used = text_floats(buf, used, NULL, v->y, v->n);
	if (v->lower) {
		used = text_floats(buf, used, "lower", v->lower, v->n);
		used = text_floats(buf, used, "upper", v->upper, v->n);
	}
	return used;
}

#define LITERAL(s) s, sizeof s - 1

size_t tc_forecast_format_json_float(char *out, float v)
{
	if (isfinite(v)) {
		return tc_float_text(out, v);
	}
	memcpy(out, "null", 4);
	return 4;
}

/* Appends `key` (`,"name":[`) and the JSON array of v's n floats. */
static size_t json_floats(char *buf, size_t used, const char *key, size_t key_len,
	const float *v, int n)
{
	used = append(buf, used, key, key_len);
	for (int k = 0; k < n; k++) {
		if (k) {
			buf[used++] = ',';
		}
		used += tc_forecast_format_json_float(buf + used, v[k]);
	}
	buf[used++] = ']';
	return used;
}

static size_t format_json(char *buf, const char *id, size_t len, const char *t,
	size_t t_len, const struct tc_forecast_values *v)
{
	size_t used = append(buf, 0, LITERAL("{\"series\":"));
	used += tc_forecast_format_json_string(buf + used, id, len);
	used = append(buf, used, LITERAL(",\"t\":"));
	used = append(buf, used, t, t_len);
	used = json_floats(buf, used, LITERAL(",\"forecast\":["), v->y, v->n);
	if (v->lower) {
		used = json_floats(buf, used, LITERAL(",\"lower\":["), v->lower, v->n);
		used = json_floats(buf, used, LITERAL(",\"upper\":["), v->upper, v->n);
	}
	return v->warm ? append(buf, used, LITERAL("}"))
		: append(buf, used, LITERAL(",\"warm\":false}"));
}

size_t tc_forecast_format(char *buf, enum tc_format format, const char *id, size_t len,
	int64_t bucket_ms, const struct tc_forecast_values *v)
{
	char t[TC_FORECAST_TIME_MAX];
	size_t t_len = tc_forecast_format_time(t, bucket_ms);
	size_t used = format == TC_FORMAT_JSON ? format_json(buf, id, len, t, t_len, v)
		: format_text(buf, id, len, t, t_len, v);
	buf[used] = '\0';
	return used;
}
