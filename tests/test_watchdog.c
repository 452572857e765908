/* test_watchdog.c -- the watchdog's rule: ping only while every working thread turns. */
#include <criterion/criterion.h>

#include <stdint.h>

#include "watchdog.h"

Test(watchdog, the_bound_is_three_tick_intervals_but_at_least_a_second)
{
	cr_assert_eq(tc_watchdog_bound_ms(1), 1000);
	cr_assert_eq(tc_watchdog_bound_ms(100), 1000);
	cr_assert_eq(tc_watchdog_bound_ms(333), 1000);
	cr_assert_eq(tc_watchdog_bound_ms(334), 1002);
	cr_assert_eq(tc_watchdog_bound_ms(1000), 3000);
	cr_assert_eq(tc_watchdog_bound_ms(86400000), 259200000, "a day's interval does not overflow");
}

Test(watchdog, threads_that_turned_within_the_bound_let_the_ping_through)
{
	const int64_t last[] = {50000, 49000};
	cr_assert_eq(tc_watchdog_stuck(last, 2, 50000, 1000), 0, "both just turned");
	cr_assert_eq(tc_watchdog_stuck(last, 2, 49000 + 1000, 1000), 0, "exactly at the bound");
	cr_assert_eq(tc_watchdog_stuck(last, 0, 99999, 1000), 0, "no threads, nothing stuck");
}

Test(watchdog, a_thread_past_the_bound_holds_the_ping_back_and_is_named)
{
	const int64_t last[] = {50000, 49000};
	cr_assert_eq(tc_watchdog_stuck(last, 2, 50001, 1000), 1u << 1,
		"the second thread is 1001 ms behind");
	const int64_t tick_stuck[] = {10000, 60000};
	cr_assert_eq(tc_watchdog_stuck(tick_stuck, 2, 60050, 1000), 1u << 0);
}

Test(watchdog, every_stuck_thread_is_named)
{
	const int64_t last[] = {10000, 20000, 59900};
	cr_assert_eq(tc_watchdog_stuck(last, 3, 60000, 3000), (1u << 0) | (1u << 1));
}
