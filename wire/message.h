/* message.h -- one received ingest message (its frames) into readings, text or binary.
 *
 * No sockets here: the ingest thread receives the frames and hands them in.
 *
 *     struct tc_frame frames[2] = {{topic, topic_len}, {body, body_len}};
 *     struct tc_reading_sink sink = {.accept = offer, .reject = count_and_log, .ud = tick};
 *     tc_message_parse(frames, 2, n_values, cfg->ingest.max_message_bytes, &sink);
 *
 * One frame is the body; two are (topic, body), the topic only there for
 * subscription filtering. A body whose first byte is 0x00 is a binary batch
 * (reading_binary.h); any other is text lines, each through tc_reading_parse.
 * The formats and every rejection are specified in docs/protocol.md. */
#ifndef TC_MESSAGE_H
#define TC_MESSAGE_H

#include <stddef.h>

#include "reading.h"

struct tc_frame {
	const void *data;            /* borrowed */
	size_t len;                  /* bytes */
};

/* Where the readings of a message go, in message order. r, r->id and detail
 * are borrowed for the call only: copy what you keep. */
struct tc_reading_sink {
	void (*accept)(void *ud, const struct tc_reading *r);
	/* detail: one line for a rate-limited log, e.g. "line 3: value 1: not a
	 * number: \"abc\"" or "record 2: value 1: not finite (nan)". */
	void (*reject)(void *ud, enum tc_reject why, const char *detail);
	void *ud;
};

/* Parses a message of n_frames frames, expecting n_values values per
 * reading; max_bytes: the largest body accepted (SIZE_MAX for no limit).
 * Calls sink->accept once per good reading and sink->reject once per bad
 * line or record; a message that is wrong as a whole (0 or 3+ frames, a body
 * over max_bytes, a binary header that does not check out) gets one reject
 * and no reading. A binary batch that breaks off keeps the readings before
 * the break and gets one TC_REJECT_BAD_MESSAGE for the rest. An empty body
 * and blank lines are not errors: they yield nothing. */
void tc_message_parse(const struct tc_frame *frames, int n_frames, int n_values,
	size_t max_bytes, const struct tc_reading_sink *sink);

#endif
