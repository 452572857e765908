/* test_array.c -- tc_array_grow: growing keeps the items, failing keeps the array. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>

#include "array.h"

Test(array, growing_keeps_the_items_already_there)
{
	uint32_t *a = NULL;
	cr_assert_eq(tc_array_grow((void **)&a, 4, sizeof *a), 0);
	cr_assert_not_null(a);
	for (uint32_t i = 0; i < 4; i++) {
		a[i] = 100 + i;
	}
	cr_assert_eq(tc_array_grow((void **)&a, 1000, sizeof *a), 0);
	a[999] = 7;
	for (uint32_t i = 0; i < 4; i++) {
		cr_assert_eq(a[i], 100 + i);
	}
	free(a);
}

Test(array, an_overflowing_size_fails_and_leaves_the_array_as_it_was)
{
	uint64_t *a = NULL;
	cr_assert_eq(tc_array_grow((void **)&a, 2, sizeof *a), 0);
	a[0] = 11;
	a[1] = 22;
	uint64_t *before = a;
	cr_assert_eq(tc_array_grow((void **)&a, SIZE_MAX / 4, sizeof *a), -1,
		"n * size wraps around: must fail, not allocate a few bytes");
	cr_assert_eq(a, before);
	cr_assert_eq(a[0], 11);
	cr_assert_eq(a[1], 22);
	free(a);
}
