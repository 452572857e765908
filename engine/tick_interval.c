/* tick_interval.c -- the tick engine's intervals: scoring readings, bounding forecasts, anomalies, live accuracy.
 *
 * The numbers are interval.c's; this file runs them over a tick's batch:
 * each reading scores its series' earlier forecasts while the tick is
 * gathered (tc_tick_observe), each new forecast gets its bounds after the
 * step (tc_tick_bound), and the anomalies found are packed for the emitter. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"
#include "tick_internal.h"

#define NO_ANOMALY UINT32_MAX   /* batch_anomaly[i].row of a row without one */

/* The batch arrays for cap slots of o outputs. */
static int grow_batch(struct tc_tick *t, size_t cap, int o)
{
	size_t out = (size_t)o * sizeof(float);
	if (cap == 0) {
		return 0;
	}
	return tc_array_grow((void **)&t->batch_lower, cap, out) < 0
		|| tc_array_grow((void **)&t->batch_upper, cap, out) < 0
		|| (tc_interval_anomalies_on(t->interval)
			&& tc_array_grow((void **)&t->batch_anomaly, cap, sizeof(struct tc_anomaly)) < 0)
		? -1 : 0;
}

int tc_tick_reserve_intervals(struct tc_tick *t, size_t cap)
{
	char ignored[TC_ERR_LEN];
	if (!t->interval) {
		return 0;
	}
	return tc_interval_grow(t->interval, cap, ignored) < 0 || grow_batch(t, cap, t->n_outputs) < 0
		? -1 : 0;
}

/* A store for `outputs` horizons, grown to the engine's capacity, every
 * slot cleared (a reset keeps the series: they start their intervals over). */
static struct tc_interval *make_store(struct tc_tick *t, int outputs, char *err)
{
	struct tc_interval *iv = tc_interval_create(outputs, &t->interval_cfg, &t->anomaly_cfg, err);
	if (iv && tc_interval_grow(iv, t->capacity, err) < 0) {
		tc_interval_destroy(&iv);
	}
	for (size_t slot = 0; iv && slot < t->capacity; slot++) {
		tc_interval_clear(iv, slot);
	}
	return iv;
}

int tc_tick_set_intervals(struct tc_tick *t, const struct tc_interval_config *cfg,
	const struct tc_anomaly_config *anomaly, char *err)
{
	if (anomaly && anomaly->enabled && !cfg->enabled) {
		return tc_err_set(err, "anomaly events need model.intervals: they are readings outside "
			"the interval forecast for them");
	}
	if (!cfg->enabled) {
		return 0;
	}
	if (cfg->target >= t->width) {
		return tc_err_set(err, "model.intervals.target is column %d, but readings have %d "
			"value%s (model.input_size)", cfg->target, t->width, t->width == 1 ? "" : "s");
	}
	t->interval_cfg = *cfg;
	if (anomaly) {
		t->anomaly_cfg = *anomaly;
	}
	if (!(t->chunk_tally = calloc(TC_TICK_GATHER_CHUNKS, sizeof *t->chunk_tally))) {
		return tc_err_set(err, "out of memory for the intervals");
	}
	if (!(t->interval = make_store(t, t->n_outputs, err))) {
		return -1;
	}
	if (grow_batch(t, t->capacity, t->n_outputs) < 0) {
		tc_interval_destroy(&t->interval);
		return tc_err_set(err, "out of memory for the intervals of %zu series", t->capacity);
	}
	return 0;
}

int tc_tick_resize_intervals(struct tc_tick *t, int outputs, char *err)
{
	if (!t->interval || tc_interval_horizons(t->interval) == outputs) {
		return 0;
	}
	struct tc_interval *fresh = make_store(t, outputs, err);
	if (!fresh) {
		return -1;
	}
	tc_interval_destroy(&t->interval);
	t->interval = fresh;
	if (grow_batch(t, t->capacity, outputs) < 0) {
		return tc_err_set(err, "out of memory for the intervals of the new model");
	}
	return 0;
}

void tc_tick_observe(struct tc_tick *t, int c, uint32_t slot, const float *reading, size_t row)
{
	struct tc_anomaly none = { .row = NO_ANOMALY };
	struct tc_anomaly *a = t->batch_anomaly ? &t->batch_anomaly[row] : &none;
	a->row = NO_ANOMALY;
	if (reading && tc_interval_observe(t->interval, slot, reading[t->interval_cfg.target],
			&t->chunk_tally[c], a)) {
		a->row = (uint32_t)row;
	}
}

/* Adds the chunks' tallies to the stats and clears them for the next tick. */
static void add_tallies(struct tc_tick *t)
{
	const int k = tc_interval_horizons(t->interval);
	for (int c = 0; c < TC_TICK_GATHER_CHUNKS; c++) {
		for (int h = 0; h < k; h++) {
			t->stats.intervals.scored[h] += t->chunk_tally[c].scored[h];
			t->stats.intervals.covered[h] += t->chunk_tally[c].covered[h];
		}
		memset(&t->chunk_tally[c], 0, sizeof t->chunk_tally[c]);
	}
}

/* Moves the n rows' anomalies to the front of batch_anomaly, in row order. */
static void pack_anomalies(struct tc_tick *t, size_t n)
{
	size_t found = 0;
	for (size_t i = 0; i < n; i++) {
		if (t->batch_anomaly[i].row != NO_ANOMALY) {
			t->batch_anomaly[found++] = t->batch_anomaly[i];
		}
	}
	t->n_anomalies = found;
	t->stats.anomalies += found;
}

void tc_tick_bound(struct tc_tick *t, size_t n)
{
	const size_t o = (size_t)t->n_outputs;
#pragma omp parallel for schedule(static) num_threads(tc_tick_team(t, n))
	for (size_t i = 0; i < n; i++) {
		tc_interval_forecast(t->interval, t->batch_slots[i], t->batch_out + i * o,
			t->batch_lower + i * o, t->batch_upper + i * o);
	}
	add_tallies(t);
	t->n_anomalies = 0;
	if (t->batch_anomaly) {
		pack_anomalies(t, n);
	}
}

int tc_tick_series_bounds(const struct tc_tick *t, const struct tc_series_info *info,
	float *lower, float *upper)
{
	if (!t->interval || !info->stepped) {
		return -1;
	}
	tc_interval_bounds(t->interval, info->slot, info->last_output, lower, upper);
	return 0;
}

size_t tc_tick_interval_memory(const struct tc_tick *t)
{
	if (!t->interval) {
		return 0;
	}
	size_t bounds = 2 * t->capacity * (size_t)t->n_outputs * sizeof(float);
	size_t events = t->batch_anomaly ? t->capacity * sizeof(struct tc_anomaly) : 0;
	return tc_interval_memory(t->interval) + bounds + events;
}

/* The k-th smallest of v[0..n) (0-based), reordering v: Wirth's selection,
 * linear on average, so that a status request over a million series stays
 * short while it holds the engine. No NaN in v. */
static float select_kth(float *v, size_t n, size_t k)
{
	ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, want = (ptrdiff_t)k;
	while (lo < hi) {
		float pivot = v[want];
		ptrdiff_t i = lo, j = hi;
		do {
			while (v[i] < pivot) {
				i++;
			}
			while (pivot < v[j]) {
				j--;
			}
			if (i <= j) {
				float x = v[i];
				v[i++] = v[j];
				v[j--] = x;
			}
		} while (i <= j);
		if (j < want) {
			lo = i;
		}
		if (want < i) {
			hi = j;
		}
	}
	return v[want];
}

/* The q-quantile (0..1) of v[0..n), n > 0, by the nearest rank; reorders v. */
static double nearest_rank(float *v, size_t n, double q)
{
	size_t rank = (size_t)ceil(q * (double)n);
	return select_kth(v, n, rank ? rank - 1 : 0);
}

int tc_tick_accuracy(const struct tc_tick *t, struct tc_tick_accuracy *acc, char *err)
{
	memset(acc, 0, sizeof *acc);
	if (!t->interval) {
		return 0;
	}
	acc->horizons = tc_interval_horizons(t->interval);
	acc->level = t->interval_cfg.level;
	acc->tally = t->stats.intervals;
	acc->anomalies = t->stats.anomalies;
	for (int h = 0; h < acc->horizons; h++) {
		acc->scored += t->stats.intervals.scored[h];
		acc->covered += t->stats.intervals.covered[h];
	}
	size_t slots = tc_registry_slots(t->registry);
	slots = slots < t->capacity ? slots : t->capacity;
	float *mase = malloc((slots ? slots : 1) * sizeof *mase);
	if (!mase) {
		return tc_err_set(err, "out of memory summing up the accuracy of %zu series", slots);
	}
	size_t n = 0;
	for (size_t slot = 0; slot < slots; slot++) {
		struct tc_interval_accuracy a;
		if (!tc_registry_id(t->registry, (uint32_t)slot, NULL)) {
			continue;
		}
		tc_interval_accuracy(t->interval, slot, &a);
		if (isfinite(a.mase)) {
			mase[n++] = a.mase;
		}
	}
	acc->series = n;
	acc->mase_median = n ? nearest_rank(mase, n, 0.5) : NAN;
	acc->mase_p90 = n ? nearest_rank(mase, n, 0.9) : NAN;
	free(mase);
	return 0;
}
