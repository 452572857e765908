/* staging.c -- per-slot accumulators for one tick's readings. */
#include "staging.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"

struct tc_staging {
	int width;               /* values per reading */
	enum tc_aggregate aggregate;
	size_t capacity;         /* slots */
	float *acc;              /* [capacity x width]: last, running sum, min or max */
	uint32_t *count;         /* [capacity] readings this tick */
};

struct tc_staging *tc_staging_create(int width, enum tc_aggregate aggregate, char *err)
{
	struct tc_staging *s = calloc(1, sizeof *s);
	if (!s) {
		tc_err_set(err, "out of memory for the staging buffer");
		return NULL;
	}
	s->width = width;
	s->aggregate = aggregate;
	return s;
}

void tc_staging_destroy(struct tc_staging **sp)
{
	if (!sp || !*sp) {
		return;
	}
	free((*sp)->acc);
	free((*sp)->count);
	free(*sp);
	*sp = NULL;
}

int tc_staging_grow(struct tc_staging *s, size_t cap)
{
	if (cap <= s->capacity) {
		return 0;
	}
	if (tc_array_grow((void **)&s->acc, cap, (size_t)s->width * sizeof *s->acc) < 0
		|| tc_array_grow((void **)&s->count, cap, sizeof *s->count) < 0) {
		return -1;
	}
	memset(s->count + s->capacity, 0, (cap - s->capacity) * sizeof *s->count);
	s->capacity = cap;
	return 0;
}

static void combine(enum tc_aggregate aggregate, float *acc, const float *v, int width)
{
	for (int i = 0; i < width; i++) {
		switch (aggregate) {
		case TC_AGGREGATE_LAST:
			acc[i] = v[i];
			break;
		case TC_AGGREGATE_MEAN:
		case TC_AGGREGATE_SUM:
			acc[i] += v[i];
			break;
		case TC_AGGREGATE_MIN:
			acc[i] = v[i] < acc[i] ? v[i] : acc[i];
			break;
		case TC_AGGREGATE_MAX:
			acc[i] = v[i] > acc[i] ? v[i] : acc[i];
			break;
		}
	}
}

/* Doubles the capacity (from 64) until it holds need slots. */
static int grow_for(struct tc_staging *s, size_t need)
{
	size_t cap = s->capacity ? s->capacity : 64;
	while (cap < need) {
		cap *= 2;
	}
	return tc_staging_grow(s, cap);
}

int tc_staging_add(struct tc_staging *s, uint32_t slot, const float *values)
{
	if (slot >= s->capacity && grow_for(s, (size_t)slot + 1) < 0) {
		return -1;
	}
	float *acc = s->acc + (size_t)slot * s->width;
	if (s->count[slot]++ == 0) {
		memcpy(acc, values, (size_t)s->width * sizeof *acc);
	} else {
		combine(s->aggregate, acc, values, s->width);
	}
	return 0;
}

uint32_t tc_staging_count(const struct tc_staging *s, uint32_t slot)
{
	return slot < s->capacity ? s->count[slot] : 0;
}

uint32_t tc_staging_take(struct tc_staging *s, uint32_t slot, float *out)
{
	uint32_t count = tc_staging_count(s, slot);
	if (count == 0) {
		return 0;
	}
	const float *acc = s->acc + (size_t)slot * s->width;
	float divisor = s->aggregate == TC_AGGREGATE_MEAN ? (float)count : 1.0f;
	for (int i = 0; i < s->width; i++) {
		out[i] = acc[i] / divisor;
	}
	s->count[slot] = 0;
	return count;
}

size_t tc_staging_memory(const struct tc_staging *s)
{
	return s->capacity * ((size_t)s->width * sizeof(float) + sizeof(uint32_t));
}
