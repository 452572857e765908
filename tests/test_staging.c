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

/* Takes slot's combined input (which empties the slot) and checks it. */
static void assert_value(struct tc_staging *s, uint32_t slot, const float *want)
{
	float got[3] = {-777, -777, -777};
	uint32_t count = tc_staging_count(s, slot);
	cr_assert_eq(tc_staging_take(s, slot, got), count, "take returns the readings combined");
	cr_assert_eq(tc_staging_count(s, slot), 0, "take empties the slot");
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

Test(staging, take_of_an_empty_slot_returns_zero_and_leaves_out_alone)
{
	struct tc_staging *s = make(TC_AGGREGATE_LAST);
	add(s, 7, readings[0]);
	float out[3] = {-777, -777, -777};
	cr_assert_eq(tc_staging_take(s, 2, out), 0);
	cr_assert_eq(tc_staging_take(s, UINT32_MAX, out), 0, "past the end is empty too");
	cr_assert_eq(out[0], -777);
	cr_assert_eq(out[2], -777);
	assert_value(s, 7, readings[0]);
	cr_assert_eq(tc_staging_take(s, 7, out), 0, "a slot taken once is empty");
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

Test(staging, after_take_the_next_tick_starts_from_its_own_first_reading)
{
	struct tc_staging *s = make(TC_AGGREGATE_MEAN);
	add(s, 1, readings[0]);
	add(s, 1, readings[1]);
	add(s, 6, readings[2]);
	assert_value(s, 1, (const float[]){2.5f, -1.5f, 4.5f});
	assert_value(s, 6, readings[2]);

	/* Not the old sum, nor the old count. */
	add(s, 6, readings[0]);
	add(s, 1, readings[2]);
	cr_assert_eq(tc_staging_count(s, 1), 1);
	assert_value(s, 1, readings[2]);
	assert_value(s, 6, readings[0]);
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
	tc_staging_destroy(&s);
}

Test(staging, grow_makes_room_ahead_keeping_readings_and_adds_below_it_stay_in_it)
{
	const size_t per_slot = 3 * sizeof(float) + sizeof(uint32_t);
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

Test(staging, keeps_many_slots_apart)
{
	/* More slots than the first allocation holds. */
	struct tc_staging *s = make(TC_AGGREGATE_SUM);
	for (uint32_t i = 0; i < 5000; i++) {
		float v[3] = {(float)i, 1, -1};
		add(s, 4999 - i, v);
		add(s, 4999 - i, v);
	}
	for (uint32_t slot = 0; slot < 5000; slot++) {
		cr_assert_eq(tc_staging_count(s, slot), 2);
		assert_value(s, slot, (const float[]){2.0f * (float)(4999 - slot), 2, -2});
	}
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
