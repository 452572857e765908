/* watchdog.c -- whether every working thread turned recently (see watchdog.h). */
#include "watchdog.h"

int64_t tc_watchdog_bound_ms(int interval_ms)
{
	int64_t bound = (int64_t)TC_WATCHDOG_INTERVALS * interval_ms;
	return bound > TC_WATCHDOG_FLOOR_MS ? bound : TC_WATCHDOG_FLOOR_MS;
}

unsigned tc_watchdog_stuck(const int64_t *last_turn_ms, int n, int64_t now_ms, int64_t bound_ms)
{
	unsigned stuck = 0;
	for (int i = 0; i < n && i < 32; i++) {
		if (now_ms - last_turn_ms[i] > bound_ms) {
			stuck |= 1u << i;
		}
	}
	return stuck;
}
