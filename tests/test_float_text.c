/* test_float_text.c -- tc_float_text against glibc's snprintf("%.9g"), its oracle. */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "float_text.h"

static float from_bits(uint32_t bits)
{
	float v;
	memcpy(&v, &bits, sizeof v);
	return v;
}

static uint32_t to_bits(float v)
{
	uint32_t bits;
	memcpy(&bits, &v, sizeof bits);
	return bits;
}

/* Asserts that v is written as printf writes it and, when finite, reads back as v. */
static void check(float v)
{
	char fast[TC_FLOAT_TEXT_MAX + 1];
	char oracle[64];
	size_t len = tc_float_text(fast, v);
	cr_assert_leq(len, TC_FLOAT_TEXT_MAX - 1, "%zu bytes for %08x", len, to_bits(v));
	fast[len] = '\0';
	snprintf(oracle, sizeof oracle, "%.9g", (double)v);
	cr_assert_str_eq(fast, oracle, "float %08x", to_bits(v));
	if (!isnan(v)) {
		cr_assert_eq(to_bits(strtof(fast, NULL)), to_bits(v), "%s does not read back", fast);
	}
}

Test(float_text, writes_special_and_extreme_values_as_printf_does)
{
	const float values[] = {
		0.0f, -0.0f, NAN, -NAN, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, FLT_MIN,
		FLT_TRUE_MIN, -FLT_TRUE_MIN, nextafterf(FLT_MIN, 0), 1.0f, -1.0f, 0.1f, 0.5f,
		1e-4f, 9.99999e-5f, 1e-5f, 123456789.0f, 999999999.0f, 1e9f, 1e10f, 100.0f,
		16777216.0f, 16777217.0f, 3.14159265f, -2.5e-38f, 1e38f,
	};
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		check(values[i]);
	}
}

/* Where the fixed/exponent switch, the ninth digit's carry into a new
 * decade and the first-digit estimate can go wrong: a few floats either
 * side of every power of ten and of two. */
Test(float_text, writes_floats_beside_every_power_of_ten_and_two_as_printf_does)
{
	for (int e = -45; e <= 38; e++) {
		float p = (float)pow(10.0, e);
		for (int side = 0; side < 2; side++) {
			float v = p;
			for (int step = 0; step < 6 && isfinite(v) && v > 0; step++) {
				check(v);
				check(-v);
				v = nextafterf(v, side ? INFINITY : 0.0f);
			}
		}
	}
	for (int e = -149; e <= 127; e++) {
		float p = ldexpf(1.0f, e);
		check(p);
		check(nextafterf(p, 0.0f));
		check(nextafterf(p, INFINITY));
	}
}

/* Found by a sweep of every 97th float: the double arithmetic put the
 * ninth digit on the wrong side of a near-tie before such values were
 * handed to snprintf. */
Test(float_text, writes_near_ties_as_printf_does)
{
	check(from_bits(0x653812e1));   /* 5.43289805e+22 */
	check(from_bits(0xe68442d3));   /* -3.12292533e+23 */
	check(from_bits(0xf1122a80));   /* -7.23779053e+29 */
}

Test(float_text, writes_a_million_random_floats_as_printf_does)
{
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (int i = 0; i < 1000000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		check(from_bits((uint32_t)(x >> 32)));
	}
}

Test(float_text, writes_forecast_like_values_as_printf_does)
{
	/* values of the size forecasts have, on a fine grid */
	for (int i = -200000; i <= 200000; i++) {
		check((float)i * 0.00123f);
	}
}
