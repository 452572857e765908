/* test_forecast_format.c -- forecast lines and JSON objects against printf-built ones. */
#include <criterion/criterion.h>

#include <float.h>
#include <jansson.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forecast_format.h"
#include "reading.h"

/* Formats into a heap buffer of exactly tc_forecast_max_len bytes, so
 * that writing past it trips AddressSanitizer; returns it (caller frees). */
static char *format_values(enum tc_format format, const char *id, int64_t bucket_ms,
	const struct tc_forecast_values *v)
{
	size_t cap = tc_forecast_max_len(v->n, v->lower != NULL);
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	size_t len = tc_forecast_format(buf, format, id, strlen(id), bucket_ms, v);
	cr_assert_lt(len, cap);
	cr_assert_eq(strlen(buf), len, "the length returned is the string's");
	return buf;
}

/* As format_values, for a forecast without an interval. */
static char *format(enum tc_format format, const char *id, int64_t bucket_ms,
	const float *y, int n, int warm)
{
	return format_values(format, id, bucket_ms,
		&(struct tc_forecast_values){.y = y, .n = n, .warm = warm});
}

Test(forecast_format, writes_text_lines_as_printf_would)
{
	const float y[] = { 1.5f, -0.1f, 1e-7f, 3.4e38f };
	const struct { int64_t ms; const char *t; } times[] = {
		{ 12000, "12" }, { 1500, "1.5" }, { -250, "-0.25" }, { 1, "0.001" },
		{ 123450, "123.45" }, { 0, "0" }, { 1732700000000, "1732700000" },
	};
	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		char expected[256];
		snprintf(expected, sizeof expected, "sensor-7 %s %.9g %.9g %.9g %.9g", times[i].t,
			(double)y[0], (double)y[1], (double)y[2], (double)y[3]);
		char *got = format(TC_FORMAT_TEXT, "sensor-7", times[i].ms, y, 4, 1);
		cr_assert_str_eq(got, expected);
		free(got);
	}
}

Test(forecast_format, text_writes_non_finite_values_as_nan_and_inf)
{
	const float y[] = { NAN, INFINITY, -INFINITY };
	char *got = format(TC_FORMAT_TEXT, "a", 2000, y, 3, 1);
	cr_assert_str_eq(got, "a 2 nan inf -inf");
	free(got);
}

Test(forecast_format, writes_json_with_nulls_escapes_and_the_warm_flag)
{
	const float y[] = { 0.25f, NAN, 0.1f };
	char *warm = format(TC_FORMAT_JSON, "a\"b\\c", 1500, y, 3, 1);
	cr_assert_str_eq(warm, "{\"series\":\"a\\\"b\\\\c\",\"t\":1.5,\"forecast\":[0.25,null,"
		"0.100000001]}");
	char *cold = format(TC_FORMAT_JSON, "x", 0, y, 1, 0);
	cr_assert_str_eq(cold, "{\"series\":\"x\",\"t\":0,\"forecast\":[0.25],\"warm\":false}");
	free(warm);
	free(cold);
}

/* Ids are bytes: JSON gets U+FFFD for those that are not UTF-8, so that
 * every forecast parses (jansson refuses invalid UTF-8). */
Test(forecast_format, writes_json_that_is_utf8_whatever_the_ids_bytes)
{
	const float y[] = { 1.0f };
	char *got = format(TC_FORMAT_JSON, "a\xff\xc3\xa9" "b", 0, y, 1, 1);
	cr_assert_str_eq(got, "{\"series\":\"a\xef\xbf\xbd\xc3\xa9" "b\",\"t\":0,\"forecast\":[1]}");
	json_error_t e;
	json_t *j = json_loads(got, 0, &e);
	cr_assert_not_null(j, "%s", e.text);
	cr_assert_str_eq(json_string_value(json_object_get(j, "series")), "a\xef\xbf\xbd\xc3\xa9" "b");
	json_decref(j);
	free(got);
}

/* The longest possible forecasts: an id of TC_ID_MAX quotes (each escaped
 * in JSON) or of TC_ID_MAX bytes that are not UTF-8 (each U+FFFD in JSON),
 * the most negative time, and the widest float in every output. */
Test(forecast_format, the_longest_forecast_fits_tc_forecast_max_len)
{
	char id[TC_ID_MAX + 1];
	memset(id, '"', TC_ID_MAX);
	id[TC_ID_MAX] = '\0';
	float y[64];
	for (int k = 0; k < 64; k++) {
		y[k] = -1.17549421e-38f;    /* "-1.17549421e-38", 15 bytes */
	}
	for (int f = TC_FORMAT_TEXT; f <= TC_FORMAT_JSON; f++) {
		free(format((enum tc_format)f, id, INT64_MIN, y, 64, 0));
	}
	memset(id, 0xff, TC_ID_MAX);
	free(format(TC_FORMAT_JSON, id, INT64_MIN, y, 64, 0));
}

/* ---- intervals ---- */

static const float iv_y[] = { 1.5f, NAN, -0.25f };
static const float iv_lower[] = { 1.0f, -INFINITY, -1e-7f };
static const float iv_upper[] = { 2.0f, INFINITY, 3.4e38f };

Test(forecast_format, text_writes_the_interval_after_the_forecast_with_keywords)
{
	struct tc_forecast_values v = {.y = iv_y, .lower = iv_lower, .upper = iv_upper, .n = 3,
		.warm = 0};
	char *got = format_values(TC_FORMAT_TEXT, "cpu", 1500, &v);
	cr_assert_str_eq(got, "cpu 1.5 1.5 nan -0.25 lower 1 -inf -1.00000001e-07 "
		"upper 2 inf 3.39999995e+38");
	free(got);
}

/* Each array parsed back with jansson holds the same floats (null for the
 * non-finite ones); lower and upper come before warm. */
Test(forecast_format, json_writes_lower_and_upper_arrays_that_parse_back)
{
	struct tc_forecast_values v = {.y = iv_y, .lower = iv_lower, .upper = iv_upper, .n = 3,
		.warm = 0};
	char *got = format_values(TC_FORMAT_JSON, "cpu", 1500, &v);
	cr_assert_str_eq(got, "{\"series\":\"cpu\",\"t\":1.5,\"forecast\":[1.5,null,-0.25],"
		"\"lower\":[1,null,-1.00000001e-07],\"upper\":[2,null,3.39999995e+38],\"warm\":false}");
	json_error_t e;
	json_t *j = json_loads(got, 0, &e);
	cr_assert_not_null(j, "%s", e.text);
	const char *keys[] = { "forecast", "lower", "upper" };
	const float *want[] = { iv_y, iv_lower, iv_upper };
	for (int a = 0; a < 3; a++) {
		json_t *arr = json_object_get(j, keys[a]);
		cr_assert(json_is_array(arr), "%s", keys[a]);
		cr_assert_eq(json_array_size(arr), 3);
		for (size_t k = 0; k < 3; k++) {
			json_t *x = json_array_get(arr, k);
			if (isfinite(want[a][k])) {
				cr_assert_eq((float)json_number_value(x), want[a][k], "%s[%zu]", keys[a], k);
			} else {
				cr_assert(json_is_null(x), "%s[%zu]", keys[a], k);
			}
		}
	}
	cr_assert(json_is_false(json_object_get(j, "warm")));
	json_decref(j);
	free(got);
	v.warm = 1;
	got = format_values(TC_FORMAT_JSON, "cpu", 0, &v);
	cr_assert_str_eq(got, "{\"series\":\"cpu\",\"t\":0,\"forecast\":[1.5,null,-0.25],"
		"\"lower\":[1,null,-1.00000001e-07],\"upper\":[2,null,3.39999995e+38]}");
	free(got);
}

/* The longest forecast with an interval: every float of the three arrays at
 * its widest, in a buffer of exactly tc_forecast_max_len(n, 1) bytes. */
Test(forecast_format, the_longest_forecast_with_an_interval_fits_tc_forecast_max_len)
{
	char id[TC_ID_MAX + 1];
	memset(id, 0xff, TC_ID_MAX);
	id[TC_ID_MAX] = '\0';
	float y[64];
	for (int k = 0; k < 64; k++) {
		y[k] = -1.17549421e-38f;
	}
	struct tc_forecast_values v = {.y = y, .lower = y, .upper = y, .n = 64, .warm = 0};
	for (int f = TC_FORMAT_TEXT; f <= TC_FORMAT_JSON; f++) {
		char *got = format_values((enum tc_format)f, id, INT64_MIN, &v);
		cr_assert_gt(strlen(got), tc_forecast_max_len(64, 0),
			"the interval's floats need more than the bound without one");
		free(got);
	}
}
