/* tick.c -- filing readings into ticks and stepping each closed tick. */
#include "tick.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "error.h"
#include "scaler.h"
#include "staging.h"
#include "state.h"
#include "step.h"
#include "tick_internal.h"


struct tc_tick *tc_tick_create(const struct tc_tick_config *cfg, const struct tc_model *m,
	size_t max_series, uint64_t ttl_ticks, const struct tc_scaler_config *scaler, char *err)
{
	struct tc_tick *t = calloc(1, sizeof *t);
	if (!t) {
		tc_err_set(err, "out of memory for the tick engine");
		return NULL;
	}
	t->cfg = *cfg;
	t->model = m;
	t->max_series = max_series;
	t->ttl_ticks = ttl_ticks;
	t->width = tc_model_get_spec(m)->input_size;
	t->n_outputs = tc_model_get_spec(m)->outputs;
	t->reading_slot = malloc(TC_TICK_FILE_CHUNK * sizeof *t->reading_slot);
	t->fresh_slots = malloc(TC_TICK_FILE_CHUNK * sizeof *t->fresh_slots);
	if (!t->reading_slot || !t->fresh_slots) {
		tc_err_set(err, "out of memory for the tick engine");
		tc_tick_destroy(&t);
		return NULL;
	}
	if (!(t->registry = tc_registry_create(max_series, err))
		|| !(t->staging = tc_staging_create(t->width, cfg->aggregate, err))
		|| !(t->state = tc_state_create(m, 0, 0, err))) {
		tc_tick_destroy(&t);
		return NULL;
	}
	if (scaler && scaler->type == TC_SCALER_EMA) {
		t->scaler_cfg = *scaler;
	}
	if (t->scaler_cfg.type == TC_SCALER_EMA
		&& !(t->scaler = tc_scaler_create(t->width, scaler->alpha, (uint32_t)scaler->warmup, 0,
			err))) {
		tc_tick_destroy(&t);
		return NULL;
	}
	return t;
}

void tc_tick_destroy(struct tc_tick **tp)
{
	if (!tp || !*tp) {
		return;
	}
	struct tc_tick *t = *tp;
	tc_registry_destroy(&t->registry);
	tc_staging_destroy(&t->staging);
	tc_state_destroy(&t->state);
	tc_scaler_destroy(&t->scaler);
	tc_interval_destroy(&t->interval);
	free(t->batch_lower);
	free(t->batch_upper);
	free(t->batch_anomaly);
	free(t->chunk_tally);
	free(t->last_input);
	free(t->last_output);
	free(t->last_seen);
	free(t->stepped);
	free(t->batch_slots);
	free(t->batch_in);
	free(t->batch_out);
	free(t->batch_warm);
	free(t->reading_slot);
	free(t->fresh_slots);
	free(t);
	*tp = NULL;
}

/* Makes every per-slot array hold slot, so closing never allocates. They
 * grow by half (from 1024), never past max_series: at most a third of what
 * they hold is slack, none once max_series are live (docs/benchmarks.md,
 * "Memory per series"). */
int tc_tick_reserve(struct tc_tick *t, size_t slot, char *err)
{
	if (slot < t->capacity) {
		return 0;
	}
	size_t cap = t->capacity ? t->capacity + t->capacity / 2 : 1024;
	cap = cap > slot ? cap : slot + 1;
	cap = cap < t->max_series ? cap : t->max_series; /* slot < max_series: still > slot */
	size_t in = (size_t)t->width * sizeof(float);
	size_t out = (size_t)t->n_outputs * sizeof(float);
	if (tc_state_grow(t->state, cap, err) < 0
		|| tc_array_grow((void **)&t->last_input, cap, in) < 0
		|| tc_array_grow((void **)&t->last_output, cap, out) < 0
		|| tc_array_grow((void **)&t->last_seen, cap, sizeof(uint64_t)) < 0
		|| tc_array_grow((void **)&t->stepped, cap, 1) < 0
		|| tc_array_grow((void **)&t->batch_slots, cap, sizeof(uint32_t)) < 0
		|| tc_array_grow((void **)&t->batch_in, cap, in) < 0
		|| tc_array_grow((void **)&t->batch_out, cap, out) < 0
		|| tc_array_grow((void **)&t->batch_warm, cap, 1) < 0
		|| tc_staging_grow(t->staging, cap) < 0
		|| (t->scaler && tc_scaler_grow(t->scaler, cap, err) < 0)
		|| tc_tick_reserve_intervals(t, cap) < 0) {
		return tc_err_set(err, "out of memory for %zu series", cap);
	}
	t->capacity = cap;
	return 0;
}

/* The end of chunk c when n items are cut into chunks of `per`. */
static size_t chunk_end(int c, size_t per, size_t n)
{
	return (size_t)(c + 1) * per < n ? (size_t)(c + 1) * per : n;
}

/* Whether slot steps in the open tick: it got a reading, or it is live and
 * tick.missing holds or zeroes it. */
static int steps(const struct tc_tick *t, uint32_t slot)
{
	return tc_staging_count(t->staging, slot)
		|| (t->cfg.missing != TC_MISSING_SKIP && tc_registry_id(t->registry, slot, NULL));
}

/* Gathers slots [lo, hi) (chunk c) that step into the batch from row n on,
 * taking their staged readings, which score the intervals' forecasts;
 * returns how many series' scalers turned warm. */
static uint64_t gather_range(struct tc_tick *t, int c, uint32_t lo, uint32_t hi, size_t n)
{
	const size_t width = (size_t)t->width;
	uint64_t warmed = 0;
	for (uint32_t slot = lo; slot < hi; slot++) {
		float *in = t->batch_in + n * width;
		float *last = t->last_input + slot * width;
		int fresh = tc_staging_take(t->staging, slot, in);
		if (t->interval) {
			tc_tick_observe(t, c, slot, fresh ? in : NULL, n);
		}
		if (fresh) {
			memcpy(last, in, width * sizeof *in);
			if (t->scaler && tc_scaler_update(t->scaler, slot, in)) {
				warmed++;
			}
		} else if (!steps(t, slot)) {
			continue;
		} else if (t->cfg.missing == TC_MISSING_HOLD) {
			memcpy(in, last, width * sizeof *in);
		} else {
			memset(in, 0, width * sizeof *in);
		}
		if (t->scaler) {
			tc_scaler_standardise(t->scaler, slot, in, in);
			t->batch_warm[n] = (uint8_t)tc_scaler_is_warm(t->scaler, slot);
		}
		t->batch_slots[n++] = slot;
	}
	return warmed;
}

/* Gathers the series that step in the open tick, in slot order, taking
 * their readings out of the staging. With a scaler, a reading updates it
 * and every input is standardised. In parallel: each chunk of slots counts
 * its series, then gathers them from its offset in the batch. */
static size_t gather_batch(struct tc_tick *t)
{
	const size_t slots = tc_registry_slots(t->registry);
	const size_t per = (slots + TC_TICK_GATHER_CHUNKS - 1) / TC_TICK_GATHER_CHUNKS;
	size_t offset[TC_TICK_GATHER_CHUNKS + 1] = {0};
	const int threads = tc_tick_team(t, slots);
#pragma omp parallel for schedule(static) num_threads(threads)
	for (int c = 0; c < TC_TICK_GATHER_CHUNKS; c++) {
		size_t end = chunk_end(c, per, slots);
		for (size_t slot = c * per; slot < end; slot++) {
			offset[c + 1] += (size_t)steps(t, (uint32_t)slot);
		}
	}
	for (int c = 0; c < TC_TICK_GATHER_CHUNKS; c++) {
		offset[c + 1] += offset[c];
	}
	uint64_t warmed = 0;
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : warmed)
	for (int c = 0; c < TC_TICK_GATHER_CHUNKS; c++) {
		size_t end = chunk_end(c, per, slots);
		if (c * per < end) {
			warmed += gather_range(t, c, (uint32_t)(c * per), (uint32_t)end, offset[c]);
		}
	}
	t->stats.warming -= warmed;
	return offset[TC_TICK_GATHER_CHUNKS];
}

/* Frees the series that got no reading in the last ttl_ticks ticks (this
 * one included), before the tick is gathered, so they are not stepped. */
static void evict_idle(struct tc_tick *t)
{
	const uint64_t now = t->stats.ticks;
	const size_t live = tc_registry_slots(t->registry);
	/* Slots past the capacity are free: their arrays could not grow (out of
	 * memory), and the slot was given back to the registry. */
	const size_t slots = live < t->capacity ? live : t->capacity;
	for (uint32_t slot = 0; slot < slots; slot++) {
		if (now - t->last_seen[slot] >= t->ttl_ticks && tc_registry_id(t->registry, slot, NULL)
			&& !tc_staging_count(t->staging, slot)) {
			tc_registry_remove(t->registry, slot);
			t->stats.evicted++;
			if (t->scaler && !tc_scaler_is_warm(t->scaler, slot)) {
				t->stats.warming--;
			}
		}
	}
}

/* Maps each stepped slot's outputs back to its own units. */
static void restore_outputs(struct tc_tick *t, size_t n)
{
	const int o = t->n_outputs;
#pragma omp parallel for schedule(static) num_threads(tc_tick_team(t, n))
	for (size_t i = 0; i < n; i++) {
		tc_scaler_restore(t->scaler, t->batch_slots[i], t->batch_out + i * (size_t)o, o);
	}
}

/* Keeps each stepped slot's forecast for the control socket. */
static void remember_outputs(struct tc_tick *t, size_t n)
{
	const size_t o = (size_t)t->n_outputs;
#pragma omp parallel for schedule(static) num_threads(tc_tick_team(t, n))
	for (size_t i = 0; i < n; i++) {
		uint32_t slot = t->batch_slots[i];
		memcpy(t->last_output + slot * o, t->batch_out + i * o, o * sizeof(float));
		t->stepped[slot] = 1;
	}
}

static const char *registry_id(const void *registry, uint32_t slot, size_t *len)
{
	return tc_registry_id(registry, slot, len);
}

const char *tc_forecasts_id(const struct tc_forecasts *f, size_t i, size_t *len)
{
	return f->id(f->names, f->slots[i], len);
}

#define ID_CHUNKS 64   /* ranges of series whose ids are measured and copied in parallel */

size_t tc_forecasts_id_ends(const struct tc_forecasts *f, size_t *id_end)
{
	const size_t per = (f->n + ID_CHUNKS - 1) / ID_CHUNKS;
	size_t chunk_bytes[ID_CHUNKS] = {0};
#pragma omp parallel for schedule(static) if (f->n >= TC_TICK_PARALLEL_MIN)
	for (int c = 0; c < ID_CHUNKS; c++) {
		size_t end = chunk_end(c, per, f->n);
		size_t bytes = 0;
		for (size_t i = c * per; i < end; i++) {
			size_t len;
			tc_forecasts_id(f, i, &len);
			id_end[i] = bytes += len;
		}
		chunk_bytes[c] = bytes;
	}
	size_t before[ID_CHUNKS + 1] = {0};
	for (int c = 0; c < ID_CHUNKS; c++) {
		before[c + 1] = before[c] + chunk_bytes[c];
	}
#pragma omp parallel for schedule(static) if (f->n >= TC_TICK_PARALLEL_MIN)
	for (int c = 1; c < ID_CHUNKS; c++) {
		size_t end = chunk_end(c, per, f->n);
		for (size_t i = c * per; i < end; i++) {
			id_end[i] += before[c];
		}
	}
	return before[ID_CHUNKS];
}

void tc_forecasts_copy_ids(const struct tc_forecasts *f, const size_t *id_end, char *ids)
{
#pragma omp parallel for schedule(static) if (f->n >= TC_TICK_PARALLEL_MIN)
	for (size_t i = 0; i < f->n; i++) {
		size_t len;
		const char *id = tc_forecasts_id(f, i, &len);
		memcpy(ids + id_end[i] - len, id, len);
	}
}

/* Steps the n gathered series; on failure counts the tick's readings, which
 * the caller then forgets. Returns 0 or -1 with err. */
static int step_batch(struct tc_tick *t, size_t n, char *err)
{
	if (n && tc_step(t->model, t->state, t->batch_slots, n, t->batch_in, t->batch_out, err) < 0) {
		t->stats.unstepped_step_failed += t->open_readings;
		return -1;
	}
	t->stats.ticks++;
	t->stats.stepped += n;
	if (t->scaler) {
		restore_outputs(t, n);
	}
	remember_outputs(t, n);
	if (t->interval) {
		tc_tick_bound(t, n);
	}
	return 0;
}

int tc_tick_close(struct tc_tick *t, const struct tc_emitter *out, char *err)
{
	if (!t->has_open) {
		return 0;
	}
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (t->ttl_ticks) {
		evict_idle(t);
	}
	size_t n = gather_batch(t);
	int stepped = step_batch(t, n, err);
	t->open_readings = 0;
	t->has_open = 0;
	t->has_closed = 1;
	t->last_closed = t->open_bucket;
	if (stepped < 0) {
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	struct tc_forecasts f = {
		.step_ms = (double)(end.tv_sec - start.tv_sec) * 1e3
			+ (double)(end.tv_nsec - start.tv_nsec) / 1e6,
		.bucket_ms = t->open_bucket * t->cfg.interval_ms,
		.n = n,
		.slots = t->batch_slots,
		.outputs = t->batch_out,
		.n_outputs = t->n_outputs,
		.warm = t->scaler ? t->batch_warm : NULL,
		.lower = t->interval ? t->batch_lower : NULL,
		.upper = t->interval ? t->batch_upper : NULL,
		.n_anomalies = t->n_anomalies,
		.anomalies = t->n_anomalies ? t->batch_anomaly : NULL,
		.id = registry_id,
		.names = t->registry,
	};
	int rc = out->emit(out->ud, &f);
	if (rc) {
		return tc_err_set(err, "writing the forecasts failed");
	}
	return 0;
}

int tc_tick_close_wall(struct tc_tick *t, int64_t bucket, const struct tc_emitter *out,
	char *err)
{
	t->has_open = 1;
	t->open_bucket = bucket;
	return tc_tick_close(t, out, err);
}

int tc_tick_has_open(const struct tc_tick *t)
{
	return t->has_open && t->open_readings > 0;
}

/* States for a model of another shape: all series restart from zero. */
static int reset_states(struct tc_tick *t, const struct tc_model *m, char *err)
{
	struct tc_state *fresh = tc_state_create(m, t->capacity, tc_state_threads(t->state), err);
	if (!fresh) {
		return -1;
	}
	int outputs = tc_model_get_spec(m)->outputs;
	size_t bytes = t->capacity * (size_t)outputs * sizeof(float);
	float *last_output = calloc(1, bytes ? bytes : 1);
	float *batch_out = calloc(1, bytes ? bytes : 1);
	if (!last_output || !batch_out) {
		free(last_output);
		free(batch_out);
		tc_state_destroy(&fresh);
		return tc_err_set(err, "out of memory for the new model's states");
	}
	tc_state_destroy(&t->state);
	free(t->last_output);
	free(t->batch_out);
	t->state = fresh;
	t->last_output = last_output;
	t->batch_out = batch_out;
	t->n_outputs = outputs;
	memset(t->stepped, 0, t->capacity);
	return tc_tick_resize_intervals(t, outputs, err);
}

int tc_tick_set_model(struct tc_tick *t, const struct tc_model *m, int reset, char *err)
{
	const struct tc_model_spec *now = tc_model_get_spec(t->model);
	const struct tc_model_spec *next = tc_model_get_spec(m);
	if (next->input_size != now->input_size) {
		return tc_err_set(err, "input_size changes from %d to %d: restart the daemon for that",
			now->input_size, next->input_size);
	}
	if (t->interval && next->outputs > TC_INTERVAL_MAX_HORIZONS) {
		return tc_err_set(err, "the model has %d outputs; model.intervals takes at most %d",
			next->outputs, TC_INTERVAL_MAX_HORIZONS);
	}
	if (!tc_state_fits(t->state, m)) {
		if (!reset) {
			return tc_err_set(err, "layer types or sizes, or the head's operations or widths, "
				"differ from the running model; set model.reset_state_on_change: true to reset "
				"every series' state on such a reload");
		}
		if (reset_states(t, m, err) < 0) {
			return -1;
		}
	}
	t->model = m;
	return 0;
}

int tc_tick_series(const struct tc_tick *t, const char *id, size_t len,
	struct tc_series_info *info)
{
	int64_t slot = tc_registry_find(t->registry, id, len);
	if (slot < 0) {
		return -1;
	}
	info->slot = (uint32_t)slot;
	/* Ticks closed since the one its last reading went into (0 while
	 * that tick is still open). */
	uint64_t closed_since = t->stats.ticks - t->last_seen[slot];
	info->age_ticks = closed_since ? closed_since - 1 : 0;
	info->stepped = t->stepped[slot];
	info->n_inputs = t->width;
	info->n_outputs = t->n_outputs;
	info->last_input = t->last_input + (size_t)slot * t->width;
	info->last_output = t->last_output + (size_t)slot * t->n_outputs;
	const struct tc_model_spec *spec = tc_model_get_spec(t->model);
	info->n_layers = spec->n_layers;
	for (int k = 0; k < spec->n_layers; k++) {
		int width = tc_model_spec_state_width(spec, k);
		info->type[k] = spec->type[k];
		info->state_width[k] = width;
		info->state[k] = tc_state_hidden(t->state, k) + (size_t)slot * (size_t)width;
	}
	info->has_accuracy = t->interval != NULL;
	if (t->interval) {
		tc_interval_accuracy(t->interval, (size_t)slot, &info->accuracy);
	}
	return 0;
}

void tc_tick_memory(const struct tc_tick *t, struct tc_tick_memory *mem)
{
	const size_t in = (size_t)t->width * sizeof(float);
	const size_t out = (size_t)t->n_outputs * sizeof(float);
	*mem = (struct tc_tick_memory){
		.capacity = t->capacity,
		.state = tc_state_memory(t->state),
		.staging = tc_staging_memory(t->staging),
		.scaler = t->scaler ? tc_scaler_memory(t->scaler) : 0,
		.series = t->capacity * (in + out + sizeof *t->last_seen + sizeof *t->stepped),
		.batch = t->capacity * (sizeof *t->batch_slots + in + out + sizeof *t->batch_warm),
		.intervals = tc_tick_interval_memory(t),
	};
	tc_registry_memory(t->registry, &mem->registry_table, &mem->registry_ids);
}

const struct tc_tick_stats *tc_tick_get_stats(const struct tc_tick *t)
{
	return &t->stats;
}

const struct tc_registry *tc_tick_registry(const struct tc_tick *t)
{
	return t->registry;
}
