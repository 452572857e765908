/* scaler.h -- per-series EMA scaling of the model's inputs and outputs.
 *
 *   struct tc_scaler *sc = tc_scaler_create(1, 0.05, 24, 0, err);  // I = 1
 *   tc_scaler_grow(sc, 1024, err);          // at load, never while stepping
 *   tc_scaler_clear(sc, slot);              // a new series
 *   tc_scaler_update(sc, slot, x);          // its reading of this tick
 *   tc_scaler_standardise(sc, slot, x, z);  // z: the model's input
 *   ...                                     // tc_step(..., z, y)
 *   tc_scaler_restore(sc, slot, y, O);      // y: back in the series' units
 *   tc_scaler_destroy(&sc);
 *
 * The rule, per slot and per input value, in float64 (docs/models.md,
 * "Scaling"; tools/scaler.py is its Python twin and tests/data/scaler holds
 * vectors both must reproduce):
 *
 *   on the first reading x:   m = x, v = 0, n = 1
 *   on each later reading x:  d = x - m
 *                             m = m + alpha * d
 *                             v = (1 - alpha) * (v + alpha * d * d)
 *                             n = n + 1
 *   scale                     s = sqrt(v + eps), eps = 1e-12
 *   model input               z = (x - m) / s        (with m, v after the update)
 *   forecast, back            y = m + s * y_model    (output k uses value k % I)
 *
 * A slot is warm once n >= warmup. n stops at UINT32_MAX, so a series that
 * reads forever never looks new again. Nothing here allocates but create and
 * grow; no function is thread-safe against a grow. */
#ifndef TC_SCALER_H
#define TC_SCALER_H

#include <stddef.h>
#include <stdint.h>

#define TC_SCALER_EPS 1e-12 /* added to v before the square root */

struct tc_scaler;

/* A scaler for `width` values per reading (1..TC_MAX_INPUT), weighting the
 * newest reading by alpha (0 < alpha <= 1), warm after `warmup` readings,
 * holding `capacity` slots (all cleared). NULL and err on failure; the
 * result is the caller's, released with tc_scaler_destroy. */
struct tc_scaler *tc_scaler_create(int width, double alpha, uint32_t warmup,
	size_t capacity, char *err);

/* Frees *s and sets it to NULL; NULL or *s == NULL is a no-op. */
void tc_scaler_destroy(struct tc_scaler **s);

/* Grows to at least `capacity` slots, keeping every existing slot; new ones
 * are cleared. Shrinking is a no-op. Returns 0 or -1 with err. */
int tc_scaler_grow(struct tc_scaler *s, size_t capacity, char *err);

size_t tc_scaler_capacity(const struct tc_scaler *s);

/* Bytes of the per-slot figures: capacity x (2 x width doubles + a count). */
size_t tc_scaler_memory(const struct tc_scaler *s);

/* Forgets slot's readings (n = 0): its next reading is a first one. */
void tc_scaler_clear(struct tc_scaler *s, size_t slot);

/* Takes slot's reading x[width]. Returns 1 when this reading made the slot
 * warm (n reached warmup), else 0. */
int tc_scaler_update(struct tc_scaler *s, size_t slot, const float *x);

/* z[i] = (x[i] - m_i) / s_i for i < width, with slot's current m and s,
 * rounded to float. z may be x. */
void tc_scaler_standardise(const struct tc_scaler *s, size_t slot, const float *x, float *z);

/* y[k] = m_{k % width} + s_{k % width} * y[k] for k < n, in place. */
void tc_scaler_restore(const struct tc_scaler *s, size_t slot, float *y, int n);

/* Nonzero once slot has had at least warmup readings. */
int tc_scaler_is_warm(const struct tc_scaler *s, size_t slot);

/* Readings slot has taken (saturating at UINT32_MAX). */
uint32_t tc_scaler_readings(const struct tc_scaler *s, size_t slot);

/* Sets slot's figures as they were (a checkpoint restored): m[width],
 * v[width] and the readings taken. */
void tc_scaler_set(struct tc_scaler *s, size_t slot, const double *m, const double *v,
	uint32_t readings);

/* Slot's m[width] and v[width]. Borrowed; they move on tc_scaler_grow. */
const double *tc_scaler_mean(const struct tc_scaler *s, size_t slot);
const double *tc_scaler_variance(const struct tc_scaler *s, size_t slot);

#endif
