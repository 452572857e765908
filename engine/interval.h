/* interval.h -- forecast intervals calibrated online from each series' own errors, and live accuracy.
 *
 * The model gives point forecasts; output k is the series' target column k
 * steps ahead. For every series and horizon k this keeps
 *
 *   - the forecasts still waiting for their reading (a ring of the last K
 *     forecasts, K = horizons),
 *   - s_k, a running mean of |reading - forecast| at horizon k (the scale),
 *   - c_k, a multiplier tuned by adaptive conformal inference: after each
 *     reading, c_k += rate * (miss - (1 - level)), where miss is 1 when the
 *     reading fell outside forecast +/- c_k s_k. A series whose intervals
 *     miss too often widens them, one that is always inside narrows them,
 *     so that in the long run each horizon covers `level` of its readings
 *     whatever the model's errors look like.
 *
 * The interval published with a forecast is y_k +/- c_k s_k. A horizon
 * with no reading scored yet borrows the nearest shorter horizon's scale
 * times sqrt(k / j); before any, the bounds are NaN (null in JSON).
 * Anomalies use their own multiplier at anomaly.level on horizon 1.
 * Live accuracy per series: s_1 (the one-step mean absolute error), the
 * same mean of the naive forecast's error |x_t - x_{t-1}|, their ratio (a
 * live MASE) and the share of readings inside their intervals, all running
 * means over about `window` steps.
 *
 * Usage, per tick (slots as the tick engine's; observe and forecast of one
 * slot on one thread, different slots in parallel):
 *
 *     tc_interval_observe(iv, slot, reading[target], &tally, &anomaly);   // before the step
 *     tc_interval_forecast(iv, slot, y, lower, upper);                    // after it
 *
 * Everything per slot is in one block of floats plus two counters, which
 * checkpoints save whole (tc_interval_block). */
#ifndef TC_INTERVAL_H
#define TC_INTERVAL_H

#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"
#include "config.h"

/* Outputs at most: a series keeps K x K forecasts. The config checks the same bound. */
#define TC_INTERVAL_MAX_HORIZONS TC_CONFIG_MAX_INTERVAL_OUTPUTS

struct tc_interval;

/* Readings scored and covered per horizon, summed over series and ticks. */
struct tc_interval_tally {
	uint64_t scored[TC_INTERVAL_MAX_HORIZONS];
	uint64_t covered[TC_INTERVAL_MAX_HORIZONS];
};

/* One series' live accuracy. NaN where nothing is known yet. */
struct tc_interval_accuracy {
	uint32_t scored;             /* readings scored at horizon 1 (saturates at window) */
	float mae;                   /* running mean |reading - one-step forecast| */
	float naive_mae;             /* running mean |reading - previous reading| */
	float mase;                  /* mae / naive_mae */
	float coverage;              /* running share of readings inside their intervals, all horizons */
};

/* A store for `horizons` outputs (1..TC_INTERVAL_MAX_HORIZONS) with cfg's
 * settings and, when anomaly is not NULL and enabled, anomaly events.
 * NULL and err when horizons is out of range or memory ran out. */
struct tc_interval *tc_interval_create(int horizons, const struct tc_interval_config *cfg,
	const struct tc_anomaly_config *anomaly, char *err);

void tc_interval_destroy(struct tc_interval **iv);

/* Makes it hold `capacity` slots. New slots hold nothing meaningful until
 * tc_interval_clear (the tick engine clears a slot when a series takes it,
 * so growing touches no memory). 0 or -1 with err. */
int tc_interval_grow(struct tc_interval *iv, size_t capacity, char *err);

/* A new series in slot: nothing forecast, nothing known. */
void tc_interval_clear(struct tc_interval *iv, size_t slot);

/* Slot's reading `value` (its target column, series' units) of this tick:
 * scores the forecasts made for it, updates scales, multipliers and
 * accuracy, and counts into *tally. Returns 1 with *a filled (but its row)
 * when it is an anomaly, else 0. A non-finite value scores nothing. */
int tc_interval_observe(struct tc_interval *iv, size_t slot, float value,
	struct tc_interval_tally *tally, struct tc_anomaly *a);

/* Slot's forecast y (horizons floats, series' units) of this tick: writes
 * each output's bounds to lower and upper and keeps y for scoring. */
void tc_interval_forecast(struct tc_interval *iv, size_t slot, const float *y, float *lower,
	float *upper);

/* The bounds slot's state gives forecast y now, keeping nothing: until its
 * next reading, those of its last forecast. */
void tc_interval_bounds(const struct tc_interval *iv, size_t slot, const float *y,
	float *lower, float *upper);

void tc_interval_accuracy(const struct tc_interval *iv, size_t slot,
	struct tc_interval_accuracy *acc);

int tc_interval_horizons(const struct tc_interval *iv);
int tc_interval_anomalies_on(const struct tc_interval *iv);

/* Heap bytes held, at the capacity grown to. */
size_t tc_interval_memory(const struct tc_interval *iv);

/* For checkpoints: floats in one slot's block, and the slot's block and its
 * two counters (forecasts made, readings seen). Borrowed; they move when
 * the store grows. */
size_t tc_interval_block_floats(const struct tc_interval *iv);
size_t tc_interval_floats_for(int horizons);
float *tc_interval_block(struct tc_interval *iv, size_t slot);
uint32_t *tc_interval_counters(struct tc_interval *iv, size_t slot);

/* The normal distribution's quantile function, p in (0, 1). */
double tc_interval_normal_quantile(double p);

#endif
