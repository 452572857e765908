/* message.c -- an ingest message into readings: frames, size limit, text lines, binary. */
#include "message.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "reading_binary.h"

#define DETAIL_LEN (TC_ERR_LEN + 32)   /* a parser message and its "line N: " prefix */

static void parse_text(const char *body, size_t len, int n_values,
	const struct tc_reading_sink *sink)
{
	const char *end = body + len;
	size_t number = 0;
	struct tc_reading r;
	enum tc_reject why;
	char err[TC_ERR_LEN];
	char detail[DETAIL_LEN];
	for (const char *line = body; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *stop = nl ? nl : end;
		size_t line_len = (size_t)(stop - line);
		const char *text = line;
		line = nl ? nl + 1 : end;
		number++;
		if (line_len > 0 && text[line_len - 1] == '\r') {
			line_len--;
		}
		if (tc_reading_is_blank(text, line_len)) {
			continue;
		}
		if (tc_reading_parse(&r, text, line_len, n_values, &why, err) == 0) {
			sink->accept(sink->ud, &r);
		} else {
			snprintf(detail, sizeof detail, "line %zu: %s", number, err);
			sink->reject(sink->ud, why, detail);
		}
	}
}

static void parse_binary(const void *body, size_t len, int n_values,
	const struct tc_reading_sink *sink)
{
	struct tc_reading_binary_reader rd;
	struct tc_reading r;
	enum tc_reject why;
	char err[TC_ERR_LEN];
	if (tc_reading_binary_reader_init(&rd, body, len, n_values, err) < 0) {
		sink->reject(sink->ud, TC_REJECT_BAD_MESSAGE, err);
		return;
	}
	for (int rc; (rc = tc_reading_binary_reader_next(&rd, &r, &why, err)) != 0;) {
		if (rc == 1) {
			sink->accept(sink->ud, &r);
		} else {
			sink->reject(sink->ud, why, err);
		}
	}
}

void tc_message_parse(const struct tc_frame *frames, int n_frames, int n_values,
	size_t max_bytes, const struct tc_reading_sink *sink)
{
	char detail[DETAIL_LEN];
	if (n_frames != 1 && n_frames != 2) {
		snprintf(detail, sizeof detail,
			"message has %d frames; expected 1 (lines) or 2 (topic, lines)", n_frames);
		sink->reject(sink->ud, TC_REJECT_BAD_MESSAGE, detail);
		return;
	}
	const struct tc_frame *body = &frames[n_frames - 1];
	if (body->len > max_bytes) {
		snprintf(detail, sizeof detail,
			"message body is %zu bytes, the limit is %zu (ingest.max_message_bytes)",
			body->len, max_bytes);
		sink->reject(sink->ud, TC_REJECT_TOO_BIG, detail);
		return;
	}
	if (tc_reading_binary_detect(body->data, body->len)) {
		parse_binary(body->data, body->len, n_values, sink);
	} else if (body->len > 0) {
		parse_text(body->data, body->len, n_values, sink);
	}
}
