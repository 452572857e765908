/* fuzz_reading_binary.c -- libFuzzer harness: the binary reading batch reader.
 *
 * The first byte picks the values per reading (1..TC_MAX_INPUT); the rest is
 * the body, read as ingest reads it (reading_binary.h): init, then next until
 * 0 or -2. Checked: next ends (at most N + 1 calls after init), returns only
 * 1, 0, -1 or -2, every call after 0 or -2 returns 0, and each reading is what
 * fuzz_check.h says with its id inside the body. The accepted readings, encoded
 * again with the writer, must read back as the same readings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "reading_binary.h"

#define KEEP 64 /* readings re-encoded per input */

static void check_round_trip(const struct tc_reading *kept, size_t n, int n_values)
{
	static unsigned char buf[KEEP * (1 + TC_ID_MAX + 4 * TC_MAX_INPUT + 8) + 64];
	size_t len = tc_reading_binary_encode(buf, sizeof buf, kept, n, n_values);
	if (len == 0 || len > sizeof buf) {
		abort();
	}
	struct tc_reading_binary_reader rd;
	char err[TC_ERR_LEN];
	if (tc_reading_binary_reader_init(&rd, buf, len, n_values, err) < 0) {
		abort();
	}
	struct tc_reading r;
	enum tc_reject why;
	for (size_t i = 0; i < n; i++) {
		if (tc_reading_binary_reader_next(&rd, &r, &why, err) != 1 || r.id_len != kept[i].id_len
			|| memcmp(r.id, kept[i].id, r.id_len) != 0 || r.has_time != kept[i].has_time
			|| memcmp(r.values, kept[i].values, sizeof(float) * (size_t)n_values) != 0
			|| (r.has_time && memcmp(&r.time, &kept[i].time, sizeof r.time) != 0)) {
			abort();
		}
	}
	if (tc_reading_binary_reader_next(&rd, &r, &why, err) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) {
		return 0;
	}
	int n_values = 1 + data[0] % TC_MAX_INPUT;
	const unsigned char *body = data + 1;
	size_t len = size - 1;
	struct tc_reading_binary_reader rd;
	char err[TC_ERR_LEN];
	if (tc_reading_binary_reader_init(&rd, body, len, n_values, err) < 0) {
		return 0;
	}
	static struct tc_reading kept[KEEP];
	size_t n_kept = 0;
	uint64_t calls = 0;
	int rc;
	enum tc_reject why;
	struct tc_reading r;
	while ((rc = tc_reading_binary_reader_next(&rd, &r, &why, err)) != 0 && rc != -2) {
		if (++calls > (uint64_t)rd.count + 1) {
			abort();
		}
		if (rc == 1) {
			if ((const unsigned char *)r.id < body
				|| (const unsigned char *)r.id + r.id_len > body + len) {
				abort();
			}
			fuzz_check_reading(&r, n_values);
			if (n_kept < KEEP) {
				kept[n_kept++] = r;
			}
		} else if (rc != -1 || (int)why < 0 || why >= TC_REJECT__COUNT) {
			abort();
		}
	}
	if (rc == -2 && why != TC_REJECT_BAD_MESSAGE) {
		abort();
	}
	if (tc_reading_binary_reader_next(&rd, &r, &why, err) != 0) {
		abort();
	}
	if (n_kept > 0) {
		check_round_trip(kept, n_kept, n_values);
	}
	return 0;
}
