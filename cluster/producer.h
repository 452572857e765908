/* producer.h -- `tickcast pub --nats`'s engine: reading lines routed by series id to their
 * partition (tc_partition_of) and published in per-partition text batches to
 * <prefix>.readings.<p> with JetStream acks, every ack checked.
 *
 * A partition's batches are published in input order on one connection and are
 * never retried (a retry would land after later batches and reorder the series): a
 * batch the stream did not acknowledge is counted and reported, never silently lost.
 *
 *     struct tc_producer *p = tc_producer_new(nc, &cfg, err);
 *     tc_producer_add(p, line, len, err);  ... for every line
 *     tc_producer_finish(p, 30000, err);   // publishes the rest, waits for every ack
 *     tc_producer_free(&p);
 */
#ifndef TC_PRODUCER_H
#define TC_PRODUCER_H

#include <nats/nats.h>
#include <stddef.h>
#include <stdint.h>

#define TC_PRODUCER_BATCH_BYTES 65536 /* a batch is cut before it would pass this */

struct tc_producer_config {
	const char *prefix;    /* subjects <prefix>.readings.<p> */
	uint32_t partitions;   /* P: the readings stream's count */
	size_t batch_lines;    /* lines a batch at most (1..) */
};

struct tc_producer_stats {
	uint64_t readings;     /* lines published */
	uint64_t messages;     /* batches published */
	uint64_t bytes;        /* bodies' bytes */
	uint64_t failed;       /* batches the stream did not acknowledge */
	uint64_t failed_readings; /* lines in them */
};

struct tc_producer;

/* A producer publishing on nc (which must outlive it). NULL with err. */
struct tc_producer *tc_producer_new(natsConnection *nc, const struct tc_producer_config *cfg,
	char *err);

/* Adds one reading line (no newline; not blank) to its series' partition's
 * batch, publishing the batch first when full. The id is the bytes before
 * the first space or tab, hashed as they are. 0, or -1 with err. */
int tc_producer_add(struct tc_producer *p, const char *line, size_t len, char *err);

/* Publishes what is batched and waits up to wait_ms for every ack. 0 if
 * every batch was acknowledged, else -1 with err counting what was not. */
int tc_producer_finish(struct tc_producer *p, int64_t wait_ms, char *err);

/* A consistent copy of the counters. */
void tc_producer_stats(struct tc_producer *p, struct tc_producer_stats *out);

void tc_producer_free(struct tc_producer **p);

#endif
