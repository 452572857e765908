/* fuzz_reading.c -- libFuzzer harness: one text reading line (tc_reading_parse).
 *
 * The first byte picks how many values the model expects (1..TC_MAX_INPUT),
 * the rest is the line. Whatever the bytes, the parser must return 0 or -1
 * without reading outside the line, and an accepted reading must be what
 * fuzz_check.h says, its id inside the line. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) {
		return 0;
	}
	int n_values = 1 + data[0] % TC_MAX_INPUT;
	const char *line = (const char *)data + 1;
	size_t len = size - 1;
	struct tc_reading r;
	enum tc_reject why;
	char err[TC_ERR_LEN];
	if (tc_reading_parse(&r, line, len, n_values, &why, err) < 0) {
		return 0;
	}
	if (r.id < line || r.id + r.id_len > line + len) {
		abort();
	}
	fuzz_check_reading(&r, n_values);
	return 0;
}
