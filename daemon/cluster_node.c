/* cluster_node.c -- tickcastd as a cluster member: start-up and stop (cluster_node.h). */
#include "cluster_node.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster_node_internal.h"
#include "error.h"
#include "log.h"
#include "streams.h"

/* libnats and the member report here, on their threads. */
static void log_line(void *ud, int level, const char *line)
{
	(void)ud;
	tc_log(level == 0 ? TC_LOG_ERROR : level == 1 ? TC_LOG_WARNING : TC_LOG_INFO, "cluster: %s",
		line);
}

/* Forecasts to the ZeroMQ publisher too, as the ticker hands them over. */
static int to_publisher(void *ud, const struct tc_forecasts *f)
{
	struct tc_publisher *p = ud;
	char err[TC_ERR_LEN];
	tc_publisher_wait_room(p);
	if (tc_publisher_submit(p, f, err) < 0) {
		tc_log_error("cluster: forecasts not handed to the ZeroMQ publisher: %s", err);
	}
	return 0;
}

/* "nats://a:1,nats://b:2" from the config's list. */
static void join_urls(const struct tc_cluster_config *c, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (int i = 0; i < c->n_nats && used < cap; i++) {
		used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "," : "", c->nats[i]);
	}
}

static int connect_and_check(struct tc_cluster_node *n, char *err)
{
	const struct tc_cluster_config *c = &n->cfg->cluster;
	char urls[TC_CLUSTER_MAX_URLS * (TC_NATS_URL_MAX + 1)], name[64], host[32] = "";
	join_urls(c, urls, sizeof urls);
	gethostname(host, sizeof host - 1);
	snprintf(name, sizeof name, "tickcastd member %d of %d on %s", c->member, c->members,
		host);
	if (!(n->link = tc_nats_link_open(urls, name, log_line, NULL, err))) {
		return -1;
	}
	struct tc_streams_config sc = {
		.prefix = c->prefix,
		.partitions = (uint32_t)c->partitions,
		.replicas = c->replicas,
		.max_age_s = c->max_age_s,
		.max_bytes = c->max_bytes,
	};
	if (tc_streams_ensure(tc_nats_link_js(n->link), &sc, err) < 0) {
		return -1;
	}
	n->store = tc_ckpt_store_create(tc_nats_link_conn(n->link), tc_nats_link_js(n->link),
		c->prefix, err);
	return n->store ? 0 : -1;
}

struct tc_cluster_node *tc_cluster_node_start(const struct tc_config *cfg, struct tc_model *m,
	struct tc_publisher *publisher, char *err)
{
	struct tc_cluster_node *n = calloc(1, sizeof *n);
	if (!n) {
		tc_model_destroy(&m);
		tc_err_set(err, "out of memory");
		return NULL;
	}
	n->cfg = cfg;
	n->model = m;
	n->started_ms = tc_now_ms();
	n->also = (struct tc_emitter){to_publisher, publisher};
	if (connect_and_check(n, err) < 0) {
		tc_cluster_node_stop(&n);
		return NULL;
	}
	struct tc_member_env env = {cfg, m, tc_nats_link_conn(n->link), tc_nats_link_js(n->link),
		n->store, publisher ? &n->also : NULL, log_line, NULL};
	uint32_t first, count;
	tc_member_partitions((uint32_t)cfg->cluster.partitions, (uint32_t)cfg->cluster.members,
		(uint32_t)cfg->cluster.member, &first, &count);
	tc_log_info("cluster: member %d of %d owns partitions %u..%u of %d; restoring them",
		cfg->cluster.member, cfg->cluster.members, first, first + count - 1,
		cfg->cluster.partitions);
	if (!(n->member = tc_member_create(&env, err)) || tc_member_start(n->member, err) < 0) {
		tc_cluster_node_stop(&n);
		return NULL;
	}
	return n;
}

void tc_cluster_node_stop(struct tc_cluster_node **np)
{
	struct tc_cluster_node *n = np ? *np : NULL;
	if (!n) {
		return;
	}
	tc_member_destroy(&n->member);
	tc_ckpt_store_destroy(&n->store);
	tc_nats_link_close(&n->link);
	tc_model_destroy(&n->model);
	free(n);
	*np = NULL;
}

int64_t tc_cluster_node_last_turn_ms(struct tc_cluster_node *n)
{
	struct tc_member_summary s;
	tc_member_summary(n->member, &s);
	return s.last_turn_ms;
}
