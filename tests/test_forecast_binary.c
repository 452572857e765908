/* test_forecast_binary.c -- binary forecast batches: layout, round trips, every way to be wrong. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "forecast_binary.h"

/* Every batch is read from a heap copy of exactly its bytes, so a reader
 * that reads one byte too far trips AddressSanitizer. Expected bytes are
 * written out by hand from the spec in docs/protocol.md (and checked with
 * Python's struct), not taken from the writer. */

#define MAX_RECORDS 64
#define MAX_OUT 16

struct decoded {
	int rc;                                  /* reader_init */
	char err[TC_ERR_LEN];
	struct tc_forecast_binary_reader rd;     /* after init */
	int n;
	char id[MAX_RECORDS][256];
	size_t id_len[MAX_RECORDS];
	uint32_t y[MAX_RECORDS][MAX_OUT];        /* the floats' bits */
	uint32_t lower[MAX_RECORDS][MAX_OUT];    /* the bounds' bits, with has_interval */
	uint32_t upper[MAX_RECORDS][MAX_OUT];
	int warm[MAX_RECORDS];
};

static struct decoded *decode(const void *data, size_t len)
{
	struct decoded *d = calloc(1, sizeof *d);
	cr_assert_not_null(d);
	unsigned char *copy = malloc(len ? len : 1);
	cr_assert_not_null(copy);
	if (len) {
		memcpy(copy, data, len);
	}
	d->rc = tc_forecast_binary_reader_init(&d->rd, copy, len, d->err);
	struct tc_forecast_binary_record f;
	float *y = malloc(3 * TC_FORECAST_BINARY_MAX_OUTPUTS * sizeof *y);
	cr_assert_not_null(y);
	float *lower = y + TC_FORECAST_BINARY_MAX_OUTPUTS, *upper = lower
		+ TC_FORECAST_BINARY_MAX_OUTPUTS;
	while (tc_forecast_binary_reader_next(&d->rd, &f, y, lower, upper)) {
		cr_assert_eq(d->rc, 0, "a batch that failed init must hand out no record");
		cr_assert_lt(d->n, MAX_RECORDS, "too many records");
		cr_assert(f.id >= (const char *)copy && f.id + f.id_len <= (const char *)copy + len,
			"the id must lie inside the body");
		memcpy(d->id[d->n], f.id, f.id_len);
		d->id_len[d->n] = f.id_len;
		for (int k = 0; k < d->rd.n_outputs && k < MAX_OUT; k++) {
			memcpy(&d->y[d->n][k], &y[k], sizeof y[k]);
			memcpy(&d->lower[d->n][k], &lower[k], sizeof y[k]);
			memcpy(&d->upper[d->n][k], &upper[k], sizeof y[k]);
		}
		d->warm[d->n] = f.warm;
		d->n++;
	}
	cr_assert_eq(tc_forecast_binary_reader_next(&d->rd, &f, y, NULL, NULL), 0,
		"the end stays the end");
	free(y);
	free(copy);
	return d;
}

static void expect_rejected(const void *data, size_t len, const char *want)
{
	struct decoded *d = decode(data, len);
	cr_assert_eq(d->rc, -1, "accepted a bad batch (%zu bytes), wanted \"%s\"", len, want);
	cr_assert_str_eq(d->err, want);
	cr_assert_eq(d->n, 0);
	free(d);
}

static float from_bits(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static uint32_t bits_of(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

/* The example of docs/protocol.md: "ab", O = 2, 1 and -2, warming, at 1700000000.5 s. */
static const unsigned char example[] = {
	0x00, 0x54, 0x43, 0x46, 0x01, 0x01, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00,
	0xf4, 0x69, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00,
	0x02, 0x61, 0x62,
	0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,
	0x00,
};

/* Three records, O = 2, warm bytes: 20 + 3 x (1 + L + 8 + 1) bytes. */
static size_t three_records(unsigned char *buf, size_t cap)
{
	struct tc_forecast_binary_writer w;
	cr_assert_eq(tc_forecast_binary_writer_init(&w, buf, cap, 2, 1, 0, 12000), 0);
	const float y[3][2] = {{1, 2}, {3, 4}, {5, 6}};
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "a", 1, y[0], NULL, NULL, 1), 0);
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "bb", 2, y[1], NULL, NULL, 0), 0);
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "ccc", 3, y[2], NULL, NULL, 1), 0);
	cr_assert_eq(w.len, 20 + 11 + 12 + 13);
	return w.len;
}

Test(forecast_binary, lays_out_header_and_record_little_endian_as_specified)
{
	unsigned char buf[64];
	struct tc_forecast_binary_writer w;
	cr_assert_eq(tc_forecast_binary_writer_init(&w, buf, sizeof buf, 2, 1, 0, 1700000000500LL), 0);
	const float y[2] = {1.0f, -2.0f};
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "ab", 2, y, NULL, NULL, 0), 0);
	cr_assert_eq(w.len, sizeof example);
	cr_assert_eq(memcmp(buf, example, sizeof example), 0);
	cr_assert_eq(tc_forecast_binary_record_size(2, 2, 1, 0), 12);
	cr_assert_eq(tc_forecast_binary_record_size(255, 12, 0, 0), 1 + 255 + 48);
}

Test(forecast_binary, reads_the_documented_example)
{
	struct decoded *d = decode(example, sizeof example);
	cr_assert_eq(d->rc, 0, "%s", d->err);
	cr_assert_eq(d->rd.bucket_ms, 1700000000500LL);
	cr_assert_eq(d->rd.n_outputs, 2);
	cr_assert_eq(d->rd.count, 1);
	cr_assert_eq(d->rd.has_warm, 1);
	cr_assert_eq(d->n, 1);
	cr_assert_eq(d->id_len[0], 2);
	cr_assert_str_eq(d->id[0], "ab");
	cr_assert_eq(d->y[0][0], bits_of(1.0f));
	cr_assert_eq(d->y[0][1], bits_of(-2.0f));
	cr_assert_eq(d->warm[0], 0);
	free(d);
}

Test(forecast_binary, detects_a_body_by_its_leading_zero_byte)
{
	cr_assert(tc_forecast_binary_detect(example, sizeof example));
	cr_assert(tc_forecast_binary_detect("\0xyz", 4));
	cr_assert_not(tc_forecast_binary_detect("a 12 0.5", 8));
	cr_assert_not(tc_forecast_binary_detect("{\"series\":1}", 12));
	cr_assert_not(tc_forecast_binary_detect("", 0));
}

/* Writes n records with ids of id_len bytes, o outputs each, then reads them back. */
static void round_trip(int o, int has_warm, size_t id_len, int n, int64_t bucket_ms)
{
	size_t cap = TC_FORECAST_BINARY_HEADER_LEN
		+ (size_t)n * tc_forecast_binary_record_size(id_len, o, has_warm, 0);
	unsigned char *buf = malloc(cap);
	cr_assert_not_null(buf);
	struct tc_forecast_binary_writer w;
	cr_assert_eq(tc_forecast_binary_writer_init(&w, buf, cap, o, has_warm, 0, bucket_ms), 0);
	char id[256];
	float y[MAX_OUT];
	for (int i = 0; i < n; i++) {
		for (size_t c = 0; c < id_len; c++) {
			id[c] = (char)('!' + (i * 7 + (int)c) % 94); /* printable, no space */
		}
		for (int k = 0; k < o; k++) {
			y[k] = (float)(i * 100 + k) / 7.0f - 3.0f;
		}
		cr_assert_eq(tc_forecast_binary_writer_add(&w, id, id_len, y, NULL, NULL, i % 3 != 0), 0);
	}
	cr_assert_eq(w.len, cap, "the records fill the buffer exactly");
	struct decoded *d = decode(buf, w.len);
	cr_assert_eq(d->rc, 0, "%s", d->err);
	cr_assert_eq(d->rd.n_outputs, o);
	cr_assert_eq(d->rd.has_warm, has_warm);
	cr_assert_eq(d->rd.bucket_ms, bucket_ms);
	cr_assert_eq(d->n, n);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(d->id_len[i], id_len);
		for (size_t c = 0; c < id_len; c++) {
			cr_assert_eq(d->id[i][c], (char)('!' + (i * 7 + (int)c) % 94));
		}
		for (int k = 0; k < o; k++) {
			cr_assert_eq(d->y[i][k], bits_of((float)(i * 100 + k) / 7.0f - 3.0f));
		}
		cr_assert_eq(d->warm[i], has_warm ? i % 3 != 0 : 1, "record %d", i);
	}
	free(d);
	free(buf);
}

Test(forecast_binary, round_trips_one_output_without_warm_bytes)
{
	round_trip(1, 0, 5, 10, 0);
}

Test(forecast_binary, round_trips_twelve_outputs_with_warm_bytes_and_one_byte_ids)
{
	round_trip(12, 1, 1, 20, 1700000000000LL);
}

Test(forecast_binary, round_trips_255_byte_ids_and_a_negative_bucket)
{
	round_trip(3, 1, 255, 4, -1500);
	round_trip(16, 0, 255, 3, INT64_MAX);
}

Test(forecast_binary, round_trips_the_most_outputs)
{
	enum { O = TC_FORECAST_BINARY_MAX_OUTPUTS };
	size_t cap = TC_FORECAST_BINARY_HEADER_LEN + tc_forecast_binary_record_size(1, O, 0, 0);
	unsigned char *buf = malloc(cap);
	float *y = malloc(O * sizeof *y), *back = malloc(O * sizeof *back);
	cr_assert(buf && y && back);
	for (int k = 0; k < O; k++) {
		y[k] = (float)k * 0.5f;
	}
	struct tc_forecast_binary_writer w;
	cr_assert_eq(tc_forecast_binary_writer_init(&w, buf, cap, O, 0, 0, 7), 0);
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "x", 1, y, NULL, NULL, 1), 0);
	struct tc_forecast_binary_reader rd;
	struct tc_forecast_binary_record f;
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_forecast_binary_reader_init(&rd, buf, w.len, err), 0, "%s", err);
	cr_assert_eq(tc_forecast_binary_reader_next(&rd, &f, back, NULL, NULL), 1);
	cr_assert_eq(memcmp(y, back, O * sizeof *y), 0);
	cr_assert_eq(tc_forecast_binary_reader_next(&rd, &f, back, NULL, NULL), 0);
	free(buf);
	free(y);
	free(back);
}

Test(forecast_binary, keeps_nan_and_infinities_bit_for_bit)
{
	static const uint32_t odd[] = {
		0x7fc00000, 0xffc00000, 0x7fc12345, 0xffbfffff, 0x7f800001, /* NaNs, payloads, signalling */
		0x7f800000, 0xff800000, 0x80000000, 0x00000001, 0x7f7fffff, /* inf, -inf, -0, min, max */
	};
	enum { N = sizeof odd / sizeof odd[0] };
	float y[N];
	for (int k = 0; k < N; k++) {
		y[k] = from_bits(odd[k]);
	}
	unsigned char buf[256];
	struct tc_forecast_binary_writer w;
	cr_assert_eq(tc_forecast_binary_writer_init(&w, buf, sizeof buf, N, 0, 0, 0), 0);
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "odd", 3, y, NULL, NULL, 1), 0);
	/* On the wire too, as Python's struct reads them: each value's own bits. */
	for (int k = 0; k < N; k++) {
		const unsigned char *p = buf + 20 + 4 + 4 * k;
		uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
			| (uint32_t)p[3] << 24;
		cr_assert_eq(u, odd[k], "value %d on the wire: %08x, wrote %08x", k, u, odd[k]);
	}
	struct decoded *d = decode(buf, w.len);
	cr_assert_eq(d->rc, 0, "%s", d->err);
	for (int k = 0; k < N; k++) {
		cr_assert_eq(d->y[0][k], odd[k], "value %d read back as %08x, wrote %08x", k,
			d->y[0][k], odd[k]);
	}
	free(d);
}

Test(forecast_binary, round_trips_an_empty_batch)
{
	unsigned char buf[TC_FORECAST_BINARY_HEADER_LEN];
	struct tc_forecast_binary_writer w;
	cr_assert_eq(tc_forecast_binary_writer_init(&w, buf, sizeof buf, 4, 1, 0, 5000), 0);
	cr_assert_eq(w.len, TC_FORECAST_BINARY_HEADER_LEN);
	struct decoded *d = decode(buf, w.len);
	cr_assert_eq(d->rc, 0, "%s", d->err);
	cr_assert_eq(d->n, 0);
	cr_assert_eq(d->rd.bucket_ms, 5000);
	free(d);
}

Test(forecast_binary, writer_holds_a_complete_batch_after_every_add_and_refuses_what_does_not_fit)
{
	/* Room for the header and two 1-byte-id records of O = 2 with warm bytes (11 bytes each). */
	unsigned char buf[20 + 2 * 11 + 10];
	struct tc_forecast_binary_writer w;
	cr_assert_eq(tc_forecast_binary_writer_init(&w, buf, sizeof buf, 2, 1, 0, 0), 0);
	const float y[2] = {0.5f, 0.25f};
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(tc_forecast_binary_writer_add(&w, "s", 1, y, NULL, NULL, 1), 0);
		struct decoded *d = decode(buf, w.len);
		cr_assert_eq(d->rc, 0, "after record %d: %s", i + 1, d->err);
		cr_assert_eq(d->n, i + 1);
		free(d);
	}
	size_t len = w.len;
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "s", 1, y, NULL, NULL, 1), -1,
		"10 bytes left, needs 11");
	cr_assert_eq(w.len, len, "a refused record leaves the batch as it was");
	cr_assert_eq(w.count, 2);
	cr_assert_eq(buf[8], 2, "N in the header is unchanged");
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "", 0, y, NULL, NULL, 1), -1, "an empty id");
	char long_id[256];
	memset(long_id, 'x', sizeof long_id);
	unsigned char big[1024];
	cr_assert_eq(tc_forecast_binary_writer_init(&w, big, sizeof big, 2, 0, 0, 0), 0);
	cr_assert_eq(tc_forecast_binary_writer_add(&w, long_id, 256, y, NULL, NULL, 1), -1,
		"an id over 255");
	cr_assert_eq(tc_forecast_binary_writer_add(&w, long_id, 255, y, NULL, NULL, 1), 0);
	/* Starting again makes an empty batch in the same buffer. */
	cr_assert_eq(tc_forecast_binary_writer_init(&w, big, sizeof big, 2, 0, 0, 0), 0);
	cr_assert_eq(w.len, TC_FORECAST_BINARY_HEADER_LEN);
	cr_assert_eq(big[8], 0);
}

Test(forecast_binary, writer_refuses_a_short_buffer_and_outputs_out_of_range)
{
	unsigned char buf[64];
	struct tc_forecast_binary_writer w;
	cr_assert_eq(tc_forecast_binary_writer_init(&w, buf, TC_FORECAST_BINARY_HEADER_LEN - 1, 1, 0, 0,
		0), -1);
	cr_assert_eq(tc_forecast_binary_writer_init(&w, buf, sizeof buf, 0, 0, 0, 0), -1);
	cr_assert_eq(tc_forecast_binary_writer_init(&w, buf, sizeof buf,
		TC_FORECAST_BINARY_MAX_OUTPUTS + 1, 0, 0, 0), -1);
	cr_assert_eq(tc_forecast_binary_writer_init(&w, buf, sizeof buf,
		TC_FORECAST_BINARY_MAX_OUTPUTS, 0, 0, 0), 0);
}

/* ---- malformed batches ---- */

Test(forecast_binary, every_truncation_is_rejected_with_where_it_broke)
{
	unsigned char buf[128];
	size_t len = three_records(buf, sizeof buf);
	/* Record boundaries: 20, 31, 43, 56. */
	for (size_t cut = 0; cut < len; cut++) {
		char want[TC_ERR_LEN];
		if (cut < 20) {
			snprintf(want, sizeof want,
				"binary forecast batch: header truncated (%zu bytes, needs 20)", cut);
		} else if (cut == 20 || cut == 31 || cut == 43) {
			snprintf(want, sizeof want, "binary forecast batch: ends after record %d of 3 "
				"(N is too large)", cut == 20 ? 0 : cut == 31 ? 1 : 2);
		} else {
			int rec = cut < 31 ? 1 : cut < 43 ? 2 : 3;
			size_t start = rec == 1 ? 20 : rec == 2 ? 31 : 43;
			snprintf(want, sizeof want, "binary forecast batch: record %d of 3 truncated "
				"(%d bytes, %zu left)", rec, 10 + rec, cut - start);
		}
		expect_rejected(buf, cut, want);
	}
	struct decoded *d = decode(buf, len);
	cr_assert_eq(d->rc, 0, "%s", d->err);
	cr_assert_eq(d->n, 3);
	free(d);
}

Test(forecast_binary, refuses_a_bad_magic)
{
	unsigned char buf[128];
	size_t len = three_records(buf, sizeof buf);
	buf[3] = 'B'; /* a reading batch's magic */
	expect_rejected(buf, len, "binary forecast batch: bad magic 00 54 43 42, "
		"expected 00 54 43 46 (\"\\0TCF\")");
	three_records(buf, sizeof buf);
	buf[0] = 'x';
	expect_rejected(buf, len, "binary forecast batch: bad magic 78 54 43 46, "
		"expected 00 54 43 46 (\"\\0TCF\")");
}

Test(forecast_binary, refuses_another_version)
{
	unsigned char buf[128];
	size_t len = three_records(buf, sizeof buf);
	buf[4] = 2;
	expect_rejected(buf, len, "binary forecast batch: version 2, this reader knows version 1");
	buf[4] = 0;
	expect_rejected(buf, len, "binary forecast batch: version 0, this reader knows version 1");
}

Test(forecast_binary, refuses_unknown_flags)
{
	unsigned char buf[128];
	size_t len = three_records(buf, sizeof buf);
	buf[5] = 0x05;
	expect_rejected(buf, len, "binary forecast batch: unknown flags 0x05 (known: 0x03)");
	buf[5] = 0x80;
	expect_rejected(buf, len, "binary forecast batch: unknown flags 0x80 (known: 0x03)");
}

Test(forecast_binary, refuses_outputs_out_of_range)
{
	unsigned char buf[128];
	size_t len = three_records(buf, sizeof buf);
	buf[6] = 0;
	buf[7] = 0;
	expect_rejected(buf, len, "binary forecast batch: 0 outputs per forecast, expected 1..8192");
	buf[6] = 0x01;
	buf[7] = 0x20; /* 8193 */
	expect_rejected(buf, len,
		"binary forecast batch: 8193 outputs per forecast, expected 1..8192");
}

Test(forecast_binary, refuses_an_n_larger_than_the_records_there)
{
	unsigned char buf[128];
	size_t len = three_records(buf, sizeof buf);
	buf[8] = 4;
	expect_rejected(buf, len, "binary forecast batch: ends after record 3 of 4 (N is too large)");
	memset(buf + 8, 0xff, 4);
	expect_rejected(buf, len,
		"binary forecast batch: ends after record 3 of 4294967295 (N is too large)");
}

Test(forecast_binary, refuses_an_n_smaller_than_the_records_there)
{
	unsigned char buf[128];
	size_t len = three_records(buf, sizeof buf);
	buf[8] = 2;
	expect_rejected(buf, len, "binary forecast batch: 13 bytes after the last of 2 records "
		"(N is too small, or trailing bytes)");
	buf[8] = 0;
	expect_rejected(buf, len, "binary forecast batch: 36 bytes after the last of 0 records "
		"(N is too small, or trailing bytes)");
}

Test(forecast_binary, refuses_trailing_bytes)
{
	unsigned char buf[128];
	size_t len = three_records(buf, sizeof buf);
	buf[len] = 0;
	expect_rejected(buf, len + 1, "binary forecast batch: 1 byte after the last of 3 records "
		"(N is too small, or trailing bytes)");
	expect_rejected(example, sizeof example - 1,
		"binary forecast batch: record 1 of 1 truncated (12 bytes, 11 left)");
}

Test(forecast_binary, refuses_an_empty_id)
{
	unsigned char buf[128];
	size_t len = three_records(buf, sizeof buf);
	buf[31] = 0; /* record 2's L */
	expect_rejected(buf, len, "binary forecast batch: record 2 of 3: empty series id");
}

Test(forecast_binary, refuses_an_id_with_a_space_or_control_character)
{
	unsigned char buf[128];
	size_t len = three_records(buf, sizeof buf);
	buf[33] = ' '; /* record 2's id, byte 2 */
	expect_rejected(buf, len,
		"binary forecast batch: record 2 of 3: series id has a space 0x20 at byte 2");
	buf[33] = '\n';
	expect_rejected(buf, len,
		"binary forecast batch: record 2 of 3: series id has control character 0x0a at byte 2");
	buf[33] = 0x7f;
	expect_rejected(buf, len,
		"binary forecast batch: record 2 of 3: series id has control character 0x7f at byte 2");
	buf[33] = 0xc3; /* UTF-8 is fine */
	struct decoded *d = decode(buf, len);
	cr_assert_eq(d->rc, 0, "%s", d->err);
	free(d);
}

Test(forecast_binary, refuses_a_warm_byte_other_than_0_or_1)
{
	unsigned char buf[128];
	size_t len = three_records(buf, sizeof buf);
	buf[42] = 2; /* record 2's warm byte */
	expect_rejected(buf, len,
		"binary forecast batch: record 2 of 3 (bb): warm byte 2, expected 0 or 1");
}

Test(forecast_binary, survives_every_single_byte_corruption_of_a_batch)
{
	unsigned char buf[128];
	size_t len = three_records(buf, sizeof buf);
	static const unsigned char values[] = {0x00, 0x01, 0x02, 0x20, 0x7f, 0x80, 0xfe, 0xff};
	for (size_t at = 0; at < len; at++) {
		for (size_t v = 0; v < sizeof values; v++) {
			unsigned char bad[128];
			memcpy(bad, buf, len);
			bad[at] = values[v];
			/* decode checks that every id lies in the body; ASan, every read. */
			struct decoded *d = decode(bad, len);
			if (d->rc < 0) {
				cr_assert_gt(strlen(d->err), 0, "byte %zu = 0x%02x: no message", at, values[v]);
				cr_assert_eq(strncmp(d->err, "binary forecast batch: ", 23), 0, "%s", d->err);
			} else {
				cr_assert_eq((uint32_t)d->n, d->rd.count, "byte %zu = 0x%02x", at, values[v]);
			}
			free(d);
		}
	}
}

/* ---- intervals (flag 0x02) ---- */

/* The interval example of docs/protocol.md: "ab", O = 2, forecasts 1 and -2,
 * lower 0.5 and -3, upper 1.5 and -1, warming, at 1700000000.5 s. */
static const unsigned char interval_example[] = {
	0x00, 0x54, 0x43, 0x46, 0x01, 0x03, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00,
	0xf4, 0x69, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00,
	0x02, 0x61, 0x62,
	0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,
	0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x40, 0xc0,
	0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x80, 0xbf,
	0x00,
};

Test(forecast_binary, lays_out_lower_then_upper_after_the_forecasts_and_before_warm)
{
	unsigned char buf[64];
	struct tc_forecast_binary_writer w;
	cr_assert_eq(tc_forecast_binary_writer_init(&w, buf, sizeof buf, 2, 1, 1, 1700000000500LL),
		0);
	const float y[2] = {1.0f, -2.0f}, lower[2] = {0.5f, -3.0f}, upper[2] = {1.5f, -1.0f};
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "ab", 2, y, lower, upper, 0), 0);
	cr_assert_eq(w.len, sizeof interval_example);
	cr_assert_eq(memcmp(buf, interval_example, sizeof interval_example), 0);
	cr_assert_eq(tc_forecast_binary_record_size(2, 2, 1, 1), 28);
	cr_assert_eq(tc_forecast_binary_record_size(2, 2, 0, 1), 27);
	struct decoded *d = decode(interval_example, sizeof interval_example);
	cr_assert_eq(d->rc, 0, "%s", d->err);
	cr_assert_eq(d->rd.has_interval, 1);
	cr_assert_eq(d->rd.has_warm, 1);
	cr_assert_eq(d->n, 1);
	cr_assert_eq(d->y[0][1], bits_of(-2.0f));
	cr_assert_eq(d->lower[0][0], bits_of(0.5f));
	cr_assert_eq(d->lower[0][1], bits_of(-3.0f));
	cr_assert_eq(d->upper[0][0], bits_of(1.5f));
	cr_assert_eq(d->upper[0][1], bits_of(-1.0f));
	cr_assert_eq(d->warm[0], 0);
	free(d);
}

/* NaNs with payloads, infinities, -0 and the extremes in all three arrays
 * come back with their own bits, with and without warm bytes. */
Test(forecast_binary, round_trips_intervals_bit_for_bit)
{
	static const uint32_t odd[] = {
		0x7fc00000, 0xffc00000, 0x7fc12345, 0x7f800001, 0x7f800000,
		0xff800000, 0x80000000, 0x00000001, 0x7f7fffff, 0x3f800000,
	};
	enum { N = sizeof odd / sizeof odd[0], RECORDS = 3 };
	for (int has_warm = 0; has_warm <= 1; has_warm++) {
		unsigned char buf[512];
		struct tc_forecast_binary_writer w;
		cr_assert_eq(tc_forecast_binary_writer_init(&w, buf, sizeof buf, N, has_warm, 1, -7),
			0);
		for (int i = 0; i < RECORDS; i++) {
			float y[N], lower[N], upper[N];
			for (int k = 0; k < N; k++) {
				y[k] = from_bits(odd[(k + i) % N]);
				lower[k] = from_bits(odd[(k + i + 1) % N]);
				upper[k] = from_bits(odd[(k + i + 2) % N]);
			}
			cr_assert_eq(tc_forecast_binary_writer_add(&w, "s", 1, y, lower, upper, i != 1), 0);
		}
		cr_assert_eq(w.len, 20 + RECORDS * tc_forecast_binary_record_size(1, N, has_warm, 1));
		struct decoded *d = decode(buf, w.len);
		cr_assert_eq(d->rc, 0, "%s", d->err);
		cr_assert_eq(d->n, RECORDS);
		for (int i = 0; i < RECORDS; i++) {
			for (int k = 0; k < N; k++) {
				cr_assert_eq(d->y[i][k], odd[(k + i) % N]);
				cr_assert_eq(d->lower[i][k], odd[(k + i + 1) % N], "record %d lower %d", i, k);
				cr_assert_eq(d->upper[i][k], odd[(k + i + 2) % N], "record %d upper %d", i, k);
			}
			cr_assert_eq(d->warm[i], has_warm ? i != 1 : 1);
		}
		free(d);
	}
}

Test(forecast_binary, writer_refuses_a_record_without_bounds_in_a_batch_with_intervals)
{
	unsigned char buf[128];
	struct tc_forecast_binary_writer w;
	cr_assert_eq(tc_forecast_binary_writer_init(&w, buf, sizeof buf, 2, 0, 1, 0), 0);
	const float y[2] = {1, 2};
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "a", 1, y, NULL, y, 1), -1);
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "a", 1, y, y, NULL, 1), -1);
	cr_assert_eq(w.count, 0);
	cr_assert_eq(w.len, TC_FORECAST_BINARY_HEADER_LEN);
}

/* A reader that skips the bounds (NULL) still steps over them. */
Test(forecast_binary, reader_skips_the_bounds_when_given_no_buffers)
{
	struct tc_forecast_binary_reader rd;
	struct tc_forecast_binary_record f;
	char err[TC_ERR_LEN];
	float y[2];
	unsigned char twice[2 * sizeof interval_example];
	struct tc_forecast_binary_writer w;
	const float one[2] = {1.0f, -2.0f}, two[2] = {3.0f, 4.0f};
	cr_assert_eq(tc_forecast_binary_writer_init(&w, twice, sizeof twice, 2, 1, 1, 0), 0);
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "a", 1, one, two, two, 1), 0);
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "b", 1, two, one, one, 0), 0);
	cr_assert_eq(tc_forecast_binary_reader_init(&rd, twice, w.len, err), 0, "%s", err);
	cr_assert_eq(tc_forecast_binary_reader_next(&rd, &f, y, NULL, NULL), 1);
	cr_assert_eq(tc_forecast_binary_reader_next(&rd, &f, y, NULL, NULL), 1);
	cr_assert_eq(f.id[0], 'b');
	cr_assert_eq(y[0], 3.0f);
	cr_assert_eq(f.warm, 0);
}

/* Every cut of the interval example: the record's size counts the bounds. */
Test(forecast_binary, refuses_a_cut_record_with_the_interval_flag)
{
	for (size_t cut = 21; cut < sizeof interval_example; cut++) {
		char want[TC_ERR_LEN];
		snprintf(want, sizeof want, "binary forecast batch: record 1 of 1 truncated "
			"(28 bytes, %zu left)", cut - 20);
		expect_rejected(interval_example, cut, want);
	}
	/* The same bytes without the flag are a 12-byte record and 16 bytes too many. */
	unsigned char flagless[sizeof interval_example];
	memcpy(flagless, interval_example, sizeof flagless);
	flagless[5] = 0x01;
	expect_rejected(flagless, sizeof flagless, "binary forecast batch: 16 bytes after the last "
		"of 1 records (N is too small, or trailing bytes)");
}
