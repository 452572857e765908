/* bench_tick.c -- series ids and whole-tick filing for the benches that drive a tick engine. */
#include "bench_tick.h"

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
	if (!ids->bytes || !ids->len || !ids->shuffled) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		ids->len[i] = (uint8_t)snprintf(ids->bytes + i * BENCH_ID_STRIDE, BENCH_ID_STRIDE,
			"s%zu", i);
		ids->shuffled[i] = (uint32_t)i;
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
	struct tc_reading r = {.n_values = 1};
	for (size_t i = 0; i < ids->n; i++) {
		r.id = ids->bytes + i * BENCH_ID_STRIDE;
		r.id_len = ids->len[i];
		r.values[0] = (float)(i % 100) * 0.01f;
		enum tc_reject why;
		if (tc_tick_offer(t, &r, &out, &why, err) != 0) {
			return tc_err_set(err, "series %zu was not filed", i);
		}
	}
	return 0;
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
