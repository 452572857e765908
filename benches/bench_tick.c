/* bench_tick.c -- series ids and whole-tick filing for the benches that drive a tick engine. */
#include "bench_tick.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "error.h"
#include "reading.h"
#include "tick.h"

int bench_ids_init(struct bench_ids *ids, size_t n)
{
	ids->n = n;
	ids->bytes = malloc(n * BENCH_ID_STRIDE);
	ids->len = malloc(n);
	ids->shuffled = malloc(n * sizeof *ids->shuffled);
	ids->off = malloc(n * sizeof *ids->off);
	ids->time = malloc(n * sizeof *ids->time);
	ids->values = malloc(n * sizeof *ids->values);
	if (!ids->bytes || !ids->len || !ids->shuffled || !ids->off || !ids->time || !ids->values) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		ids->len[i] = (uint8_t)snprintf(ids->bytes + i * BENCH_ID_STRIDE, BENCH_ID_STRIDE,
			"s%zu", i);
		ids->shuffled[i] = (uint32_t)i;
		ids->off[i] = i * BENCH_ID_STRIDE;
		ids->time[i] = NAN;
		ids->values[i] = (float)(i % 100) * 0.01f;
	}
	for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates, from bench_uniform's stream */
		size_t j = (size_t)((double)(bench_uniform(1.0f) * 0.5f + 0.5f) * (double)i);
		j = j > i ? i : j;
		uint32_t swap = ids->shuffled[i];
		ids->shuffled[i] = ids->shuffled[j];
		ids->shuffled[j] = swap;
	}
	return 0;
}

void bench_ids_finish(struct bench_ids *ids)
{
	free(ids->bytes);
	free(ids->len);
	free(ids->shuffled);
	free(ids->off);
	free(ids->time);
	free(ids->values);
}

static int count_forecasts(void *ud, const struct tc_forecasts *f)
{
	*(size_t *)ud += f->n;
	return 0;
}

int bench_offer_all(struct tc_tick *t, const struct bench_ids *ids, char *err)
{
	size_t emitted = 0; /* the wall clock closes nothing here */
	struct tc_emitter out = {count_forecasts, &emitted};
	const struct tc_reading_batch batch = {
		.n = ids->n, .ids = ids->bytes, .id_off = ids->off, .id_len = ids->len,
		.time = ids->time, .values = ids->values,
	};
	uint64_t accepted = tc_tick_get_stats(t)->accepted;
	size_t next = 0;
	while (next < ids->n) {
		if (tc_tick_offer_batch(t, &batch, &next, &out, err) < 0) {
			return -1;
		}
	}
	accepted = tc_tick_get_stats(t)->accepted - accepted;
	return next == ids->n && accepted == ids->n ? 0
		: tc_err_set(err, "%zu of %zu readings filed", (size_t)accepted, ids->n);
}

int bench_close(struct tc_tick *t, int64_t bucket, size_t expect, char *err)
{
	size_t emitted = 0;
	struct tc_emitter out = {count_forecasts, &emitted};
	if (tc_tick_close_wall(t, bucket, &out, err) < 0) {
		return -1;
	}
	return emitted == expect ? 0 : tc_err_set(err, "%zu forecasts for %zu series", emitted,
		expect);
}

int bench_file_tick(struct tc_tick *t, const struct bench_ids *ids, int64_t bucket,
	double *offer_s, double *close_s, char *err)
{
	double t0 = bench_now();
	if (bench_offer_all(t, ids, err) < 0) {
		return -1;
	}
	double t1 = bench_now();
	if (bench_close(t, bucket, ids->n, err) < 0) {
		return -1;
	}
	*offer_s = t1 - t0;
	*close_s = bench_now() - t1;
	return 0;
}
