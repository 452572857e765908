/* fuzz_decimal.c -- libFuzzer harness: tc_decimal_parse against strtod, differentially.
 *
 * decimal.h's contract, for any len bytes s: the result is -1 when len is 0
 * or over TC_DECIMAL_MAX; otherwise it is 0 exactly when strtod, given the
 * bytes NUL-terminated, consumes all len of them (an embedded NUL therefore
 * means -1), and then *out is strtod's value bit for bit (inf and nan
 * included). Both the fast path and the fallback must keep to it; the fast
 * path's rounding is what this checks hardest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	double got;
	int rc = tc_decimal_parse(s, size, &got);
	if (size == 0 || size > TC_DECIMAL_MAX) {
		if (rc != -1) {
			abort();
		}
		return 0;
	}
	char buf[TC_DECIMAL_MAX + 1];
	memcpy(buf, s, size);
	buf[size] = '\0';
	char *stop;
	double want = strtod(buf, &stop);
	int whole = stop == buf + size;
	if (rc != (whole ? 0 : -1)) {
		abort();
	}
	if (whole && memcmp(&got, &want, sizeof got) != 0) {
		abort();
	}
	return 0;
}
