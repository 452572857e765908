/* tick.h -- the tick engine shared by `tickcast replay` and the daemon.
 *
 * Readings are filed into the open tick (registry -> slot -> staging); when
 * a tick closes, every series that steps in it (by tick.missing) is advanced
 * in one batched tc_step and the forecasts are handed to an emit callback.
 * With the event clock a reading's timestamp picks its bucket,
 * floor(t * 1000 / interval_ms): a reading of a later bucket closes the open
 * one, a reading of a bucket already closed is late. Only buckets that got a
 * reading are ticks; the caller closes the last one (end of input, flush).
 * With the wall clock readings go to the current tick whatever their
 * timestamps, and the caller closes a tick every interval with
 * tc_tick_close_wall. Series idle for series.ttl_ticks ticks are freed when a
 * tick closes. One thread uses a tick engine at a time.
 *
 * With model.scaler ema, each series' inputs are standardised by its own EMA
 * scaler (core/scaler.h) before the step and its outputs mapped back after
 * it: a tick's combined reading updates the scaler first; a held or zero
 * input (tick.missing) is standardised with the current figures and updates
 * nothing. Forecasts and tc_tick_series report the series' own units. */
#ifndef TC_TICK_H
#define TC_TICK_H

#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"
#include "config.h"
#include "model.h"
#include "reading.h"
#include "interval.h"
#include "registry.h"

/* One closed tick's forecasts; everything is borrowed for the callback. The
 * series' ids come through tc_forecasts_id: whoever made f (the engine, or a
 * test) says how its slots are named, and a consumer needs nothing else. */
struct tc_forecasts {
	int64_t bucket_ms;           /* the tick's bucket start, ms since the epoch */
	size_t n;                    /* series stepped, in slot order */
	const uint32_t *slots;       /* [n] */
	const float *outputs;        /* [n x n_outputs] */
	int n_outputs;
	const uint8_t *warm;         /* [n]: 0 while a series' scaler warms up; NULL: no scaler */
	/* [n x n_outputs] each: every output's interval (model.intervals), in the
	 * series' units; both NULL when intervals are off. */
	const float *lower, *upper;
	size_t n_anomalies;          /* readings of this tick outside their anomaly interval */
	const struct tc_anomaly *anomalies; /* [n_anomalies], in row order; NULL when none */
	/* The id of `slot` in `names` (*len bytes, no NUL), borrowed like the rest. */
	const char *(*id)(const void *names, uint32_t slot, size_t *len);
	const void *names;
	double step_ms;              /* time spent gathering and stepping this tick */
};

/* The id of f's i-th series (i < f->n): *len bytes, no NUL; borrowed for the
 * callback. */
const char *tc_forecasts_id(const struct tc_forecasts *f, size_t i, size_t *len);

/* Writes where each of f's ids ends when they are laid back to back
 * (id_end[i], f->n of them) and returns their bytes in all; on the OpenMP
 * threads. */
size_t tc_forecasts_id_ends(const struct tc_forecasts *f, size_t *id_end);

/* Copies f's ids back to back into ids, as tc_forecasts_id_ends laid them
 * out; on the OpenMP threads. */
void tc_forecasts_copy_ids(const struct tc_forecasts *f, const size_t *id_end, char *ids);

/* Called once per closed tick; a nonzero return stops and is passed back. */
struct tc_emitter {
	int (*emit)(void *ud, const struct tc_forecasts *f);
	void *ud;
};

struct tc_tick_stats {
	uint64_t accepted;                   /* readings filed */
	uint64_t rejected[TC_REJECT__COUNT]; /* by tc_tick_offer, by reason */
	uint64_t unstepped_step_failed;      /* readings filed, then discarded: their tick's step failed */
	uint64_t ticks;                      /* ticks closed and stepped */
	uint64_t stepped;                    /* series-steps */
	uint64_t evicted;                    /* series freed after ttl_ticks idle */
	uint64_t warming;                    /* live series whose scaler is not warm yet (now) */
	uint64_t anomalies;                  /* anomaly events found */
	/* With model.intervals: readings scored and inside their interval, per
	 * horizon (output), over every series and tick. */
	struct tc_interval_tally intervals;
};

/* What the engine knows of one series, for the control socket. */
struct tc_series_info {
	uint32_t slot;
	uint64_t age_ticks;          /* ticks closed without a reading since its last one */
	int stepped;                 /* 0 until its first tick closes */
	int n_inputs, n_outputs;
	const float *last_input;     /* [n_inputs]: what it last stepped with; borrowed */
	const float *last_output;    /* [n_outputs]: its last forecast; borrowed */
	int n_layers;
	enum tc_layer_type type[TC_MAX_LAYERS];
	/* Layer k's state row: h, then c for an lstm (state_width[k] floats,
	 * tc_model_spec_state_width); borrowed. */
	const float *state[TC_MAX_LAYERS];
	int state_width[TC_MAX_LAYERS];
	int has_accuracy;            /* model.intervals on: accuracy is filled */
	struct tc_interval_accuracy accuracy;
};

struct tc_tick;

/* A tick engine for model m (borrowed; must outlive it, see
 * tc_tick_set_model) with the given tick settings, at most max_series live
 * series, freeing those idle for ttl_ticks closed ticks (0: never), scaling
 * by `scaler` (copied; NULL: none). NULL and err on failure. */
struct tc_tick *tc_tick_create(const struct tc_tick_config *cfg, const struct tc_model *m,
	size_t max_series, uint64_t ttl_ticks, const struct tc_scaler_config *scaler, char *err);

/* Frees *t and sets it to NULL; NULL or *t == NULL is a no-op. */
void tc_tick_destroy(struct tc_tick **t);

/* n readings side by side, as the daemon's queue holds them; borrowed for
 * the call. */
struct tc_reading_batch {
	size_t n;
	const char *ids;             /* every reading's id bytes, back to back */
	const size_t *id_off;        /* [n]: where reading i's id starts in ids */
	const uint8_t *id_len;       /* [n]: its bytes */
	const double *time;          /* [n]: s since the epoch; NAN when it had none */
	const float *values;         /* [n x input_size] */
};

/* Files b's readings from *next on, in order, as tc_tick_offer would one at
 * a time, on the state's threads (tick_offer.c); call it until *next is
 * b->n. A call files at most 65,536 readings, and stops at a reading that
 * closes the open bucket, right after the close, so that the caller can let
 * that tick go out before another closes: *next is then that reading, which
 * the next call files into its own bucket. Rejected readings are counted in
 * the stats. Returns 0, or -1 with err when the close failed (as
 * tc_tick_close). */
int tc_tick_offer_batch(struct tc_tick *t, const struct tc_reading_batch *b, size_t *next,
	const struct tc_emitter *out, char *err);

/* Whether reading i of b was rejected, and why; i must be among those the
 * last call of tc_tick_offer_batch went over (from its *next on entry to
 * its *next on return). */
int tc_tick_batch_rejected(const struct tc_tick *t, size_t i, enum tc_reject *why);

/* Files reading r, first closing the open bucket when r belongs to a later
 * one (which calls out). Returns 0; 1 when r is rejected and counted (*why
 * set: late, series limit, no timestamp, out of memory); -1 with err when
 * closing the open bucket failed (as tc_tick_close; r is then filed into its
 * own bucket all the same). */
int tc_tick_offer(struct tc_tick *t, const struct tc_reading *r,
	const struct tc_emitter *out, enum tc_reject *why, char *err);

/* Closes the open tick, if any: one batched step, then out. Returns 0, or
 * -1 with err: the emitter's nonzero return (the tick was stepped), or a
 * failed step. A tick whose step fails is closed all the same (its bucket's
 * later readings are late) but not counted in ticks: its readings are
 * discarded and counted in unstepped_step_failed (the series' last inputs and
 * scalers have taken them; no hidden state moved). */
int tc_tick_close(struct tc_tick *t, const struct tc_emitter *out, char *err);

/* Wall clock: closes the current tick as bucket `bucket` (its start is
 * bucket * interval_ms), stepping it even when it got no reading, so hold
 * and zero series step every interval. Returns as tc_tick_close. */
int tc_tick_close_wall(struct tc_tick *t, int64_t bucket, const struct tc_emitter *out,
	char *err);

/* Nonzero while a tick holds readings that are not stepped yet. */
int tc_tick_has_open(const struct tc_tick *t);

/* Steps with m from the next tick on (m borrowed, as in create). A model of
 * the same shape keeps every series' state; another shape is refused unless
 * reset_states, which zeroes them all. The input size cannot change. The
 * series' scalers are kept either way: they describe the data, not the model.
 * Returns 0, or -1 with err and the old model kept. */
int tc_tick_set_model(struct tc_tick *t, const struct tc_model *m, int reset_states,
	char *err);

/* The bounds of the last forecast of info->slot (filled by tc_tick_series)
 * into lower and upper (info->n_outputs each). Returns 0, or -1 when
 * intervals are off or the series has not stepped. */
int tc_tick_series_bounds(const struct tc_tick *t, const struct tc_series_info *info,
	float *lower, float *upper);

/* Turns intervals on (cfg->enabled) with cfg's settings, and anomaly
 * events when anomaly->enabled; before the first reading. Returns 0, or -1
 * with err when the model's outputs cannot have intervals (more than
 * TC_INTERVAL_MAX_HORIZONS), the target column is not an input, anomaly
 * events are asked for without intervals, or out of memory. */
int tc_tick_set_intervals(struct tc_tick *t, const struct tc_interval_config *cfg,
	const struct tc_anomaly_config *anomaly, char *err);

/* Live accuracy over every series (model.intervals): how many series have
 * a live MASE (one-step and naive errors both known), its median and 90th
 * percentile over them, and the readings inside their intervals per horizon
 * since start. */
struct tc_tick_accuracy {
	int horizons;                /* 0: intervals off (nothing else is filled) */
	double level;
	uint64_t series;             /* series with a live MASE */
	double mase_median, mase_p90;/* NaN when series is 0 */
	uint64_t scored, covered;    /* over every horizon */
	struct tc_interval_tally tally; /* per horizon */
	uint64_t anomalies;          /* anomaly events found */
};

/* Fills acc, in time linear in the series; allocates a scratch copy of the
 * live MASEs (so call it on the caller's thread, not the tick's). Returns
 * 0, or -1 with err out of memory. */
int tc_tick_accuracy(const struct tc_tick *t, struct tc_tick_accuracy *acc, char *err);

/* Fills info for series id; returns 0, or -1 when it is not registered. */
int tc_tick_series(const struct tc_tick *t, const char *id, size_t len,
	struct tc_series_info *info);

/* Heap bytes the engine holds for its series, by part, as its arrays are
 * sized: at the capacity they were grown to, which may exceed the live
 * series (docs/benchmarks.md, "Memory per series"). Not counted: the model
 * and the step's per-thread scratch, which do not grow with the series. */
struct tc_tick_memory {
	size_t capacity;             /* slots the per-slot arrays hold */
	size_t state;                /* hidden states, bytes */
	size_t registry_table;       /* the registry's hash table, bytes */
	size_t registry_ids;         /* its slot table and id bytes, bytes */
	size_t staging;              /* the open tick's accumulators, bytes */
	size_t scaler;               /* EMA figures, bytes; 0 without a scaler */
	size_t series;               /* last input, forecast and tick seen, stepped flag, bytes */
	size_t batch;                /* a closing tick's slots, inputs, outputs, warm flags, bytes */
	size_t intervals;            /* forecasts kept for scoring, scales, multipliers, accuracy,
	                                and the batch's bounds and events; 0 when off */
};
void tc_tick_memory(const struct tc_tick *t, struct tc_tick_memory *mem);

const struct tc_tick_stats *tc_tick_get_stats(const struct tc_tick *t);
const struct tc_registry *tc_tick_registry(const struct tc_tick *t);

#endif
