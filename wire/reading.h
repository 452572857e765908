/* reading.h -- one text reading line: `<series> <v1>[,<v2>...] [<timestamp>]`.
 *
 * Series ids are 1..TC_ID_MAX bytes with no spaces or control characters;
 * values are finite floats separated by commas, exactly as many as the
 * model's input size; the timestamp is seconds (finite, at most 1e13 in
 * magnitude). Fields are separated by spaces or tabs. Every rejection has a reason (for counters)
 * and a message (for logs). */
#ifndef TC_READING_H
#define TC_READING_H

#include <stddef.h>

#include "model.h"
#include "series_id.h"

enum tc_reject {
	TC_REJECT_MALFORMED,     /* not `<series> <values> [<timestamp>]`, a non-number */
	TC_REJECT_NONFINITE,     /* NaN or Inf, or a number out of float range */
	TC_REJECT_ID_TOO_LONG,   /* series id over TC_ID_MAX bytes */
	TC_REJECT_WIDTH,         /* number of values differs from the input size */
	TC_REJECT_NO_TIMESTAMP,  /* the event clock needs one */
	TC_REJECT_LATE,          /* its bucket was already stepped */
	TC_REJECT_SERIES_LIMIT,  /* a new series over the configured maximum */
	TC_REJECT_BAD_MESSAGE,   /* a message that is not 1 or 2 frames, or a bad binary batch */
	TC_REJECT_TOO_BIG,       /* a message body over ingest.max_message_bytes */
	TC_REJECT_OUT_OF_MEMORY, /* good, but memory ran out queueing or filing it */
	TC_REJECT__COUNT,
};

struct tc_reading {
	const char *id;              /* borrowed from the parsed line, not NUL-terminated */
	size_t id_len;               /* bytes */
	int n_values;
	float values[TC_MAX_INPUT];
	int has_time;
	double time;                 /* seconds */
};

/* Parses len bytes of line (no newline needed; not NUL-terminated) into r,
 * expecting n_values values. Returns 0, or -1 with *why and err ("value 2:
 * not a number: \"abc\"") filled. r->id points into line. */
int tc_reading_parse(struct tc_reading *r, const char *line, size_t len,
	int n_values, enum tc_reject *why, char *err);

/* Checks a finite timestamp t (seconds) against the range readings may
 * carry, text or binary. Returns 0, or -1 with err: "timestamp: 2e+13 s is
 * out of range (at most 1e+13 in magnitude)". */
int tc_reading_time_check(double t, char *err);

/* Whether len bytes of line hold only blanks (spaces, tabs, CR, LF), the
 * field separators of a line: such a line carries no reading, and readers
 * skip it instead of rejecting it. */
int tc_reading_is_blank(const char *line, size_t len);

/* "malformed", "non_finite", ... : the counter names used in summaries. */
const char *tc_reject_to_string(enum tc_reject why);

#endif
