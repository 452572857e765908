/* test_reading_binary.c -- binary reading batches: layout, round trips, every way to be wrong. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "reading_binary.h"

/* Every batch is decoded from a heap copy of exactly its bytes, so a decoder
 * that reads one byte too far trips AddressSanitizer. Expected bytes are
 * written out by hand from the spec in docs/protocol.md, not taken from the
 * encoder. */

#define MAX_RECORDS 64

struct decoded {
	int init_rc;
	char init_err[TC_ERR_LEN];
	int n;                                   /* readings returned */
	struct tc_reading r[MAX_RECORDS];
	char id[MAX_RECORDS][TC_ID_MAX + 1];     /* r[i].id, copied */
	int n_rejects;                           /* records rejected (-1) */
	enum tc_reject why[MAX_RECORDS];
	char err[MAX_RECORDS][TC_ERR_LEN];
	int broke;                               /* ended with -2 */
	enum tc_reject broke_why;
	char broke_err[TC_ERR_LEN];
};

static struct decoded *decode(const void *data, size_t len, int n_values)
{
	struct decoded *d = calloc(1, sizeof *d);
	cr_assert_not_null(d);
	unsigned char *copy = malloc(len ? len : 1);
	cr_assert_not_null(copy);
	if (len) {
		memcpy(copy, data, len);
	}
	struct tc_reading_binary_reader rd;
	d->init_rc = tc_reading_binary_reader_init(&rd, copy, len, n_values, d->init_err);
	if (d->init_rc == 0) {
		struct tc_reading r;
		enum tc_reject why = TC_REJECT__COUNT;
		char err[TC_ERR_LEN];
		for (int rc; (rc = tc_reading_binary_reader_next(&rd, &r, &why, err)) != 0;) {
			cr_assert(d->n + d->n_rejects < MAX_RECORDS, "too many records");
			if (rc == 1) {
				cr_assert(r.id >= (const char *)copy && r.id + r.id_len <= (const char *)copy + len,
					"the id must lie inside the body");
				d->r[d->n] = r;
				memcpy(d->id[d->n], r.id, r.id_len);
				d->r[d->n].id = d->id[d->n];
				d->n++;
			} else if (rc == -1) {
				d->why[d->n_rejects] = why;
				strcpy(d->err[d->n_rejects], err);
				d->n_rejects++;
			} else {
				cr_assert_eq(rc, -2, "next returned %d", rc);
				d->broke = 1;
				d->broke_why = why;
				strcpy(d->broke_err, err);
				cr_assert_eq(tc_reading_binary_reader_next(&rd, &r, &why, err), 0,
					"a broken batch must stay ended");
			}
		}
	}
	free(copy);
	return d;
}

static struct tc_reading reading(const char *id, int n_values, const float *values,
	int has_time, double time)
{
	struct tc_reading r = {.id = id, .id_len = strlen(id), .n_values = n_values,
		.has_time = has_time, .time = time};
	memcpy(r.values, values, sizeof(float) * (size_t)n_values);
	return r;
}

/* Encodes into a malloc'd buffer of exactly the batch's size. */
static unsigned char *encode(const struct tc_reading *r, size_t n, int n_values, size_t *len)
{
	*len = tc_reading_binary_encode(NULL, 0, r, n, n_values);
	cr_assert_gt(*len, 0, "the readings were refused");
	unsigned char *buf = malloc(*len);
	cr_assert_not_null(buf);
	cr_assert_eq(tc_reading_binary_encode(buf, *len, r, n, n_values), *len);
	return buf;
}

static void expect_same(const struct decoded *d, const struct tc_reading *want, int n)
{
	cr_assert_eq(d->init_rc, 0, "header refused: %s", d->init_err);
	cr_assert_eq(d->n_rejects, 0, "a record was rejected: %s", d->err[0]);
	cr_assert_eq(d->broke, 0, "the batch broke: %s", d->broke_err);
	cr_assert_eq(d->n, n, "%d readings, expected %d", d->n, n);
	for (int i = 0; i < n; i++) {
		const struct tc_reading *a = &d->r[i], *b = &want[i];
		cr_assert_eq(a->id_len, b->id_len, "reading %d: id length", i);
		cr_assert(memcmp(a->id, b->id, a->id_len) == 0, "reading %d: id", i);
		cr_assert_eq(a->n_values, b->n_values, "reading %d: width", i);
		cr_assert(memcmp(a->values, b->values, sizeof(float) * (size_t)a->n_values) == 0,
			"reading %d: values differ", i);
		cr_assert_eq(a->has_time, b->has_time, "reading %d: has_time", i);
		if (b->has_time) {
			cr_assert(memcmp(&a->time, &b->time, sizeof a->time) == 0,
				"reading %d: time %.17g, expected %.17g", i, a->time, b->time);
		} else {
			cr_assert_eq(a->time, 0.0);
		}
	}
}

/* ---- layout ---- */

Test(reading_binary, lays_out_header_and_record_little_endian_as_specified)
{
	const float v[2] = {1.0f, -2.0f};
	struct tc_reading r = reading("ab", 2, v, 1, 1.5);
	unsigned char buf[64];
	size_t len = tc_reading_binary_encode(buf, sizeof buf, &r, 1, 2);
	/* IEEE 754: 1.0f = 0x3f800000, -2.0f = 0xc0000000, 1.5 = 0x3ff8000000000000. */
	const unsigned char want[] = {
		0x00, 'T', 'C', 'B', 0x01, 0x01, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00,
		0x02, 'a', 'b',
		0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f,
	};
	cr_assert_eq(len, sizeof want, "batch is %zu bytes, expected %zu", len, sizeof want);
	for (size_t i = 0; i < len; i++) {
		cr_assert_eq(buf[i], want[i], "byte %zu is 0x%02x, expected 0x%02x", i, buf[i], want[i]);
	}
}

Test(reading_binary, counts_records_and_values_per_reading_in_the_header)
{
	struct tc_reading r[300];
	const float v[3] = {0};
	for (int i = 0; i < 300; i++) {
		r[i] = reading("s", 3, v, 0, 0);
	}
	size_t len;
	unsigned char *buf = encode(r, 300, 3, &len);
	cr_assert_eq(len, 12 + 300 * (1 + 1 + 12));
	cr_assert_eq(buf[5], 0x00, "no timestamp flag");
	cr_assert_eq(buf[6] | buf[7] << 8, 3);
	cr_assert_eq(buf[8] | buf[9] << 8 | buf[10] << 16 | buf[11] << 24, 300);
	free(buf);
}

Test(reading_binary, detects_a_body_by_its_leading_zero_byte)
{
	cr_assert(tc_reading_binary_detect("\0TCB\1", 5));
	cr_assert(tc_reading_binary_detect("\0", 1));
	cr_assert_not(tc_reading_binary_detect("cpu 1", 5));
	cr_assert_not(tc_reading_binary_detect("", 0));
	cr_assert_not(tc_reading_binary_detect(NULL, 0));
}

/* ---- round trips ---- */

Test(reading_binary, round_trips_one_value_without_timestamps)
{
	const float v[3][1] = {{0.5f}, {-1e30f}, {1.17549435e-38f}};
	struct tc_reading r[3] = {
		reading("cpu.load", 1, v[0], 0, 0),
		reading("temp.\xc2\xb0" "C", 1, v[1], 0, 0),
		reading("x", 1, v[2], 0, 0),
	};
	size_t len;
	unsigned char *buf = encode(r, 3, 1, &len);
	cr_assert_eq(len, 12 + (1 + 8 + 4) + (1 + 8 + 4) + (1 + 1 + 4));
	struct decoded *d = decode(buf, len, 1);
	expect_same(d, r, 3);
	free(d);
	free(buf);
}

Test(reading_binary, round_trips_three_values_with_timestamps_and_a_255_byte_id)
{
	char long_id[TC_ID_MAX + 1];
	memset(long_id, 'q', TC_ID_MAX);
	long_id[TC_ID_MAX] = '\0';
	const float v[3][3] = {{1, 2, 3}, {-0.0f, 3.4028235e38f, -7.25f}, {0.1f, 0.2f, 0.3f}};
	struct tc_reading r[3] = {
		reading("a", 3, v[0], 1, 1700000000.123456),
		reading(long_id, 3, v[1], 1, -25.0),
		reading("host-7/disk", 3, v[2], 1, 9.999e12),
	};
	size_t len;
	unsigned char *buf = encode(r, 3, 3, &len);
	cr_assert_eq(len, 12 + 3 * (1 + 12 + 8) + 1 + 255 + 11);
	struct decoded *d = decode(buf, len, 3);
	expect_same(d, r, 3);
	cr_assert(signbit(d->r[1].values[0]), "-0 must keep its sign");
	free(d);
	free(buf);
}

Test(reading_binary, round_trips_an_empty_batch)
{
	unsigned char buf[16];
	size_t len = tc_reading_binary_encode(buf, sizeof buf, NULL, 0, 1);
	cr_assert_eq(len, 12);
	struct decoded *d = decode(buf, len, 1);
	expect_same(d, NULL, 0);
	free(d);
}

/* ---- encoder ---- */

Test(reading_binary, encode_measures_and_writes_nothing_when_the_buffer_is_short)
{
	const float v[1] = {4};
	struct tc_reading r[2] = {reading("ab", 1, v, 0, 0), reading("c", 1, v, 0, 0)};
	cr_assert_eq(tc_reading_binary_encode(NULL, 0, r, 2, 1), 12 + 7 + 6);
	unsigned char buf[32];
	memset(buf, 0xaa, sizeof buf);
	cr_assert_eq(tc_reading_binary_encode(buf, 24, r, 2, 1), 25);
	for (size_t i = 0; i < sizeof buf; i++) {
		cr_assert_eq(buf[i], 0xaa, "byte %zu written though the batch did not fit", i);
	}
	cr_assert_eq(tc_reading_binary_encode(buf, 25, r, 2, 1), 25);
	cr_assert_eq(buf[24], 0x40, "last byte: the high byte of 4.0f");
}

Test(reading_binary, encode_refuses_readings_that_cannot_share_one_batch)
{
	const float v[2] = {1, 2};
	struct tc_reading mixed[2] = {reading("a", 1, v, 1, 5), reading("b", 1, v, 0, 0)};
	cr_assert_eq(tc_reading_binary_encode(NULL, 0, mixed, 2, 1), 0, "mixed timestamps");
	struct tc_reading wide = reading("a", 2, v, 0, 0);
	cr_assert_eq(tc_reading_binary_encode(NULL, 0, &wide, 1, 1), 0, "2 values in a V=1 batch");
	cr_assert_eq(tc_reading_binary_encode(NULL, 0, &wide, 1, 0), 0, "V = 0");
	cr_assert_eq(tc_reading_binary_encode(NULL, 0, &wide, 1, TC_MAX_INPUT + 1), 0, "V too big");
	char long_id[TC_ID_MAX + 2];
	memset(long_id, 'x', TC_ID_MAX + 1);
	long_id[TC_ID_MAX + 1] = '\0';
	struct tc_reading too_long = reading(long_id, 1, v, 0, 0);
	cr_assert_eq(tc_reading_binary_encode(NULL, 0, &too_long, 1, 1), 0, "256-byte id");
}

Test(reading_binary, writer_holds_a_complete_batch_after_every_add_and_refuses_what_does_not_fit)
{
	const float v[1] = {2};
	struct tc_reading r = reading("abc", 1, v, 0, 0);
	unsigned char buf[12 + 3 * 8 + 5];          /* room for three 8-byte records */
	struct tc_reading_binary_writer w;
	cr_assert_eq(tc_reading_binary_writer_init(&w, buf, sizeof buf, 1, 0), 0);
	for (int i = 1; i <= 3; i++) {
		cr_assert_eq(tc_reading_binary_writer_add(&w, &r), 0, "record %d", i);
		struct decoded *d = decode(buf, w.len, 1);
		cr_assert_eq(d->n, i, "after %d adds the batch holds %d readings", i, d->n);
		cr_assert_eq(d->broke, 0, "%s", d->broke_err);
		free(d);
	}
	struct tc_reading_binary_writer before = w;
	cr_assert_eq(tc_reading_binary_writer_add(&w, &r), -1, "a 4th record does not fit");
	cr_assert(memcmp(&before, &w, sizeof w) == 0, "a refused add changed the writer");
	struct tc_reading timed = reading("abc", 1, v, 1, 3);
	cr_assert_eq(tc_reading_binary_writer_add(&w, &timed), -1, "a timestamp in an untimed batch");
	cr_assert_eq(tc_reading_binary_writer_init(&w, buf, 11, 1, 0), -1, "no room for the header");
	cr_assert_eq(tc_reading_binary_writer_init(&w, buf, sizeof buf, 0, 0), -1, "V = 0");
}

/* ---- truncation and framing ---- */

Test(reading_binary, every_truncation_point_keeps_the_whole_records_before_it)
{
	const float v[4][2] = {{1, 2}, {3, 4}, {5, 6}, {7, 8}};
	struct tc_reading r[4] = {
		reading("first", 2, v[0], 1, 10), reading("b", 2, v[1], 1, 11),
		reading("the.third.one", 2, v[2], 1, 12), reading("d4", 2, v[3], 1, 13),
	};
	size_t len;
	unsigned char *buf = encode(r, 4, 2, &len);
	size_t ends[4];                       /* where each record ends */
	size_t at = 12;
	for (int i = 0; i < 4; i++) {
		at += 1 + r[i].id_len + 8 + 8;
		ends[i] = at;
	}
	cr_assert_eq(ends[3], len);
	for (size_t cut = 0; cut < len; cut++) {
		struct decoded *d = decode(buf, cut, 2);
		if (cut < 12) {
			cr_assert_eq(d->init_rc, -1, "a %zu-byte header was taken", cut);
			cr_assert(strstr(d->init_err, "header truncated"), "%zu: %s", cut, d->init_err);
		} else {
			int whole = 0;
			while (whole < 4 && ends[whole] <= cut) {
				whole++;
			}
			cr_assert_eq(d->init_rc, 0, "%s", d->init_err);
			cr_assert_eq(d->n, whole, "cut at %zu: %d readings, expected %d", cut, d->n, whole);
			cr_assert_eq(d->n_rejects, 0);
			cr_assert(d->broke, "cut at %zu was not reported", cut);
			cr_assert_eq(d->broke_why, TC_REJECT_BAD_MESSAGE);
			for (int i = 0; i < whole; i++) {
				cr_assert_str_eq(d->id[i], r[i].id);
				cr_assert_eq(d->r[i].values[1], v[i][1]);
				cr_assert_eq(d->r[i].time, r[i].time);
			}
		}
		free(d);
	}
	struct decoded *d = decode(buf, len, 2);
	expect_same(d, r, 4);
	free(d);
	free(buf);
}

Test(reading_binary, says_which_record_was_cut_short)
{
	const float v[1] = {1};
	struct tc_reading r[2] = {reading("aa", 1, v, 0, 0), reading("bb", 1, v, 0, 0)};
	size_t len;
	unsigned char *buf = encode(r, 2, 1, &len);
	struct decoded *d = decode(buf, len - 1, 1);
	cr_assert_str_eq(d->broke_err, "binary batch: record 2 of 2 truncated (7 bytes, 6 left)");
	free(d);
	d = decode(buf, len - 7, 1);
	cr_assert_str_eq(d->broke_err, "binary batch: ends after record 1 of 2");
	free(d);
	free(buf);
}

Test(reading_binary, a_count_larger_than_the_data_keeps_the_records_there_and_breaks)
{
	const float v[1] = {1};
	struct tc_reading r[2] = {reading("a", 1, v, 0, 0), reading("b", 1, v, 0, 0)};
	size_t len;
	unsigned char *buf = encode(r, 2, 1, &len);
	const uint32_t counts[] = {3, 1000, UINT32_MAX};
	for (size_t i = 0; i < 3; i++) {
		buf[8] = (unsigned char)counts[i];
		buf[9] = (unsigned char)(counts[i] >> 8);
		buf[10] = (unsigned char)(counts[i] >> 16);
		buf[11] = (unsigned char)(counts[i] >> 24);
		struct decoded *d = decode(buf, len, 1);
		cr_assert_eq(d->n, 2, "N = %u", counts[i]);
		cr_assert(d->broke);
		cr_assert_eq(d->broke_why, TC_REJECT_BAD_MESSAGE);
		char want[128];
		snprintf(want, sizeof want, "binary batch: ends after record 2 of %u", counts[i]);
		cr_assert_str_eq(d->broke_err, want);
		free(d);
	}
	free(buf);
}

Test(reading_binary, bytes_after_the_last_record_are_trailing_garbage)
{
	const float v[1] = {1};
	struct tc_reading r[2] = {reading("a", 1, v, 0, 0), reading("b", 1, v, 0, 0)};
	size_t len;
	unsigned char *enc = encode(r, 2, 1, &len);
	unsigned char buf[64];
	memcpy(buf, enc, len);
	memcpy(buf + len, "xyz", 3);
	struct decoded *d = decode(buf, len + 3, 1);
	cr_assert_eq(d->n, 2);
	cr_assert(d->broke);
	cr_assert_eq(d->broke_why, TC_REJECT_BAD_MESSAGE);
	cr_assert_str_eq(d->broke_err, "binary batch: 3 bytes after the last of 2 records");
	free(d);

	buf[8] = 1;                                   /* N = 1: the second record is garbage */
	d = decode(buf, len, 1);
	cr_assert_eq(d->n, 1);
	cr_assert_str_eq(d->broke_err, "binary batch: 6 bytes after the last of 1 records");
	free(d);
	free(enc);
}

/* ---- the header ---- */

static unsigned char *valid_batch(size_t *len)
{
	const float v[1] = {1};
	struct tc_reading r = reading("a", 1, v, 0, 0);
	return encode(&r, 1, 1, len);
}

static void expect_header_refused(const unsigned char *buf, size_t len, int n_values,
	const char *msg)
{
	struct decoded *d = decode(buf, len, n_values);
	cr_assert_eq(d->init_rc, -1, "the header was taken (expected \"%s\")", msg);
	cr_assert_eq(d->n, 0);
	cr_assert_str_eq(d->init_err, msg);
	free(d);
}

Test(reading_binary, refuses_another_version_whole)
{
	size_t len;
	unsigned char *buf = valid_batch(&len);
	buf[4] = 2;
	expect_header_refused(buf, len, 1, "binary batch: version 2, this daemon reads version 1");
	buf[4] = 0;
	expect_header_refused(buf, len, 1, "binary batch: version 0, this daemon reads version 1");
	free(buf);
}

Test(reading_binary, refuses_unknown_flags_and_a_bad_magic)
{
	size_t len;
	unsigned char *buf = valid_batch(&len);
	buf[5] = 0x02;
	expect_header_refused(buf, len, 1, "binary batch: unknown flags 0x02");
	buf[5] = 0x00;
	buf[3] = 'X';
	expect_header_refused(buf, len, 1,
		"binary batch: bad magic 00 54 43 58, expected 00 54 43 42 (\"\\0TCB\")");
	free(buf);
}

Test(reading_binary, refuses_a_batch_whose_values_per_reading_differ_from_the_model)
{
	const float v[3] = {1, 2, 3};
	struct tc_reading r = reading("a", 3, v, 0, 0);
	size_t len;
	unsigned char *buf = encode(&r, 1, 3, &len);
	expect_header_refused(buf, len, 1, "binary batch: 3 values per reading, expected 1");
	expect_header_refused(buf, len, 4, "binary batch: 3 values per reading, expected 4");
	buf[6] = 0;
	expect_header_refused(buf, len, 3, "binary batch: 0 values per reading, expected 3");
	buf[6] = 0x01;
	buf[7] = 0x01;                                /* V = 257, over TC_MAX_INPUT */
	expect_header_refused(buf, len, 257, "binary batch: 257 values per reading, expected 257");
	free(buf);
}

/* ---- one bad record ---- */

/* A batch of V=1 untimed records built by hand: ids[i] of lens[i] bytes, value vals[i]. */
static size_t build(unsigned char *buf, int n, const char *const *ids, const size_t *lens,
	const float *vals)
{
	memcpy(buf, "\0TCB\x01\x00\x01\x00", 8);
	buf[8] = (unsigned char)n;
	buf[9] = buf[10] = buf[11] = 0;
	size_t at = 12;
	for (int i = 0; i < n; i++) {
		buf[at++] = (unsigned char)lens[i];
		memcpy(buf + at, ids[i], lens[i]);
		at += lens[i];
		memcpy(buf + at, &vals[i], 4);              /* the test host is little-endian */
		at += 4;
	}
	return at;
}

Test(reading_binary, rejects_only_the_record_with_an_empty_id)
{
	const char *ids[3] = {"a", "", "c"};
	const size_t lens[3] = {1, 0, 1};
	const float vals[3] = {1, 2, 3};
	unsigned char buf[64];
	size_t len = build(buf, 3, ids, lens, vals);
	struct decoded *d = decode(buf, len, 1);
	cr_assert_eq(d->n, 2);
	cr_assert_str_eq(d->id[0], "a");
	cr_assert_str_eq(d->id[1], "c");
	cr_assert_eq(d->r[1].values[0], 3.0f);
	cr_assert_eq(d->n_rejects, 1);
	cr_assert_eq(d->why[0], TC_REJECT_MALFORMED);
	cr_assert_str_eq(d->err[0], "record 2: empty series id");
	cr_assert_not(d->broke, "%s", d->broke_err);
	free(d);
}

Test(reading_binary, rejects_only_the_record_whose_id_has_a_control_character_or_space)
{
	const char *ids[4] = {"a\x01" "b", "ok", "x y", "z\x7f"};
	const size_t lens[4] = {3, 2, 3, 2};
	const float vals[4] = {1, 2, 3, 4};
	unsigned char buf[64];
	size_t len = build(buf, 4, ids, lens, vals);
	struct decoded *d = decode(buf, len, 1);
	cr_assert_eq(d->n, 1);
	cr_assert_str_eq(d->id[0], "ok");
	cr_assert_eq(d->n_rejects, 3);
	cr_assert_eq(d->why[0], TC_REJECT_MALFORMED);
	cr_assert_str_eq(d->err[0], "record 1: series id has control character 0x01 at byte 2");
	cr_assert_str_eq(d->err[1], "record 3: series id has a space 0x20 at byte 2");
	cr_assert_str_eq(d->err[2], "record 4: series id has control character 0x7f at byte 2");
	cr_assert_not(d->broke);
	free(d);
}

Test(reading_binary, rejects_only_the_record_with_a_nan_or_infinite_value)
{
	const float v[4][2] = {{1, 2}, {3, NAN}, {INFINITY, 0}, {5, 6}};
	struct tc_reading r[4] = {
		reading("a", 2, v[0], 0, 0), reading("b", 2, v[1], 0, 0),
		reading("c", 2, v[2], 0, 0), reading("d", 2, v[3], 0, 0),
	};
	size_t len;
	unsigned char *buf = encode(r, 4, 2, &len);
	struct decoded *d = decode(buf, len, 2);
	cr_assert_eq(d->n, 2);
	cr_assert_str_eq(d->id[0], "a");
	cr_assert_str_eq(d->id[1], "d");
	cr_assert_eq(d->r[1].values[1], 6.0f);
	cr_assert_eq(d->n_rejects, 2);
	cr_assert_eq(d->why[0], TC_REJECT_NONFINITE);
	cr_assert_str_eq(d->err[0], "record 2: value 2: not finite (nan)");
	cr_assert_eq(d->why[1], TC_REJECT_NONFINITE);
	cr_assert_str_eq(d->err[1], "record 3: value 1: not finite (inf)");
	cr_assert_not(d->broke);
	free(d);
	free(buf);
}

Test(reading_binary, rejects_only_the_record_with_a_non_finite_or_far_timestamp)
{
	const float v[1] = {1};
	struct tc_reading r[4] = {
		reading("a", 1, v, 1, NAN), reading("b", 1, v, 1, 2e13),
		reading("c", 1, v, 1, -INFINITY), reading("d", 1, v, 1, -1e13),
	};
	size_t len;
	unsigned char *buf = encode(r, 4, 1, &len);
	struct decoded *d = decode(buf, len, 1);
	cr_assert_eq(d->n, 1);
	cr_assert_str_eq(d->id[0], "d");
	cr_assert_eq(d->r[0].time, -1e13);
	cr_assert_eq(d->n_rejects, 3);
	cr_assert_eq(d->why[0], TC_REJECT_NONFINITE);
	cr_assert_str_eq(d->err[0], "record 1: timestamp: not finite (nan)");
	cr_assert_eq(d->why[1], TC_REJECT_MALFORMED);
	cr_assert_str_eq(d->err[1],
		"record 2: timestamp: 2e+13 s is out of range (at most 1e+13 in magnitude)");
	cr_assert_eq(d->why[2], TC_REJECT_NONFINITE);
	free(d);
	free(buf);
}

Test(reading_binary, survives_every_single_byte_corruption_of_a_batch)
{
	const float v[3][2] = {{1, 2}, {3, 4}, {5, 6}};
	struct tc_reading r[3] = {
		reading("alpha", 2, v[0], 1, 1), reading("b", 2, v[1], 1, 2),
		reading("gamma.3", 2, v[2], 1, 3),
	};
	size_t len;
	unsigned char *buf = encode(r, 3, 2, &len);
	static const unsigned char subs[] = {0x00, 0x01, 0x02, 0x20, 0x7f, 0x80, 0xff};
	const int most = (int)(len - 12) / (1 + 2 * 4 + 8);     /* records of an empty id */
	int readings = 0;
	for (size_t at = 0; at < len; at++) {
		unsigned char keep = buf[at];
		for (size_t s = 0; s < sizeof subs; s++) {
			buf[at] = subs[s];
			struct decoded *d = decode(buf, len, 2);
			cr_assert_leq(d->n + d->n_rejects, most, "byte %zu = 0x%02x: %d records in %zu bytes",
				at, subs[s], d->n + d->n_rejects, len);
			cr_assert_gt(d->n + d->n_rejects + d->broke + (d->init_rc != 0), 0,
				"byte %zu = 0x%02x: the batch vanished without a reading or a reject", at,
				subs[s]);
			readings += d->n;
			free(d);
		}
		buf[at] = keep;
	}
	cr_assert_gt(readings, 0, "no corruption left any reading");
	free(buf);
}
