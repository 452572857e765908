/* test_decimal.c -- tc_decimal_parse against strtod, its oracle: the same
 * tokens accepted, the same doubles to the bit. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"

static uint64_t bits_of(double v)
{
	uint64_t b;
	memcpy(&b, &v, sizeof b);
	return b;
}

/* Parses token from a heap copy of exactly its bytes (so reading past it
 * trips AddressSanitizer) and compares with strtod on a NUL-terminated copy. */
static void check(const char *token)
{
	size_t len = strlen(token);
	char *exact = malloc(len ? len : 1);
	cr_assert_not_null(exact);
	memcpy(exact, token, len);
	double got = 0;
	int rc = tc_decimal_parse(exact, len, &got);
	free(exact);

	char *stop;
	double want = strtod(token, &stop);
	int want_ok = len > 0 && len <= TC_DECIMAL_MAX && stop == token + len;
	cr_assert_eq(rc == 0, want_ok, "\"%s\": accepted %d, strtod %d", token, rc == 0, want_ok);
	if (want_ok && !isnan(want)) {
		cr_assert_eq(bits_of(got), bits_of(want), "\"%s\": %.17g, strtod %.17g", token, got,
			want);
	}
	if (want_ok && isnan(want)) {
		cr_assert(isnan(got), "\"%s\" is nan", token);
	}
}

Test(decimal, reads_edge_tokens_as_strtod_does)
{
	const char *tokens[] = {
		"0", "-0", "+0", "0.0", ".5", "5.", "+.5", "-.5e-3", "1e22", "1e23", "1e-22", "1e-23",
		"9007199254740992", "9007199254740993", "9007199254740993.0", "123456789012345678",
		"1234567890123456789", "12345678901234567890", "0.1", "0.3", "1E+05", "1e05", "1e0005",
		"1e99999", "1e-400", "4.9e-324", "2.2250738585072014e-308", "1.7976931348623157e308",
		"00000000000000000000001", "0.0000000000000000000001", "123.456e-7",
		"1e", "1e+", "e5", ".", "-", "+", "", "inf", "nan", "-infinity", "NaN", "0x1p3",
		"1.5.2", "1,5", " 1", "1 ", "--1", "+-1", "1e1.5", "1ee5", "١",
		"3.4028235e38", "3.4028236e38", "-1.17549435e-38", "21.5", "0.82",
		"0123456789012345678901234567890123456789012345678901234567890123",
	};
	for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
		check(tokens[i]);
	}
}

Test(decimal, reads_random_plain_decimals_as_strtod_does)
{
	uint64_t x = 0x243f6a8885a308d3u;
	char token[80];
	for (int i = 0; i < 300000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t n = 0;
		if (x & 1) {
			token[n++] = (x & 2) ? '-' : '+';
		}
		int int_digits = (int)(x >> 8 & 15), frac_digits = (int)(x >> 12 & 15);
		uint64_t d = x >> 20;
		for (int k = 0; k < int_digits; k++, d = d * 6364136223846793005u + 1) {
			token[n++] = (char)('0' + (d >> 60) % 10);
		}
		if (x & 4) {
			token[n++] = '.';
			for (int k = 0; k < frac_digits; k++, d = d * 6364136223846793005u + 1) {
				token[n++] = (char)('0' + (d >> 60) % 10);
			}
		}
		if (x & 8) {
			n += (size_t)snprintf(token + n, sizeof token - n, "%c%d", (x & 16) ? 'e' : 'E',
				(int)(x >> 40 & 63) - 32);
		}
		token[n] = '\0';
		check(token);
	}
}

/* Every float32 written with nine digits (as forecasts and most producers
 * write them) reads back as the same float through the double. */
Test(decimal, reads_nine_digit_floats_back_to_the_same_float)
{
	uint64_t x = 0x13198a2e03707344u;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint32_t b = (uint32_t)(x >> 32);
		float f;
		memcpy(&f, &b, sizeof f);
		if (!isfinite(f)) {
			continue;
		}
		char token[32];
		snprintf(token, sizeof token, "%.9g", (double)f);
		check(token);
		double v;
		cr_assert_eq(tc_decimal_parse(token, strlen(token), &v), 0);
		cr_assert_eq((float)v, f, "%s", token);
	}
}

Test(decimal, refuses_tokens_longer_than_the_limit)
{
	char token[TC_DECIMAL_MAX + 2];
	memset(token, '1', sizeof token - 1);
	token[sizeof token - 1] = '\0';
	double v;
	cr_assert_eq(tc_decimal_parse(token, TC_DECIMAL_MAX + 1, &v), -1);
	cr_assert_eq(tc_decimal_parse(token, TC_DECIMAL_MAX, &v), 0);
	cr_assert_eq(tc_decimal_parse(token, 0, &v), -1);
}
