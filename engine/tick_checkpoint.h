/* tick_checkpoint.h -- the tick engine's state into a checkpoint image, and back.
 *
 * A checkpoint is the engine as of its last closed tick: the registry's
 * slots (free ones in the order they are handed out again), every layer's
 * hidden state, the scalers, the last inputs and forecasts, the tick each
 * series last read in, and the clock. Restored into a fresh engine with the
 * same model shape and settings, the engine steps exactly as the one that
 * wrote it would have: the same series in the same slots, so the same
 * batches, bit for bit. */
#ifndef TC_TICK_CHECKPOINT_H
#define TC_TICK_CHECKPOINT_H

#include <stddef.h>

#include "checkpoint.h"
#include "tick.h"

/* Bytes a checkpoint of t takes now. */
size_t tc_tick_checkpoint_size(const struct tc_tick *t);

/* Copies t's state into c (growing c when it is smaller than
 * tc_tick_checkpoint_size). Call it between ticks: from the emitter, or
 * when tc_tick_has_open is 0; readings filed into an open tick are not in
 * a checkpoint. Returns 0 or -1 with err (out of memory). */
int tc_tick_checkpoint(struct tc_tick *t, struct tc_checkpoint *c, char *err);

/* Checks that c (validated by tc_checkpoint_load) fits t: the model's
 * shape and GRU variant, tick.interval_ms, the scaler and its settings,
 * and series.max. Returns 0, or -1 with err saying what differs; sets
 * *other_weights when the weights' sha256 differs (restoring is allowed:
 * the states were made by other weights of the same shape). */
int tc_tick_checkpoint_fits(const struct tc_tick *t, const struct tc_checkpoint *c,
	int *other_weights, char *err);

/* Restores c into t, a tick engine that has filed nothing yet, after
 * tc_tick_checkpoint_fits. Returns 0, or -1 with err (out of memory); t
 * must then be destroyed. */
int tc_tick_restore(struct tc_tick *t, const struct tc_checkpoint *c, char *err);

/* The start of the last tick c holds, ms since the epoch; *has is 0 when
 * no tick had closed. */
int64_t tc_checkpoint_last_tick_ms(const struct tc_checkpoint *c, int *has);

#endif
