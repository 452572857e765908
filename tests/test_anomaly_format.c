/* test_anomaly_format.c -- anomaly event bodies: text, JSON, binary, every way to be wrong. */
#include <criterion/criterion.h>

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly_format.h"
#include "error.h"
#include "series_id.h"

static const struct tc_anomaly event = {
	.row = 3, .value = 9.5f, .expected = 2.0f, .lower = 1.0f, .upper = 3.0f, .score = 7.5f,
};

/* Formats into a heap buffer of exactly tc_anomaly_format_max_len bytes
 * (ASan catches a write past it); the caller frees. */
static char *format(enum tc_format format, const char *id, size_t len, int64_t bucket_ms,
	const struct tc_anomaly *a)
{
	size_t cap = tc_anomaly_format_max_len();
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	size_t n = tc_anomaly_format(buf, format, id, len, bucket_ms, a);
	cr_assert_lt(n, cap);
	cr_assert_eq(strlen(buf), n);
	return buf;
}

Test(anomaly_format, writes_text_as_a_forecast_line_writes_t_and_floats)
{
	char *got = format(TC_FORMAT_TEXT, "cpu.load", 8, 1700000000500LL, &event);
	cr_assert_str_eq(got, "cpu.load 1700000000.5 9.5 2 1 3 7.5");
	free(got);
	struct tc_anomaly odd = {.value = NAN, .expected = 0.1f, .lower = -INFINITY,
		.upper = INFINITY, .score = 1e-7f};
	got = format(TC_FORMAT_TEXT, "x", 1, -250, &odd);
	cr_assert_str_eq(got, "x -0.25 nan 0.100000001 -inf inf 1.00000001e-07");
	free(got);
}

Test(anomaly_format, writes_json_that_parses_back_with_nulls_for_non_finite_values)
{
	char *got = format(TC_FORMAT_JSON, "a\"b", 3, 12000, &event);
	cr_assert_str_eq(got, "{\"series\":\"a\\\"b\",\"t\":12,\"value\":9.5,\"expected\":2,"
		"\"lower\":1,\"upper\":3,\"score\":7.5}");
	json_error_t e;
	json_t *j = json_loads(got, 0, &e);
	cr_assert_not_null(j, "%s", e.text);
	cr_assert_str_eq(json_string_value(json_object_get(j, "series")), "a\"b");
	cr_assert_eq(json_number_value(json_object_get(j, "t")), 12.0);
	cr_assert_eq(json_number_value(json_object_get(j, "score")), 7.5);
	json_decref(j);
	free(got);
	struct tc_anomaly odd = event;
	odd.expected = NAN;
	odd.upper = INFINITY;
	got = format(TC_FORMAT_JSON, "x", 1, 0, &odd);
	cr_assert_str_eq(got, "{\"series\":\"x\",\"t\":0,\"value\":9.5,\"expected\":null,"
		"\"lower\":1,\"upper\":null,\"score\":7.5}");
	free(got);
}

/* The longest event: TC_ID_MAX bytes that are not UTF-8 (each U+FFFD in
 * JSON), the most negative t, the widest float everywhere. */
Test(anomaly_format, the_longest_event_fits_tc_anomaly_format_max_len)
{
	char id[TC_ID_MAX];
	memset(id, 0xff, sizeof id);
	float w = -1.17549421e-38f;
	struct tc_anomaly a = {.value = w, .expected = w, .lower = w, .upper = w, .score = w};
	free(format(TC_FORMAT_JSON, id, sizeof id, INT64_MIN, &a));
	free(format(TC_FORMAT_TEXT, id, sizeof id, INT64_MIN, &a));
}

/* ---- binary ---- */

/* The example of docs/protocol.md: "ab" at 1700000000.5 s, value 9.5,
 * expected 2, lower 1, upper 3, score 7.5. */
static const unsigned char example[] = {
	0x00, 0x54, 0x43, 0x41, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0xf4, 0x69, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00,
	0x02, 0x61, 0x62,
	0x00, 0x00, 0x18, 0x41, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x80, 0x3f,
	0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0xf0, 0x40,
};

Test(anomaly_format, lays_out_the_binary_batch_as_specified)
{
	unsigned char buf[64];
	struct tc_anomaly_binary_writer w;
	cr_assert_eq(tc_anomaly_binary_writer_init(&w, buf, sizeof buf, 1700000000500LL), 0);
	cr_assert_eq(tc_anomaly_binary_writer_add(&w, "ab", 2, &event), 0);
	cr_assert_eq(w.len, sizeof example);
	cr_assert_eq(memcmp(buf, example, sizeof example), 0);
	cr_assert_eq(tc_anomaly_binary_record_size(2), 23);
	cr_assert(tc_anomaly_binary_detect(example, sizeof example));
	cr_assert_not(tc_anomaly_binary_detect("\0TCF", 4), "a forecast batch");
	cr_assert_not(tc_anomaly_binary_detect("\0TC", 3));
}

static uint32_t bits_of(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

static float from_bits(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* Reads a heap copy of exactly len bytes (ASan catches a read past it);
 * returns init's result, records in got[] (at most 8). */
static int read_all(const void *data, size_t len, char *err, struct tc_anomaly_binary_record *got,
	int *n, int64_t *bucket_ms)
{
	unsigned char *copy = malloc(len ? len : 1);
	cr_assert_not_null(copy);
	memcpy(copy, data, len);
	struct tc_anomaly_binary_reader rd;
	int rc = tc_anomaly_binary_reader_init(&rd, copy, len, err);
	*n = 0;
	*bucket_ms = rd.bucket_ms;
	struct tc_anomaly_binary_record r;
	while (tc_anomaly_binary_reader_next(&rd, &r)) {
		cr_assert_eq(rc, 0, "a refused body hands out no record");
		cr_assert_lt(*n, 8);
		cr_assert(r.id >= (const char *)copy && r.id + r.id_len <= (const char *)copy + len);
		got[(*n)++] = r;
	}
	cr_assert_eq(tc_anomaly_binary_reader_next(&rd, &r), 0, "the end stays the end");
	free(copy); /* got's ids point into it: the callers compare lengths and floats only */
	return rc;
}

Test(anomaly_format, round_trips_a_batch_bit_for_bit)
{
	static const uint32_t odd[] = {0x7fc12345, 0xff800000, 0x80000000, 0x00000001, 0x7f7fffff};
	struct tc_anomaly a = {.value = from_bits(odd[0]), .expected = from_bits(odd[1]),
		.lower = from_bits(odd[2]), .upper = from_bits(odd[3]), .score = from_bits(odd[4])};
	unsigned char buf[256];
	struct tc_anomaly_binary_writer w;
	cr_assert_eq(tc_anomaly_binary_writer_init(&w, buf, sizeof buf, -1500), 0);
	cr_assert_eq(tc_anomaly_binary_writer_add(&w, "first", 5, &a), 0);
	cr_assert_eq(tc_anomaly_binary_writer_add(&w, "ab", 2, &event), 0);
	char err[TC_ERR_LEN];
	struct tc_anomaly_binary_record got[8];
	int n;
	int64_t bucket_ms;
	cr_assert_eq(read_all(buf, w.len, err, got, &n, &bucket_ms), 0, "%s", err);
	cr_assert_eq(n, 2);
	cr_assert_eq(bucket_ms, -1500);
	cr_assert_eq(got[0].id_len, 5);
	cr_assert_eq(bits_of(got[0].a.value), odd[0]);
	cr_assert_eq(bits_of(got[0].a.expected), odd[1]);
	cr_assert_eq(bits_of(got[0].a.lower), odd[2]);
	cr_assert_eq(bits_of(got[0].a.upper), odd[3]);
	cr_assert_eq(bits_of(got[0].a.score), odd[4]);
	cr_assert_eq(got[1].id_len, 2);
	cr_assert_eq(got[1].a.score, 7.5f);
	cr_assert_eq(got[1].a.row, 0, "a body carries no row");
}

Test(anomaly_format, writer_refuses_what_does_not_fit_and_bad_ids)
{
	unsigned char buf[20 + 23 + 22];
	struct tc_anomaly_binary_writer w;
	cr_assert_eq(tc_anomaly_binary_writer_init(&w, buf, 19, 0), -1);
	cr_assert_eq(tc_anomaly_binary_writer_init(&w, buf, sizeof buf, 0), 0);
	cr_assert_eq(tc_anomaly_binary_writer_add(&w, "ab", 2, &event), 0);
	cr_assert_eq(tc_anomaly_binary_writer_add(&w, "ab", 2, &event), -1, "22 bytes left, needs 23");
	cr_assert_eq(tc_anomaly_binary_writer_add(&w, "", 0, &event), -1, "an empty id");
	char long_id[256];
	memset(long_id, 'x', sizeof long_id);
	cr_assert_eq(tc_anomaly_binary_writer_add(&w, long_id, 256, &event), -1);
	cr_assert_eq(w.count, 1);
	cr_assert_eq(buf[8], 1);
}

static void expect_rejected(const void *data, size_t len, const char *want)
{
	char err[TC_ERR_LEN] = "";
	struct tc_anomaly_binary_record got[8];
	int n;
	int64_t bucket_ms;
	cr_assert_eq(read_all(data, len, err, got, &n, &bucket_ms), -1,
		"accepted a bad body (%zu bytes), wanted \"%s\"", len, want);
	cr_assert_str_eq(err, want);
	cr_assert_eq(n, 0);
}

/* Two records, "a" then "bb": 20 + 22 + 23 bytes. */
static size_t two_records(unsigned char *buf, size_t cap)
{
	struct tc_anomaly_binary_writer w;
	cr_assert_eq(tc_anomaly_binary_writer_init(&w, buf, cap, 12000), 0);
	cr_assert_eq(tc_anomaly_binary_writer_add(&w, "a", 1, &event), 0);
	cr_assert_eq(tc_anomaly_binary_writer_add(&w, "bb", 2, &event), 0);
	cr_assert_eq(w.len, 65);
	return w.len;
}

Test(anomaly_format, every_truncation_is_refused_with_where_it_broke)
{
	unsigned char buf[128];
	size_t len = two_records(buf, sizeof buf);
	for (size_t cut = 0; cut < len; cut++) {
		char want[TC_ERR_LEN];
		if (cut < 20) {
			snprintf(want, sizeof want,
				"binary anomaly batch: header truncated (%zu bytes, needs 20)", cut);
		} else if (cut == 20 || cut == 42) {
			snprintf(want, sizeof want, "binary anomaly batch: ends after record %d of 2 "
				"(N is too large)", cut == 20 ? 0 : 1);
		} else {
			int rec = cut < 42 ? 1 : 2;
			snprintf(want, sizeof want, "binary anomaly batch: record %d of 2 truncated "
				"(%d bytes, %zu left)", rec, 21 + rec, cut - (rec == 1 ? 20 : 42));
		}
		expect_rejected(buf, cut, want);
	}
}

Test(anomaly_format, refuses_a_bad_header_field_by_field)
{
	unsigned char buf[128];
	size_t len = two_records(buf, sizeof buf);
	buf[3] = 'F';
	expect_rejected(buf, len, "binary anomaly batch: bad magic 00 54 43 46, "
		"expected 00 54 43 41 (\"\\0TCA\")");
	two_records(buf, sizeof buf);
	buf[4] = 2;
	expect_rejected(buf, len, "binary anomaly batch: version 2, this reader knows version 1");
	two_records(buf, sizeof buf);
	buf[5] = 0x01;
	expect_rejected(buf, len, "binary anomaly batch: unknown flags 0x01 (known: none)");
	two_records(buf, sizeof buf);
	buf[7] = 0x01;
	expect_rejected(buf, len, "binary anomaly batch: reserved bytes 6-7 are 256, expected 0");
}

Test(anomaly_format, refuses_an_n_that_disagrees_with_the_records)
{
	unsigned char buf[128];
	size_t len = two_records(buf, sizeof buf);
	buf[8] = 3;
	expect_rejected(buf, len, "binary anomaly batch: ends after record 2 of 3 (N is too large)");
	buf[8] = 1;
	expect_rejected(buf, len, "binary anomaly batch: 23 bytes after the last of 1 records "
		"(N is too small, or trailing bytes)");
	buf[8] = 2;
	buf[len] = 0;
	expect_rejected(buf, len + 1, "binary anomaly batch: 1 byte after the last of 2 records "
		"(N is too small, or trailing bytes)");
}

Test(anomaly_format, refuses_an_empty_or_bad_series_id)
{
	unsigned char buf[128];
	size_t len = two_records(buf, sizeof buf);
	buf[42] = 0; /* record 2's L */
	expect_rejected(buf, len, "binary anomaly batch: record 2 of 2: empty series id");
	two_records(buf, sizeof buf);
	buf[44] = ' '; /* record 2's id, byte 2 */
	expect_rejected(buf, len,
		"binary anomaly batch: record 2 of 2: series id has a space 0x20 at byte 2");
	buf[44] = 0x01;
	expect_rejected(buf, len,
		"binary anomaly batch: record 2 of 2: series id has control character 0x01 at byte 2");
}

/* Every byte of a batch set to each of a few values: accepted with N
 * records, or refused with a message; never a read outside it (ASan). */
Test(anomaly_format, survives_every_single_byte_corruption)
{
	unsigned char buf[128];
	size_t len = two_records(buf, sizeof buf);
	static const unsigned char values[] = {0x00, 0x01, 0x20, 0x7f, 0x80, 0xff};
	for (size_t at = 0; at < len; at++) {
		for (size_t v = 0; v < sizeof values; v++) {
			unsigned char bad[128];
			memcpy(bad, buf, len);
			bad[at] = values[v];
			char err[TC_ERR_LEN] = "";
			struct tc_anomaly_binary_record got[8];
			int n;
			int64_t bucket_ms;
			if (read_all(bad, len, err, got, &n, &bucket_ms) < 0) {
				cr_assert_eq(strncmp(err, "binary anomaly batch: ", 22), 0, "%s", err);
			} else {
				cr_assert_eq(n, bad[8], "byte %zu = 0x%02x", at, values[v]);
			}
		}
	}
}
