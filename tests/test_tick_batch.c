/* test_tick_batch.c -- a batch filed on several threads gives what one reading at a time on one thread gives.
 *
 * The reference engine runs on one OpenMP thread and is offered the
 * readings one by one (tc_tick_offer); the other runs on three threads and
 * files them in batches of thousands, so the parallel passes (find, stage,
 * gather) are taken. Every forecast (bucket,
 * id, output bits, warm flag) and every count must agree. The readings mix
 * repeated series in a tick, late ones, ones without a timestamp, and more
 * series than series.max allows. */
#include <criterion/criterion.h>

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tick_fixture.h"

#define N_READINGS 80000
#define N_IDS 9000
#define MAX_LIVE 6000

/* What an engine emitted, folded: a count and an FNV-1a hash of every
 * forecast in order. */
struct digest {
	uint64_t hash;
	size_t forecasts;
	size_t ticks;
};

static void fold(struct digest *d, const void *bytes, size_t len)
{
	const unsigned char *p = bytes;
	for (size_t i = 0; i < len; i++) {
		d->hash = (d->hash ^ p[i]) * 0x100000001b3ull;
	}
}

static int digest_emit(void *ud, const struct tc_forecasts *f)
{
	struct digest *d = ud;
	d->ticks++;
	fold(d, &f->bucket_ms, sizeof f->bucket_ms);
	for (size_t i = 0; i < f->n; i++) {
		size_t len;
		const char *id = tc_forecasts_id(f, i, &len);
		fold(d, id, len);
		fold(d, f->outputs + i * (size_t)f->n_outputs, (size_t)f->n_outputs * sizeof(float));
		if (f->warm) {
			fold(d, &f->warm[i], 1);
		}
		d->forecasts++;
	}
	return 0;
}

struct readings {
	char ids[N_READINGS][12];
	size_t off[N_READINGS];
	uint8_t len[N_READINGS];
	double time[N_READINGS];
	float values[N_READINGS];
	char bytes[N_READINGS * 12];
};

/* Event times walk forward a bucket every ~5,000 readings; 2% are a bucket
 * late, 1% have no timestamp. Ids are drawn from N_IDS series. */
static struct readings *make_readings(unsigned seed)
{
	struct readings *r = calloc(1, sizeof *r);
	cr_assert_not_null(r);
	srand(seed);
	size_t used = 0;
	for (size_t i = 0; i < N_READINGS; i++) {
		int n = snprintf(r->ids[i], sizeof r->ids[i], "s%d", rand() % N_IDS);
		memcpy(r->bytes + used, r->ids[i], (size_t)n);
		r->off[i] = used;
		r->len[i] = (uint8_t)n;
		used += (size_t)n;
		double bucket = (double)(i / 5000);
		int dice = rand() % 100;
		r->time[i] = dice == 0 ? NAN : dice < 3 ? bucket - 1 + 0.5 : bucket + 0.25;
		r->values[i] = (float)(rand() % 2001 - 1000) / 250.0f;
	}
	return r;
}

static struct tc_tick *make_engine(const struct tc_model *m, enum tc_clock clock,
	enum tc_missing missing, int threads)
{
	omp_set_num_threads(threads);
	const struct tc_tick_config cfg = {
		.clock = clock, .interval_ms = 1000, .flush_ms = 1000,
		.aggregate = TC_AGGREGATE_MEAN, .missing = missing,
	};
	const struct tc_scaler_config scaler = {.type = TC_SCALER_EMA, .alpha = 0.1, .warmup = 3};
	char err[TC_ERR_LEN];
	struct tc_tick *t = tc_tick_create(&cfg, m, MAX_LIVE, 3, &scaler, err);
	cr_assert_not_null(t, "%s", err);
	return t;
}

/* The wall clock: a tick every ten thousand readings. */
static void close_wall(struct tc_tick *t, size_t i, const struct tc_emitter *out)
{
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_tick_close_wall(t, (int64_t)(i / 10000), out, err), 0, "%s", err);
}

static void offer_one_by_one(struct tc_tick *t, const struct readings *r, enum tc_clock clock,
	const struct tc_emitter *out)
{
	char err[TC_ERR_LEN];
	for (size_t i = 0; i < N_READINGS; i++) {
		if (clock == TC_CLOCK_WALL && i && i % 10000 == 0) {
			close_wall(t, i - 1, out);
		}
		struct tc_reading one = {.id = r->ids[i], .id_len = r->len[i], .n_values = 1,
			.has_time = !isnan(r->time[i]), .time = isnan(r->time[i]) ? 0 : r->time[i]};
		one.values[0] = r->values[i];
		enum tc_reject why;
		cr_assert_geq(tc_tick_offer(t, &one, out, &why, err), 0, "%s", err);
	}
}

/* The event clock's readings in one batch, longer than a call files (and
 * filed from where the last call stopped, as the daemon's ticker does); the
 * wall clock's in batches that end at its ticks. */
static void offer_in_batches(struct tc_tick *t, const struct readings *r, enum tc_clock clock,
	const struct tc_emitter *out)
{
	char err[TC_ERR_LEN];
	size_t step = clock == TC_CLOCK_WALL ? 10000 : N_READINGS;
	for (size_t lo = 0; lo < N_READINGS; lo += step) {
		if (clock == TC_CLOCK_WALL && lo) {
			close_wall(t, lo - 1, out);
		}
		size_t n = N_READINGS - lo < step ? N_READINGS - lo : step;
		const struct tc_reading_batch b = {
			.n = n, .ids = r->bytes, .id_off = r->off + lo, .id_len = r->len + lo,
			.time = r->time + lo, .values = r->values + lo,
		};
		size_t next = 0;
		while (next < n) {
			cr_assert_eq(tc_tick_offer_batch(t, &b, &next, out, err), 0, "%s", err);
		}
	}
}

static void check_same(enum tc_clock clock, enum tc_missing missing)
{
	struct tc_model *m = make_model(1);
	struct readings *r = make_readings(7);
	struct digest one = {.hash = 0xcbf29ce484222325ull}, batch = one;
	struct tc_emitter out_one = {digest_emit, &one}, out_batch = {digest_emit, &batch};
	struct tc_tick *serial = make_engine(m, clock, missing, 1);
	struct tc_tick *parallel = make_engine(m, clock, missing, 3);
	offer_one_by_one(serial, r, clock, &out_one);
	offer_in_batches(parallel, r, clock, &out_batch);
	char err[TC_ERR_LEN];
	if (clock == TC_CLOCK_WALL) {
		close_wall(serial, N_READINGS, &out_one);
		close_wall(parallel, N_READINGS, &out_batch);
	} else {
		cr_assert_eq(tc_tick_close(serial, &out_one, err), 0, "%s", err);
		cr_assert_eq(tc_tick_close(parallel, &out_batch, err), 0, "%s", err);
	}
	const struct tc_tick_stats *a = tc_tick_get_stats(serial), *b = tc_tick_get_stats(parallel);
	cr_assert_gt(a->accepted, N_READINGS / 2, "most readings are filed");
	cr_assert_gt(a->rejected[TC_REJECT_SERIES_LIMIT], 0, "series.max is reached");
	cr_assert_gt(a->evicted, 0, "idle series are freed");
	if (clock == TC_CLOCK_EVENT) {
		cr_assert_gt(a->rejected[TC_REJECT_LATE], 0);
		cr_assert_gt(a->rejected[TC_REJECT_NO_TIMESTAMP], 0);
	}
	cr_assert_eq(a->accepted, b->accepted);
	for (int why = 0; why < TC_REJECT__COUNT; why++) {
		cr_assert_eq(a->rejected[why], b->rejected[why], "rejected as %s: %llu one by one, "
			"%llu in batches", tc_reject_to_string((enum tc_reject)why),
			(unsigned long long)a->rejected[why], (unsigned long long)b->rejected[why]);
	}
	cr_assert_eq(a->ticks, b->ticks);
	cr_assert_eq(a->stepped, b->stepped);
	cr_assert_eq(a->evicted, b->evicted);
	cr_assert_eq(a->warming, b->warming);
	cr_assert_eq(one.ticks, a->ticks);
	cr_assert_eq(one.forecasts, batch.forecasts, "%zu forecasts one by one, %zu in batches",
		one.forecasts, batch.forecasts);
	cr_assert_eq(one.hash, batch.hash, "the forecasts differ");
	tc_tick_destroy(&serial);
	tc_tick_destroy(&parallel);
	tc_model_destroy(&m);
	free(r);
}

Test(tick_batch, event_clock_batches_on_three_threads_equal_one_reading_at_a_time)
{
	check_same(TC_CLOCK_EVENT, TC_MISSING_SKIP);
}

Test(tick_batch, event_clock_with_held_inputs_equals_one_reading_at_a_time)
{
	check_same(TC_CLOCK_EVENT, TC_MISSING_HOLD);
}

Test(tick_batch, wall_clock_batches_with_zeroed_inputs_equal_one_reading_at_a_time)
{
	check_same(TC_CLOCK_WALL, TC_MISSING_ZERO);
}
