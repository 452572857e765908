/* test_tick_scaler.c -- the tick engine with model.scaler ema: which input updates a
 * series' scaler, what the echo model sees, the warm flags and the warming count. */
#include "tick_fixture.h"

/* Whether tick i came with warm flags, and series j's flag (1 without them). */
static int has_warm[MAX_TICKS];
static int warm[MAX_TICKS][MAX_SERIES];

static int record_warm(void *ud, const struct tc_forecasts *f)
{
	struct recorder *rec = ud;
	cr_assert_lt(rec->count, MAX_TICKS);
	has_warm[rec->count] = f->warm != NULL;
	for (size_t j = 0; j < f->n && j < MAX_SERIES; j++) {
		warm[rec->count][j] = f->warm ? f->warm[j] : 1;
	}
	return record(ud, f);
}

/* The echo model (forecast tanh of its input) behind an ema scaler. */
static void setup_scaled(struct fixture *fx, enum tc_aggregate aggregate, enum tc_missing missing,
	double alpha, int warmup, uint64_t ttl_ticks)
{
	setup(fx, 1, 1000, aggregate, missing, 10);
	tc_tick_destroy(&fx->tick);
	struct tc_scaler_config sc = {.type = TC_SCALER_EMA, .alpha = alpha, .warmup = warmup};
	fx->tick = tc_tick_create(&fx->cfg, fx->model, 10, ttl_ticks, &sc, fx->err);
	cr_assert_not_null(fx->tick, "%s", fx->err);
	fx->out = (struct tc_emitter){record_warm, &fx->rec};
}

static void expect_warm(int tick, const int *flags, size_t n)
{
	cr_assert(has_warm[tick], "tick %d came without warm flags", tick);
	for (size_t j = 0; j < n; j++) {
		cr_assert_eq(warm[tick][j], flags[j], "tick %d series %zu: warm %d", tick, j,
			warm[tick][j]);
	}
}

#define WARM(...) ((const int[]){__VA_ARGS__}), sizeof((const int[]){__VA_ARGS__}) / sizeof(int)

static uint64_t warming(const struct fixture *fx)
{
	return tc_tick_get_stats(fx->tick)->warming;
}

/* alpha 0.5 and readings 10, 12: m = 11, v = 0.5 * (0 + 0.5 * 2 * 2) = 1, so
 * the second input standardises to z = (12 - 11) / 1 = 1 and its forecast
 * is m + s * tanh(z) = 11 + tanh(1). The first: z = 0, forecast m = 10. */
Test(tick_scaler, standardises_each_reading_after_updating_and_restores_the_forecast)
{
	struct fixture fx;
	setup_scaled(&fx, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 0.5, 2, 0);
	offer_ok(&fx, "a", 10, 0.1);
	cr_assert_eq(warming(&fx), 1, "a new series warms up");
	offer_ok(&fx, "a", 12, 1.1);
	expect_tick(&fx, 0, 0, IDS("a"), OUTS(10.0f), 1e-5f);
	expect_warm(0, WARM(0));
	close_ok(&fx);
	expect_tick(&fx, 1, 1000, IDS("a"), OUTS(11.0f + tanhf(1.0f)), 1e-5f);
	expect_warm(1, WARM(1));
	cr_assert_eq(warming(&fx), 0, "warm after its second reading");
	struct tc_series_info info;
	cr_assert_eq(tc_tick_series(fx.tick, "a", 1, &info), 0);
	cr_assert_eq(info.last_input[0], 12.0f, "last_input stays in the series' units");
	cr_assert_float_eq(info.last_output[0], 11.0f + tanhf(1.0f), 1e-5f,
		"last_forecast is the restored one");
	teardown(&fx);
}

/* With hold, a quiet tick steps the held 12 standardised by m = 11, s = 1 and
 * leaves the scaler as it was: the same forecast again. An update would have
 * moved m to 11.5 and v to 0.75. */
Test(tick_scaler, a_held_input_is_standardised_without_updating_the_scaler)
{
	struct fixture fx;
	setup_scaled(&fx, TC_AGGREGATE_LAST, TC_MISSING_HOLD, 0.5, 3, 0);
	offer_ok(&fx, "a", 10, 0.1);
	offer_ok(&fx, "a", 12, 1.1);
	offer_ok(&fx, "b", 5, 2.1);
	offer_ok(&fx, "a", 12, 3.1);
	close_ok(&fx);
	cr_assert_eq(fx.rec.count, 4);
	const float held = 11.0f + tanhf(1.0f);
	expect_tick(&fx, 1, 1000, IDS("a"), OUTS(held), 1e-5f);
	expect_tick(&fx, 2, 2000, IDS("a", "b"), OUTS(held, 5.0f), 1e-5f);
	expect_warm(2, WARM(0, 0));
	/* The third reading: d = 1, m = 11.5, v = 0.5 * (1 + 0.5) = 0.75. */
	const float third = 11.5f + sqrtf(0.75f) * tanhf(0.5f / sqrtf(0.75f));
	expect_tick(&fx, 3, 3000, IDS("a", "b"), OUTS(third, 5.0f), 1e-5f);
	expect_warm(3, WARM(1, 0));
	cr_assert_eq(warming(&fx), 1, "b has one reading of three");
	teardown(&fx);
}

/* With zero, a quiet tick steps (0 - m) / s: here (0 - 11) / 1, whose echo
 * tanh(-11) is -1 to float precision, so the forecast is m - s = 10. */
Test(tick_scaler, a_zero_input_is_standardised_with_the_current_figures)
{
	struct fixture fx;
	setup_scaled(&fx, TC_AGGREGATE_LAST, TC_MISSING_ZERO, 0.5, 1, 0);
	offer_ok(&fx, "a", 10, 0.1);
	offer_ok(&fx, "a", 12, 1.1);
	offer_ok(&fx, "b", 1, 2.1);
	close_ok(&fx);
	expect_tick(&fx, 2, 2000, IDS("a", "b"), OUTS(10.0f, 1.0f), 1e-5f);
	expect_warm(0, WARM(1));
	struct tc_series_info info;
	cr_assert_eq(tc_tick_series(fx.tick, "a", 1, &info), 0);
	cr_assert_eq(info.last_input[0], 12.0f);
	teardown(&fx);
}

/* The scaler takes the tick's combined reading: the mean of 2 and 4 is one
 * reading of 3 (m = 3), not two readings. */
Test(tick_scaler, updates_once_a_tick_with_the_aggregated_input)
{
	struct fixture fx;
	setup_scaled(&fx, TC_AGGREGATE_MEAN, TC_MISSING_SKIP, 0.5, 2, 0);
	offer_ok(&fx, "a", 2, 0.1);
	offer_ok(&fx, "a", 4, 0.2);
	offer_ok(&fx, "a", 5, 1.1);
	close_ok(&fx);
	expect_tick(&fx, 0, 0, IDS("a"), OUTS(3.0f), 1e-5f);
	expect_warm(0, WARM(0));
	/* d = 2, m = 4, v = 1, z = 1 */
	expect_tick(&fx, 1, 1000, IDS("a"), OUTS(4.0f + tanhf(1.0f)), 1e-5f);
	expect_warm(1, WARM(1));
	teardown(&fx);
}

/* b is freed after 2 idle ticks while warming (the count drops), then comes
 * back as a new series: its first reading sets m afresh (forecast = reading). */
Test(tick_scaler, a_freed_series_leaves_the_warming_count_and_comes_back_fresh)
{
	struct fixture fx;
	setup_scaled(&fx, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 0.5, 3, 2);
	offer_ok(&fx, "a", 1, 0.1);
	offer_ok(&fx, "b", 100, 0.2);
	offer_ok(&fx, "a", 1, 1.1);
	offer_ok(&fx, "b", 200, 1.2);
	cr_assert_eq(warming(&fx), 2);
	offer_ok(&fx, "a", 1, 2.1);
	cr_assert_eq(warming(&fx), 2, "a's third reading is not stepped yet");
	offer_ok(&fx, "a", 1, 3.1);
	cr_assert_eq(warming(&fx), 1, "a is warm");
	offer_ok(&fx, "a", 1, 4.1);
	cr_assert_eq(tc_tick_get_stats(fx.tick)->evicted, 1, "b idle for 2 ticks is freed");
	cr_assert_eq(warming(&fx), 0, "b no longer counts");
	offer_ok(&fx, "a", 1, 5.0);
	offer_ok(&fx, "b", -7, 5.1);
	cr_assert_eq(warming(&fx), 1);
	close_ok(&fx);
	int last = fx.rec.count - 1;
	expect_tick(&fx, last, 5000, IDS("a", "b"), NULL, 0);
	cr_assert_float_eq(fx.rec.ticks[last].out[1], -7.0f, 1e-5f,
		"b starts from a fresh scaler: m = -7, not a blend with 100 and 200");
	expect_warm(last, WARM(1, 0));
	teardown(&fx);
}

Test(tick_scaler, a_warmup_of_zero_is_warm_from_the_first_forecast)
{
	struct fixture fx;
	setup_scaled(&fx, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 0.05, 0, 0);
	offer_ok(&fx, "a", 3, 0.1);
	cr_assert_eq(warming(&fx), 0);
	close_ok(&fx);
	expect_warm(0, WARM(1));
	teardown(&fx);
}

Test(tick_scaler, without_a_scaler_forecasts_carry_no_warm_flags_and_nothing_warms)
{
	struct fixture fx;
	setup(&fx, 1, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 10);
	fx.out = (struct tc_emitter){record_warm, &fx.rec};
	offer_ok(&fx, "a", 0.5f, 0.1);
	close_ok(&fx);
	cr_assert_not(has_warm[0]);
	expect_tick(&fx, 0, 0, IDS("a"), OUTS(tanhf(0.5f)), 1e-6f);
	cr_assert_eq(warming(&fx), 0);
	struct tc_scaler_config none = {.type = TC_SCALER_NONE, .alpha = 0.05, .warmup = 24};
	struct tc_tick *t = tc_tick_create(&fx.cfg, fx.model, 10, 0, &none, fx.err);
	cr_assert_not_null(t, "%s", fx.err);
	tc_tick_destroy(&t);
	teardown(&fx);
}

/* A model swap keeps the series' scalers: they describe the data. */
Test(tick_scaler, a_model_swap_keeps_every_series_scaler)
{
	struct fixture fx;
	setup_scaled(&fx, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 0.5, 2, 0);
	offer_ok(&fx, "a", 10, 0.1);
	offer_ok(&fx, "a", 12, 1.1);
	struct tc_model *constant = make_model(0);
	cr_assert_eq(tc_tick_set_model(fx.tick, constant, 0, fx.err), 0, "%s", fx.err);
	close_ok(&fx);
	/* m = 11, s = 1, and the constant model's 0.5 */
	expect_tick(&fx, 1, 1000, IDS("a"), OUTS(11.5f), 1e-5f);
	expect_warm(1, WARM(1));
	tc_tick_destroy(&fx.tick);
	tc_model_destroy(&constant);
	teardown(&fx);
}
