/* scaler.c -- per-series EMA mean and variance, standardising inputs and restoring outputs.
 *
 * Each operation is written in the order tools/scaler.py evaluates it, and
 * this file is built with -ffp-contract=off (core/meson.build), so that no
 * compiler fuses a multiply and an add: the float64 results are the Python
 * ones bit for bit. */
#include "scaler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"
#include "model.h"

struct tc_scaler {
	int width;          /* I: values per reading */
	double alpha;       /* weight of the newest reading */
	uint32_t warmup;    /* readings before a slot is warm */
	size_t capacity;    /* slots */
	double *m;          /* [capacity x I]: the EMA mean */
	double *v;          /* [capacity x I]: the EMA variance */
	uint32_t *n;        /* [capacity]: readings taken, saturating */
};

struct tc_scaler *tc_scaler_create(int width, double alpha, uint32_t warmup,
	size_t capacity, char *err)
{
	if (width < 1 || width > TC_MAX_INPUT) {
		tc_err_set(err, "scaler width %d is not in 1..%d", width, TC_MAX_INPUT);
		return NULL;
	}
	if (!(alpha > 0.0 && alpha <= 1.0)) {
		tc_err_set(err, "scaler alpha %g is not in (0, 1]", alpha);
		return NULL;
	}
	struct tc_scaler *s = calloc(1, sizeof *s);
	if (!s) {
		tc_err_set(err, "out of memory for the scaler");
		return NULL;
	}
	s->width = width;
	s->alpha = alpha;
	s->warmup = warmup;
	if (tc_scaler_grow(s, capacity, err) < 0) {
		tc_scaler_destroy(&s);
		return NULL;
	}
	return s;
}

void tc_scaler_destroy(struct tc_scaler **sp)
{
	if (!sp || !*sp) {
		return;
	}
	struct tc_scaler *s = *sp;
	free(s->m);
	free(s->v);
	free(s->n);
	free(s);
	*sp = NULL;
}

/* Reallocates *p to `count` items of `size` bytes, zeroing those past `old`. */
static int grow_zeroed(void **p, size_t old, size_t count, size_t size)
{
	if (tc_array_grow(p, count, size) < 0) {
		return -1;
	}
	memset((char *)*p + old * size, 0, (count - old) * size);
	return 0;
}

int tc_scaler_grow(struct tc_scaler *s, size_t capacity, char *err)
{
	if (capacity <= s->capacity) {
		return 0;
	}
	size_t w = (size_t)s->width;
	/* Each array keeps its old contents on failure, so growing again later
	 * starts from a consistent scaler. */
	if (capacity > SIZE_MAX / w
		|| grow_zeroed((void **)&s->m, s->capacity * w, capacity * w, sizeof(double)) < 0
		|| grow_zeroed((void **)&s->v, s->capacity * w, capacity * w, sizeof(double)) < 0
		|| grow_zeroed((void **)&s->n, s->capacity, capacity, sizeof(uint32_t)) < 0) {
		return tc_err_set(err, "out of memory growing the scalers to %zu series", capacity);
	}
	s->capacity = capacity;
	return 0;
}

size_t tc_scaler_capacity(const struct tc_scaler *s)
{
	return s->capacity;
}

size_t tc_scaler_memory(const struct tc_scaler *s)
{
	return s->capacity * (2 * (size_t)s->width * sizeof(double) + sizeof(uint32_t));
}

void tc_scaler_clear(struct tc_scaler *s, size_t slot)
{
	size_t w = (size_t)s->width;
	memset(s->m + slot * w, 0, w * sizeof(double));
	memset(s->v + slot * w, 0, w * sizeof(double));
	s->n[slot] = 0;
}

int tc_scaler_update(struct tc_scaler *s, size_t slot, const float *x)
{
	const size_t w = (size_t)s->width;
	const double a = s->alpha;
	double *m = s->m + slot * w;
	double *v = s->v + slot * w;
	if (s->n[slot] == 0) {
		for (size_t i = 0; i < w; i++) {
			m[i] = (double)x[i];
			v[i] = 0.0;
		}
	} else {
		for (size_t i = 0; i < w; i++) {
			double d = (double)x[i] - m[i];
			m[i] = m[i] + a * d;
			v[i] = (1.0 - a) * (v[i] + a * d * d);
		}
	}
	if (s->n[slot] == UINT32_MAX) {
		return 0;
	}
	s->n[slot]++;
	return s->n[slot] == s->warmup;
}

void tc_scaler_standardise(const struct tc_scaler *s, size_t slot, const float *x, float *z)
{
	const size_t w = (size_t)s->width;
	const double *m = s->m + slot * w;
	const double *v = s->v + slot * w;
	for (size_t i = 0; i < w; i++) {
		z[i] = (float)(((double)x[i] - m[i]) / sqrt(v[i] + TC_SCALER_EPS));
	}
}

void tc_scaler_restore(const struct tc_scaler *s, size_t slot, float *y, int n)
{
	const size_t w = (size_t)s->width;
	const double *m = s->m + slot * w;
	const double *v = s->v + slot * w;
	size_t i = 0;
	for (int k = 0; k < n; k++) {
		y[k] = (float)(m[i] + sqrt(v[i] + TC_SCALER_EPS) * (double)y[k]);
		i = i + 1 == w ? 0 : i + 1;
	}
}

int tc_scaler_is_warm(const struct tc_scaler *s, size_t slot)
{
	return s->n[slot] >= s->warmup;
}

uint32_t tc_scaler_readings(const struct tc_scaler *s, size_t slot)
{
	return s->n[slot];
}

void tc_scaler_set(struct tc_scaler *s, size_t slot, const double *m, const double *v,
	uint32_t readings)
{
	memcpy(s->m + slot * (size_t)s->width, m, (size_t)s->width * sizeof *m);
	memcpy(s->v + slot * (size_t)s->width, v, (size_t)s->width * sizeof *v);
	s->n[slot] = readings;
}

const double *tc_scaler_mean(const struct tc_scaler *s, size_t slot)
{
	return s->m + slot * (size_t)s->width;
}

const double *tc_scaler_variance(const struct tc_scaler *s, size_t slot)
{
	return s->v + slot * (size_t)s->width;
}
