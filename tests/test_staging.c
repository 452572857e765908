/* test_staging.c -- one tick's readings per slot, combined by each aggregate. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "staging.h"

/* Three readings of a width-3 input, chosen so that every aggregate is exact
 * in float and worked out by hand below:
 *   r1 = ( 1,  2,   3)
 *   r2 = ( 4, -5,   6)
 *   r3 = ( 7,  9, -12)
 * last = r3; sum = (12, 6, -3); mean = sum / 3 = (4, 2, -1);
 * min = (1, -5, -12); max = (7, 9, 6). */
static const float readings[3][3] = {{1, 2, 3}, {4, -5, 6}, {7, 9, -12}};

static struct tc_staging *make(enum tc_aggregate aggregate)
{
	char err[TC_ERR_LEN] = "";
	struct tc_staging *s = tc_staging_create(3, aggregate, err);
	cr_assert_not_null(s, "create failed: %s", err);
	return s;
}

static void add(struct tc_staging *s, uint32_t slot, const float *v)
{
	cr_assert_eq(tc_staging_add(s, slot, v), 0, "add to slot %u failed", slot);
}

static void assert_value(const struct tc_staging *s, uint32_t slot, const float *want)
{
	float got[3] = {-777, -777, -777};
	tc_staging_value(s, slot, got);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(got[i], want[i], "slot %u value %d is %g, expected %g", slot, i,
			(double)got[i], (double)want[i]);
	}
}

/* Adds the three readings to slot 4 and checks the combined input. */
static void check_aggregate(enum tc_aggregate aggregate, const float *want)
{
	struct tc_staging *s = make(aggregate);
	for (int i = 0; i < 3; i++) {
		add(s, 4, readings[i]);
	}
	cr_assert_eq(tc_staging_count(s, 4), 3);
	assert_value(s, 4, want);
	tc_staging_destroy(&s);
}

Test(staging, last_keeps_the_latest_reading)
{
	check_aggregate(TC_AGGREGATE_LAST, (const float[]){7, 9, -12});
}

Test(staging, mean_averages_each_value_over_the_readings)
{
	check_aggregate(TC_AGGREGATE_MEAN, (const float[]){4, 2, -1});
}

Test(staging, min_takes_each_values_minimum)
{
	check_aggregate(TC_AGGREGATE_MIN, (const float[]){1, -5, -12});
}

Test(staging, max_takes_each_values_maximum)
{
	check_aggregate(TC_AGGREGATE_MAX, (const float[]){7, 9, 6});
}

Test(staging, sum_adds_each_value_over_the_readings)
{
	check_aggregate(TC_AGGREGATE_SUM, (const float[]){12, 6, -3});
}

Test(staging, a_single_reading_is_its_own_aggregate_under_every_rule)
{
	const enum tc_aggregate all[] = {TC_AGGREGATE_LAST, TC_AGGREGATE_MEAN,
		TC_AGGREGATE_MIN, TC_AGGREGATE_MAX, TC_AGGREGATE_SUM};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		struct tc_staging *s = make(all[i]);
		add(s, 0, readings[1]);
		cr_assert_eq(tc_staging_count(s, 0), 1);
		assert_value(s, 0, readings[1]);
		tc_staging_destroy(&s);
	}
}

Test(staging, keeps_each_slots_readings_apart)
{
	struct tc_staging *s = make(TC_AGGREGATE_SUM);
	add(s, 0, readings[0]);
	add(s, 1, readings[1]);
	add(s, 0, readings[2]);
	cr_assert_eq(tc_staging_count(s, 0), 2);
	cr_assert_eq(tc_staging_count(s, 1), 1);
	assert_value(s, 0, (const float[]){8, 11, -9});
	assert_value(s, 1, readings[1]);
	tc_staging_destroy(&s);
}

Test(staging, lists_touched_slots_in_order_of_their_first_reading)
{
	struct tc_staging *s = make(TC_AGGREGATE_LAST);
	const uint32_t order[] = {7, 2, 7, 5, 2, 0};
	for (size_t i = 0; i < 6; i++) {
		add(s, order[i], readings[0]);
	}
	const uint32_t *touched = NULL;
	size_t n = tc_staging_touched(s, &touched);
	cr_assert_eq(n, 4);
	const uint32_t want[] = {7, 2, 5, 0};
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(touched[i], want[i], "touched[%zu] = %u, expected %u", i, touched[i],
			want[i]);
	}
	tc_staging_destroy(&s);
}

Test(staging, reports_zero_readings_for_an_untouched_slot_even_far_past_the_end)
{
	struct tc_staging *s = make(TC_AGGREGATE_LAST);
	cr_assert_eq(tc_staging_count(s, 0), 0, "nothing added yet");
	cr_assert_eq(tc_staging_count(s, UINT32_MAX), 0);
	add(s, 3, readings[0]);
	cr_assert_eq(tc_staging_count(s, 2), 0);
	cr_assert_eq(tc_staging_count(s, 4), 0);
	cr_assert_eq(tc_staging_count(s, 1000000), 0);
	cr_assert_eq(tc_staging_count(s, UINT32_MAX), 0);
	tc_staging_destroy(&s);
}

Test(staging, reset_forgets_the_ticks_counts_sums_and_touched_list)
{
	struct tc_staging *s = make(TC_AGGREGATE_MEAN);
	add(s, 1, readings[0]);
	add(s, 1, readings[1]);
	add(s, 6, readings[2]);
	tc_staging_reset(s);
	cr_assert_eq(tc_staging_count(s, 1), 0);
	cr_assert_eq(tc_staging_count(s, 6), 0);
	const uint32_t *touched = NULL;
	cr_assert_eq(tc_staging_touched(s, &touched), 0);

	/* The next tick starts from its own first reading, not the old sum. */
	add(s, 6, readings[0]);
	add(s, 1, readings[2]);
	cr_assert_eq(tc_staging_count(s, 1), 1);
	assert_value(s, 1, readings[2]);
	assert_value(s, 6, readings[0]);
	cr_assert_eq(tc_staging_touched(s, &touched), 2);
	cr_assert_eq(touched[0], 6);
	cr_assert_eq(touched[1], 1);
	tc_staging_destroy(&s);
}

Test(staging, grows_for_slots_far_past_its_capacity_keeping_earlier_readings)
{
	struct tc_staging *s = make(TC_AGGREGATE_MAX);
	add(s, 2, readings[0]);
	add(s, 100000, readings[1]);
	add(s, 2, readings[1]);
	add(s, 1000000, readings[2]);
	add(s, 100000, readings[2]);
	cr_assert_eq(tc_staging_count(s, 2), 2);
	cr_assert_eq(tc_staging_count(s, 100000), 2);
	cr_assert_eq(tc_staging_count(s, 1000000), 1);
	cr_assert_eq(tc_staging_count(s, 99999), 0, "a slot in the grown range starts empty");
	cr_assert_eq(tc_staging_count(s, 999999), 0);
	assert_value(s, 2, (const float[]){4, 2, 6});
	assert_value(s, 100000, (const float[]){7, 9, 6});
	assert_value(s, 1000000, readings[2]);
	const uint32_t *touched = NULL;
	cr_assert_eq(tc_staging_touched(s, &touched), 3);
	cr_assert_eq(touched[0], 2);
	cr_assert_eq(touched[1], 100000);
	cr_assert_eq(touched[2], 1000000);
	tc_staging_destroy(&s);
}

Test(staging, grow_makes_room_ahead_keeping_readings_and_adds_below_it_stay_in_it)
{
	const size_t per_slot = 3 * sizeof(float) + 2 * sizeof(uint32_t);
	struct tc_staging *s = make(TC_AGGREGATE_SUM);
	cr_assert_eq(tc_staging_memory(s), 0);
	add(s, 3, readings[0]);
	cr_assert_eq(tc_staging_grow(s, 5000), 0);
	cr_assert_eq(tc_staging_memory(s), 5000 * per_slot);
	cr_assert_eq(tc_staging_grow(s, 10), 0, "shrinking is a no-op");
	add(s, 4999, readings[1]);
	add(s, 3, readings[2]);
	cr_assert_eq(tc_staging_memory(s), 5000 * per_slot, "slots below the capacity fit");
	cr_assert_eq(tc_staging_count(s, 4998), 0, "a slot in the grown range starts empty");
	cr_assert_eq(tc_staging_count(s, 3), 2);
	assert_value(s, 3, (const float[]){8, 11, -9});
	assert_value(s, 4999, readings[1]);
	tc_staging_destroy(&s);
}

Test(staging, touches_every_one_of_many_slots_once)
{
	/* More touched slots than the first allocation holds. */
	struct tc_staging *s = make(TC_AGGREGATE_SUM);
	for (uint32_t i = 0; i < 5000; i++) {
		float v[3] = {(float)i, 1, -1};
		add(s, 4999 - i, v);
		add(s, 4999 - i, v);
	}
	const uint32_t *touched = NULL;
	cr_assert_eq(tc_staging_touched(s, &touched), 5000);
	for (uint32_t i = 0; i < 5000; i++) {
		cr_assert_eq(touched[i], 4999 - i);
	}
	assert_value(s, 0, (const float[]){2 * 4999.0f, 2, -2});
	tc_staging_destroy(&s);
}

Test(staging, destroy_sets_the_pointer_to_null_and_accepts_null)
{
	struct tc_staging *s = make(TC_AGGREGATE_LAST);
	tc_staging_destroy(&s);
	cr_assert_null(s);
	tc_staging_destroy(&s);
	tc_staging_destroy(NULL);
}
