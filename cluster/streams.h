/* streams.h -- the JetStream streams of cluster mode: readings (one subject a partition)
 * and checkpoints, made when missing and checked against the config when present.
 *
 * Names for prefix "tickcast" (a prefix is dot-separated tokens of [A-Za-z0-9_-]):
 *   readings:    stream tickcast_readings,    subjects tickcast.readings.<p>
 *   checkpoints: stream tickcast_checkpoints, subjects tickcast.checkpoints.>
 * The partition count P is fixed for the readings stream's life (a series' partition
 * is its id's hash mod P): it is recorded in the stream's description,
 * "tickcast readings: 8 partitions", and a config with another P is refused. */
#ifndef TC_STREAMS_H
#define TC_STREAMS_H

#include <nats/nats.h>
#include <stdint.h>

#define TC_PREFIX_MAX 128      /* bytes of a prefix */
#define TC_STREAM_NAME_MAX 160 /* bytes of a stream name, with its NUL */
#define TC_PARTITIONS_MAX 4096 /* partitions of one readings stream */

struct tc_streams_config {
	const char *prefix;    /* subjects' first tokens; stream names are it with _ for . */
	uint32_t partitions;   /* P, 1..TC_PARTITIONS_MAX */
	int replicas;          /* copies of both streams, 1..5 */
	int64_t max_age_s;     /* seconds readings are kept; 0 = no age limit */
	int64_t max_bytes;     /* bytes the readings stream keeps; 0 = no limit */
};

/* 0 if prefix is one or more dot-separated tokens of [A-Za-z0-9_-] and at
 * most TC_PREFIX_MAX bytes, else -1 with err saying what is wrong. */
int tc_cluster_prefix_check(const char *prefix, char *err);

/* The streams' names for a (valid) prefix, into TC_STREAM_NAME_MAX bytes each. */
void tc_streams_names(const char *prefix, char *readings_name, char *ckpt_name);

/* Adds the readings and checkpoint streams if missing; if present, refuses
 * another partition count or other subjects, and updates replicas, age and
 * size limits to the config's. 0, or -1 with err. */
int tc_streams_ensure(jsCtx *js, const struct tc_streams_config *cfg, char *err);

/* The partition count recorded in prefix's readings stream. 0, or -1 with
 * err (no such stream, or not one tickcast made). */
int tc_streams_partitions(jsCtx *js, const char *prefix, uint32_t *partitions, char *err);

#endif
