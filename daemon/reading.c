/* reading.c -- parsing one text reading line into a series id and its values. */
#include "reading.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define NUMBER_MAX 63       /* longest number token we parse, bytes */
#define TIMESTAMP_MAX 1e13  /* seconds (year ~318,000): beyond, bucket indices lose meaning */

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
};

const char *tc_reject_to_string(enum tc_reject why)
{
	return why < TC_REJECT__COUNT ? reject_names[why] : "unknown";
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
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

/* Parses one number token of len bytes; `what` names it in messages. */
static int parse_number(const char *tok, size_t len, const char *what, double *out,
	enum tc_reject *why, char *err)
{
	char buf[NUMBER_MAX + 1];
	if (len == 0) {
		tc_err_set(err, "%s: empty", what);
		return reject(why, TC_REJECT_MALFORMED);
	}
	if (len > NUMBER_MAX) {
		tc_err_set(err, "%s: not a number (%zu bytes)", what, len);
		return reject(why, TC_REJECT_MALFORMED);
	}
	memcpy(buf, tok, len);
	buf[len] = '\0';
	char *end;
	errno = 0;
	double v = strtod(buf, &end);
	if (end != buf + len) {
		tc_err_set(err, "%s: not a number: \"%s\"", what, buf);
		return reject(why, TC_REJECT_MALFORMED);
	}
	if (!isfinite(v)) {
		tc_err_set(err, "%s: not finite: \"%s\"", what, buf);
		return reject(why, TC_REJECT_NONFINITE);
	}
	*out = v;
	return 0;
}

static int parse_id(struct tc_reading *r, const char *id, size_t len,
	enum tc_reject *why, char *err)
{
	if (len > TC_ID_MAX) {
		tc_err_set(err, "series id is %zu bytes, the limit is %d", len, TC_ID_MAX);
		return reject(why, TC_REJECT_ID_TOO_LONG);
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];
		if (c < 0x20 || c == 0x7f) {
			tc_err_set(err, "series id has control character 0x%02x at byte %zu", c, i + 1);
			return reject(why, TC_REJECT_MALFORMED);
		}
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
			char what[32];
			double v;
			snprintf(what, sizeof what, "value %d", n + 1);
			if (parse_number(p, (size_t)(stop - p), what, &v, why, err) < 0) {
				return -1;
			}
			if (!isfinite((float)v)) {
				tc_err_set(err, "%s: %.9g is out of float range", what, v);
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
		if (parse_number(field, flen, "timestamp", &r->time, why, err) < 0) {
			return -1;
		}
		if (fabs(r->time) > TIMESTAMP_MAX) {
			tc_err_set(err, "timestamp: %.9g s is out of range (at most %g in magnitude)",
				r->time, TIMESTAMP_MAX);
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
