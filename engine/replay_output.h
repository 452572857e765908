/* replay_output.h -- a replay's forecasts and anomaly events, written as tickcastd publishes them.
 *
 * `tickcast replay --format` writes the bodies the daemon would send for the
 * same forecasts (wire/forecast_format.h, forecast_binary.h,
 * anomaly_format.h), so that a backtest sees what subscribers see:
 *
 *   text, json  one forecast per line (the daemon's message per series)
 *   binary      one batch per tick holding all of its forecasts, preceded
 *               by its length as a u32 little-endian
 *
 * Anomaly events go to their own file in the same format, after the tick's
 * forecasts: one per line, or binary one-record batches, each preceded by
 * its length as a u32 little-endian.
 *
 *     struct tc_replay_writer *w = tc_replay_writer_create(TC_FORMAT_JSON, out, events, err);
 *     struct tc_emitter emitter = {tc_replay_writer_emit, w};   // to the tick engine
 *     ...
 *     tc_replay_writer_destroy(&w);
 */
#ifndef TC_REPLAY_OUTPUT_H
#define TC_REPLAY_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "tick.h"

struct tc_replay_writer;

/* A writer of forecasts to out and anomaly events to anomalies (NULL: not
 * written) in format, text and JSON formatted on omp_get_max_threads()
 * threads; both files borrowed. NULL and err when out of memory. */
struct tc_replay_writer *tc_replay_writer_create(enum tc_format format, FILE *out,
	FILE *anomalies, char *err);

/* Frees *w and sets it to NULL; NULL or *w == NULL is a no-op. */
void tc_replay_writer_destroy(struct tc_replay_writer **w);

/* The tick engine's emit: writes f's forecasts, then its anomaly events.
 * ud is the writer. Returns 0, or -1 when writing failed or out of memory. */
int tc_replay_writer_emit(void *ud, const struct tc_forecasts *f);

/* Forecasts and anomaly events written so far. */
uint64_t tc_replay_writer_forecasts(const struct tc_replay_writer *w);
uint64_t tc_replay_writer_anomalies(const struct tc_replay_writer *w);

#endif
