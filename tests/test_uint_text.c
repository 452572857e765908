/* test_uint_text.c -- tc_uint_text against snprintf("%0*" PRIu64), its oracle. */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "uint_text.h"

static void check(uint64_t v, int min_digits)
{
	char got[TC_UINT_TEXT_MAX + 1];
	char want[32];
	memset(got, '#', sizeof got);
	size_t n = tc_uint_text(got, v, min_digits);
	cr_assert_leq(n, TC_UINT_TEXT_MAX);
	cr_assert_eq(got[n], '#', "no byte past the returned length is written");
	got[n] = '\0';
	snprintf(want, sizeof want, "%0*" PRIu64, min_digits, v);
	cr_assert_str_eq(got, want, "%" PRIu64 " with at least %d digits", v, min_digits);
}

Test(uint_text, writes_what_printf_writes_from_zero_to_uint64_max)
{
	const uint64_t values[] = {0, 1, 9, 10, 99, 100, 12345, 4294967295u, 4294967296u,
		999999999999999999u, 10000000000000000000u, UINT64_MAX};
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		check(values[i], 1);
	}
}

Test(uint_text, pads_with_zeros_to_min_digits_and_never_cuts)
{
	check(0, 3);
	check(5, 2);
	check(7, 3);
	check(45, 2);
	check(123, 2);
	check(UINT64_MAX, TC_UINT_TEXT_MAX);
}
