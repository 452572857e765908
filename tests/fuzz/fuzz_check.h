/* fuzz_check.h -- what every accepted reading must be, checked the same way by
 * each reading harness: a crash (abort) is how libFuzzer hears of a break.
 *
 * reading.h's contract: an id that tc_series_id_check accepts, exactly the
 * expected number of values, all finite, and a timestamp, when there is one,
 * that tc_reading_time_check accepts. */
#ifndef TC_FUZZ_CHECK_H
#define TC_FUZZ_CHECK_H

#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "reading.h"
#include "series_id.h"

static void fuzz_check_reading(const struct tc_reading *r, int n_values)
{
	char err[TC_ERR_LEN];
	if (tc_series_id_check(r->id, r->id_len, err) < 0 || r->n_values != n_values) {
		abort();
	}
	for (int i = 0; i < r->n_values; i++) {
		if (!isfinite(r->values[i])) {
			abort();
		}
	}
	if (r->has_time && (!isfinite(r->time) || tc_reading_time_check(r->time, err) < 0)) {
		abort();
	}
}

#endif
