/* test_series_id.c -- the one check of a series id: its length limit and its bytes. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "series_id.h"

/* Checks a heap copy of exactly len bytes of id (no NUL after it), so a
 * check that reads past len trips AddressSanitizer. Returns its result. */
static int check(const char *id, size_t len, char *err)
{
	char *copy = malloc(len ? len : 1);
	cr_assert_not_null(copy);
	memcpy(copy, id, len);
	err[0] = '\0';
	int rc = tc_series_id_check(copy, len, err);
	free(copy);
	return rc;
}

static void expect_bad(const char *id, size_t len, const char *msg)
{
	char err[TC_ERR_LEN];
	cr_assert_eq(check(id, len, err), -1, "\"%.*s\" was accepted", (int)len, id);
	cr_assert_str_eq(err, msg);
}

Test(series_id, ids_of_1_to_255_printable_bytes_are_valid)
{
	char err[TC_ERR_LEN];
	char longest[TC_ID_MAX];
	memset(longest, 'z', sizeof longest);
	cr_assert_eq(check("a", 1, err), 0, "%s", err);
	cr_assert_eq(check("cpu.host-7/eu_west:1", 20, err), 0, "%s", err);
	cr_assert_eq(check("\xc3\xa9t\xc3\xa9", 5, err), 0, "UTF-8 is fine: %s", err);
	cr_assert_eq(check(longest, TC_ID_MAX, err), 0, "%s", err);
}

Test(series_id, an_empty_or_overlong_id_is_refused_saying_which)
{
	char over[TC_ID_MAX + 1];
	memset(over, 'z', sizeof over);
	over[0] = '\x01'; /* the length is reported, not the byte */
	expect_bad("", 0, "empty series id");
	expect_bad(over, sizeof over, "series id is 256 bytes, the limit is 255");
}

Test(series_id, a_space_or_control_character_is_refused_with_its_position)
{
	expect_bad("a b", 3, "series id has a space 0x20 at byte 2");
	expect_bad("\tab", 3, "series id has control character 0x09 at byte 1");
	expect_bad("ab\n", 3, "series id has control character 0x0a at byte 3");
	expect_bad("a\0b", 3, "series id has control character 0x00 at byte 2");
	expect_bad("ab\x7f", 3, "series id has control character 0x7f at byte 3");
}
