/* staging.h -- one tick's readings, combined per series by the aggregate.
 *
 * Each series (slot) that gets readings in a tick accumulates them here:
 * last, mean, min, max or sum, elementwise over its input vector. When the
 * tick closes it takes each slot's combined input, which leaves the slot
 * empty for the next tick. Slots are independent: several threads may add
 * to and take from distinct slots below the capacity at once (growing is
 * the caller's, before). */
#ifndef TC_STAGING_H
#define TC_STAGING_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct tc_staging;

/* Staging for `width` values per reading, combined by `aggregate`. NULL and
 * err when out of memory; the caller's, released with tc_staging_destroy. */
struct tc_staging *tc_staging_create(int width, enum tc_aggregate aggregate, char *err);
void tc_staging_destroy(struct tc_staging **s);

/* Makes room for slots below capacity, so that adding to them never
 * allocates. Shrinking is a no-op. Returns 0, or -1 when out of memory. */
int tc_staging_grow(struct tc_staging *s, size_t capacity);

/* Adds one reading's values for slot, growing when slot is past the
 * capacity (never from two threads at once). Returns 0, or -1 when out of
 * memory. */
int tc_staging_add(struct tc_staging *s, uint32_t slot, const float *values);

/* Readings slot got this tick (0 when untouched; slot may be past the end). */
uint32_t tc_staging_count(const struct tc_staging *s, uint32_t slot);

/* Writes slot's combined input to out[width] and empties the slot for the
 * next tick; returns the readings it combined (0: none, out untouched). */
uint32_t tc_staging_take(struct tc_staging *s, uint32_t slot, float *out);

/* Bytes of the per-slot arrays (accumulators, counts). */
size_t tc_staging_memory(const struct tc_staging *s);

#endif
