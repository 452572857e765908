/* shard.h -- one partition of a cluster member: its tick engine, its position in the
 * readings stream, and its checkpoints in JetStream.
 *
 * A partition's state depends only on its own stream: its messages are
 * applied in stream order to its own engine (the event clock, tick.h), so
 * restoring its checkpoint and applying the messages from the position it
 * records gives bit for bit what an uninterrupted run gives. The position
 * is the first message not fully applied and how many of its readings
 * were (a tick can close in the middle of a message, and a checkpoint is
 * taken right at a close, where the engine holds no open tick). Messages
 * before the position are skipped, so a message delivered twice is
 * applied once. A message's readings are filed as one batch
 * (tc_tick_offer_batch), as the daemon's ticker files its queue. Readings whose id hashes to another partition, or cannot
 * end a forecast's subject, are refused and counted. */
#ifndef TC_SHARD_H
#define TC_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "ckpt_store.h"
#include "config.h"
#include "forecast_out.h"
#include "tick.h"

struct tc_shard_stats {
	uint64_t messages;           /* applied */
	uint64_t readings;           /* offered to the engine */
	uint64_t bad_messages;       /* messages with a reading or a whole body that did not parse */
	uint64_t bad_readings;       /* lines or records that did not parse */
	uint64_t misrouted;          /* readings of series that hash to another partition */
	uint64_t unroutable;         /* readings whose id cannot end a subject */
	uint64_t duplicates;         /* messages before the position, skipped */
	uint64_t forecasts;          /* published on NATS */
	uint64_t forecast_failures;  /* given up on (only when stopping with NATS down) */
	uint64_t anomalies;          /* anomaly events published on NATS */
	uint64_t checkpoints;        /* written to JetStream */
	uint64_t checkpoint_failures;
};

/* What a shard needs; all borrowed, alive as long as it. */
struct tc_shard_env {
	const struct tc_config *cfg;
	const struct tc_model *model;
	struct tc_ckpt_store *store;
	struct tc_forecast_out *out;
	const struct tc_emitter *also;   /* forecasts also go here (ZeroMQ); NULL: not */
	const volatile int *stop;        /* nonzero: the member is stopping */
	/* One line for the log (level 0 error, 1 warning, 2 info). */
	void (*log)(void *ud, int level, const char *line);
	void *log_ud;
};

struct tc_shard {
	uint32_t partition;
	const struct tc_shard_env *env;
	struct tc_tick *tick;
	struct tc_ckpt_position next;    /* where applying goes on */
	int restored;                    /* started from a checkpoint */
	int retention_gap;               /* the stream had lost readings after it (member.c) */
	uint64_t restored_epoch;
	struct tc_checkpoint *image;     /* the newest snapshot */
	int snapshot_due;                /* a snapshot waits in image for its write */
	struct tc_ckpt_position snapshot_at;
	int64_t last_checkpoint_ms;      /* when the last one was taken (wall clock) */
	uint64_t epoch;                  /* of the last checkpoint written or restored */
	uint32_t reading_index;          /* readings of the message being applied, so far */
	uint32_t skip;                   /* of the message being applied, already applied before */
	int snapshot_taken;              /* a close in the offer in hand took a snapshot */
	struct tc_shard_batch *batch;    /* the message's readings, filed as one batch */
	struct tc_shard_stats stats;
};

/* Sets up partition p: a new engine, restored from the partition's newest
 * checkpoint in JetStream when there is one. Returns 0, or -1 with err
 * (the checkpoint is damaged or does not fit the model and settings). */
int tc_shard_open(struct tc_shard *s, uint32_t p, const struct tc_shard_env *env, char *err);

void tc_shard_close(struct tc_shard *s);

/* Applies the message at stream sequence seq (body: an ingest message
 * body, text or binary). A checkpoint that came due at a tick it closed is
 * written after it. */
void tc_shard_apply(struct tc_shard *s, uint64_t seq, const void *body, size_t len);

/* Writes the snapshot that waits, if any (at stop). */
void tc_shard_flush(struct tc_shard *s);

#endif
