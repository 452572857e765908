/* tick_offer.c -- filing readings into the open tick, a batch at a time, on every thread.
 *
 * A batch is filed in segments: the readings up to the next one that closes
 * a bucket (event clock) or all of them (wall clock). A segment is filed in
 * three passes, so that only the registering of new series is serial:
 *   1. find (parallel): each reading's slot, the registry read only;
 *   2. register (serial): the new series, in reading order, so slots are
 *      handed out exactly as filing one reading at a time would; their
 *      states and scalers are then cleared on every thread;
 *   3. stage (parallel): thread k files the readings of the slots k modulo
 *      the team, each in batch order, so every series sees its readings in
 *      the order they came whatever the number of threads.
 * The serial scan that finds the segment's end reads each reading's time
 * only. docs/design.md, "Filing a tick on every thread", has the reasoning. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "error.h"
#include "tick_internal.h"

#define SLOT_NEW -1         /* reading_slot: to be filed, its series not found yet */

/* reading_slot: a slot (>= 0), SLOT_NEW, or a rejection's code. */
static int32_t rejected_code(enum tc_reject why)
{
	return -2 - (int32_t)why;
}

/* Reading i of the batch: its entry in reading_slot, which holds the chunk
 * being filed, from t->chunk_lo. */
static int32_t *code_of(const struct tc_tick *t, size_t i)
{
	return &t->reading_slot[i - t->chunk_lo];
}

static void reject_at(struct tc_tick *t, size_t i, enum tc_reject why)
{
	*code_of(t, i) = rejected_code(why);
	t->stats.rejected[why]++;
}

static const char *reading_id(const struct tc_reading_batch *b, size_t i)
{
	return b->ids + b->id_off[i];
}

/* Whether reading i is of a new series while the registry is full: such a
 * reading is refused before it can open or close a bucket. */
static int over_limit(const struct tc_tick *t, const struct tc_reading_batch *b, size_t i)
{
	return tc_registry_count(t->registry) >= t->max_series
		&& tc_registry_find(t->registry, reading_id(b, i), b->id_len[i]) < 0;
}

/* Event clock: marks readings [lo, end) to be filed (SLOT_NEW) or
 * rejected, up to the first of a later bucket than the open one. Returns
 * its index (*later its bucket), or end. */
static size_t scan_bucket(struct tc_tick *t, const struct tc_reading_batch *b, size_t lo,
	size_t end, int64_t *later)
{
	for (size_t i = lo; i < end; i++) {
		if (isnan(b->time[i])) {
			reject_at(t, i, TC_REJECT_NO_TIMESTAMP);
			continue;
		}
		int64_t bucket = (int64_t)floor(b->time[i] * 1000.0 / t->cfg.interval_ms);
		if ((t->has_open && bucket < t->open_bucket)
			|| (t->has_closed && bucket <= t->last_closed)) {
			reject_at(t, i, TC_REJECT_LATE);
			continue;
		}
		if (t->has_open && bucket > t->open_bucket) {
			*later = bucket;
			return i;
		}
		if (!t->has_open) {
			/* Nothing before i is waiting to be filed: the registry is current. */
			if (over_limit(t, b, i)) {
				reject_at(t, i, TC_REJECT_SERIES_LIMIT);
				continue;
			}
			t->has_open = 1;
			t->open_bucket = bucket;
		}
		*code_of(t, i) = SLOT_NEW;
	}
	return end;
}

/* Pass 1: the slot of every reading to be filed, or SLOT_NEW (-1, as
 * tc_registry_find says) for a series not registered yet. */
static void find_known(struct tc_tick *t, const struct tc_reading_batch *b, size_t lo,
	size_t hi, int threads)
{
#pragma omp parallel for schedule(static) num_threads(threads)
	for (size_t i = lo; i < hi; i++) {
		int32_t *code = code_of(t, i);
		if (*code == SLOT_NEW) {
			*code = (int32_t)tc_registry_find(t->registry, reading_id(b, i), b->id_len[i]);
		}
	}
}

/* Grows the per-slot arrays once for the new series of readings [lo, hi)
 * (at most one per reading not found), rather than step by step as they
 * register. A failure is left to the registering, which tries again for
 * each slot. */
static void reserve_for_new(struct tc_tick *t, size_t lo, size_t hi)
{
	size_t unknown = 0;
	for (size_t i = lo; i < hi; i++) {
		unknown += *code_of(t, i) == SLOT_NEW;
	}
	size_t need = tc_registry_slots(t->registry) + unknown;
	need = need < t->max_series ? need : t->max_series;
	if (unknown && need > t->capacity) {
		char ignored[TC_ERR_LEN];
		tc_tick_reserve(t, need - 1, ignored);
	}
}

/* Pass 2: registers the series pass 1 did not find, in reading order (a
 * later reading of the same new series finds it registered), then sets
 * their slots up on every thread: a zero state, a fresh scaler. */
static void register_new(struct tc_tick *t, const struct tc_reading_batch *b, size_t lo,
	size_t hi, int threads)
{
	reserve_for_new(t, lo, hi);
	size_t fresh = 0;
	for (size_t i = lo; i < hi; i++) {
		if (*code_of(t, i) != SLOT_NEW) {
			continue;
		}
		int created;
		int64_t slot = tc_registry_insert(t->registry, reading_id(b, i), b->id_len[i], &created);
		char ignored[TC_ERR_LEN];
		if (slot < 0) { /* full, or no memory for the registry itself */
			reject_at(t, i, tc_registry_count(t->registry) >= t->max_series
				? TC_REJECT_SERIES_LIMIT : TC_REJECT_OUT_OF_MEMORY);
		} else if (created && tc_tick_reserve(t, (size_t)slot, ignored) < 0) {
			tc_registry_remove(t->registry, (uint32_t)slot);
			reject_at(t, i, TC_REJECT_OUT_OF_MEMORY);
		} else {
			*code_of(t, i) = (int32_t)slot;
			if (created) {
				t->fresh_slots[fresh++] = (uint32_t)slot;
			}
		}
	}
	uint64_t warming = 0;
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : warming)
	for (size_t k = 0; k < fresh; k++) {
		uint32_t slot = t->fresh_slots[k];
		tc_state_clear(t->state, slot);
		t->stepped[slot] = 0;
		if (t->scaler) {
			tc_scaler_clear(t->scaler, slot);
			warming += !tc_scaler_is_warm(t->scaler, slot);
		}
		if (t->interval) {
			tc_interval_clear(t->interval, slot);
		}
	}
	t->stats.warming += warming;
}

/* Pass 3: each filed reading into its slot's staging; thread k takes the
 * slots k modulo the team, so no two threads share a slot. */
static void stage(struct tc_tick *t, const struct tc_reading_batch *b, size_t lo, size_t hi,
	int threads)
{
	const size_t width = (size_t)t->width;
	const uint64_t now = t->stats.ticks;
	uint64_t accepted = 0;
#pragma omp parallel num_threads(threads) reduction(+ : accepted)
	{
		const uint32_t me = (uint32_t)omp_get_thread_num();
		const uint32_t team = (uint32_t)omp_get_num_threads();
		for (size_t i = lo; i < hi; i++) {
			int32_t slot = *code_of(t, i);
			if (slot < 0 || (uint32_t)slot % team != me) {
				continue;
			}
			t->last_seen[slot] = now;
			/* Never grows: the slot's arrays were reserved when it was registered. */
			tc_staging_add(t->staging, (uint32_t)slot, b->values + i * width);
			accepted++;
		}
	}
	t->stats.accepted += accepted;
	t->open_readings += accepted;
}

static void file_segment(struct tc_tick *t, const struct tc_reading_batch *b, size_t lo,
	size_t hi)
{
	int threads = tc_tick_team(t, hi - lo);
	find_known(t, b, lo, hi, threads);
	register_new(t, b, lo, hi, threads);
	stage(t, b, lo, hi, threads);
}

int tc_tick_offer_batch(struct tc_tick *t, const struct tc_reading_batch *b, size_t *next,
	const struct tc_emitter *out, char *err)
{
	size_t lo = *next;
	if (lo >= b->n) {
		return 0;
	}
	size_t end = b->n - lo < TC_TICK_FILE_CHUNK ? b->n : lo + TC_TICK_FILE_CHUNK;
	t->chunk_lo = lo;
	size_t hi = end;
	int64_t later = 0;
	if (t->cfg.clock == TC_CLOCK_EVENT) {
		hi = scan_bucket(t, b, lo, end, &later);
	} else {
		t->has_open = 1;
		memset(t->reading_slot, 0xff, (hi - lo) * sizeof *t->reading_slot); /* SLOT_NEW */
	}
	file_segment(t, b, lo, hi);
	*next = hi;
	if (hi == end) {
		return 0;
	}
	/* Reading hi opens a later bucket, unless it would be refused anyway. */
	if (over_limit(t, b, hi)) {
		reject_at(t, hi, TC_REJECT_SERIES_LIMIT);
		*next = hi + 1;
		return 0;
	}
	int rc = tc_tick_close(t, out, err);
	t->has_open = 1; /* a failed close does not keep hi out of its bucket */
	t->open_bucket = later;
	return rc;
}

int tc_tick_batch_rejected(const struct tc_tick *t, size_t i, enum tc_reject *why)
{
	int32_t code = *code_of(t, i);
	if (code >= SLOT_NEW) {
		return 0;
	}
	*why = (enum tc_reject)(-2 - code);
	return 1;
}

int tc_tick_offer(struct tc_tick *t, const struct tc_reading *r,
	const struct tc_emitter *out, enum tc_reject *why, char *err)
{
	const size_t off = 0;
	const uint8_t len = (uint8_t)r->id_len;
	const double time = r->has_time ? r->time : NAN;
	const struct tc_reading_batch b = {
		.n = 1, .ids = r->id, .id_off = &off, .id_len = &len, .time = &time,
		.values = r->values,
	};
	size_t next = 0;
	int rc = tc_tick_offer_batch(t, &b, &next, out, err);
	if (next == 0) { /* it closed the open bucket: now r goes into its own */
		char ignored[TC_ERR_LEN];
		tc_tick_offer_batch(t, &b, &next, out, ignored);
	}
	return tc_tick_batch_rejected(t, 0, why) ? 1 : rc;
}
