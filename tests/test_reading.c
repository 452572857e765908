/* test_reading.c -- parsing text reading lines: every accepted form, every rejection. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "reading.h"

/* Every line is parsed from a heap copy of exactly its bytes, with no NUL
 * after it, so a parser that reads past `len` trips AddressSanitizer. The
 * expected values are the decimal literals written in the line, chosen to be
 * exact in binary (0.5, -1.25, 6.25e-2, ...). */

struct parsed {
	int rc;
	struct tc_reading r;
	enum tc_reject why;
	char err[TC_ERR_LEN];
	char *copy;                  /* the exact-length buffer r.id points into */
};

static void parse_bytes(struct parsed *p, const char *line, size_t len, int n_values)
{
	memset(p, 0, sizeof *p);
	p->why = TC_REJECT__COUNT;
	p->copy = malloc(len ? len : 1);
	cr_assert_not_null(p->copy);
	memcpy(p->copy, line, len);
	p->rc = tc_reading_parse(&p->r, p->copy, len, n_values, &p->why, p->err);
}

static void parsed_finish(struct parsed *p)
{
	free(p->copy);
	p->copy = NULL;
}

/* line must parse; its id must be `id`. The caller checks values and time. */
static void expect_ok(struct parsed *p, const char *line, int n_values, const char *id)
{
	parse_bytes(p, line, strlen(line), n_values);
	cr_assert_eq(p->rc, 0, "\"%s\" was rejected: %s", line, p->err);
	cr_assert_eq(p->r.n_values, n_values);
	cr_assert_eq(p->r.id_len, strlen(id), "id length %zu, expected %zu", p->r.id_len,
		strlen(id));
	cr_assert(memcmp(p->r.id, id, p->r.id_len) == 0, "id \"%.*s\", expected \"%s\"",
		(int)p->r.id_len, p->r.id, id);
	cr_assert(p->r.id >= p->copy && p->r.id < p->copy + strlen(line),
		"the id must point into the parsed line");
}

/* The first len bytes of line must be rejected for `why` with message `msg`. */
static void expect_reject_bytes(const char *line, size_t len, int n_values,
	enum tc_reject why, const char *msg)
{
	struct parsed p;
	parse_bytes(&p, line, len, n_values);
	cr_assert_eq(p.rc, -1, "\"%.*s\" was accepted", (int)len, line);
	cr_assert_eq(p.why, why, "\"%.*s\": reason %s, expected %s", (int)len, line,
		tc_reject_to_string(p.why), tc_reject_to_string(why));
	cr_assert_str_eq(p.err, msg, "\"%.*s\": message \"%s\", expected \"%s\"", (int)len,
		line, p.err, msg);
	parsed_finish(&p);
}

static void expect_reject(const char *line, int n_values, enum tc_reject why,
	const char *msg)
{
	expect_reject_bytes(line, strlen(line), n_values, why, msg);
}

/* ---- accepted lines ---- */

Test(reading, parses_an_id_and_one_value_without_a_timestamp)
{
	struct parsed p;
	expect_ok(&p, "cpu.load 0.5", 1, "cpu.load");
	cr_assert_eq(p.r.values[0], 0.5f);
	cr_assert_eq(p.r.has_time, 0);
	cr_assert_eq(p.r.time, 0.0);
	parsed_finish(&p);
}

Test(reading, parses_comma_separated_values_in_order)
{
	struct parsed p;
	expect_ok(&p, "s 1,2.5,-3,0", 4, "s");
	const float want[4] = {1.0f, 2.5f, -3.0f, 0.0f};
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(p.r.values[i], want[i], "value %d is %g, expected %g", i + 1,
			(double)p.r.values[i], (double)want[i]);
	}
	parsed_finish(&p);
}

Test(reading, parses_fractional_negative_signed_and_exponent_numbers)
{
	struct parsed p;
	expect_ok(&p, "s 0.125,-1.25,3e2,-6.25E-2,+2,.5,-0", 7, "s");
	const float want[7] = {0.125f, -1.25f, 300.0f, -0.0625f, 2.0f, 0.5f, 0.0f};
	for (int i = 0; i < 7; i++) {
		cr_assert_eq(p.r.values[i], want[i], "value %d is %g, expected %g", i + 1,
			(double)p.r.values[i], (double)want[i]);
	}
	parsed_finish(&p);
}

Test(reading, takes_an_optional_third_field_as_the_timestamp_in_seconds)
{
	struct parsed p;
	expect_ok(&p, "s 1 1700000000.5", 1, "s");
	cr_assert_eq(p.r.has_time, 1);
	cr_assert_eq(p.r.time, 1700000000.5);
	parsed_finish(&p);

	expect_ok(&p, "s 1 -2.5e1", 1, "s");
	cr_assert_eq(p.r.has_time, 1);
	cr_assert_eq(p.r.time, -25.0);
	parsed_finish(&p);
}

Test(reading, accepts_tabs_and_runs_of_blanks_around_and_between_fields)
{
	struct parsed p;
	expect_ok(&p, " \t host.a \t  1,2\t\t  3  \t", 2, "host.a");
	cr_assert_eq(p.r.values[0], 1.0f);
	cr_assert_eq(p.r.values[1], 2.0f);
	cr_assert_eq(p.r.has_time, 1);
	cr_assert_eq(p.r.time, 3.0);
	parsed_finish(&p);
}

Test(reading, ignores_a_trailing_newline_or_carriage_return)
{
	struct parsed p;
	expect_ok(&p, "s 1.5 7\r\n", 1, "s");
	cr_assert_eq(p.r.values[0], 1.5f);
	cr_assert_eq(p.r.time, 7.0);
	parsed_finish(&p);

	expect_ok(&p, "s 1.5\n", 1, "s");
	cr_assert_eq(p.r.values[0], 1.5f);
	cr_assert_eq(p.r.has_time, 0);
	parsed_finish(&p);

	expect_ok(&p, "s 2\r", 1, "s");
	cr_assert_eq(p.r.values[0], 2.0f);
	cr_assert_eq(p.r.has_time, 0);
	parsed_finish(&p);
}

Test(reading, reads_only_len_bytes_of_a_line_that_is_not_nul_terminated)
{
	/* The bytes after len would change the value, the timestamp or the
	 * field count if the parser looked at them. */
	const char buf[] = "abc 12345 678 extra";
	struct parsed p;
	parse_bytes(&p, buf, 6, 1); /* "abc 12" */
	cr_assert_eq(p.rc, 0, "rejected: %s", p.err);
	cr_assert_eq(p.r.id_len, 3);
	cr_assert_eq(p.r.values[0], 12.0f);
	cr_assert_eq(p.r.has_time, 0);
	parsed_finish(&p);

	parse_bytes(&p, buf, 11, 1); /* "abc 12345 6" */
	cr_assert_eq(p.rc, 0, "rejected: %s", p.err);
	cr_assert_eq(p.r.values[0], 12345.0f);
	cr_assert_eq(p.r.has_time, 1);
	cr_assert_eq(p.r.time, 6.0);
	parsed_finish(&p);

	parse_bytes(&p, buf, 2, 1); /* "ab": an id alone */
	cr_assert_eq(p.rc, -1);
	cr_assert_eq(p.why, TC_REJECT_MALFORMED);
	cr_assert_str_eq(p.err, "missing value after series id");
	parsed_finish(&p);
}

Test(reading, accepts_a_255_byte_id)
{
	char line[TC_ID_MAX + 8];
	memset(line, 'x', TC_ID_MAX);
	strcpy(line + TC_ID_MAX, " 4");
	struct parsed p;
	parse_bytes(&p, line, strlen(line), 1);
	cr_assert_eq(p.rc, 0, "rejected: %s", p.err);
	cr_assert_eq(p.r.id_len, 255);
	cr_assert_eq(p.r.id, p.copy);
	cr_assert_eq(p.r.values[0], 4.0f);
	parsed_finish(&p);
}

Test(reading, accepts_a_number_token_of_63_bytes)
{
	/* "1." and 61 zeros: 63 bytes, the longest token the parser takes. */
	char line[80] = "s 1.";
	memset(line + 4, '0', 61);
	line[65] = '\0';
	struct parsed p;
	expect_ok(&p, line, 1, "s");
	cr_assert_eq(p.r.values[0], 1.0f);
	parsed_finish(&p);
}

Test(reading, accepts_bytes_above_ascii_in_an_id)
{
	struct parsed p;
	expect_ok(&p, "temp.\xc2\xb0" "C 21.5", 1, "temp.\xc2\xb0" "C");
	cr_assert_eq(p.r.values[0], 21.5f);
	parsed_finish(&p);
}

/* ---- rejected lines ---- */

Test(reading, rejects_an_empty_or_blank_line_as_malformed)
{
	expect_reject_bytes("", 0, 1, TC_REJECT_MALFORMED, "empty line");
	expect_reject(" \t \r\n", 1, TC_REJECT_MALFORMED, "empty line");
}

Test(reading, rejects_an_id_without_a_value_as_malformed)
{
	expect_reject("cpu", 1, TC_REJECT_MALFORMED, "missing value after series id");
	expect_reject("cpu \t\r\n", 1, TC_REJECT_MALFORMED, "missing value after series id");
}

Test(reading, rejects_a_value_that_is_not_a_number_naming_which_value)
{
	expect_reject("s abc", 1, TC_REJECT_MALFORMED, "value 1: not a number: \"abc\"");
	expect_reject("s 1,abc", 2, TC_REJECT_MALFORMED, "value 2: not a number: \"abc\"");
	expect_reject("s 1.2.3", 1, TC_REJECT_MALFORMED, "value 1: not a number: \"1.2.3\"");
	expect_reject("s 0x", 1, TC_REJECT_MALFORMED, "value 1: not a number: \"0x\"");
	expect_reject("s 5kg", 1, TC_REJECT_MALFORMED, "value 1: not a number: \"5kg\"");
	expect_reject("s 1e", 1, TC_REJECT_MALFORMED, "value 1: not a number: \"1e\"");
	expect_reject("s -", 1, TC_REJECT_MALFORMED, "value 1: not a number: \"-\"");
}

Test(reading, rejects_a_value_with_a_nul_byte_inside_it)
{
	/* A parser that handed the raw bytes to strtod would stop at the NUL and
	 * take "1" for the whole token. */
	struct parsed p;
	parse_bytes(&p, "s 1\0" "2", 5, 1);
	cr_assert_eq(p.rc, -1, "a value with a NUL inside was accepted as %g", (double)p.r.values[0]);
	cr_assert_eq(p.why, TC_REJECT_MALFORMED);
	cr_assert(strncmp(p.err, "value 1: not a number", 21) == 0, "message: %s", p.err);
	parsed_finish(&p);
}

Test(reading, rejects_an_empty_value_between_commas)
{
	expect_reject("s 1,,2", 3, TC_REJECT_MALFORMED, "value 2: empty");
	expect_reject("s ,1", 2, TC_REJECT_MALFORMED, "value 1: empty");
}

Test(reading, rejects_more_values_than_the_input_size)
{
	expect_reject("s 1,2,3", 2, TC_REJECT_WIDTH, "expected 2 values, got 3");
	expect_reject("s 1,2", 1, TC_REJECT_WIDTH, "expected 1 value, got 2");
	/* A trailing comma is one more (empty) value. */
	expect_reject("s 1,", 1, TC_REJECT_WIDTH, "expected 1 value, got 2");
}

Test(reading, rejects_fewer_values_than_the_input_size)
{
	expect_reject("s 1", 2, TC_REJECT_WIDTH, "expected 2 values, got 1");
	expect_reject("s 1,2 9", 3, TC_REJECT_WIDTH, "expected 3 values, got 2");
}

Test(reading, rejects_nan_and_infinity_in_any_spelling_as_non_finite)
{
	expect_reject("s NaN", 1, TC_REJECT_NONFINITE, "value 1: not finite: \"NaN\"");
	expect_reject("s nan", 1, TC_REJECT_NONFINITE, "value 1: not finite: \"nan\"");
	expect_reject("s Inf", 1, TC_REJECT_NONFINITE, "value 1: not finite: \"Inf\"");
	expect_reject("s -inf", 1, TC_REJECT_NONFINITE, "value 1: not finite: \"-inf\"");
	expect_reject("s infinity", 1, TC_REJECT_NONFINITE,
		"value 1: not finite: \"infinity\"");
	expect_reject("s 1,2,nan", 3, TC_REJECT_NONFINITE, "value 3: not finite: \"nan\"");
}

Test(reading, rejects_a_number_beyond_double_range_as_non_finite)
{
	expect_reject("s 1e999", 1, TC_REJECT_NONFINITE, "value 1: not finite: \"1e999\"");
	expect_reject("s -1e999", 1, TC_REJECT_NONFINITE, "value 1: not finite: \"-1e999\"");
}

Test(reading, rejects_a_finite_double_beyond_float_range_as_non_finite)
{
	/* FLT_MAX is about 3.4e38: 1e39 is a finite double but no float. */
	expect_reject("s 1e39", 1, TC_REJECT_NONFINITE, "value 1: 1e+39 is out of float range");
	expect_reject("s 0,-1e39", 2, TC_REJECT_NONFINITE,
		"value 2: -1e+39 is out of float range");
}

Test(reading, rejects_a_256_byte_id_as_too_long)
{
	char line[TC_ID_MAX + 8];
	memset(line, 'x', TC_ID_MAX + 1);
	strcpy(line + TC_ID_MAX + 1, " 4");
	expect_reject(line, 1, TC_REJECT_ID_TOO_LONG, "series id is 256 bytes, the limit is 255");
}

Test(reading, rejects_an_id_with_a_control_character_naming_its_byte)
{
	expect_reject("a\x01" "b 1", 1, TC_REJECT_MALFORMED,
		"series id has control character 0x01 at byte 2");
	expect_reject("ab\x7f 1", 1, TC_REJECT_MALFORMED,
		"series id has control character 0x7f at byte 3");
	expect_reject_bytes("a\0b 1", 5, 1, TC_REJECT_MALFORMED,
		"series id has control character 0x00 at byte 2");
	expect_reject("\x1b[0m 1", 1, TC_REJECT_MALFORMED,
		"series id has control character 0x1b at byte 1");
}

Test(reading, rejects_a_timestamp_that_is_not_a_number)
{
	expect_reject("s 1 abc", 1, TC_REJECT_MALFORMED, "timestamp: not a number: \"abc\"");
	expect_reject("s 1 12:00", 1, TC_REJECT_MALFORMED, "timestamp: not a number: \"12:00\"");
}

Test(reading, rejects_a_nan_or_infinite_timestamp_as_non_finite)
{
	expect_reject("s 1 NaN", 1, TC_REJECT_NONFINITE, "timestamp: not finite: \"NaN\"");
	expect_reject("s 1 inf", 1, TC_REJECT_NONFINITE, "timestamp: not finite: \"inf\"");
	expect_reject("s 1 1e999", 1, TC_REJECT_NONFINITE, "timestamp: not finite: \"1e999\"");
}

Test(reading, rejects_a_fourth_field_quoting_at_most_32_bytes_of_it)
{
	expect_reject("s 1 2 x", 1, TC_REJECT_MALFORMED, "unexpected 4th field \"x\"");
	expect_reject("s 1 2 3 4", 1, TC_REJECT_MALFORMED, "unexpected 4th field \"3\"");
	expect_reject("s 1 2 0123456789abcdef0123456789ABCDEFtail", 1, TC_REJECT_MALFORMED,
		"unexpected 4th field \"0123456789abcdef0123456789ABCDEF\"");
}

Test(reading, rejects_a_number_token_over_63_bytes)
{
	/* "1." and 62 zeros: 64 bytes. */
	char line[100] = "s 1.";
	memset(line + 4, '0', 62);
	line[66] = '\0';
	expect_reject(line, 1, TC_REJECT_MALFORMED, "value 1: not a number (64 bytes)");

	char ts[100] = "s 1 ";
	memset(ts + 4, '7', 80);
	ts[84] = '\0';
	expect_reject(ts, 1, TC_REJECT_MALFORMED, "timestamp: not a number (80 bytes)");
}

Test(reading, names_each_rejection_reason_as_its_counter)
{
	cr_assert_str_eq(tc_reject_to_string(TC_REJECT_MALFORMED), "malformed");
	cr_assert_str_eq(tc_reject_to_string(TC_REJECT_NONFINITE), "non_finite");
	cr_assert_str_eq(tc_reject_to_string(TC_REJECT_ID_TOO_LONG), "id_too_long");
	cr_assert_str_eq(tc_reject_to_string(TC_REJECT_WIDTH), "wrong_width");
	cr_assert_str_eq(tc_reject_to_string(TC_REJECT_NO_TIMESTAMP), "no_timestamp");
	cr_assert_str_eq(tc_reject_to_string(TC_REJECT_LATE), "late");
	cr_assert_str_eq(tc_reject_to_string(TC_REJECT_SERIES_LIMIT), "series_limit");
	cr_assert_str_eq(tc_reject_to_string(TC_REJECT_BAD_MESSAGE), "bad_message");
	cr_assert_str_eq(tc_reject_to_string(TC_REJECT_TOO_BIG), "too_big");
	cr_assert_str_eq(tc_reject_to_string(TC_REJECT__COUNT), "unknown");
}

Test(reading, gives_every_reason_a_distinct_name)
{
	for (int i = 0; i < TC_REJECT__COUNT; i++) {
		const char *a = tc_reject_to_string((enum tc_reject)i);
		cr_assert_not_null(a, "reason %d has no name", i);
		cr_assert_str_neq(a, "unknown", "reason %d has no name", i);
		for (int j = 0; j < i; j++) {
			cr_assert_str_neq(a, tc_reject_to_string((enum tc_reject)j),
				"reasons %d and %d share the name %s", j, i, a);
		}
	}
}

Test(reading, a_timestamp_beyond_1e13_seconds_is_malformed)
{
	struct tc_reading r;
	enum tc_reject why;
	char err[TC_ERR_LEN];
	const char line[] = "cpu 1 2e13";
	cr_assert_lt(tc_reading_parse(&r, line, sizeof line - 1, 1, &why, err), 0);
	cr_assert_eq(why, TC_REJECT_MALFORMED);
	cr_assert(strstr(err, "timestamp: 2e+13 s is out of range"), "%s", err);
	const char ok[] = "cpu 1 -9e12";
	cr_assert_eq(tc_reading_parse(&r, ok, sizeof ok - 1, 1, &why, err), 0, "%s", err);
}

Test(reading, a_line_of_only_blanks_is_blank_and_one_with_any_other_byte_is_not)
{
	cr_assert(tc_reading_is_blank("", 0));
	cr_assert(tc_reading_is_blank(" \t\r\n", 4));
	cr_assert(tc_reading_is_blank("   x", 3), "only len bytes are looked at");
	cr_assert_not(tc_reading_is_blank("  x ", 4));
	cr_assert_not(tc_reading_is_blank("\v", 1), "a vertical tab separates no fields");
	cr_assert_not(tc_reading_is_blank("\0", 1));
}

Test(reading, the_timestamp_range_is_1e13_seconds_either_way)
{
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_reading_time_check(1e13, err), 0);
	cr_assert_eq(tc_reading_time_check(-1e13, err), 0);
	cr_assert_eq(tc_reading_time_check(-2e13, err), -1);
	cr_assert_str_eq(err, "timestamp: -2e+13 s is out of range (at most 1e+13 in magnitude)");
}
