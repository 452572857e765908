/* tick.h -- the tick engine shared by `tickcast replay` and the daemon.
 *
 * Readings are filed into the open tick (registry -> slot -> staging); when
 * a tick closes, every series that steps in it (by tick.missing) is advanced
 * in one batched tc_step and the forecasts are handed to an emit callback.
 * With the event clock a reading's timestamp picks its bucket,
 * floor(t * 1000 / interval_ms): a reading of a later bucket closes the open
 * one, a reading of a bucket already closed is late. Only buckets that got a
 * reading are ticks; the caller closes the last one (end of input, flush). */
#ifndef TC_TICK_H
#define TC_TICK_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model.h"
#include "reading.h"
#include "registry.h"

/* One closed tick's forecasts; everything is borrowed for the callback. */
struct tc_forecasts {
	int64_t bucket_ms;           /* the tick's bucket start, ms since the epoch */
	size_t n;                    /* series stepped, in slot order */
	const uint32_t *slots;       /* [n] */
	const float *outputs;        /* [n x n_outputs] */
	int n_outputs;
	const struct tc_registry *registry; /* for the slots' ids */
};

/* Called once per closed tick; a nonzero return stops and is passed back. */
struct tc_emitter {
	int (*emit)(void *ud, const struct tc_forecasts *f);
	void *ud;
};

struct tc_tick_stats {
	uint64_t accepted;                   /* readings filed */
	uint64_t rejected[TC_REJECT__COUNT]; /* by tc_tick_offer, by reason */
	uint64_t ticks;                      /* ticks closed */
	uint64_t stepped;                    /* series-steps */
};

struct tc_tick;

/* A tick engine for model m (borrowed; must outlive it) with the given tick
 * settings and at most max_series live series. NULL and err on failure. */
struct tc_tick *tc_tick_create(const struct tc_tick_config *cfg, const struct tc_model *m,
	size_t max_series, char *err);

/* Frees *t and sets it to NULL; NULL or *t == NULL is a no-op. */
void tc_tick_destroy(struct tc_tick **t);

/* Files reading r, first closing the open bucket when r belongs to a later
 * one (which calls out). Returns 0; 1 when r is rejected (*why set: late,
 * series limit, no timestamp); -1 with err when closing failed. */
int tc_tick_offer(struct tc_tick *t, const struct tc_reading *r,
	const struct tc_emitter *out, enum tc_reject *why, char *err);

/* Closes the open tick, if any: one batched step, then out. Returns 0, or
 * -1 with err (a failed step, or the emitter's nonzero return). */
int tc_tick_close(struct tc_tick *t, const struct tc_emitter *out, char *err);

const struct tc_tick_stats *tc_tick_get_stats(const struct tc_tick *t);
const struct tc_registry *tc_tick_registry(const struct tc_tick *t);

#endif
