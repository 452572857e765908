/* bench_tick.h -- what the tick-engine benches share: series ids formatted once, filing a tick of them.
 *
 * The ids are `s0` .. `s<N-1>`, formatted outside what is measured; a
 * reading of series i is (i % 100) * 0.01. The engine is expected on the
 * wall clock, so filing never closes a tick: the caller closes it. The
 * readings are filed as one batch, as the daemon files what its queue holds. */
#ifndef BENCH_TICK_H
#define BENCH_TICK_H

#include <stddef.h>
#include <stdint.h>

struct tc_tick;

#define BENCH_ID_STRIDE 16 /* bytes per formatted id: "s" and up to 14 digits */

struct bench_ids {
	size_t n;
	char *bytes;         /* [n x BENCH_ID_STRIDE] */
	uint8_t *len;        /* [n] */
	uint32_t *shuffled;  /* [n]: a permutation of 0..n-1 (bench_uniform's stream) */
	size_t *off;         /* [n]: i * BENCH_ID_STRIDE, for the batch */
	double *time;        /* [n]: NAN, the wall clock needs none */
	float *values;       /* [n]: series i's reading */
};

/* Formats n ids and draws their shuffled order. Returns 0, or -1 when out
 * of memory (then bench_ids_finish frees what was made). */
int bench_ids_init(struct bench_ids *ids, size_t n);

/* Frees the arrays; a zeroed struct is a no-op. */
void bench_ids_finish(struct bench_ids *ids);

/* Files one reading for each id into the open tick, as one batch. Returns
 * 0, or -1 with err when a reading was not filed. */
int bench_offer_all(struct tc_tick *t, const struct bench_ids *ids, char *err);

/* Closes the open tick as bucket `bucket` and checks that it forecast
 * `expect` series. Returns 0, or -1 with err. */
int bench_close(struct tc_tick *t, int64_t bucket, size_t expect, char *err);

/* bench_offer_all then bench_close; *offer_s and *close_s: the seconds
 * each part took. Returns 0, or -1 with err. */
int bench_file_tick(struct tc_tick *t, const struct bench_ids *ids, int64_t bucket,
	double *offer_s, double *close_s, char *err);

#endif
