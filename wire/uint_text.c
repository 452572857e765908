/* uint_text.c -- unsigned integers as decimal text (see uint_text.h). */
#include "uint_text.h"

size_t tc_uint_text(char *out, uint64_t v, int min_digits)
{
	char tmp[TC_UINT_TEXT_MAX];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v || n < min_digits);
	for (int i = 0; i < n; i++) {
		out[i] = tmp[n - 1 - i];
	}
	return (size_t)n;
}
