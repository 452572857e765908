/* tick_internal.h -- (internal) the tick engine's struct, shared by tick.c and tick_checkpoint.c. */
#ifndef TC_TICK_INTERNAL_H
#define TC_TICK_INTERNAL_H

#include "interval.h"
#include "scaler.h"
#include "staging.h"
#include "state.h"
#include "tick.h"

#define TC_TICK_FILE_CHUNK 65536   /* readings filed per call of tc_tick_offer_batch, at most */

struct tc_tick {
	struct tc_tick_config cfg;
	const struct tc_model *model;
	size_t max_series;
	uint64_t ttl_ticks;          /* free a series idle this many closed ticks; 0: never */
	int width;                   /* I: values per reading */
	int n_outputs;               /* O */
	struct tc_registry *registry;
	struct tc_staging *staging;
	struct tc_state *state;
	struct tc_scaler *scaler;    /* NULL: model.scaler none */
	struct tc_scaler_config scaler_cfg; /* type none when scaler is NULL */
	size_t capacity;             /* slots the arrays below hold */
	float *last_input;           /* [capacity x I]: what each slot last stepped with */
	float *last_output;          /* [capacity x O]: each slot's last forecast */
	uint64_t *last_seen;         /* [capacity]: index of the tick of its last reading */
	uint8_t *stepped;            /* [capacity]: 1 once the slot has stepped */
	uint32_t *batch_slots;       /* [capacity] */
	float *batch_in;             /* [capacity x I] */
	float *batch_out;            /* [capacity x O] */
	uint8_t *batch_warm;         /* [capacity]: with a scaler, whether each stepped one is warm */
	struct tc_interval *interval; /* NULL: model.intervals off */
	struct tc_interval_config interval_cfg;
	struct tc_anomaly_config anomaly_cfg;
	float *batch_lower;          /* [capacity x O]: with intervals, each stepped one's bounds */
	float *batch_upper;
	/* [capacity]: with anomaly events, row i's event (row UINT32_MAX: none);
	 * after the step the events are packed to the front, n_anomalies of them */
	struct tc_anomaly *batch_anomaly;
	size_t n_anomalies;
	struct tc_interval_tally *chunk_tally; /* [TC_TICK_GATHER_CHUNKS]: a closing tick's, per chunk */
	/* [TC_TICK_FILE_CHUNK]: each reading's slot, or why it was turned down,
	 * in the chunk being filed (tick_offer.c) */
	int32_t *reading_slot;
	size_t chunk_lo;             /* the batch index of reading_slot[0] */
	uint32_t *fresh_slots;       /* [TC_TICK_FILE_CHUNK]: the slots a chunk registered */
	uint64_t open_readings;      /* readings filed into the open tick */
	int has_open;
	int64_t open_bucket;
	int has_closed;
	int64_t last_closed;         /* the newest bucket closed */
	struct tc_tick_stats stats;
};

/* Slot ranges gathered in parallel: a fixed count, so that the batch is the
 * same on any number of threads. */
#define TC_TICK_GATHER_CHUNKS 64

#define TC_TICK_PARALLEL_MIN 4096  /* slots, readings or series: fewer are worked on one thread */

/* The OpenMP team for `items` of work: the state's threads, or one thread
 * when there are too few items to be worth waking a team. */
static inline int tc_tick_team(const struct tc_tick *t, size_t items)
{
	return items >= TC_TICK_PARALLEL_MIN ? tc_state_threads(t->state) : 1;
}

/* Makes every per-slot array hold slot, so closing never allocates. They
 * grow by half (from 1024), never past max_series. Returns 0 or -1 with
 * err. */
int tc_tick_reserve(struct tc_tick *t, size_t slot, char *err);

/* ---- intervals (tick_interval.c) ---- */

/* Grows the interval arrays with the others to cap slots; 0 or -1. */
int tc_tick_reserve_intervals(struct tc_tick *t, size_t cap);

/* During gathering (chunk c): slot's reading of this tick (NULL when it
 * steps without one) scores its forecasts; row is its batch row. */
void tc_tick_observe(struct tc_tick *t, int c, uint32_t slot, const float *reading, size_t row);

/* After the step: the n stepped series' bounds, this tick's anomalies
 * packed to the front, the chunks' tallies added to the stats. */
void tc_tick_bound(struct tc_tick *t, size_t n);

/* After a reset to a model of `outputs` outputs: the intervals start over
 * for that many horizons. 0, or -1 with err. */
int tc_tick_resize_intervals(struct tc_tick *t, int outputs, char *err);

/* Heap bytes of the intervals and their batch arrays. */
size_t tc_tick_interval_memory(const struct tc_tick *t);

#endif
