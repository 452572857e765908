/* cluster_node_internal.h -- (internal) the cluster node's parts, shared by
 * cluster_node.c (start, stop) and cluster_report.c (status, metrics). */
#ifndef TC_CLUSTER_NODE_INTERNAL_H
#define TC_CLUSTER_NODE_INTERNAL_H

#include "ckpt_store.h"
#include "cluster_node.h"
#include "member.h"
#include "nats_link.h"
#include "tick.h"

struct tc_cluster_node {
	const struct tc_config *cfg;     /* borrowed */
	struct tc_model *model;          /* owned */
	struct tc_nats_link *link;
	struct tc_ckpt_store *store;
	struct tc_member *member;
	struct tc_emitter also;          /* to the ZeroMQ publisher, when there is one */
	int64_t started_ms;
};

#endif
