/* test_tick.c -- the event-clock tick engine: buckets, late readings, missing series, limits. */
#include "memory_limit.h"
#include "tick_fixture.h"

Test(tick, a_reading_of_a_later_bucket_closes_and_steps_the_open_one)
{
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 10);
	offer_ok(&fx, "a", 1, 0.1);
	offer_ok(&fx, "b", 2, 0.9);
	offer_ok(&fx, "a", 3, 0.5);
	cr_assert_eq(fx.rec.count, 0, "bucket 0 is still open");
	offer_ok(&fx, "a", 4, 1.0);
	cr_assert_eq(fx.rec.count, 1);
	expect_tick(&fx, 0, 0, IDS("a", "b"), OUTS(0.5f, 0.5f), 0.0f);
	close_ok(&fx);
	cr_assert_eq(fx.rec.count, 2);
	expect_tick(&fx, 1, 1000, IDS("a"), OUTS(0.5f), 0.0f);
	const struct tc_tick_stats *s = tc_tick_get_stats(fx.tick);
	cr_assert_eq(s->accepted, 4);
	cr_assert_eq(s->ticks, 2);
	cr_assert_eq(s->stepped, 3);
	teardown(&fx);
}

Test(tick, skips_buckets_that_got_no_reading)
{
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_HOLD, 10);
	offer_ok(&fx, "a", 1, 0.5);
	offer_ok(&fx, "a", 1, 5.5);
	close_ok(&fx);
	cr_assert_eq(fx.rec.count, 2, "buckets 1 to 4 had no reading, so are no ticks");
	expect_tick(&fx, 0, 0, IDS("a"), NULL, 0);
	expect_tick(&fx, 1, 5000, IDS("a"), NULL, 0);
	cr_assert_eq(tc_tick_get_stats(fx.tick)->ticks, 2);
	teardown(&fx);
}

Test(tick, rejects_a_reading_of_a_closed_or_earlier_bucket_as_late_and_counts_it)
{
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 10);
	offer_ok(&fx, "a", 1, 2.0);
	struct tc_reading early = reading("b", 1, 1.5);
	offer_rejected(&fx, &early, TC_REJECT_LATE);
	cr_assert_eq(tc_registry_count(tc_tick_registry(fx.tick)), 1,
		"a late reading must not register its series");
	offer_ok(&fx, "a", 1, 3.0);
	expect_tick(&fx, 0, 2000, IDS("a"), NULL, 0);
	struct tc_reading closed = reading("a", 1, 2.999);
	offer_rejected(&fx, &closed, TC_REJECT_LATE);
	offer_ok(&fx, "a", 1, 3.5);
	close_ok(&fx);
	cr_assert_eq(fx.rec.count, 2);
	expect_tick(&fx, 1, 3000, IDS("a"), NULL, 0);
	const struct tc_tick_stats *s = tc_tick_get_stats(fx.tick);
	cr_assert_eq(s->rejected[TC_REJECT_LATE], 2);
	cr_assert_eq(s->accepted, 3);
	cr_assert_eq(s->ticks, 2);
	for (int i = 0; i < TC_REJECT__COUNT; i++) {
		if (i != TC_REJECT_LATE) {
			cr_assert_eq(s->rejected[i], 0, "%s counted", tc_reject_to_string(i));
		}
	}
	teardown(&fx);
}

Test(tick, rejects_a_reading_of_a_bucket_closed_by_close_as_late)
{
	/* After a flush closes bucket 0 and before bucket 1 opens, bucket 0 must
	 * not be stepped a second time. */
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 10);
	offer_ok(&fx, "a", 1, 0.2);
	close_ok(&fx);
	struct tc_reading again = reading("a", 1, 0.7);
	offer_rejected(&fx, &again, TC_REJECT_LATE);
	struct tc_reading other = reading("b", 1, 0.9);
	offer_rejected(&fx, &other, TC_REJECT_LATE);
	offer_ok(&fx, "b", 1, 1.0);
	close_ok(&fx);
	cr_assert_eq(fx.rec.count, 2);
	expect_tick(&fx, 0, 0, IDS("a"), NULL, 0);
	expect_tick(&fx, 1, 1000, IDS("b"), NULL, 0);
	cr_assert_eq(tc_tick_get_stats(fx.tick)->rejected[TC_REJECT_LATE], 2);
	teardown(&fx);
}

Test(tick, rejects_a_reading_without_a_timestamp)
{
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 10);
	struct tc_reading r = reading("a", 1, 0);
	r.has_time = 0;
	offer_rejected(&fx, &r, TC_REJECT_NO_TIMESTAMP);
	const struct tc_tick_stats *s = tc_tick_get_stats(fx.tick);
	cr_assert_eq(s->rejected[TC_REJECT_NO_TIMESTAMP], 1);
	cr_assert_eq(s->accepted, 0);
	cr_assert_eq(tc_registry_count(tc_tick_registry(fx.tick)), 0);
	close_ok(&fx);
	cr_assert_eq(fx.rec.count, 0, "no bucket was opened");
	teardown(&fx);
}

/* One reading at t with the given interval, then close: the tick's bucket. */
static void expect_bucket(double t, int interval_ms, int64_t want_ms)
{
	struct fixture fx;
	setup(&fx, 0, interval_ms, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 10);
	offer_ok(&fx, "a", 1, t);
	close_ok(&fx);
	cr_assert_eq(fx.rec.count, 1);
	cr_assert_eq(fx.rec.ticks[0].bucket_ms, want_ms,
		"t = %.17g s, interval %d ms: bucket at %lld ms, expected %lld", t, interval_ms,
		(long long)fx.rec.ticks[0].bucket_ms, (long long)want_ms);
	teardown(&fx);
}

Test(tick, puts_a_reading_in_bucket_floor_of_t_ms_over_the_interval)
{
	/* Expected: floor(t * 1000 / interval) * interval, by hand. */
	expect_bucket(0.0, 1000, 0);
	expect_bucket(0.999, 1000, 0);
	expect_bucket(2.7, 1000, 2000);
	expect_bucket(1.25, 500, 1000);       /* 1250 / 500 = 2.5 */
	expect_bucket(1.5, 500, 1500);        /* exactly on a boundary: 3 */
	expect_bucket(1.4999, 500, 1000);
	expect_bucket(0.7, 300, 600);         /* 700 / 300 = 2.33 */
	expect_bucket(59.9, 60000, 0);
	expect_bucket(60.0, 60000, 60000);
	expect_bucket(1700000000.75, 500, 1700000000500);
	expect_bucket(1700000000.25, 1000, 1700000000000);
}

Test(tick, rounds_a_negative_timestamp_down_to_the_earlier_bucket)
{
	expect_bucket(-0.25, 500, -500);      /* -250 / 500 = -0.5 -> -1 */
	expect_bucket(-0.5, 500, -500);       /* exactly -1 */
	expect_bucket(-0.5001, 500, -1000);   /* -1.0002 -> -2 */
	expect_bucket(-0.001, 1000, -1000);
	expect_bucket(-3.7, 1000, -4000);
}

Test(tick, orders_forecasts_by_slot_not_by_arrival)
{
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 10);
	offer_ok(&fx, "c", 1, 0.1);   /* slot 0 */
	offer_ok(&fx, "a", 1, 0.2);   /* slot 1 */
	offer_ok(&fx, "b", 1, 0.3);   /* slot 2 */
	offer_ok(&fx, "b", 1, 1.1);
	offer_ok(&fx, "a", 1, 1.2);
	offer_ok(&fx, "c", 1, 1.3);
	close_ok(&fx);
	cr_assert_eq(fx.rec.count, 2);
	expect_tick(&fx, 0, 0, IDS("c", "a", "b"), OUTS(0.5f, 0.5f, 0.5f), 0.0f);
	expect_tick(&fx, 1, 1000, IDS("c", "a", "b"), OUTS(0.5f, 0.5f, 0.5f), 0.0f);
	teardown(&fx);
}

/* Bucket 0: a gets 0.2 and 0.6 (mean 0.4), b gets 1.0; bucket 1: only b,
 * -0.5; bucket 2: only a new series c, 0.3. The echo model's forecast is
 * tanh of the input each series stepped with. */
static void run_missing_scenario(struct fixture *fx, enum tc_missing missing)
{
	setup(fx, 1, 1000, TC_AGGREGATE_MEAN, missing, 10);
	offer_ok(fx, "a", 0.2f, 0.1);
	offer_ok(fx, "b", 1.0f, 0.3);
	offer_ok(fx, "a", 0.6f, 0.2);
	offer_ok(fx, "b", -0.5f, 1.1);
	offer_ok(fx, "c", 0.3f, 2.1);
	close_ok(fx);
	cr_assert_eq(fx->rec.count, 3);
	expect_tick(fx, 0, 0, IDS("a", "b"), OUTS(tanhf(0.4f), tanhf(1.0f)), 1e-5f);
}

Test(tick, missing_skip_steps_only_the_series_with_readings)
{
	struct fixture fx;
	run_missing_scenario(&fx, TC_MISSING_SKIP);
	expect_tick(&fx, 1, 1000, IDS("b"), OUTS(tanhf(-0.5f)), 1e-5f);
	expect_tick(&fx, 2, 2000, IDS("c"), OUTS(tanhf(0.3f)), 1e-5f);
	cr_assert_eq(tc_tick_get_stats(fx.tick)->stepped, 4);
	teardown(&fx);
}

Test(tick, missing_hold_steps_every_known_series_with_its_last_input)
{
	struct fixture fx;
	run_missing_scenario(&fx, TC_MISSING_HOLD);
	expect_tick(&fx, 1, 1000, IDS("a", "b"), OUTS(tanhf(0.4f), tanhf(-0.5f)), 1e-5f);
	expect_tick(&fx, 2, 2000, IDS("a", "b", "c"),
		OUTS(tanhf(0.4f), tanhf(-0.5f), tanhf(0.3f)), 1e-5f);
	cr_assert_eq(tc_tick_get_stats(fx.tick)->stepped, 7);
	teardown(&fx);
}

Test(tick, missing_zero_steps_every_known_series_with_zeros)
{
	struct fixture fx;
	run_missing_scenario(&fx, TC_MISSING_ZERO);
	expect_tick(&fx, 1, 1000, IDS("a", "b"), OUTS(0.0f, tanhf(-0.5f)), 1e-5f);
	expect_tick(&fx, 2, 2000, IDS("a", "b", "c"), OUTS(0.0f, 0.0f, tanhf(0.3f)), 1e-5f);
	cr_assert_eq(tc_tick_get_stats(fx.tick)->stepped, 7);
	teardown(&fx);
}

Test(tick, combines_a_series_readings_in_one_bucket_by_the_aggregate)
{
	struct fixture fx;
	setup(&fx, 1, 1000, TC_AGGREGATE_MAX, TC_MISSING_SKIP, 10);
	offer_ok(&fx, "a", -0.3f, 0.1);
	offer_ok(&fx, "a", 0.7f, 0.2);
	offer_ok(&fx, "a", 0.1f, 0.3);
	close_ok(&fx);
	expect_tick(&fx, 0, 0, IDS("a"), OUTS(tanhf(0.7f)), 1e-5f);
	teardown(&fx);
}

Test(tick, refuses_a_series_over_the_limit_and_keeps_forecasting_the_others)
{
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 2);
	offer_ok(&fx, "a", 1, 0.1);
	offer_ok(&fx, "b", 1, 0.2);
	struct tc_reading c = reading("c", 1, 0.3);
	offer_rejected(&fx, &c, TC_REJECT_SERIES_LIMIT);
	offer_ok(&fx, "a", 1, 1.1);
	offer_ok(&fx, "b", 1, 1.2);
	c.time = 1.3;
	offer_rejected(&fx, &c, TC_REJECT_SERIES_LIMIT);
	close_ok(&fx);
	cr_assert_eq(fx.rec.count, 2);
	expect_tick(&fx, 0, 0, IDS("a", "b"), OUTS(0.5f, 0.5f), 0.0f);
	expect_tick(&fx, 1, 1000, IDS("a", "b"), OUTS(0.5f, 0.5f), 0.0f);
	const struct tc_tick_stats *s = tc_tick_get_stats(fx.tick);
	cr_assert_eq(s->rejected[TC_REJECT_SERIES_LIMIT], 2);
	cr_assert_eq(s->accepted, 4);
	cr_assert_eq(tc_registry_count(tc_tick_registry(fx.tick)), 2);
	teardown(&fx);
}

Test(tick, a_refused_reading_of_a_later_bucket_does_not_close_the_open_one)
{
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 1);
	offer_ok(&fx, "a", 1, 0.1);
	struct tc_reading b = reading("b", 1, 5.0);
	offer_rejected(&fx, &b, TC_REJECT_SERIES_LIMIT);
	cr_assert_eq(fx.rec.count, 0, "the refused reading closed bucket 0");
	offer_ok(&fx, "a", 1, 0.9);
	close_ok(&fx);
	cr_assert_eq(fx.rec.count, 1);
	expect_tick(&fx, 0, 0, IDS("a"), OUTS(0.5f), 0.0f);
	teardown(&fx);
}

/* Checks a tick of many series: slots 0..n-1 in order, every forecast 0.5. */
static int check_many(void *ud, const struct tc_forecasts *f)
{
	size_t *calls = ud;
	(*calls)++;
	for (size_t i = 0; i < f->n; i++) {
		if (f->slots[i] != i || f->outputs[i] != 0.5f) {
			cr_assert_fail("series %zu: slot %u, forecast %.9g", i, f->slots[i],
				(double)f->outputs[i]);
		}
	}
	return f->n == 3000 ? 0 : (int)f->n + 1;
}

Test(tick, steps_thousands_of_series_in_one_tick)
{
	/* More series than the engine's first allocation, and many step blocks;
	 * with hold, the second tick steps all 3000 though only s0 has a reading. */
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_HOLD, 5000);
	size_t calls = 0;
	fx.out = (struct tc_emitter){check_many, &calls};
	static char ids[3000][8];
	for (int i = 0; i < 3000; i++) {
		snprintf(ids[i], sizeof ids[i], "s%d", i);
		offer_ok(&fx, ids[i], 1, 0.5);
	}
	offer_ok(&fx, "s0", 1, 1.5);
	close_ok(&fx);
	cr_assert_eq(calls, 2);
	cr_assert_eq(tc_tick_get_stats(fx.tick)->stepped, 6000);
	teardown(&fx);
}

Test(tick, close_without_an_open_bucket_emits_nothing)
{
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_HOLD, 10);
	close_ok(&fx);
	cr_assert_eq(fx.rec.count, 0);
	offer_ok(&fx, "a", 1, 0.5);
	close_ok(&fx);
	close_ok(&fx);
	cr_assert_eq(fx.rec.count, 1, "a second close has nothing to close");
	cr_assert_eq(tc_tick_get_stats(fx.tick)->ticks, 1);
	teardown(&fx);
}

Test(tick, close_fails_with_a_message_when_the_emitter_fails)
{
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 10);
	offer_ok(&fx, "a", 1, 0.5);
	fx.rec.fail = 7;
	fx.err[0] = '\0';
	cr_assert_eq(tc_tick_close(fx.tick, &fx.out, fx.err), -1);
	cr_assert_str_eq(fx.err, "writing the forecasts failed");
	cr_assert_eq(fx.rec.count, 1, "the emitter was called once");
	teardown(&fx);
}

Test(tick, offer_fails_with_a_message_when_closing_the_open_bucket_fails)
{
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 10);
	offer_ok(&fx, "a", 1, 0.5);
	fx.rec.fail = 1;
	fx.err[0] = '\0';
	struct tc_reading r = reading("a", 1, 1.5);
	enum tc_reject why;
	cr_assert_eq(tc_tick_offer(fx.tick, &r, &fx.out, &why, fx.err), -1);
	cr_assert_str_eq(fx.err, "writing the forecasts failed");
	teardown(&fx);
}

/* tc_step fails only for a state that does not fit the model, which
 * tc_tick_set_model never lets happen: to force it, the model's spec is
 * changed under the engine (one layer of 3 units instead of 2), then put back. */
static void break_model(struct fixture *fx, int broken)
{
	struct tc_model_spec *spec = (struct tc_model_spec *)tc_model_get_spec(fx->model);
	spec->hidden[0] = broken ? 3 : 2;
}

Test(tick, a_failed_step_counts_its_readings_and_no_tick)
{
	struct fixture fx;
	setup(&fx, 1, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 10);
	offer_ok(&fx, "a", 1, 0.1);
	offer_ok(&fx, "a", 2, 0.6);
	offer_ok(&fx, "b", 3, 0.7);
	break_model(&fx, 1);
	fx.err[0] = '\0';
	cr_assert_eq(tc_tick_close(fx.tick, &fx.out, fx.err), -1);
	cr_assert(strstr(fx.err, "another shape"), "%s", fx.err);
	break_model(&fx, 0);
	cr_assert_eq(fx.rec.count, 0, "a tick that was not stepped was emitted");
	const struct tc_tick_stats *s = tc_tick_get_stats(fx.tick);
	cr_assert_eq(s->unstepped_step_failed, 3, "%llu of 3 readings counted as not stepped",
		(unsigned long long)s->unstepped_step_failed);
	cr_assert_eq(s->ticks, 0, "a tick whose step failed was counted");
	cr_assert_eq(s->stepped, 0);
	cr_assert_eq(s->accepted, 3);
	cr_assert(!tc_tick_has_open(fx.tick), "the failed tick's readings are still staged");
	/* Its bucket is closed all the same; the next one steps as usual. */
	struct tc_reading late = reading("a", 1, 0.9);
	offer_rejected(&fx, &late, TC_REJECT_LATE);
	offer_ok(&fx, "a", 0.5f, 1.5);
	close_ok(&fx);
	expect_tick(&fx, 0, 1000, IDS("a"), OUTS(tanhf(0.5f)), 1e-6f);
	cr_assert_eq(s->ticks, 1);
	cr_assert_eq(s->unstepped_step_failed, 3);
	teardown(&fx);
}

Test(tick, a_reading_whose_bucket_closes_with_a_failed_step_is_still_filed)
{
	struct fixture fx;
	setup(&fx, 1, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 10);
	offer_ok(&fx, "a", 1, 0.5);
	break_model(&fx, 1);
	struct tc_reading r = reading("b", 0.25f, 1.5);
	enum tc_reject why;
	cr_assert_eq(tc_tick_offer(fx.tick, &r, &fx.out, &why, fx.err), -1);
	break_model(&fx, 0);
	const struct tc_tick_stats *s = tc_tick_get_stats(fx.tick);
	cr_assert_eq(s->unstepped_step_failed, 1);
	cr_assert_eq(s->accepted, 2, "the reading that closed the bucket was dropped");
	close_ok(&fx);
	expect_tick(&fx, 0, 1000, IDS("b"), OUTS(tanhf(0.25f)), 1e-6f);
	teardown(&fx);
}

Test(tick, destroy_sets_the_pointer_to_null_and_accepts_null)
{
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, 10);
	offer_ok(&fx, "a", 1, 0.5);
	teardown(&fx);
	tc_tick_destroy(&fx.tick);
	tc_tick_destroy(NULL);
}

/* New series until memory runs out: the one that finds none is counted as
 * out_of_memory (not an error that stops the caller), and the series that
 * have their slots go on. */
Test(tick, a_new_series_without_memory_is_counted_and_the_others_go_on)
{
	memory_limit_skip_under_asan();
	struct fixture fx;
	setup(&fx, 0, 1000, TC_AGGREGATE_LAST, TC_MISSING_SKIP, (size_t)1 << 30);
	offer_ok(&fx, "first", 1, 0.1);
	struct rlimit old = memory_limit_set(32 << 20);
	char id[32];
	int rc = 0;
	unsigned i;
	enum tc_reject why = TC_REJECT__COUNT;
	for (i = 0; rc == 0 && i < (1u << 26); i++) {
		snprintf(id, sizeof id, "s%u", i);
		struct tc_reading r = reading(id, 1, 0.2);
		rc = tc_tick_offer(fx.tick, &r, &fx.out, &why, fx.err);
	}
	cr_assert_eq(rc, 1, "rc %d: %s", rc, fx.err);
	cr_assert_eq(why, TC_REJECT_OUT_OF_MEMORY, "reason %s", tc_reject_to_string(why));
	cr_assert_eq(tc_tick_get_stats(fx.tick)->rejected[TC_REJECT_OUT_OF_MEMORY], 1);
	offer_ok(&fx, "first", 2, 0.3);
	memory_limit_restore(old);
	/* "first", the i - 1 new series that found memory, "first" again. */
	cr_assert_eq(tc_tick_get_stats(fx.tick)->accepted, (uint64_t)i + 1);
	teardown(&fx);
}
