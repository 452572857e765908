/* checkpoint_fixture.h -- tick engines over small GRUs, fed a planned set of series per
 * bucket, and a valid checkpoint of one; shared by test_checkpoint.c and
 * test_checkpoint_damage.c. */
#ifndef TC_TEST_CHECKPOINT_FIXTURE_H
#define TC_TEST_CHECKPOINT_FIXTURE_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <xxhash.h>

#include "byte_order.h"
#include "checkpoint.h"
#include "daemon_harness.h"
#include "model_file.h"
#include "tick_checkpoint.h"

#define OUTPUTS 2
#define INTERVAL_MS 1000
#define TTL_TICKS 2
#define HEADER 32
#define N_SECTIONS 9

static const int hidden[] = {6, 4};

/* ---- models and engines ------------------------------------------------ */

/* Writes dir/name (a GRU of n_layers layers, weights from seed) and loads it. */
static inline struct tc_model *load_gru(const char *name, const int *h, int n_layers, int reset_after,
	uint32_t seed)
{
	dh_write_gru(name, h, n_layers, OUTPUTS, seed);
	struct tc_model_spec spec;
	tc_model_spec_init(&spec);
	spec.reset_after = reset_after;
	spec.n_layers = n_layers;
	for (int k = 0; k < n_layers; k++) {
		spec.hidden[k] = h[k];
	}
	spec.outputs = OUTPUTS;
	char err[TC_ERR_LEN];
	struct tc_model *m = tc_model_file_load(&spec, dh_path(name), err);
	cr_assert_not_null(m, "%s", err);
	return m;
}

static inline struct tc_model *default_model(void)
{
	return load_gru("w.safetensors", hidden, 2, 1, 7);
}

struct settings {
	int interval_ms;
	int ema;                     /* model.scaler ema (alpha, warmup below) or none */
	double alpha;
	int warmup;
	size_t max_series;
	int intervals;               /* model.intervals at 80% and anomaly events at 90% */
};

static const struct settings DEFAULTS = {INTERVAL_MS, 1, 0.2, 3, 64, 1};

/* An event-clock engine, series freed after TTL_TICKS idle ticks, held inputs. */
static inline struct tc_tick *engine(const struct tc_model *m, const struct settings *s)
{
	struct tc_tick_config cfg = {.clock = TC_CLOCK_EVENT, .interval_ms = s->interval_ms,
		.flush_ms = 60000, .aggregate = TC_AGGREGATE_LAST, .missing = TC_MISSING_HOLD};
	struct tc_scaler_config scaler = {.type = s->ema ? TC_SCALER_EMA : TC_SCALER_NONE,
		.alpha = s->alpha, .warmup = s->warmup};
	char err[TC_ERR_LEN];
	struct tc_tick *t = tc_tick_create(&cfg, m, s->max_series, TTL_TICKS, &scaler, err);
	cr_assert_not_null(t, "%s", err);
	struct tc_interval_config intervals = {.enabled = s->intervals, .level = 0.8,
		.learning_rate = 0.05, .window = 20};
	struct tc_anomaly_config anomaly = {.enabled = s->intervals, .level = 0.9};
	cr_assert_eq(tc_tick_set_intervals(t, &intervals, &anomaly, err), 0, "%s", err);
	return t;
}

/* Appends each emitted tick to a dh_buf: bucket, count, and per series its
 * slot, id and outputs, as raw bytes, so two logs compare with memcmp. */
static inline int log_forecasts(void *ud, const struct tc_forecasts *f)
{
	struct dh_buf *b = ud;
	dh_buf_add(b, &f->bucket_ms, sizeof f->bucket_ms);
	dh_buf_add(b, &f->n, sizeof f->n);
	for (size_t i = 0; i < f->n; i++) {
		size_t len;
		const char *id = tc_forecasts_id(f, i, &len);
		dh_buf_add(b, &f->slots[i], sizeof f->slots[i]);
		dh_buf_add(b, &len, sizeof len);
		dh_buf_add(b, id, len);
		dh_buf_add(b, f->outputs + i * (size_t)f->n_outputs, (size_t)f->n_outputs * sizeof(float));
		dh_buf_add(b, f->warm ? &f->warm[i] : (const uint8_t *)"-", 1);
		if (f->lower) {
			dh_buf_add(b, f->lower + i * (size_t)f->n_outputs, (size_t)f->n_outputs * sizeof(float));
			dh_buf_add(b, f->upper + i * (size_t)f->n_outputs, (size_t)f->n_outputs * sizeof(float));
		}
	}
	dh_buf_add(b, &f->n_anomalies, sizeof f->n_anomalies);
	for (size_t j = 0; j < f->n_anomalies; j++) {
		dh_buf_add(b, &f->anomalies[j], sizeof f->anomalies[j]);
	}
	return 0;
}

static inline void offer(struct tc_tick *t, const char *id, unsigned bucket, struct dh_buf *log)
{
	/* A level of its own per series, moving with the bucket. */
	float v = (float)(id[0] - 'a') * 3.0f + (float)((bucket * 37u + (unsigned)id[0]) % 11) * 0.25f;
	struct tc_reading r = {.id = id, .id_len = strlen(id), .n_values = 1, .values = {v},
		.has_time = 1, .time = bucket * (INTERVAL_MS / 1000.0) + 0.5};
	struct tc_emitter out = {log_forecasts, log};
	enum tc_reject why;
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_tick_offer(t, &r, &out, &why, err), 0, "%s in bucket %u: %s", id, bucket, err);
}

static inline void close_tick(struct tc_tick *t, struct dh_buf *log)
{
	struct tc_emitter out = {log_forecasts, log};
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_tick_close(t, &out, err), 0, "%s", err);
}

/* Each bucket's readers, as a string of series names (one letter each). */
static inline void feed(struct tc_tick *t, unsigned first, const char *const *plan, size_t buckets,
	struct dh_buf *log)
{
	for (size_t b = 0; b < buckets; b++) {
		for (const char *s = plan[b]; *s; s++) {
			char id[2] = {*s, '\0'};
			offer(t, id, first + (unsigned)b, log);
		}
	}
	close_tick(t, log);
}

/* Buckets 0..7: a..f take slots 0..5; b, d and e stop after bucket 2 and are
 * evicted together (slots 1, 3, 4: freed in that order, so taken again as
 * 4, 3, 1); g then takes slot 4. Leaves free slots 3 then 1. */
static const char *const BEFORE[] = {"abcdef", "abcdef", "abcdef", "acf", "acf", "acf", "acfg",
	"acg"};

static inline struct tc_tick *engine_before_checkpoint(const struct tc_model *m, struct dh_buf *log)
{
	struct tc_tick *t = engine(m, &DEFAULTS);
	feed(t, 0, BEFORE, sizeof BEFORE / sizeof BEFORE[0], log);
	return t;
}

static inline void save(struct tc_tick *t, const char *path)
{
	struct tc_checkpoint *c = tc_checkpoint_create();
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_tick_checkpoint(t, c, err), 0, "%s", err);
	cr_assert_eq(tc_checkpoint_save(c, path, err), 0, "%s", err);
	tc_checkpoint_destroy(&c);
}

/* Writes the checkpoint of engine_before_checkpoint to dir/name, whose path
 * goes to path. */
static inline void write_valid(const char *name, char path[256])
{
	struct tc_model *m = default_model();
	struct dh_buf log = {0};
	struct tc_tick *t = engine_before_checkpoint(m, &log);
	snprintf(path, 256, "%s", dh_path(name));
	save(t, path);
	tc_tick_destroy(&t);
	tc_model_destroy(&m);
	dh_buf_free(&log);
}

static inline struct tc_checkpoint *load_ok(const char *path)
{
	struct tc_checkpoint *c = tc_checkpoint_create();
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_checkpoint_load(c, path, err), 0, "%s", err);
	return c;
}

#endif
