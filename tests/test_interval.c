/* test_interval.c -- conformal intervals and live accuracy of one series at a time (engine/interval.h). */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "interval.h"

#define K_MAX 12

/* A fixed pseudo-random stream (xorshift64*), uniform in (0, 1). */
static double uniform(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return ((double)((*s * 2685821657736338717ULL) >> 11) + 0.5) / 9007199254740992.0;
}

/* Laplace noise of scale b: heavier tails than a normal, so that the
 * normal's starting multiplier is wrong and calibration must move it. */
static float laplace(uint64_t *s, double b)
{
	double u = uniform(s) - 0.5;
	return (float)(-b * (u < 0 ? -1.0 : 1.0) * log(1.0 - 2.0 * fabs(u)));
}

static struct tc_interval *make(int k, double level, const struct tc_anomaly_config *anomaly)
{
	struct tc_interval_config cfg = {
		.enabled = 1, .level = level, .target = 0, .learning_rate = 0.05, .window = 50,
	};
	char err[TC_ERR_LEN] = "";
	struct tc_interval *iv = tc_interval_create(k, &cfg, anomaly, err);
	cr_assert_not_null(iv, "%s", err);
	cr_assert_eq(tc_interval_grow(iv, 4, err), 0, "%s", err);
	for (size_t slot = 0; slot < 4; slot++) {
		tc_interval_clear(iv, slot);
	}
	return iv;
}

/* Steps slot 0 through n readings x_t = noise around 0, forecasting 0 for
 * every horizon; counts per horizon how often the published interval (the
 * one made k steps earlier) covered the reading, from step `from` on. */
static void run_noise(struct tc_interval *iv, int k, int n, int from, double b0, double b1,
	double *coverage)
{
	float y[K_MAX] = {0}, lower[K_MAX], upper[K_MAX];
	float lo_hist[K_MAX][K_MAX], up_hist[K_MAX][K_MAX]; /* [issue mod k][horizon] */
	long hits[K_MAX] = {0}, scored[K_MAX] = {0};
	uint64_t seed = 88172645463325252ULL;
	struct tc_interval_tally tally = {0};
	struct tc_anomaly a;
	for (int t = 0; t < n; t++) {
		float x = laplace(&seed, t < n / 2 ? b0 : b1);
		for (int h = 1; h <= k && h <= t; h++) {
			const float *lo = lo_hist[(t - h) % k], *up = up_hist[(t - h) % k];
			if (t >= from && isfinite(lo[h - 1])) {
				scored[h - 1]++;
				hits[h - 1] += x >= lo[h - 1] && x <= up[h - 1];
			}
		}
		tc_interval_observe(iv, 0, x, &tally, &a);
		tc_interval_forecast(iv, 0, y, lower, upper);
		memcpy(lo_hist[t % k], lower, sizeof lower);
		memcpy(up_hist[t % k], upper, sizeof upper);
	}
	for (int h = 0; h < k; h++) {
		coverage[h] = (double)hits[h] / (double)scored[h];
	}
}

Test(interval, normal_quantile_matches_pythons_inverse_cdf)
{
	/* Python's statistics.NormalDist().inv_cdf, an independent algorithm. */
	cr_assert_float_eq(tc_interval_normal_quantile(0.9), 1.2815515655446008, 1e-8);
	cr_assert_float_eq(tc_interval_normal_quantile(0.995), 2.5758293035489, 1e-8);
	cr_assert_float_eq(tc_interval_normal_quantile(0.001), -3.090232306167813, 1e-8);
	cr_assert_float_eq(tc_interval_normal_quantile(0.3), -0.5244005127080407, 1e-8);
}

Test(interval, covers_the_level_of_heavy_tailed_noise_at_every_horizon)
{
	const double levels[] = {0.8, 0.95};
	for (int l = 0; l < 2; l++) {
		struct tc_interval *iv = make(6, levels[l], NULL);
		double cov[K_MAX];
		run_noise(iv, 6, 20000, 200, 1.0, 1.0, cov);
		for (int h = 0; h < 6; h++) {
			cr_assert(fabs(cov[h] - levels[l]) < 0.015, "level %g, horizon %d covered %.4f",
				levels[l], h + 1, cov[h]);
		}
		tc_interval_destroy(&iv);
	}
}

Test(interval, widens_within_a_few_windows_after_the_noise_grows_tenfold)
{
	struct tc_interval *iv = make(3, 0.8, NULL);
	double cov[K_MAX];
	/* 4000 steps: the noise jumps at 2000; score the 1700 steps after 2300. */
	run_noise(iv, 3, 4000, 2300, 1.0, 10.0, cov);
	for (int h = 0; h < 3; h++) {
		cr_assert(fabs(cov[h] - 0.8) < 0.03, "horizon %d covered %.4f after the jump", h + 1,
			cov[h]);
	}
	float y[3] = {0}, lo[3], up[3];
	tc_interval_forecast(iv, 0, y, lo, up);
	/* Laplace(10)'s 80% interval is +/- 10 ln 5 = 16.1. */
	cr_assert(up[0] > 12.0f && up[0] < 21.0f, "half-width %g", up[0]);
	tc_interval_destroy(&iv);
}

Test(interval, output_k_is_scored_against_the_reading_k_steps_later)
{
	/* x_t = t^2; every forecast made at step s says s^2 ... exactly for
	 * output k: (s + k)^2. With the horizons right every error is 0. */
	struct tc_interval *iv = make(4, 0.8, NULL);
	struct tc_interval_tally tally = {0};
	struct tc_anomaly a;
	float y[4], lo[4], up[4];
	for (int t = 0; t < 30; t++) {
		tc_interval_observe(iv, 0, (float)(t * t), &tally, &a);
		for (int k = 0; k < 4; k++) {
			y[k] = (float)((t + k + 1) * (t + k + 1));
		}
		tc_interval_forecast(iv, 0, y, lo, up);
	}
	for (int k = 0; k < 4; k++) {
		cr_assert_eq(lo[k], y[k], "horizon %d: lower %g, forecast %g", k + 1, lo[k], y[k]);
		cr_assert_eq(up[k], y[k]);
		cr_assert_gt(tally.scored[k], 20);
		cr_assert_eq(tally.covered[k], tally.scored[k]);
	}
	struct tc_interval_accuracy acc;
	tc_interval_accuracy(iv, 0, &acc);
	cr_assert_eq(acc.mae, 0.0f);
	cr_assert_eq(acc.mase, 0.0f);
	cr_assert_eq(acc.coverage, 1.0f);
	tc_interval_destroy(&iv);
}

Test(interval, nothing_is_bounded_before_a_reading_is_scored_and_longer_horizons_borrow)
{
	struct tc_interval *iv = make(3, 0.8, NULL);
	struct tc_interval_tally tally = {0};
	struct tc_anomaly a;
	float y[3] = {1, 2, 3}, lo[3], up[3];
	tc_interval_forecast(iv, 0, y, lo, up);
	for (int k = 0; k < 3; k++) {
		cr_assert(isnan(lo[k]) && isnan(up[k]), "horizon %d bounded with nothing scored", k + 1);
	}
	/* The reading 3 is 2 from the one-step forecast 1: s_1 = 2. */
	tc_interval_observe(iv, 0, 3.0f, &tally, &a);
	tc_interval_forecast(iv, 0, y, lo, up);
	float m = (float)(tc_interval_normal_quantile(0.9) * sqrt(M_PI / 2.0));
	cr_assert_float_eq(up[0] - y[0], m * 2.0f, 1e-5);
	cr_assert_float_eq(up[1] - y[1], m * 2.0f * sqrtf(2.0f), 1e-5);
	cr_assert_float_eq(up[2] - y[2], m * 2.0f * sqrtf(3.0f), 1e-5);
	cr_assert_float_eq(y[2] - lo[2], up[2] - y[2], 1e-5);
	/* A NaN reading scores nothing and leaves the previous reading. */
	tc_interval_observe(iv, 0, NAN, &tally, &a);
	struct tc_interval_accuracy acc;
	tc_interval_accuracy(iv, 0, &acc);
	cr_assert_eq(acc.scored, 1);
	tc_interval_destroy(&iv);
}

Test(interval, live_mase_of_the_naive_forecast_is_one)
{
	struct tc_interval *iv = make(2, 0.8, NULL);
	struct tc_interval_tally tally = {0};
	struct tc_anomaly a;
	uint64_t seed = 7;
	float x = 0, y[2], lo[2], up[2];
	for (int t = 0; t < 300; t++) {
		x += laplace(&seed, 1.0);
		tc_interval_observe(iv, 0, x, &tally, &a);
		y[0] = y[1] = x;
		tc_interval_forecast(iv, 0, y, lo, up);
	}
	struct tc_interval_accuracy acc;
	tc_interval_accuracy(iv, 0, &acc);
	cr_assert_float_eq(acc.mase, 1.0f, 1e-5, "live MASE %g", acc.mase);
	cr_assert_gt(acc.mae, 0.3f);
	cr_assert_eq(acc.scored, 50, "scored saturates at the window: %u", acc.scored);
	cr_assert(acc.coverage > 0.6f && acc.coverage < 0.97f, "coverage %g", acc.coverage);
	tc_interval_destroy(&iv);
}

Test(interval, a_spike_is_one_anomaly_with_its_expected_value_and_score)
{
	struct tc_anomaly_config anomaly = { .enabled = 1, .level = 0.99 };
	struct tc_interval *iv = make(2, 0.8, &anomaly);
	struct tc_interval_tally tally = {0};
	uint64_t seed = 99;
	float y[2] = {10, 10}, lo[2], up[2];
	int events = 0, spike = 0;
	for (int t = 0; t < 200; t++) {
		struct tc_anomaly a;
		float x = t == 150 ? 60.0f : 10.0f + laplace(&seed, 0.5);
		if (tc_interval_observe(iv, 0, x, &tally, &a)) {
			events++;
			if (t == 150) {
				spike = 1;
				cr_assert_eq(a.value, 60.0f);
				cr_assert_eq(a.expected, 10.0f);
				cr_assert(a.lower < 10.0f && a.upper > 10.0f && a.upper < 60.0f);
				cr_assert_float_eq(a.score, 50.0f / (a.upper - 10.0f), 1e-4);
				cr_assert_gt(a.score, 5.0f);
			}
		}
		tc_interval_forecast(iv, 0, y, lo, up);
	}
	/* Calm readings fall outside too (1% in the long run, more while the
	 * multiplier climbs from the normal's to Laplace noise's); the spike
	 * must be among them. */
	cr_assert(spike, "the spike was not an anomaly");
	cr_assert(events <= 10, "%d events", events);
	tc_interval_destroy(&iv);
}

Test(interval, a_cleared_slot_starts_over_and_too_many_outputs_are_refused)
{
	struct tc_interval *iv = make(2, 0.8, NULL);
	struct tc_interval_tally tally = {0};
	struct tc_anomaly a;
	float y[2] = {0, 0}, lo[2], up[2];
	for (int t = 0; t < 5; t++) {
		tc_interval_observe(iv, 1, 1.0f, &tally, &a);
		tc_interval_forecast(iv, 1, y, lo, up);
	}
	cr_assert(isfinite(lo[0]));
	tc_interval_clear(iv, 1);
	tc_interval_forecast(iv, 1, y, lo, up);
	cr_assert(isnan(lo[0]) && isnan(up[1]));
	tc_interval_destroy(&iv);

	struct tc_interval_config cfg = { .enabled = 1, .level = 0.8, .learning_rate = 0.05,
		.window = 50 };
	char err[TC_ERR_LEN] = "";
	cr_assert_null(tc_interval_create(TC_INTERVAL_MAX_HORIZONS + 1, &cfg, NULL, err));
	cr_assert(strstr(err, "65 outputs") && strstr(err, "1 to 64"), "%s", err);
}
