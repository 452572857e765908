/* interval.c -- per-series conformal intervals and live accuracy (interval.h says how). */
#include "interval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"

/* Horizon-1 readings scored before anomaly events can fire: below this the
 * error scale rests on too few readings to call anything unusual. */
#define ANOMALY_MIN_SCORED 10

/* A slot's block, in floats from its start (K = horizons):
 *   [0, K*K)       the ring: row r holds the forecast made at the slot's
 *                  step r mod K (its output k at column k - 1)
 *   SCALE + k      running mean |error| at horizon k + 1
 *   MULT + k       its conformal multiplier
 *   COUNT + k      readings in that mean, at most window
 *   and the tail below. */
enum tail {
	ANOMALY_MULT,  /* the anomaly interval's multiplier (horizon 1) */
	NAIVE,         /* running mean |reading - previous reading| */
	NAIVE_COUNT,
	COVER,         /* running share of scored readings inside their intervals */
	COVER_COUNT,
	LAST,          /* the previous reading; NaN before the first */
	TAIL_FLOATS
};

enum counter { ISSUED, OBSERVED, COUNTERS };

struct tc_interval {
	int k;                       /* horizons */
	float miss_rate;             /* 1 - level: the share of misses aimed at */
	float rate;                  /* learning rate of the multipliers */
	float window;                /* running means reach this many readings */
	float start_mult;            /* a new series' multiplier: the normal's for the level */
	int anomalies;               /* anomaly events on */
	float anomaly_miss_rate;     /* 1 - anomaly.level */
	float anomaly_start_mult;
	size_t floats;               /* per slot */
	size_t capacity;             /* slots */
	float *block;                /* [capacity x floats] */
	uint32_t *counters;          /* [capacity x COUNTERS] */
};

/* Acklam's rational approximation, relative error under 1.2e-9. */
double tc_interval_normal_quantile(double p)
{
	static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02,
		-2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
		2.506628277459239e+00 };
	static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02,
		-1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01 };
	static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01,
		-2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
		2.938163982698783e+00 };
	static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01,
		2.445134137142996e+00, 3.754408661907416e+00 };
	const double low = 0.02425;
	if (p < low || p > 1.0 - low) {
		double q = sqrt(-2.0 * log(p < low ? p : 1.0 - p));
		double x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
			/ ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
		return p < low ? x : -x;
	}
	double q = p - 0.5;
	double r = q * q;
	return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
		/ (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
}

/* The multiplier of the mean absolute error that makes a normal error's
 * interval cover `level`: where the conformal multipliers start. */
static float normal_multiplier(double level)
{
	return (float)(tc_interval_normal_quantile(0.5 + level / 2.0) * 1.2533141373155003 /* sqrt(pi / 2) */);
}

struct tc_interval *tc_interval_create(int horizons, const struct tc_interval_config *cfg,
	const struct tc_anomaly_config *anomaly, char *err)
{
	if (horizons < 1 || horizons > TC_INTERVAL_MAX_HORIZONS) {
		tc_err_set(err, "model.intervals: the model has %d outputs; intervals take 1 to %d "
			"(each series keeps its last outputs x outputs forecasts)", horizons,
			TC_INTERVAL_MAX_HORIZONS);
		return NULL;
	}
	struct tc_interval *iv = calloc(1, sizeof *iv);
	if (!iv) {
		tc_err_set(err, "out of memory for the intervals");
		return NULL;
	}
	*iv = (struct tc_interval){
		.k = horizons,
		.miss_rate = (float)(1.0 - cfg->level),
		.rate = (float)cfg->learning_rate,
		.window = (float)cfg->window,
		.start_mult = normal_multiplier(cfg->level),
		.anomalies = anomaly && anomaly->enabled,
		.anomaly_miss_rate = anomaly ? (float)(1.0 - anomaly->level) : 0.0f,
		.anomaly_start_mult = anomaly ? normal_multiplier(anomaly->level) : 0.0f,
		.floats = tc_interval_floats_for(horizons),
	};
	return iv;
}

void tc_interval_destroy(struct tc_interval **ivp)
{
	if (!ivp || !*ivp) {
		return;
	}
	free((*ivp)->block);
	free((*ivp)->counters);
	free(*ivp);
	*ivp = NULL;
}

int tc_interval_grow(struct tc_interval *iv, size_t capacity, char *err)
{
	if (capacity <= iv->capacity) {
		return 0;
	}
	if (tc_array_grow((void **)&iv->block, capacity, iv->floats * sizeof(float)) < 0
		|| tc_array_grow((void **)&iv->counters, capacity, COUNTERS * sizeof(uint32_t)) < 0) {
		return tc_err_set(err, "out of memory growing the intervals to %zu series", capacity);
	}
	iv->capacity = capacity;
	return 0;
}

/* Slot's parts. */
static float *ring(const struct tc_interval *iv, size_t slot)
{
	return iv->block + slot * iv->floats;
}

static float *scale(const struct tc_interval *iv, size_t slot)
{
	return ring(iv, slot) + (size_t)iv->k * (size_t)iv->k;
}

static float *mult(const struct tc_interval *iv, size_t slot)
{
	return scale(iv, slot) + iv->k;
}

static float *count(const struct tc_interval *iv, size_t slot)
{
	return mult(iv, slot) + iv->k;
}

static float *tail(const struct tc_interval *iv, size_t slot)
{
	return count(iv, slot) + iv->k;
}

void tc_interval_clear(struct tc_interval *iv, size_t slot)
{
	memset(ring(iv, slot), 0, iv->floats * sizeof(float));
	float *m = mult(iv, slot);
	for (int k = 0; k < iv->k; k++) {
		m[k] = iv->start_mult;
	}
	tail(iv, slot)[ANOMALY_MULT] = iv->anomaly_start_mult;
	tail(iv, slot)[LAST] = NAN;
	memset(iv->counters + slot * COUNTERS, 0, COUNTERS * sizeof(uint32_t));
}

/* Adds x to the running mean *mean of *n readings (at most window). */
static void running_mean(float *mean, float *n, float x, float window)
{
	*n = *n < window ? *n + 1.0f : window;
	*mean += (x - *mean) / *n;
}

/* Moves a multiplier after a hit or a miss (adaptive conformal inference). */
static float conformal_step(float m, int miss, float miss_rate, float rate)
{
	float next = m + rate * ((float)miss - miss_rate);
	return next > 0.0f ? next : 0.0f;
}

/* The horizon-1 check against the anomaly interval; 1 with *a filled on a miss. */
static int check_anomaly(struct tc_interval *iv, size_t slot, float value, float expected,
	struct tc_anomaly *a)
{
	float *t = tail(iv, slot);
	if (count(iv, slot)[0] < ANOMALY_MIN_SCORED) {
		return 0;
	}
	float half = t[ANOMALY_MULT] * scale(iv, slot)[0];
	float err = fabsf(value - expected);
	int miss = err > half;
	t[ANOMALY_MULT] = conformal_step(t[ANOMALY_MULT], miss, iv->anomaly_miss_rate, iv->rate);
	if (miss) {
		a->value = value;
		a->expected = expected;
		a->lower = expected - half;
		a->upper = expected + half;
		a->score = half > 0.0f ? err / half : INFINITY;
	}
	return miss;
}

int tc_interval_observe(struct tc_interval *iv, size_t slot, float value,
	struct tc_interval_tally *tally, struct tc_anomaly *a)
{
	if (!isfinite(value)) {
		return 0;
	}
	const size_t K = (size_t)iv->k;
	uint32_t *cnt = iv->counters + slot * COUNTERS;
	const float *r = ring(iv, slot);
	float *s = scale(iv, slot), *m = mult(iv, slot), *n = count(iv, slot), *t = tail(iv, slot);
	int anomaly = 0;
	if (iv->anomalies && cnt[ISSUED] >= 1) {
		float expected = r[((cnt[ISSUED] - 1) % K) * K];
		anomaly = isfinite(expected) && check_anomaly(iv, slot, value, expected, a);
	}
	size_t scored = 0, covered = 0;
	size_t most = cnt[ISSUED] < K ? cnt[ISSUED] : K;
	for (size_t h = 1; h <= most; h++) {
		float forecast = r[((cnt[ISSUED] - h) % K) * K + h - 1];
		if (!isfinite(forecast)) {
			continue;
		}
		float err = fabsf(value - forecast);
		if (n[h - 1] > 0.0f) {
			int miss = err > m[h - 1] * s[h - 1];
			m[h - 1] = conformal_step(m[h - 1], miss, iv->miss_rate, iv->rate);
			scored++;
			covered += !miss;
			tally->scored[h - 1]++;
			tally->covered[h - 1] += !miss;
		}
		running_mean(&s[h - 1], &n[h - 1], err, iv->window);
	}
	if (scored) {
		running_mean(&t[COVER], &t[COVER_COUNT], (float)covered / (float)scored, iv->window);
	}
	if (isfinite(t[LAST])) {
		running_mean(&t[NAIVE], &t[NAIVE_COUNT], fabsf(value - t[LAST]), iv->window);
	}
	t[LAST] = value;
	cnt[OBSERVED] += cnt[OBSERVED] < UINT32_MAX;
	return anomaly;
}

void tc_interval_bounds(const struct tc_interval *iv, size_t slot, const float *y,
	float *lower, float *upper)
{
	const size_t K = (size_t)iv->k;
	const float *s = scale(iv, slot), *m = mult(iv, slot), *n = count(iv, slot);
	int known = -1;              /* the longest horizon so far with a scale */
	for (size_t h = 0; h < K; h++) {
		float sc = NAN;
		if (n[h] > 0.0f) {
			known = (int)h;
			sc = s[h];
		} else if (known >= 0) {
			sc = s[known] * sqrtf((float)(h + 1) / (float)(known + 1));
		}
		float half = m[h] * sc;
		lower[h] = y[h] - half;
		upper[h] = y[h] + half;
	}
}

void tc_interval_forecast(struct tc_interval *iv, size_t slot, const float *y, float *lower,
	float *upper)
{
	const size_t K = (size_t)iv->k;
	uint32_t *cnt = iv->counters + slot * COUNTERS;
	memcpy(ring(iv, slot) + (cnt[ISSUED] % K) * K, y, K * sizeof *y);
	tc_interval_bounds(iv, slot, y, lower, upper);
	/* The ring is read modulo K: past 2^31 steps, go back by a multiple of K. */
	uint32_t next = cnt[ISSUED] + 1;
	cnt[ISSUED] = next < (1u << 31) ? next : next - (uint32_t)K * ((1u << 30) / (uint32_t)K);
}

void tc_interval_accuracy(const struct tc_interval *iv, size_t slot,
	struct tc_interval_accuracy *acc)
{
	const float *t = tail(iv, slot);
	float scored = count(iv, slot)[0];
	acc->scored = (uint32_t)scored;
	acc->mae = scored > 0.0f ? scale(iv, slot)[0] : NAN;
	acc->naive_mae = t[NAIVE_COUNT] > 0.0f ? t[NAIVE] : NAN;
	acc->mase = acc->mae / acc->naive_mae;
	acc->coverage = t[COVER_COUNT] > 0.0f ? t[COVER] : NAN;
}

int tc_interval_horizons(const struct tc_interval *iv)
{
	return iv->k;
}

int tc_interval_anomalies_on(const struct tc_interval *iv)
{
	return iv->anomalies;
}

size_t tc_interval_memory(const struct tc_interval *iv)
{
	return iv->capacity * (iv->floats * sizeof(float) + COUNTERS * sizeof(uint32_t));
}

size_t tc_interval_floats_for(int horizons)
{
	size_t k = (size_t)horizons;
	return k * k + 3 * k + TAIL_FLOATS;
}

size_t tc_interval_block_floats(const struct tc_interval *iv)
{
	return iv->floats;
}

float *tc_interval_block(struct tc_interval *iv, size_t slot)
{
	return ring(iv, slot);
}

uint32_t *tc_interval_counters(struct tc_interval *iv, size_t slot)
{
	return iv->counters + slot * COUNTERS;
}
