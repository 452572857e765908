/* test_message.c -- one ingest message into readings: frames, size limit, text lines, binary. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "message.h"
#include "reading_binary.h"

/* Bodies are parsed from heap copies of exactly their bytes (no NUL after
 * them), so reading past a frame trips AddressSanitizer. */

#define KEEP 16   /* readings and rejects kept in full; more are only counted */

struct got {
	const char *body;            /* the body frame, to check ids point into it */
	size_t body_len;
	int n_values;
	size_t n_accepted;
	size_t n_rejected;
	size_t by_reason[TC_REJECT__COUNT];
	struct {
		char id[TC_ID_MAX + 1];
		float values[4];
		int has_time;
		double time;
	} acc[KEEP];
	struct {
		enum tc_reject why;
		char detail[TC_ERR_LEN + 64];
	} rej[KEEP];
};

static void on_accept(void *ud, const struct tc_reading *r)
{
	struct got *g = ud;
	cr_assert(r->id_len >= 1 && r->id_len <= TC_ID_MAX, "id of %zu bytes accepted", r->id_len);
	cr_assert(r->id >= g->body && r->id + r->id_len <= g->body + g->body_len,
		"the id must point into the body");
	for (size_t i = 0; i < r->id_len; i++) {
		unsigned char c = (unsigned char)r->id[i];
		cr_assert(c > 0x20 && c != 0x7f, "id with byte 0x%02x accepted", c);
	}
	cr_assert_eq(r->n_values, g->n_values);
	for (int i = 0; i < r->n_values; i++) {
		cr_assert(isfinite(r->values[i]), "non-finite value accepted");
	}
	if (g->n_accepted < KEEP) {
		memcpy(g->acc[g->n_accepted].id, r->id, r->id_len);
		g->acc[g->n_accepted].id[r->id_len] = '\0';
		memcpy(g->acc[g->n_accepted].values, r->values,
			sizeof(float) * (size_t)(r->n_values < 4 ? r->n_values : 4));
		g->acc[g->n_accepted].has_time = r->has_time;
		g->acc[g->n_accepted].time = r->time;
	}
	g->n_accepted++;
}

static void on_reject(void *ud, enum tc_reject why, const char *detail)
{
	struct got *g = ud;
	cr_assert_lt((int)why, TC_REJECT__COUNT);
	cr_assert_not_null(detail);
	cr_assert_lt(strlen(detail), TC_ERR_LEN + 64);
	cr_assert_null(strchr(detail, '\n'), "a detail must be one line: %s", detail);
	if (g->n_rejected < KEEP) {
		g->rej[g->n_rejected].why = why;
		strcpy(g->rej[g->n_rejected].detail, detail);
	}
	g->n_rejected++;
	g->by_reason[why]++;
}

/* Parses n frames (the last is the body) from exact-size heap copies. */
static struct got *parse_frames(const struct tc_frame *frames, int n, int n_values,
	size_t max_bytes)
{
	struct got *g = calloc(1, sizeof *g);
	cr_assert_not_null(g);
	g->n_values = n_values;
	struct tc_frame copies[4];
	cr_assert_leq(n, 4);
	for (int i = 0; i < n; i++) {
		void *c = malloc(frames[i].len ? frames[i].len : 1);
		cr_assert_not_null(c);
		if (frames[i].len) {
			memcpy(c, frames[i].data, frames[i].len);
		}
		copies[i] = (struct tc_frame){c, frames[i].len};
	}
	if (n > 0) {
		g->body = copies[n - 1].data;
		g->body_len = copies[n - 1].len;
	}
	struct tc_reading_sink sink = {on_accept, on_reject, g};
	tc_message_parse(copies, n, n_values, max_bytes, &sink);
	for (int i = 0; i < n; i++) {
		free((void *)copies[i].data);
	}
	return g;
}

static struct got *parse_len(const char *body, size_t len, int n_values)
{
	struct tc_frame f = {body, len};
	return parse_frames(&f, 1, n_values, SIZE_MAX);
}

static struct got *parse(const char *body, int n_values)
{
	return parse_len(body, strlen(body), n_values);
}

static void expect_reject(const struct got *g, size_t i, enum tc_reject why, const char *detail)
{
	cr_assert_lt(i, g->n_rejected, "reject %zu missing (%zu in all)", i, g->n_rejected);
	cr_assert_eq(g->rej[i].why, why, "reject %zu: %s, expected %s", i,
		tc_reject_to_string(g->rej[i].why), tc_reject_to_string(why));
	cr_assert_str_eq(g->rej[i].detail, detail);
}

/* ---- text ---- */

Test(message, parses_every_line_of_a_one_frame_text_message_in_order)
{
	struct got *g = parse("a 1\nb 2.5 100\nc -3", 1);
	cr_assert_eq(g->n_rejected, 0, "%s", g->rej[0].detail);
	cr_assert_eq(g->n_accepted, 3);
	cr_assert_str_eq(g->acc[0].id, "a");
	cr_assert_eq(g->acc[0].values[0], 1.0f);
	cr_assert_eq(g->acc[0].has_time, 0);
	cr_assert_str_eq(g->acc[1].id, "b");
	cr_assert_eq(g->acc[1].values[0], 2.5f);
	cr_assert_eq(g->acc[1].has_time, 1);
	cr_assert_eq(g->acc[1].time, 100.0);
	cr_assert_str_eq(g->acc[2].id, "c", "the last line needs no newline");
	cr_assert_eq(g->acc[2].values[0], -3.0f);
	free(g);
}

Test(message, takes_crlf_line_ends_and_skips_blank_lines_counting_them_as_lines)
{
	struct got *g = parse("a 1,2\r\n\r\n \t \r\nb x,1\r\nc 3,4 7\r\n\n", 2);
	cr_assert_eq(g->n_accepted, 2);
	cr_assert_str_eq(g->acc[0].id, "a");
	cr_assert_eq(g->acc[0].values[1], 2.0f);
	cr_assert_str_eq(g->acc[1].id, "c");
	cr_assert_eq(g->acc[1].values[1], 4.0f);
	cr_assert_eq(g->acc[1].time, 7.0);
	cr_assert_eq(g->n_rejected, 1, "blank lines must not be rejected");
	expect_reject(g, 0, TC_REJECT_MALFORMED, "line 4: value 1: not a number: \"x\"");
	free(g);
}

Test(message, ignores_the_topic_of_a_two_frame_message)
{
	struct tc_frame frames[2] = {{"cpu.\x01 junk 1\n", 13}, {"cpu.a 1\ncpu.b 2", 15}};
	struct got *g = parse_frames(frames, 2, 1, SIZE_MAX);
	cr_assert_eq(g->n_rejected, 0, "the topic was parsed: %s", g->rej[0].detail);
	cr_assert_eq(g->n_accepted, 2);
	cr_assert_str_eq(g->acc[0].id, "cpu.a");
	cr_assert_str_eq(g->acc[1].id, "cpu.b");
	cr_assert_eq(g->acc[1].values[0], 2.0f);
	free(g);

	struct tc_frame empty_topic[2] = {{NULL, 0}, {"x 5", 3}};
	g = parse_frames(empty_topic, 2, 1, SIZE_MAX);
	cr_assert_eq(g->n_accepted, 1);
	cr_assert_eq(g->acc[0].values[0], 5.0f);
	free(g);
}

Test(message, rejects_zero_and_three_frames_as_one_bad_message)
{
	struct got *g = parse_frames(NULL, 0, 1, SIZE_MAX);
	cr_assert_eq(g->n_accepted, 0);
	cr_assert_eq(g->n_rejected, 1);
	expect_reject(g, 0, TC_REJECT_BAD_MESSAGE,
		"message has 0 frames; expected 1 (lines) or 2 (topic, lines)");
	free(g);

	struct tc_frame frames[3] = {{"t", 1}, {"a 1", 3}, {"b 2", 3}};
	g = parse_frames(frames, 3, 1, SIZE_MAX);
	cr_assert_eq(g->n_accepted, 0, "a reading of a 3-frame message was taken");
	cr_assert_eq(g->n_rejected, 1);
	expect_reject(g, 0, TC_REJECT_BAD_MESSAGE,
		"message has 3 frames; expected 1 (lines) or 2 (topic, lines)");
	free(g);
}

Test(message, rejects_a_body_over_the_limit_once_as_too_big_and_takes_none_of_it)
{
	char body[101];
	for (int i = 0; i < 25; i++) {
		memcpy(body + 4 * i, "a 1\n", 4);
	}
	struct tc_frame f = {body, 100};
	struct got *g = parse_frames(&f, 1, 1, 99);
	cr_assert_eq(g->n_accepted, 0);
	cr_assert_eq(g->n_rejected, 1);
	expect_reject(g, 0, TC_REJECT_TOO_BIG,
		"message body is 100 bytes, the limit is 99 (ingest.max_message_bytes)");
	free(g);

	g = parse_frames(&f, 1, 1, 100);
	cr_assert_eq(g->n_accepted, 25, "a body at the limit is fine");
	cr_assert_eq(g->n_rejected, 0);
	free(g);

	struct tc_frame two[2] = {{"topic", 5}, {body, 100}};
	g = parse_frames(two, 2, 1, 99);
	cr_assert_eq(g->by_reason[TC_REJECT_TOO_BIG], 1);
	cr_assert_eq(g->n_accepted, 0);
	free(g);
}

Test(message, an_empty_body_or_only_blank_lines_yield_nothing)
{
	const char *bodies[] = {"", "\n", "\r\n\r\n", "  \n\t\n", "\r"};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		struct got *g = parse(bodies[i], 1);
		cr_assert_eq(g->n_accepted + g->n_rejected, 0, "body %zu gave something", i);
		free(g);
	}
}

Test(message, keeps_the_good_lines_and_rejects_each_bad_one_with_its_line_number)
{
	const char body[] =
		"good.1 0.5\n"
		"nan.id NaN\n"
		"huge 1e999\n"
		"wide 1,2\n"
		"word abc\n"
		"ctl\x1b" "x 1\n"
		"good.2 -2 1700000000\n"
		"four 1 2 3\n"
		"good.3 .25";
	struct got *g = parse(body, 1);
	cr_assert_eq(g->n_accepted, 3);
	cr_assert_str_eq(g->acc[0].id, "good.1");
	cr_assert_eq(g->acc[0].values[0], 0.5f);
	cr_assert_str_eq(g->acc[1].id, "good.2");
	cr_assert_eq(g->acc[1].values[0], -2.0f);
	cr_assert_eq(g->acc[1].time, 1700000000.0);
	cr_assert_str_eq(g->acc[2].id, "good.3");
	cr_assert_eq(g->acc[2].values[0], 0.25f);
	cr_assert_eq(g->n_rejected, 6);
	expect_reject(g, 0, TC_REJECT_NONFINITE, "line 2: value 1: not finite: \"NaN\"");
	expect_reject(g, 1, TC_REJECT_NONFINITE, "line 3: value 1: not finite: \"1e999\"");
	expect_reject(g, 2, TC_REJECT_WIDTH, "line 4: expected 1 value, got 2");
	expect_reject(g, 3, TC_REJECT_MALFORMED, "line 5: value 1: not a number: \"abc\"");
	expect_reject(g, 4, TC_REJECT_MALFORMED,
		"line 6: series id has control character 0x1b at byte 4");
	expect_reject(g, 5, TC_REJECT_MALFORMED, "line 8: unexpected 4th field \"3\"");
	free(g);
}

Test(message, rejects_a_100_kb_id_and_goes_on_with_the_next_line)
{
	const size_t id_len = 100000;
	char *body = malloc(id_len + 16);
	cr_assert_not_null(body);
	memset(body, 'x', id_len);
	memcpy(body + id_len, " 1\nok 2", 7);
	struct got *g = parse_len(body, id_len + 7, 1);
	cr_assert_eq(g->n_rejected, 1);
	expect_reject(g, 0, TC_REJECT_ID_TOO_LONG, "line 1: series id is 100000 bytes, the limit is 255");
	cr_assert_eq(g->n_accepted, 1);
	cr_assert_str_eq(g->acc[0].id, "ok");
	cr_assert_eq(g->acc[0].values[0], 2.0f);
	free(g);
	free(body);
}

Test(message, a_nul_byte_inside_a_line_is_a_bad_character_not_the_end)
{
	struct got *g = parse_len("a\0b 1\nc 2\nd 3\0", 14, 1);
	cr_assert_eq(g->n_accepted, 1);
	cr_assert_str_eq(g->acc[0].id, "c");
	cr_assert_eq(g->n_rejected, 2);
	expect_reject(g, 0, TC_REJECT_MALFORMED, "line 1: series id has control character 0x00 at byte 2");
	cr_assert_eq(g->rej[1].why, TC_REJECT_MALFORMED);
	cr_assert(strncmp(g->rej[1].detail, "line 3: value 1: not a number", 29) == 0, "%s",
		g->rej[1].detail);
	free(g);
}

/* ---- binary ---- */

static unsigned char *batch(int n, int n_values, size_t *len)
{
	static const char *const ids[] = {"b.one", "b.two", "b.three", "b.four"};
	struct tc_reading r[4];
	cr_assert_leq(n, 4);
	for (int i = 0; i < n; i++) {
		r[i] = (struct tc_reading){.id = ids[i], .id_len = strlen(ids[i]),
			.n_values = n_values, .has_time = 1, .time = 1000.0 + i};
		for (int k = 0; k < n_values; k++) {
			r[i].values[k] = (float)(10 * i + k);
		}
	}
	*len = tc_reading_binary_encode(NULL, 0, r, (size_t)n, n_values);
	unsigned char *buf = malloc(*len);
	cr_assert_not_null(buf);
	cr_assert_eq(tc_reading_binary_encode(buf, *len, r, (size_t)n, n_values), *len);
	return buf;
}

Test(message, reads_a_body_that_starts_with_the_magic_as_a_binary_batch)
{
	size_t len;
	unsigned char *buf = batch(3, 2, &len);
	struct tc_frame two[2] = {{"b.", 2}, {buf, len}};
	struct got *g = parse_frames(two, 2, 2, SIZE_MAX);
	cr_assert_eq(g->n_rejected, 0, "%s", g->rej[0].detail);
	cr_assert_eq(g->n_accepted, 3);
	cr_assert_str_eq(g->acc[2].id, "b.three");
	cr_assert_eq(g->acc[2].values[1], 21.0f);
	cr_assert_eq(g->acc[2].time, 1002.0);
	free(g);

	g = parse_frames(&two[1], 1, 2, len - 1);
	cr_assert_eq(g->n_accepted, 0);
	cr_assert_eq(g->by_reason[TC_REJECT_TOO_BIG], 1, "the size limit holds for binary too");
	free(g);
	free(buf);
}

Test(message, keeps_the_readings_before_a_break_in_a_binary_batch)
{
	size_t len;
	unsigned char *buf = batch(3, 1, &len);
	/* Records are 1 + 5 + 4 + 8 = 18, 18 and 20 bytes: cut inside the third. */
	struct got *g = parse_len((const char *)buf, 12 + 18 + 18 + 5, 1);
	cr_assert_eq(g->n_accepted, 2);
	cr_assert_str_eq(g->acc[1].id, "b.two");
	cr_assert_eq(g->n_rejected, 1);
	expect_reject(g, 0, TC_REJECT_BAD_MESSAGE,
		"binary batch: record 3 of 3 truncated (20 bytes, 5 left)");
	free(g);

	for (size_t cut = 1; cut < len; cut++) {
		g = parse_len((const char *)buf, cut, 1);
		cr_assert_eq(g->n_rejected, 1, "cut at %zu: %zu rejects", cut, g->n_rejected);
		cr_assert_eq(g->rej[0].why, TC_REJECT_BAD_MESSAGE, "cut at %zu", cut);
		size_t whole = cut >= 12 + 18 + 18 + 20 ? 3 : cut >= 12 + 18 + 18 ? 2 : cut >= 12 + 18 ? 1 : 0;
		cr_assert_eq(g->n_accepted, whole, "cut at %zu", cut);
		free(g);
	}
	free(buf);
}

Test(message, rejects_a_binary_batch_of_another_width_whole)
{
	size_t len;
	unsigned char *buf = batch(2, 3, &len);
	struct got *g = parse_len((const char *)buf, len, 1);
	cr_assert_eq(g->n_accepted, 0);
	cr_assert_eq(g->n_rejected, 1);
	expect_reject(g, 0, TC_REJECT_BAD_MESSAGE, "binary batch: 3 values per reading, expected 1");
	free(g);
	free(buf);
}

/* ---- random input ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so a failure reproduces. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1du;
}

/* A byte that is often part of a reading, sometimes anything. */
static char random_byte(void)
{
	static const char common[] = "0123456789012345.,,-+e  \t\n\n\r abcxyz.NaInf";
	uint64_t x = rng();
	return x % 4 == 0 ? (char)(x >> 8) : common[(x >> 8) % (sizeof common - 1)];
}

Test(message, survives_10000_random_messages_and_accounts_for_each_line)
{
	size_t accepted = 0, rejected = 0, binary_bad = 0;
	size_t len_max = 600;
	char *body = malloc(len_max);
	cr_assert_not_null(body);
	size_t good_len;
	unsigned char *good = batch(4, 2, &good_len);
	for (int m = 0; m < 10000; m++) {
		size_t len = rng() % len_max;
		int kind = (int)(rng() % 4);
		if (kind == 0) {
			/* A valid binary batch with a few bytes changed, maybe cut short. */
			len = len % (good_len + 8);
			for (size_t i = 0; i < len; i++) {
				body[i] = i < good_len ? (char)good[i] : (char)rng();
			}
			for (int k = 0; k < 3 && len > 0; k++) {
				body[rng() % len] = (char)rng();
			}
		} else {
			for (size_t i = 0; i < len; i++) {
				body[i] = kind == 1 ? (char)rng() : random_byte();
			}
		}
		struct got *g = parse_len(body, len, kind == 0 ? 2 : 1 + (int)(rng() % 2));
		accepted += g->n_accepted;
		rejected += g->n_rejected;
		binary_bad += g->by_reason[TC_REJECT_BAD_MESSAGE];
		if (len > 0 && body[0] != '\0') {
			/* Text: every non-blank line is accepted or rejected, once. */
			size_t lines = 0;
			for (const char *p = body, *end = body + len; p < end;) {
				const char *nl = memchr(p, '\n', (size_t)(end - p));
				const char *stop = nl ? nl : end;
				int blank = 1;
				for (const char *q = p; q < stop; q++) {
					blank &= *q == ' ' || *q == '\t' || *q == '\r';
				}
				lines += !blank;
				p = nl ? nl + 1 : end;
			}
			cr_assert_eq(g->n_accepted + g->n_rejected, lines,
				"message %d: %zu lines, %zu readings and %zu rejects", m, lines,
				g->n_accepted, g->n_rejected);
		}
		free(g);
	}
	cr_assert_gt(accepted, 100, "random lines should parse now and then (%zu did)", accepted);
	cr_assert_gt(rejected, 1000, "only %zu rejects", rejected);
	cr_assert_gt(binary_bad, 100, "only %zu broken binary batches", binary_bad);
	free(good);
	free(body);
}
