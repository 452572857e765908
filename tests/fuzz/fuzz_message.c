/* fuzz_message.c -- libFuzzer harness: one whole ingest message (tc_message_parse).
 *
 * Frames are passed as the ingest thread passes them (daemon/ingest.c): one
 * or two borrowed buffers, the last the body. The first input byte picks the
 * values per reading (low 3 bits + 1), the frame count (bits 3-4: 1, 2, 0 or
 * 3 frames) and whether a small max_message_bytes applies (bit 5); with two
 * or more frames the next byte is the topic's length. The body then starts
 * with 0x00 for a binary batch, anything else for text lines, so the corpus
 * holds both. Each frame is copied into a buffer of its own size so that
 * AddressSanitizer sees a read one past its end. Every accepted reading must
 * be what fuzz_check.h says. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "message.h"

struct count {
	int n_values;
	size_t accepted;
	size_t rejected;
};

static void accept(void *ud, const struct tc_reading *r)
{
	struct count *c = ud;
	fuzz_check_reading(r, c->n_values);
	c->accepted++;
}

static void reject(void *ud, enum tc_reject why, const char *detail)
{
	struct count *c = ud;
	if ((int)why < 0 || why >= TC_REJECT__COUNT || !detail) {
		abort();
	}
	c->rejected++;
}

static void *copy(const uint8_t *p, size_t n)
{
	void *b = malloc(n ? n : 1);
	if (!b) {
		abort();
	}
	memcpy(b, p, n);
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2) {
		return 0;
	}
	static const int frame_counts[4] = {1, 2, 0, 3};
	struct count c = {.n_values = 1 + (data[0] & 7)};
	int n_frames = frame_counts[(data[0] >> 3) & 3];
	size_t max_bytes = (data[0] & 0x20) ? 64 : SIZE_MAX;
	data++;
	size--;
	size_t topic_len = 0;
	if (n_frames >= 2) {
		topic_len = data[0] < size - 1 ? data[0] : size - 1;
		data++;
		size--;
	}
	void *topic = copy(data, topic_len);
	void *body = copy(data + topic_len, size - topic_len);
	struct tc_frame frames[3] = {{topic, topic_len}, {body, size - topic_len}, {topic, topic_len}};
	if (n_frames == 1) {
		frames[0] = frames[1];
	}
	struct tc_reading_sink sink = {.accept = accept, .reject = reject, .ud = &c};
	tc_message_parse(frames, n_frames, c.n_values, max_bytes, &sink);
	free(topic);
	free(body);
	return 0;
}
