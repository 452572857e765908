/* test_tick_daemon.c -- what the daemon needs of the tick engine beyond
 * replay: the wall clock, TTL eviction, model swaps and per-series info. */
#include "tick_fixture.h"

/* As setup(), with the clock and ttl_ticks chosen. */
static void setup_daemon(struct fixture *fx, int echo, enum tc_clock clock,
	enum tc_missing missing, uint64_t ttl_ticks)
{
	setup(fx, echo, 1000, TC_AGGREGATE_LAST, missing, 100);
	tc_tick_destroy(&fx->tick);
	fx->cfg.clock = clock;
	fx->tick = tc_tick_create(&fx->cfg, fx->model, 100, ttl_ticks, NULL, fx->err);
	cr_assert_not_null(fx->tick, "%s", fx->err);
}

static void offer_untimed(struct fixture *fx, const char *id, float x)
{
	struct tc_reading r = reading(id, x, 0);
	r.has_time = 0;
	enum tc_reject why;
	cr_assert_eq(tc_tick_offer(fx->tick, &r, &fx->out, &why, fx->err), 0, "%s", fx->err);
}

static void close_wall(struct fixture *fx, int64_t bucket)
{
	cr_assert_eq(tc_tick_close_wall(fx->tick, bucket, &fx->out, fx->err), 0, "%s", fx->err);
}

/* A one-layer model of `hidden` units, zero but the head bias 0.25. */
static struct tc_model *zero_model(int input_size, int hidden)
{
	static const float zero[64], quarter[1] = {0.25f};
	struct tc_model_spec spec;
	tc_model_spec_init(&spec);
	spec.input_size = input_size;
	spec.n_layers = 1;
	spec.hidden[0] = hidden;
	spec.outputs = 1;
	struct tc_model_weights w = {
		.layer[0] = {zero, zero, zero, zero},
		.head[0] = {zero, quarter},
	};
	char err[TC_ERR_LEN];
	struct tc_model *m = tc_model_create(&spec, &w, err);
	cr_assert_not_null(m, "%s", err);
	return m;
}

Test(tick_daemon, the_wall_clock_takes_readings_without_timestamps_into_the_given_bucket)
{
	struct fixture fx;
	setup_daemon(&fx, 1, TC_CLOCK_WALL, TC_MISSING_SKIP, 0);
	offer_untimed(&fx, "a", 0.5f);
	offer_untimed(&fx, "b", -1.0f);
	cr_assert(tc_tick_has_open(fx.tick));
	close_wall(&fx, 7);
	cr_assert(!tc_tick_has_open(fx.tick));
	expect_tick(&fx, 0, 7000, IDS("a", "b"), OUTS(tanhf(0.5f), tanhf(-1.0f)), 1e-6f);
	teardown(&fx);
}

Test(tick_daemon, the_wall_clock_steps_held_series_every_interval_even_without_readings)
{
	struct fixture fx;
	setup_daemon(&fx, 1, TC_CLOCK_WALL, TC_MISSING_HOLD, 0);
	offer_untimed(&fx, "a", 0.25f);
	close_wall(&fx, 1);
	close_wall(&fx, 2);
	close_wall(&fx, 3);
	cr_assert_eq(fx.rec.count, 3);
	expect_tick(&fx, 2, 3000, IDS("a"), OUTS(tanhf(0.25f)), 1e-6f);
	teardown(&fx);
}

Test(tick_daemon, an_empty_wall_tick_with_skip_steps_nothing_but_counts)
{
	struct fixture fx;
	setup_daemon(&fx, 0, TC_CLOCK_WALL, TC_MISSING_SKIP, 0);
	close_wall(&fx, 4);
	cr_assert_eq(fx.rec.count, 1);
	cr_assert_eq(fx.rec.ticks[0].n, 0);
	cr_assert_eq(tc_tick_get_stats(fx.tick)->ticks, 1);
	teardown(&fx);
}

Test(tick_daemon, a_series_idle_for_ttl_ticks_is_freed_and_comes_back_fresh)
{
	struct fixture fx;
	setup_daemon(&fx, 1, TC_CLOCK_WALL, TC_MISSING_SKIP, 2);
	offer_untimed(&fx, "a", 0.5f);
	offer_untimed(&fx, "b", 0.5f);
	close_wall(&fx, 0);                 /* tick 0: both read */
	offer_untimed(&fx, "b", 0.5f);
	close_wall(&fx, 1);                 /* tick 1: a idle for 1 */
	struct tc_series_info info;
	cr_assert_eq(tc_tick_series(fx.tick, "a", 1, &info), 0, "a was freed too early");
	cr_assert_eq(info.age_ticks, 1);
	offer_untimed(&fx, "b", 0.5f);
	close_wall(&fx, 2);                 /* tick 2: a idle for 2: freed */
	cr_assert_eq(tc_tick_series(fx.tick, "a", 1, &info), -1, "a should be freed");
	cr_assert_eq(tc_tick_get_stats(fx.tick)->evicted, 1);
	cr_assert_eq(tc_registry_count(tc_tick_registry(fx.tick)), 1);
	offer_untimed(&fx, "a", -0.5f);
	cr_assert_eq(tc_tick_series(fx.tick, "a", 1, &info), 0);
	cr_assert_eq(info.stepped, 0, "a came back with an old state");
	cr_assert_eq(info.slot, 0, "a should reuse its freed slot");
	offer_untimed(&fx, "b", 0.5f);
	close_wall(&fx, 3);
	expect_tick(&fx, 3, 3000, IDS("a", "b"), NULL, 0);
	teardown(&fx);
}

static int count_forecasts(void *ud, const struct tc_forecasts *f)
{
	*(size_t *)ud += f->n;
	return 0;
}

/* The per-series arrays grow by half from 1024 slots and stop at
 * max_series, so an engine holding max_series series holds no slack. */
Test(tick_daemon, grows_its_per_series_arrays_by_half_up_to_max_series)
{
	struct fixture fx;
	setup(&fx, 1, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 2000);
	size_t forecasts = 0;
	fx.out = (struct tc_emitter){count_forecasts, &forecasts};
	struct tc_tick_memory mem;
	tc_tick_memory(fx.tick, &mem);
	cr_assert_eq(mem.capacity, 0);
	static char ids[2000][8];
	for (int i = 0; i < 2000; i++) {
		snprintf(ids[i], sizeof ids[i], "s%d", i);
		offer_ok(&fx, ids[i], 0.5f, 0.5);
		tc_tick_memory(fx.tick, &mem);
		size_t want = i < 1024 ? 1024 : i < 1536 ? 1536 : 2000;
		if (mem.capacity != want) {
			cr_assert_fail("after %d series: capacity %zu, expected %zu", i + 1, mem.capacity,
				want);
		}
	}
	/* Each part at that capacity, as tick.h, staging.h and state.h size it:
	 * one GRU layer of 2 units, input 1, output 1, no scaler. */
	cr_assert_eq(mem.state, 2000 * 2 * sizeof(float));
	cr_assert_eq(mem.series, 2000 * (sizeof(float) + sizeof(float) + sizeof(uint64_t) + 1));
	cr_assert_eq(mem.batch, 2000 * (sizeof(uint32_t) + sizeof(float) + sizeof(float) + 1));
	cr_assert_eq(mem.staging, 2000 * (sizeof(float) + sizeof(uint32_t)));
	cr_assert_eq(mem.scaler, 0);
	cr_assert_gt(mem.registry_table, 0);
	cr_assert_gt(mem.registry_ids, 0);
	close_ok(&fx);
	cr_assert_eq(forecasts, 2000);
	teardown(&fx);
}

Test(tick_daemon, series_info_gives_the_last_input_forecast_and_age)
{
	struct fixture fx;
	setup_daemon(&fx, 1, TC_CLOCK_WALL, TC_MISSING_SKIP, 0);
	offer_untimed(&fx, "cpu", 0.75f);
	close_wall(&fx, 0);
	close_wall(&fx, 1);
	struct tc_series_info info;
	cr_assert_eq(tc_tick_series(fx.tick, "cpu", 3, &info), 0);
	cr_assert_eq(info.stepped, 1);
	cr_assert_eq(info.age_ticks, 1);
	cr_assert_eq(info.n_inputs, 1);
	cr_assert_float_eq(info.last_input[0], 0.75f, 0);
	cr_assert_float_eq(info.last_output[0], tanhf(0.75f), 1e-6f);
	cr_assert_eq(tc_tick_series(fx.tick, "gpu", 3, &info), -1);
	teardown(&fx);
}

Test(tick_daemon, a_model_of_the_same_shape_takes_over_from_the_next_tick)
{
	struct fixture fx;
	setup_daemon(&fx, 0, TC_CLOCK_WALL, TC_MISSING_SKIP, 0);
	struct tc_model *echo = make_model(1);
	offer_untimed(&fx, "a", 0.5f);
	close_wall(&fx, 0);
	cr_assert_eq(tc_tick_set_model(fx.tick, echo, 0, fx.err), 0, "%s", fx.err);
	offer_untimed(&fx, "a", 0.5f);
	close_wall(&fx, 1);
	expect_tick(&fx, 0, 0, IDS("a"), OUTS(0.5f), 0);
	expect_tick(&fx, 1, 1000, IDS("a"), OUTS(tanhf(0.5f)), 1e-6f);
	teardown(&fx);
	tc_model_destroy(&echo);
}

Test(tick_daemon, other_layer_sizes_are_refused_unless_states_may_reset)
{
	struct fixture fx;
	setup_daemon(&fx, 0, TC_CLOCK_WALL, TC_MISSING_SKIP, 0);
	struct tc_model *wider = zero_model(1, 3);
	offer_untimed(&fx, "a", 0.5f);
	close_wall(&fx, 0);
	cr_assert_eq(tc_tick_set_model(fx.tick, wider, 0, fx.err), -1);
	cr_assert(strstr(fx.err, "model.reset_state_on_change"), "%s", fx.err);
	offer_untimed(&fx, "a", 0.5f);
	close_wall(&fx, 1);
	expect_tick(&fx, 1, 1000, IDS("a"), OUTS(0.5f), 0);   /* the old model serves */
	cr_assert_eq(tc_tick_set_model(fx.tick, wider, 1, fx.err), 0, "%s", fx.err);
	struct tc_series_info info;
	cr_assert_eq(tc_tick_series(fx.tick, "a", 1, &info), 0);
	cr_assert_eq(info.stepped, 0, "states were not reset");
	offer_untimed(&fx, "a", 0.5f);
	close_wall(&fx, 2);
	expect_tick(&fx, 2, 2000, IDS("a"), OUTS(0.25f), 0);  /* the new one does */
	teardown(&fx);
	tc_model_destroy(&wider);
}

Test(tick_daemon, a_new_input_size_is_refused_even_with_reset)
{
	struct fixture fx;
	setup_daemon(&fx, 0, TC_CLOCK_WALL, TC_MISSING_SKIP, 0);
	struct tc_model *two = zero_model(2, 2);
	cr_assert_eq(tc_tick_set_model(fx.tick, two, 1, fx.err), -1);
	cr_assert(strstr(fx.err, "input_size changes from 1 to 2"), "%s", fx.err);
	teardown(&fx);
	tc_model_destroy(&two);
}
