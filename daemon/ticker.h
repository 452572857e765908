/* ticker.h -- the tick thread: readings from the queue into the tick engine,
 * a batched step per tick, forecasts to the publisher, models swapped in.
 *
 * Wall clock: a tick closes at every multiple of tick.interval_ms of real
 * time. Event clock: ticks close as the readings' timestamps say (tick.h),
 * and an open bucket also closes after tick.flush_ms without a reading. A
 * new model is swapped in at a tick boundary. Stopping finishes the tick in
 * flight: every reading already queued is stepped and published. */
#ifndef TC_TICKER_H
#define TC_TICKER_H

#include <stddef.h>
#include <stdint.h>

#include "checkpointer.h"
#include "config.h"
#include "model.h"
#include "publisher.h"
#include "queue.h"
#include "tick.h"

struct tc_ticker;

/* A ticker stepping model m (the ticker's from now on) with cfg's tick and
 * series settings, reading q, submitting to pub and taking checkpoints
 * through cp (all borrowed). */
struct tc_ticker *tc_ticker_create(const struct tc_config *cfg, struct tc_model *m,
	struct tc_queue *q, struct tc_publisher *pub, struct tc_checkpointer *cp, char *err);

/* Before start: restores the checkpoint (tc_checkpointer_restore); one
 * that was discarded leaves a new, empty engine. Returns 0, or -1 with err
 * (on_bad refuse, or out of memory). */
int tc_ticker_restore(struct tc_ticker *tk, char *err);

int tc_ticker_start(struct tc_ticker *tk, char *err);

/* Finishes the tick in flight (the queue must be closed first so that no
 * reading arrives after it) and stops the thread; a no-op when stopped. */
void tc_ticker_stop(struct tc_ticker *tk);

/* After tc_ticker_stop: the checkpoint written on the way out. */
void tc_ticker_final_checkpoint(struct tc_ticker *tk);

/* Stops (tc_ticker_stop), frees *tk and its model. */
void tc_ticker_destroy(struct tc_ticker **tk);

/* Hands m to the ticker (which owns it from now on, also on failure) to be
 * swapped in at the next tick boundary; waits for that. reset_states as in
 * tc_tick_set_model. Returns 0, or -1 with err and the old model serving. */
int tc_ticker_swap_model(struct tc_ticker *tk, struct tc_model *m, int reset_states,
	char *err);

/* The tick-duration histogram's upper bounds, seconds (Prometheus' `le`);
 * a last, implicit bucket is +Inf. */
#define TC_TICK_BUCKETS 14
extern const double tc_ticker_bucket_le[TC_TICK_BUCKETS];

struct tc_ticker_status {
	struct tc_tick_stats tick;   /* engine counters */
	uint64_t series;             /* live series */
	uint64_t intervals_skipped;  /* wall clock: intervals that got no tick of their own */
	double last_tick_ms;         /* duration of the last tick's step and hand-off */
	double p50_tick_ms, p99_tick_ms; /* over the last 1024 ticks */
	uint64_t tick_le[TC_TICK_BUCKETS]; /* ticks that took at most tc_ticker_bucket_le[i] s, cumulative */
	uint64_t tick_count;         /* ticks timed since start (the +Inf bucket) */
	double tick_seconds_sum;     /* their durations added up, s */
	struct tc_model_spec model;  /* the model serving now */
};

/* tc_now_ms() when the tick thread last finished a loop turn or closed a
 * tick (start counts as one): the watchdog's sign that it is not stuck
 * (watchdog.h). Lock-free. */
int64_t tc_ticker_last_turn_ms(const struct tc_ticker *tk);

/* A snapshot taken after the last loop turn: never waits for a step. */
void tc_ticker_get_status(struct tc_ticker *tk, struct tc_ticker_status *s);

/* Copies what the engine knows of series id; waits for the step in flight.
 * Returns 0, or -1 when there is no such series. last_input, last_output
 * and state point into out's own arrays. */
struct tc_series_report {
	struct tc_series_info info;
	float input[TC_MAX_INPUT];
	float output[TC_MAX_WIDTH];
	float state[TC_MAX_LAYERS][2 * TC_MAX_WIDTH];
	int has_bounds;              /* model.intervals on and the series has stepped */
	float lower[TC_MAX_WIDTH], upper[TC_MAX_WIDTH]; /* its last forecast's interval */
};
int tc_ticker_series(struct tc_ticker *tk, const char *id, size_t len,
	struct tc_series_report *out);

/* The live accuracy over every series (tc_tick_accuracy); waits for the
 * step in flight and holds the engine while it goes over the series.
 * Returns 0, or -1 with err. */
int tc_ticker_accuracy(struct tc_ticker *tk, struct tc_tick_accuracy *acc, char *err);

#endif
