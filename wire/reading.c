/* reading.c -- parsing one text reading line into a series id and its values. */
#include "reading.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "decimal.h"
#include "error.h"

#define TIME_MAX 1e13  /* seconds (year ~318,000): beyond, bucket indices lose meaning */

static const char *const reject_names[TC_REJECT__COUNT] = {
	[TC_REJECT_MALFORMED] = "malformed",
	[TC_REJECT_NONFINITE] = "non_finite",
	[TC_REJECT_ID_TOO_LONG] = "id_too_long",
	[TC_REJECT_WIDTH] = "wrong_width",
	[TC_REJECT_NO_TIMESTAMP] = "no_timestamp",
	[TC_REJECT_LATE] = "late",
	[TC_REJECT_SERIES_LIMIT] = "series_limit",
	[TC_REJECT_BAD_MESSAGE] = "bad_message",
	[TC_REJECT_TOO_BIG] = "too_big",
	[TC_REJECT_OUT_OF_MEMORY] = "out_of_memory",
};

const char *tc_reject_to_string(enum tc_reject why)
{
	return why < TC_REJECT__COUNT ? reject_names[why] : "unknown";
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int tc_reading_is_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!is_blank(line[i])) {
			return 0;
		}
	}
	return 1;
}

int tc_reading_time_check(double t, char *err)
{
	if (fabs(t) > TIME_MAX) {
		return tc_err_set(err, "timestamp: %.9g s is out of range (at most %g in magnitude)",
			t, TIME_MAX);
	}
	return 0;
}

/* The next blank-separated field of [*pos, end): sets *field and *flen,
 * advances *pos. Returns 0 when there is none. */
static int next_field(const char **pos, const char *end, const char **field, size_t *flen)
{
	const char *p = *pos;
	while (p < end && is_blank(*p)) {
		p++;
	}
	const char *start = p;
	while (p < end && !is_blank(*p)) {
		p++;
	}
	*pos = p;
	*field = start;
	*flen = (size_t)(p - start);
	return *flen > 0;
}

static int reject(enum tc_reject *why, enum tc_reject reason)
{
	*why = reason;
	return -1;
}

/* What an error calls number `index` of a line: "value 2", or "timestamp"
 * for 0. Built only for an error: a reading's hot path has no printf. */
static const char *number_name(char *name, size_t len, int index)
{
	if (index == 0) {
		return "timestamp";
	}
	snprintf(name, len, "value %d", index);
	return name;
}

/* Parses number `index` of a line (0: the timestamp, 1..: the values), a
 * token of len bytes. */
static int parse_number(const char *tok, size_t len, int index, double *out,
	enum tc_reject *why, char *err)
{
	char name[32];
	if (len == 0) {
		tc_err_set(err, "%s: empty", number_name(name, sizeof name, index));
		return reject(why, TC_REJECT_MALFORMED);
	}
	if (len > TC_DECIMAL_MAX) {
		tc_err_set(err, "%s: not a number (%zu bytes)",
			number_name(name, sizeof name, index), len);
		return reject(why, TC_REJECT_MALFORMED);
	}
	double v;
	if (tc_decimal_parse(tok, len, &v) < 0) {
		tc_err_set(err, "%s: not a number: \"%.*s\"",
			number_name(name, sizeof name, index), (int)len, tok);
		return reject(why, TC_REJECT_MALFORMED);
	}
	if (!isfinite(v)) {
		tc_err_set(err, "%s: not finite: \"%.*s\"",
			number_name(name, sizeof name, index), (int)len, tok);
		return reject(why, TC_REJECT_NONFINITE);
	}
	*out = v;
	return 0;
}

static int parse_id(struct tc_reading *r, const char *id, size_t len,
	enum tc_reject *why, char *err)
{
	if (tc_series_id_check(id, len, err) < 0) {
		return reject(why, len > TC_ID_MAX ? TC_REJECT_ID_TOO_LONG : TC_REJECT_MALFORMED);
	}
	r->id = id;
	r->id_len = len;
	return 0;
}

static int parse_values(struct tc_reading *r, const char *tok, size_t len, int n_values,
	enum tc_reject *why, char *err)
{
	const char *end = tok + len;
	int n = 0;
	for (const char *p = tok;; n++) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		if (n < n_values) {
			double v;
			if (parse_number(p, (size_t)(stop - p), n + 1, &v, why, err) < 0) {
				return -1;
			}
			if (!isfinite((float)v)) {
				tc_err_set(err, "value %d: %.9g is out of float range", n + 1, v);
				return reject(why, TC_REJECT_NONFINITE);
			}
			r->values[n] = (float)v;
		}
		if (!comma) {
			break;
		}
		p = comma + 1;
	}
	r->n_values = n + 1;
	if (r->n_values != n_values) {
		tc_err_set(err, "expected %d value%s, got %d", n_values, n_values == 1 ? "" : "s",
			r->n_values);
		return reject(why, TC_REJECT_WIDTH);
	}
	return 0;
}

int tc_reading_parse(struct tc_reading *r, const char *line, size_t len,
	int n_values, enum tc_reject *why, char *err)
{
	const char *pos = line;
	const char *end = line + len;
	const char *field;
	size_t flen;
	r->has_time = 0;
	r->time = 0.0;
	if (!next_field(&pos, end, &field, &flen)) {
		tc_err_set(err, "empty line");
		return reject(why, TC_REJECT_MALFORMED);
	}
	if (parse_id(r, field, flen, why, err) < 0) {
		return -1;
	}
	if (!next_field(&pos, end, &field, &flen)) {
		tc_err_set(err, "missing value after series id");
		return reject(why, TC_REJECT_MALFORMED);
	}
	if (parse_values(r, field, flen, n_values, why, err) < 0) {
		return -1;
	}
	if (next_field(&pos, end, &field, &flen)) {
		if (parse_number(field, flen, 0, &r->time, why, err) < 0) {
			return -1;
		}
		if (tc_reading_time_check(r->time, err) < 0) {
			return reject(why, TC_REJECT_MALFORMED);
		}
		r->has_time = 1;
	}
	if (next_field(&pos, end, &field, &flen)) {
		tc_err_set(err, "unexpected 4th field \"%.*s\"", (int)(flen > 32 ? 32 : flen), field);
		return reject(why, TC_REJECT_MALFORMED);
	}
	return 0;
}
