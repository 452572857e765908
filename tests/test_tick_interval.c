/* test_tick_interval.c -- the tick engine with model.intervals and anomaly events. */
#include "tick_fixture.h"

#include <stdlib.h>

/* What the last emitted tick carried, and the anomalies of all of them. */
struct seen {
	int ticks;
	size_t n;
	char ids[MAX_SERIES][16];
	float y[MAX_SERIES], lower[MAX_SERIES], upper[MAX_SERIES];
	int bounded;                 /* lower and upper were given */
	int anomalies;
	char anomaly_id[16];
	struct tc_anomaly anomaly;   /* the last one */
	int64_t anomaly_bucket_ms;
};

static int watch(void *ud, const struct tc_forecasts *f)
{
	struct seen *s = ud;
	s->ticks++;
	s->n = f->n;
	s->bounded = f->lower && f->upper;
	for (size_t i = 0; i < f->n; i++) {
		size_t len;
		const char *id = tc_forecasts_id(f, i, &len);
		snprintf(s->ids[i], sizeof s->ids[i], "%.*s", (int)len, id);
		s->y[i] = f->outputs[i];
		s->lower[i] = f->lower ? f->lower[i] : NAN;
		s->upper[i] = f->upper ? f->upper[i] : NAN;
	}
	for (size_t j = 0; j < f->n_anomalies; j++) {
		const struct tc_anomaly *a = &f->anomalies[j];
		cr_assert_lt(a->row, f->n);
		size_t len;
		const char *id = tc_forecasts_id(f, a->row, &len);
		snprintf(s->anomaly_id, sizeof s->anomaly_id, "%.*s", (int)len, id);
		s->anomaly = *a;
		s->anomaly_bucket_ms = f->bucket_ms;
		s->anomalies++;
	}
	return 0;
}

static void with_intervals(struct fixture *fx, struct seen *s, int anomalies)
{
	setup(fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, MAX_SERIES);
	struct tc_interval_config cfg = { .enabled = 1, .level = 0.8, .target = 0,
		.learning_rate = 0.05, .window = 50 };
	struct tc_anomaly_config an = { .enabled = anomalies, .level = 0.99 };
	cr_assert_eq(tc_tick_set_intervals(fx->tick, &cfg, &an, fx->err), 0, "%s", fx->err);
	fx->out = (struct tc_emitter){watch, s};
}

/* A reading a tick for `series` series (ids s0, s1, ...), noise of the
 * given sizes around the constant model's 0.5, ticks [from, to). */
static void feed(struct fixture *fx, int series, int from, int to, const float *size,
	uint64_t *seed)
{
	for (int t = from; t < to; t++) {
		for (int i = 0; i < series; i++) {
			char id[8];
			snprintf(id, sizeof id, "s%d", i);
			*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
			float u = (float)((*seed >> 40) & 0xffff) / 65536.0f - 0.5f;
			offer_ok(fx, id, 0.5f + size[i] * u, (double)t);
		}
	}
	close_ok(fx);
}

Test(tick_interval, forecasts_carry_bounds_around_them_and_every_reading_is_scored)
{
	struct fixture fx;
	struct seen s = {0};
	with_intervals(&fx, &s, 0);
	uint64_t seed = 1;
	feed(&fx, 2, 0, 60, (const float[]){1.0f, 0.1f}, &seed);
	cr_assert_eq(s.ticks, 60);
	cr_assert(s.bounded);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(s.y[i], 0.5f);
		cr_assert(s.lower[i] < 0.5f && s.upper[i] > 0.5f, "%s: [%g, %g]", s.ids[i],
			s.lower[i], s.upper[i]);
	}
	/* The noisier series gets the wider interval, about 10 times. */
	float wide = s.upper[0] - s.lower[0], narrow = s.upper[1] - s.lower[1];
	cr_assert(wide > 5 * narrow && wide < 20 * narrow, "widths %g and %g", wide, narrow);
	/* Each series: its first reading has no forecast, its second only starts
	 * the error scale; the other 58 are scored. */
	const struct tc_tick_stats *st = tc_tick_get_stats(fx.tick);
	cr_assert_eq(st->intervals.scored[0], 2 * 58);
	cr_assert_leq(st->intervals.covered[0], st->intervals.scored[0]);
	cr_assert_geq(st->intervals.covered[0], 2 * 58 * 6 / 10);

	struct tc_series_info info;
	cr_assert_eq(tc_tick_series(fx.tick, "s0", 2, &info), 0);
	cr_assert(info.has_accuracy);
	cr_assert_eq(info.accuracy.scored, 50);
	cr_assert(isfinite(info.accuracy.mase) && info.accuracy.mase > 0.0f);
	teardown(&fx);
}

Test(tick_interval, a_spike_is_reported_with_its_series_tick_and_bounds)
{
	struct fixture fx;
	struct seen s = {0};
	with_intervals(&fx, &s, 1);
	uint64_t seed = 2;
	const float calm[] = {0.2f, 0.2f, 0.2f};
	feed(&fx, 3, 0, 40, calm, &seed);
	int before = s.anomalies;
	offer_ok(&fx, "s0", 0.5f, 40.0);
	offer_ok(&fx, "s1", 9.5f, 40.0);
	offer_ok(&fx, "s2", 0.5f, 40.0);
	close_ok(&fx);
	cr_assert_eq(s.anomalies, before + 1, "%d anomalies, %d before the spike", s.anomalies,
		before);
	cr_assert_str_eq(s.anomaly_id, "s1");
	cr_assert_eq(s.anomaly_bucket_ms, 40000);
	cr_assert_eq(s.anomaly.value, 9.5f);
	cr_assert_eq(s.anomaly.expected, 0.5f);
	cr_assert(s.anomaly.lower < 0.5f && s.anomaly.upper > 0.5f && s.anomaly.upper < 9.5f);
	cr_assert_float_eq(s.anomaly.score, 9.0f / (s.anomaly.upper - 0.5f), 1e-4);
	cr_assert_eq(tc_tick_get_stats(fx.tick)->anomalies, (uint64_t)s.anomalies);
	teardown(&fx);
}

Test(tick_interval, the_summary_gives_the_median_and_p90_of_the_live_mase)
{
	struct fixture fx;
	struct seen s = {0};
	with_intervals(&fx, &s, 0);
	uint64_t seed = 3;
	feed(&fx, 5, 0, 80, (const float[]){1, 1, 1, 1, 1}, &seed);
	struct tc_tick_accuracy acc;
	cr_assert_eq(tc_tick_accuracy(fx.tick, &acc, fx.err), 0);
	cr_assert_eq(acc.horizons, 1);
	cr_assert_eq(acc.series, 5);
	float mase[5];
	for (int i = 0; i < 5; i++) {
		char id[8];
		snprintf(id, sizeof id, "s%d", i);
		struct tc_series_info info;
		cr_assert_eq(tc_tick_series(fx.tick, id, strlen(id), &info), 0);
		mase[i] = info.accuracy.mase;
	}
	/* Sorted by hand: the median is the third, the p90 (nearest rank 5) the largest. */
	for (int i = 0; i < 5; i++) {
		for (int j = i + 1; j < 5; j++) {
			if (mase[j] < mase[i]) {
				float x = mase[i];
				mase[i] = mase[j];
				mase[j] = x;
			}
		}
	}
	cr_assert_eq((float)acc.mase_median, mase[2]);
	cr_assert_eq((float)acc.mase_p90, mase[4]);
	/* A constant forecast of white noise: about 1/sqrt(2)-ish of the naive error. */
	cr_assert(acc.mase_median > 0.4 && acc.mase_median < 1.0, "median %g", acc.mase_median);
	cr_assert_eq(acc.scored, tc_tick_get_stats(fx.tick)->intervals.scored[0]);
	teardown(&fx);
}

Test(tick_interval, impossible_settings_are_refused_with_the_reason)
{
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, MAX_SERIES);
	struct tc_interval_config cfg = { .enabled = 1, .level = 0.8, .target = 1,
		.learning_rate = 0.05, .window = 50 };
	cr_assert_eq(tc_tick_set_intervals(fx.tick, &cfg, NULL, fx.err), -1);
	cr_assert(strstr(fx.err, "target is column 1") && strstr(fx.err, "1 value"), "%s", fx.err);
	struct tc_interval_config off = cfg;
	off.enabled = 0;
	struct tc_anomaly_config an = { .enabled = 1, .level = 0.99 };
	cr_assert_eq(tc_tick_set_intervals(fx.tick, &off, &an, fx.err), -1);
	cr_assert(strstr(fx.err, "anomaly events need model.intervals"), "%s", fx.err);
	struct tc_tick_accuracy acc;
	cr_assert_eq(tc_tick_accuracy(fx.tick, &acc, fx.err), 0);
	cr_assert_eq(acc.horizons, 0);
	teardown(&fx);
}
