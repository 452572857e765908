/* tick_checkpoint.c -- copying the tick engine's per-slot arrays into a checkpoint and back. */
#include "tick_checkpoint.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "byte_order.h"
#include "error.h"
#include "parallel_copy.h"
#include "tick_internal.h"

/* What t's checkpoint says of itself, with the counts that size it. */
static void describe(const struct tc_tick *t, struct tc_checkpoint_info *info)
{
	const struct tc_registry *r = t->registry;
	memset(info, 0, sizeof *info);
	snprintf(info->weights_sha256, sizeof info->weights_sha256, "%s",
		tc_model_weights_sha256(t->model));
	info->shape = *tc_model_get_spec(t->model);
	info->clock = t->cfg.clock;
	info->interval_ms = t->cfg.interval_ms;
	info->scaler = t->scaler_cfg;
	info->has_closed = t->has_closed;
	info->last_bucket = t->has_closed ? t->last_closed : 0;
	info->ticks = t->stats.ticks;
	info->slots = tc_registry_slots(r);
	info->free_slots = info->slots - tc_registry_count(r);
	info->id_bytes = tc_registry_count(r) + tc_registry_id_bytes(r);
	if (t->interval) {
		info->interval_horizons = (uint32_t)tc_interval_horizons(t->interval);
		info->interval_floats = (uint32_t)tc_interval_block_floats(t->interval);
	}
}

size_t tc_tick_checkpoint_size(const struct tc_tick *t)
{
	struct tc_checkpoint_info info;
	describe(t, &info);
	return tc_checkpoint_size(&info);
}

/* n values of `size` bytes into little-endian bytes at p: on a
 * little-endian host a copy split across the threads, as these are the
 * snapshot's big arrays and the engine is held while they are copied. */
static void store_bulk(unsigned char *p, const void *host, size_t n, size_t size)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	tc_parallel_copy(p, host, n * size);
#else
	tc_store_array(p, host, n, size);
#endif
}

/* Stores rows [0, rows) of a [.. x width] array of `size`-byte values, and
 * zeroes for the rows up to `slots` that the array does not hold (a slot
 * whose arrays could not grow, given back). Returns the bytes written. */
static size_t put_rows(unsigned char *p, const void *host, size_t rows, size_t slots,
	size_t width, size_t size)
{
	if (rows) {
		store_bulk(p, host, rows * width, size);
	}
	memset(p + rows * width * size, 0, (slots - rows) * width * size);
	return slots * width * size;
}

static void put_slots(struct tc_tick *t, unsigned char *p, size_t slots, size_t n_free)
{
	tc_store_u64(p, slots);
	tc_store_u64(p + 8, n_free);
	/* The payload is 8-byte aligned (checkpoint.h): a uint32_t array fits. */
	uint32_t *order = (uint32_t *)(void *)(p + 16);
	tc_registry_free_order(t->registry, order);
	for (size_t k = 0; k < n_free; k++) {
		tc_store_u32(p + 16 + 4 * k, order[k]); /* in place: only a big-endian host swaps */
	}
	unsigned char *flags = p + 16 + 4 * n_free;
	for (uint32_t s = 0; s < slots; s++) {
		int live = tc_registry_id(t->registry, s, NULL) != NULL;
		flags[s] = (unsigned char)(live ? TC_CKPT_LIVE | (t->stepped[s] ? TC_CKPT_STEPPED : 0)
			: 0);
	}
}

static void put_ids(struct tc_tick *t, unsigned char *p, size_t slots)
{
	for (uint32_t s = 0; s < slots; s++) {
		size_t len;
		const char *id = tc_registry_id(t->registry, s, &len);
		if (id) {
			*p++ = (unsigned char)len;
			memcpy(p, id, len);
			p += len;
		}
	}
}

static void put_scaler(struct tc_tick *t, unsigned char *p, size_t rows, size_t slots)
{
	const size_t width = (size_t)t->width;
	p += put_rows(p, rows ? tc_scaler_mean(t->scaler, 0) : NULL, rows, slots, width, 8);
	p += put_rows(p, rows ? tc_scaler_variance(t->scaler, 0) : NULL, rows, slots, width, 8);
	for (size_t s = 0; s < slots; s++) {
		tc_store_u32(p + 4 * s, s < rows ? tc_scaler_readings(t->scaler, s) : 0);
	}
}

int tc_tick_checkpoint(struct tc_tick *t, struct tc_checkpoint *c, char *err)
{
	struct tc_checkpoint_info info;
	describe(t, &info);
	if (tc_checkpoint_begin(c, &info, err) < 0) {
		return -1;
	}
	const size_t slots = info.slots;
	const size_t rows = slots < t->capacity ? slots : t->capacity;
	put_slots(t, tc_checkpoint_section(c, TC_CKPT_SLOTS), slots, info.free_slots);
	put_ids(t, tc_checkpoint_section(c, TC_CKPT_IDS), slots);
	unsigned char *p = tc_checkpoint_section(c, TC_CKPT_HIDDEN);
	for (int k = 0; k < info.shape.n_layers; k++) {
		p += put_rows(p, tc_state_hidden(t->state, k), rows, slots,
			(size_t)tc_model_spec_state_width(&info.shape, k), 4);
	}
	if (t->scaler) {
		put_scaler(t, tc_checkpoint_section(c, TC_CKPT_SCALER), rows, slots);
	}
	p = tc_checkpoint_section(c, TC_CKPT_LAST);
	p += put_rows(p, t->last_input, rows, slots, (size_t)t->width, 4);
	p += put_rows(p, t->last_output, rows, slots, (size_t)t->n_outputs, 4);
	put_rows(p, t->last_seen, rows, slots, 1, 8);
	if (t->interval) {
		p = tc_checkpoint_section(c, TC_CKPT_INTERVALS) + TC_CKPT_INTERVALS_HEAD;
		p += put_rows(p, rows ? tc_interval_block(t->interval, 0) : NULL, rows, slots,
			info.interval_floats, 4);
		put_rows(p, rows ? tc_interval_counters(t->interval, 0) : NULL, rows, slots, 2, 4);
	}
	return 0;
}

/* ---- restoring -------------------------------------------------------- */

static void shape_text(const struct tc_model_spec *m, char *out, size_t cap)
{
	int n = snprintf(out, cap, "input %d, layers [", m->input_size);
	for (int k = 0; k < m->n_layers && n > 0 && (size_t)n < cap; k++) {
		n += snprintf(out + n, cap - (size_t)n, "%s%s%s%d", k ? ", " : "",
			m->type[k] == TC_LAYER_GRU ? "" : tc_layer_type_to_string(m->type[k]),
			m->type[k] == TC_LAYER_GRU ? "" : " ", m->hidden[k]);
	}
	if (n > 0 && (size_t)n < cap) {
		snprintf(out + n, cap - (size_t)n, "], outputs %d, %s", m->outputs,
			m->reset_after ? "reset_after" : "reset_before");
	}
}

static int fits_settings(const struct tc_tick *t, const struct tc_checkpoint_info *info,
	char *err)
{
	if (info->interval_ms != t->cfg.interval_ms) {
		return tc_err_set(err, "it was written with tick.interval_ms %d, the config has %d",
			info->interval_ms, t->cfg.interval_ms);
	}
	const struct tc_scaler_config *a = &info->scaler, *b = &t->scaler_cfg;
	if (a->type != b->type || (a->type == TC_SCALER_EMA
		&& (a->alpha != b->alpha || a->warmup != b->warmup))) {
		return tc_err_set(err, "it was written with model.scaler %s (alpha %g, warmup %d), "
			"the config has %s (alpha %g, warmup %d)", tc_scaler_to_string(a->type), a->alpha,
			a->warmup, tc_scaler_to_string(b->type), b->alpha, b->warmup);
	}
	uint64_t live = info->slots - info->free_slots;
	if (info->slots > t->max_series) {
		return tc_err_set(err, "it holds %" PRIu64 " series in %" PRIu64 " slots; series.max "
			"is %zu", live, info->slots, t->max_series);
	}
	return 0;
}

int tc_tick_checkpoint_fits(const struct tc_tick *t, const struct tc_checkpoint *c,
	int *other_weights, char *err)
{
	const struct tc_checkpoint_info *info = tc_checkpoint_get_info(c);
	const struct tc_model_spec *m = tc_model_get_spec(t->model);
	if (!tc_model_spec_same_state(&info->shape, m) || info->shape.reset_after != m->reset_after) {
		char saved[256], running[256];
		shape_text(&info->shape, saved, sizeof saved);
		shape_text(m, running, sizeof running);
		return tc_err_set(err, "it is of another model shape (%s), the model is %s", saved,
			running);
	}
	if (fits_settings(t, info, err) < 0) {
		return -1;
	}
	*other_weights = strcmp(info->weights_sha256, tc_model_weights_sha256(t->model)) != 0;
	return 0;
}

/* Rebuilds the registry: the slots, the free ones in their order, the ids. */
static int restore_registry(struct tc_tick *t, const struct tc_checkpoint *c, char *err)
{
	const struct tc_checkpoint_info *info = tc_checkpoint_get_info(c);
	const unsigned char *p = tc_checkpoint_section_const(c, TC_CKPT_SLOTS);
	const size_t slots = info->slots, n_free = info->free_slots;
	uint32_t *order = malloc(n_free ? n_free * sizeof *order : 1);
	if (!order) {
		return tc_err_set(err, "out of memory for %zu free slots", n_free);
	}
	tc_load_array(order, p + 16, n_free, 4);
	int rc = tc_registry_restore_slots(t->registry, slots, order, n_free, err);
	free(order);
	const unsigned char *flags = p + 16 + 4 * n_free;
	const unsigned char *id = tc_checkpoint_section_const(c, TC_CKPT_IDS);
	for (uint32_t s = 0; s < slots && rc == 0; s++) {
		t->stepped[s] = (flags[s] & TC_CKPT_STEPPED) != 0;
		if (flags[s] & TC_CKPT_LIVE) {
			rc = tc_registry_place(t->registry, s, (const char *)id + 1, id[0], err);
			id += 1 + id[0];
		}
	}
	return rc;
}

static void restore_scaler(struct tc_tick *t, const unsigned char *p, size_t slots)
{
	const size_t width = (size_t)t->width;
	const unsigned char *v = p + slots * width * 8, *n = v + slots * width * 8;
	double mean[TC_MAX_INPUT], variance[TC_MAX_INPUT];
	for (size_t s = 0; s < slots; s++) {
		tc_load_array(mean, p + s * width * 8, width, 8);
		tc_load_array(variance, v + s * width * 8, width, 8);
		tc_scaler_set(t->scaler, s, mean, variance, tc_load_u32(n + 4 * s));
		if (tc_registry_id(t->registry, (uint32_t)s, NULL) && !tc_scaler_is_warm(t->scaler, s)) {
			t->stats.warming++;
		}
	}
}

/* Each slot's interval state from INTV; when the file has none for this
 * many outputs (intervals were off, or a version 1 file), every series
 * starts its intervals over. */
static void restore_intervals(struct tc_tick *t, const struct tc_checkpoint *c, size_t slots)
{
	const struct tc_checkpoint_info *info = tc_checkpoint_get_info(c);
	if (!info->interval_horizons
		|| (int)info->interval_horizons != tc_interval_horizons(t->interval)) {
		for (size_t slot = 0; slot < slots; slot++) {
			tc_interval_clear(t->interval, slot);
		}
		return;
	}
	if (slots) {
		const unsigned char *p = tc_checkpoint_section_const(c, TC_CKPT_INTERVALS)
			+ TC_CKPT_INTERVALS_HEAD;
		tc_load_array(tc_interval_block(t->interval, 0), p, slots * info->interval_floats, 4);
		p += slots * info->interval_floats * 4;
		tc_load_array(tc_interval_counters(t->interval, 0), p, slots * 2, 4);
	}
}

int tc_tick_restore(struct tc_tick *t, const struct tc_checkpoint *c, char *err)
{
	const struct tc_checkpoint_info *info = tc_checkpoint_get_info(c);
	const size_t slots = info->slots;
	if (tc_registry_slots(t->registry) || t->stats.ticks) {
		return tc_err_set(err, "a checkpoint is restored into a tick engine that is new");
	}
	if (slots && tc_tick_reserve(t, slots - 1, err) < 0) {
		return -1;
	}
	if (restore_registry(t, c, err) < 0) {
		return -1;
	}
	const unsigned char *p = tc_checkpoint_section_const(c, TC_CKPT_HIDDEN);
	for (int k = 0; k < info->shape.n_layers && slots; k++) {
		size_t n = slots * (size_t)tc_model_spec_state_width(&info->shape, k);
		tc_load_array(tc_state_hidden(t->state, k), p, n, 4);
		p += n * 4;
	}
	if (t->scaler) {
		restore_scaler(t, tc_checkpoint_section_const(c, TC_CKPT_SCALER), slots);
	}
	p = tc_checkpoint_section_const(c, TC_CKPT_LAST);
	if (slots) {
		tc_load_array(t->last_input, p, slots * (size_t)t->width, 4);
		p += slots * (size_t)t->width * 4;
		tc_load_array(t->last_output, p, slots * (size_t)t->n_outputs, 4);
		p += slots * (size_t)t->n_outputs * 4;
		tc_load_array(t->last_seen, p, slots, 8);
	}
	if (t->interval) {
		restore_intervals(t, c, slots);
	}
	t->has_closed = info->has_closed;
	t->last_closed = info->last_bucket;
	t->stats.ticks = info->ticks;
	return 0;
}

int64_t tc_checkpoint_last_tick_ms(const struct tc_checkpoint *c, int *has)
{
	const struct tc_checkpoint_info *info = tc_checkpoint_get_info(c);
	*has = info->has_closed;
	return info->last_bucket * (int64_t)info->interval_ms;
}
