/* dh_readings.h -- deterministic text readings for the daemon tests, on the event clock. */
#ifndef TC_TEST_DH_READINGS_H
#define TC_TEST_DH_READINGS_H

#include <stdint.h>

#include "dh_util.h"

/* Timestamps of bucket 0 (event clock, 1 s buckets). */
#define DH_T0 1700000000.0

/* A value in [-2, 2) for series i in bucket b, a float that %.9g round-trips. */
static inline float dh_value(unsigned i, unsigned b)
{
	uint32_t h = i * 2654435761u ^ (b + 1) * 2246822519u;
	h ^= h >> 15;
	h *= 2654435761u;
	h ^= h >> 13;
	return (float)((int)(h % 40000u) - 20000) / 10000.0f;
}

/* Appends `<prefix><i> <value> <t>` for series i0..i0+n-1 in event bucket
 * b (1 s buckets from DH_T0), each at its own time inside the bucket. */
static inline void dh_add_bucket(struct dh_buf *b, const char *prefix, unsigned i0, unsigned n,
	unsigned bucket)
{
	for (unsigned i = i0; i < i0 + n; i++) {
		dh_buf_printf(b, "%s%u %.9g %.3f\n", prefix, i, (double)dh_value(i, bucket),
			DH_T0 + bucket + (double)(i % 900) / 1000.0);
	}
}

#endif
