/* cluster_node.h -- tickcastd as a cluster member: what replaces the ZeroMQ readings
 * socket and the ticker when the config has a `cluster:` section.
 *
 * Start-up: connect to NATS (cluster.nats, reconnecting forever), make sure
 * the readings and checkpoint streams exist and fit the config, restore
 * each owned partition from JetStream, then consume. Forecasts go to core
 * NATS, and also to the ZeroMQ PUB socket when the config has a `publish:`
 * section. Status and metrics read it through the functions below
 * (cluster_report.c). */
#ifndef TC_CLUSTER_NODE_H
#define TC_CLUSTER_NODE_H

#include <stdio.h>

#include <jansson.h>

#include "config.h"
#include "curve.h"
#include "model.h"
#include "publisher.h"

struct tc_cluster_node;

/* Builds and starts the member for cfg (borrowed) and model m (owned from
 * here on, also on failure); publisher may be NULL. NULL and err on
 * failure. */
struct tc_cluster_node *tc_cluster_node_start(const struct tc_config *cfg, struct tc_model *m,
	struct tc_publisher *publisher, char *err);

/* Stops consuming, writes the snapshots that wait, closes the connection,
 * frees *n. */
void tc_cluster_node_stop(struct tc_cluster_node **n);

/* When the member thread last went round (monotonic ms), for the watchdog. */
int64_t tc_cluster_node_last_turn_ms(struct tc_cluster_node *n);

/* The `cluster` object of status (cluster_report.c); NULL out of memory. */
json_t *tc_cluster_node_status_json(struct tc_cluster_node *n);

/* The reply to `series <id>`; NULL out of memory. */
json_t *tc_cluster_node_series_json(struct tc_cluster_node *n, const char *id, size_t len);

/* The cluster's metrics, in Prometheus text. */
void tc_cluster_node_metrics(struct tc_cluster_node *n, FILE *out);

/* One line for systemd's STATUS=. */
void tc_cluster_node_summary(struct tc_cluster_node *n, char *buf, size_t len);

#endif
