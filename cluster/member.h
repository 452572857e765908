/* member.h -- a cluster member: the partitions it owns, one ordered JetStream consumer each,
 * and the thread that applies their messages.
 *
 * Member k of M owns partitions [floor(k*P/M), floor((k+1)*P/M)). Each is a
 * shard (shard.h), restored from its newest checkpoint at create. At start
 * each gets an ordered push consumer on `<prefix>.readings.<p>` from the
 * shard's position: no acks, since the position travels inside the
 * checkpoint (docs/cluster.md says why). libnats delivers each
 * subscription's messages in order on its own thread; the callback only
 * queues them (waiting while the queue is full, which holds back that
 * partition's flow control), and one thread, `tc-member`, applies them in
 * arrival order, each to its own partition, so a partition's messages are
 * applied in stream order. The engines are held by `lock` while a message
 * is applied; status and series lookups take it too. */
#ifndef TC_MEMBER_H
#define TC_MEMBER_H

#include <nats/nats.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ckpt_store.h"
#include "shard.h"
#include "tick.h"

struct tc_member_env {
	const struct tc_config *cfg;     /* cluster.member is this member's number */
	const struct tc_model *model;
	natsConnection *conn;
	jsCtx *js;
	struct tc_ckpt_store *store;
	const struct tc_emitter *also;   /* forecasts also go here (ZeroMQ); NULL: not */
	void (*log)(void *ud, int level, const char *line);
	void *log_ud;
};

/* The first partition member k of members owns, and how many. */
void tc_member_partitions(uint32_t partitions, uint32_t members, uint32_t k, uint32_t *first,
	uint32_t *count);

struct tc_member;

/* Opens the member's partitions (restoring each from JetStream). env is
 * borrowed for the member's life. NULL and err on failure. */
struct tc_member *tc_member_create(const struct tc_member_env *env, char *err);

/* Subscribes every partition from its position and starts the thread. */
int tc_member_start(struct tc_member *m, char *err);

/* Unsubscribes, stops the thread after the message in hand, writes the
 * snapshots that wait, and frees *m. */
void tc_member_destroy(struct tc_member **m);

/* One partition's figures, as status reports them. */
struct tc_member_partition_status {
	uint32_t partition;
	struct tc_ckpt_position next;
	int restored;
	int retention_gap;               /* readings after its checkpoint were gone from the stream */
	uint64_t restored_epoch, epoch;
	uint64_t series;
	struct tc_shard_stats shard;
	struct tc_tick_stats tick;
	int64_t last_checkpoint_ms;
};

struct tc_member_status {
	uint32_t first, count;           /* the partitions owned */
	uint64_t queued;                 /* messages waiting for the thread */
	struct tc_member_partition_status *partitions; /* [count], malloc'ed: free it */
};

/* What the main thread reports every second and the watchdog reads,
 * without the engines' lock (which a message's apply or a checkpoint's
 * write holds for a while): kept by the member thread after each message. */
struct tc_member_summary {
	uint32_t first, count;           /* the partitions owned */
	uint64_t series, ticks;          /* over every partition */
	int64_t last_turn_ms;            /* when the thread last went round (monotonic) */
};

void tc_member_summary(struct tc_member *m, struct tc_member_summary *out);

/* Fills st (taking the engines' lock for a moment). Returns 0, or -1 out of
 * memory. */
int tc_member_status(struct tc_member *m, struct tc_member_status *st);

/* Fills info for series id from the partition it hashes to, when this
 * member owns it; info's borrowed arrays are copied into the caller's
 * buffers by fill(ud, info) under the lock. Returns 0, or -1 when the series
 * is not here (*owned says whether its partition is). */
int tc_member_series(struct tc_member *m, const char *id, size_t len, int *owned,
	void (*fill)(void *ud, const struct tc_tick *t, const struct tc_series_info *info),
	void *ud);

#endif
