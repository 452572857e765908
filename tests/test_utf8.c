/* test_utf8.c -- well-formed UTF-8 (RFC 3629) and U+FFFD for the rest. */
#include <criterion/criterion.h>
#include <string.h>

#include "utf8.h"

static void expect_valid(const char *s, size_t len, int want)
{
	cr_assert_eq(tc_utf8_valid(s, len), want, "%zu bytes starting 0x%02x", len,
		(unsigned char)s[0]);
}

Test(utf8, accepts_ascii_and_every_length_of_sequence)
{
	expect_valid("cpu.web-1", 9, 1);
	expect_valid("\xc3\xa9", 2, 1);          /* é */
	expect_valid("\xe2\x82\xac", 3, 1);      /* € */
	expect_valid("\xf0\x9f\x98\x80", 4, 1);  /* U+1F600 */
	expect_valid("\xf4\x8f\xbf\xbf", 4, 1);  /* U+10FFFF, the last */
}

Test(utf8, refuses_stray_bytes_overlong_forms_surrogates_and_past_u10ffff)
{
	expect_valid("\xff", 1, 0);
	expect_valid("\x80", 1, 0);              /* a continuation alone */
	expect_valid("\xc0\xaf", 2, 0);          /* overlong '/' */
	expect_valid("\xe0\x80\xaf", 3, 0);      /* overlong, 3 bytes */
	expect_valid("\xed\xa0\x80", 3, 0);      /* U+D800, a surrogate */
	expect_valid("\xf4\x90\x80\x80", 4, 0);  /* U+110000 */
	expect_valid("\xe2\x82", 2, 0);          /* cut short */
}

Test(utf8, replaces_each_bad_byte_with_u_fffd_and_keeps_the_rest)
{
	const char in[] = "a\xff\xc3\xa9\xe2\x82z";
	char out[3 * sizeof in];
	size_t n = tc_utf8_replace_invalid(out, in, sizeof in - 1);
	const char want[] = "a\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbdz";
	cr_assert_eq(n, sizeof want - 1);
	cr_assert_eq(memcmp(out, want, n), 0);
	cr_assert(tc_utf8_valid(out, n));
}
