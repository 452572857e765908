/* cluster_report.c -- what a cluster member tells: the `cluster` object of status, `series`,
 * its Prometheus metrics and systemd's status line (cluster_node.h). docs/cluster.md
 * lists every field. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster_node_internal.h"
#include "log.h"
#include "partition.h"

/* Every partition's figures summed. */
struct totals {
	uint64_t series, ticks, messages, readings, accepted, late, bad_messages, bad_readings;
	uint64_t misrouted, unroutable, duplicates, forecasts, checkpoints, checkpoint_failures;
	uint64_t anomalies;
};

static void add(struct totals *t, const struct tc_member_partition_status *p)
{
	t->series += p->series;
	t->ticks += p->tick.ticks;
	t->messages += p->shard.messages;
	t->readings += p->shard.readings;
	t->accepted += p->tick.accepted;
	t->late += p->tick.rejected[TC_REJECT_LATE];
	t->bad_messages += p->shard.bad_messages;
	t->bad_readings += p->shard.bad_readings;
	t->misrouted += p->shard.misrouted;
	t->unroutable += p->shard.unroutable;
	t->duplicates += p->shard.duplicates;
	t->forecasts += p->shard.forecasts;
	t->anomalies += p->shard.anomalies;
	t->checkpoints += p->shard.checkpoints;
	t->checkpoint_failures += p->shard.checkpoint_failures;
}

#define J(v) ((json_int_t)(v))

static json_t *partition_json(const struct tc_member_partition_status *p, int64_t now_ms)
{
	json_t *j = json_pack("{s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I}", "partition", J(p->partition),
		"resume_seq", J(p->next.resume_seq), "resume_skip", J(p->next.resume_skip),
		"restored", p->restored, "restored_epoch", J(p->restored_epoch), "epoch", J(p->epoch),
		"series", J(p->series), "ticks", J(p->tick.ticks));
	json_t *more = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}",
		"messages", J(p->shard.messages), "readings", J(p->shard.readings),
		"late", J(p->tick.rejected[TC_REJECT_LATE]), "bad_messages", J(p->shard.bad_messages),
		"bad_readings", J(p->shard.bad_readings), "misrouted", J(p->shard.misrouted),
		"unroutable", J(p->shard.unroutable), "duplicates", J(p->shard.duplicates),
		"forecasts", J(p->shard.forecasts), "checkpoints", J(p->shard.checkpoints),
		"checkpoint_age_s", (double)(now_ms - p->last_checkpoint_ms) / 1000.0);
	json_object_set_new(more, "checkpoint_failures", json_integer(J(p->shard.checkpoint_failures)));
	json_object_set_new(more, "retention_gap", json_boolean(p->retention_gap));
	json_object_set_new(more, "anomalies", json_integer(J(p->shard.anomalies)));
	json_object_update(j, more);
	json_decref(more);
	return j;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

json_t *tc_cluster_node_status_json(struct tc_cluster_node *n)
{
	const struct tc_cluster_config *c = &n->cfg->cluster;
	struct tc_member_status st;
	struct tc_nats_link_status ls;
	if (tc_member_status(n->member, &st) < 0) {
		return NULL;
	}
	tc_nats_link_status(n->link, &ls);
	struct totals t = {0};
	json_t *parts = json_array();
	int64_t now = wall_ms();
	for (uint32_t i = 0; i < st.count; i++) {
		add(&t, &st.partitions[i]);
		json_array_append_new(parts, partition_json(&st.partitions[i], now));
	}
	free(st.partitions);
	json_t *j = json_pack("{s:I, s:I, s:I, s:s, s:[I, I], s:I}", "member", J(c->member),
		"members", J(c->members), "partitions", J(c->partitions), "prefix", c->prefix,
		"owned", J(st.first), J(st.first + st.count - 1), "queued", J(st.queued));
	json_object_set_new(j, "nats", json_pack("{s:b, s:s, s:I, s:I, s:I, s:s}",
		"connected", ls.connected, "url", ls.url, "disconnects", J(ls.disconnects),
		"reconnects", J(ls.reconnects), "async_errors", J(ls.async_errors),
		"last_error", ls.last_error));
	json_t *tot = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "series", J(t.series),
		"ticks", J(t.ticks), "messages", J(t.messages), "readings", J(t.readings),
		"late", J(t.late), "bad_messages", J(t.bad_messages),
		"bad_readings", J(t.bad_readings), "misrouted", J(t.misrouted));
	json_t *tot2 = json_pack("{s:I, s:I, s:I, s:I, s:I}", "unroutable", J(t.unroutable),
		"duplicates", J(t.duplicates), "forecasts", J(t.forecasts),
		"checkpoints", J(t.checkpoints), "checkpoint_failures", J(t.checkpoint_failures));
	json_object_update(tot, tot2);
	json_decref(tot2);
	json_object_set_new(tot, "anomalies", json_integer(J(t.anomalies)));
	json_object_set_new(j, "totals", tot);
	json_object_set_new(j, "by_partition", parts);
	return j;
}

static json_t *floats(const float *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		json_array_append_new(a, json_real(v[i]));
	}
	return a;
}

struct series_reply {
	json_t *j;
};

static void fill_series(void *ud, const struct tc_tick *t, const struct tc_series_info *i)
{
	(void)t;
	struct series_reply *r = ud;
	r->j = json_pack("{s:b, s:I, s:o, s:o}", "ok", 1, "age_ticks", J(i->age_ticks),
		"last_input", i->stepped ? floats(i->last_input, i->n_inputs) : json_null(),
		"last_forecast", i->stepped ? floats(i->last_output, i->n_outputs) : json_null());
}

json_t *tc_cluster_node_series_json(struct tc_cluster_node *n, const char *id, size_t len)
{
	struct series_reply r = {NULL};
	int owned = 0;
	uint32_t p = tc_partition_of(id, len, (uint32_t)n->cfg->cluster.partitions);
	if (tc_member_series(n->member, id, len, &owned, fill_series, &r) < 0) {
		char text[160];
		snprintf(text, sizeof text, owned ? "no such series (its partition %u is this "
			"member's)" : "no such series here: its partition %u belongs to another member",
			p);
		return json_pack("{s:b, s:s}", "ok", 0, "error", text);
	}
	if (r.j) {
		json_object_set_new(r.j, "series", json_stringn(id, len));
		json_object_set_new(r.j, "partition", json_integer(p));
	}
	return r.j;
}

static void counter(FILE *out, const char *name, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
}

static void gauge(FILE *out, const char *name, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* A metric family with a sample per partition: field picks the figure. */
struct family {
	const char *name;
	int is_counter;
	const char *help;
	uint64_t (*field)(const struct tc_member_partition_status *p);
};

static void per_partition(FILE *out, const struct tc_member_status *st, const struct family *f)
{
	(f->is_counter ? counter : gauge)(out, f->name, f->help);
	for (uint32_t i = 0; i < st->count; i++) {
		fprintf(out, "%s{partition=\"%u\"} %llu\n", f->name, st->partitions[i].partition,
			(unsigned long long)f->field(&st->partitions[i]));
	}
}

#define FIELD(fn, expr) \
	static uint64_t fn(const struct tc_member_partition_status *p) { return (uint64_t)(expr); }
FIELD(f_messages, p->shard.messages)
FIELD(f_readings, p->shard.readings)
FIELD(f_bad, p->shard.bad_messages)
FIELD(f_misrouted, p->shard.misrouted + p->shard.unroutable)
FIELD(f_late, p->tick.rejected[TC_REJECT_LATE])
FIELD(f_duplicates, p->shard.duplicates)
FIELD(f_ticks, p->tick.ticks)
FIELD(f_forecasts, p->shard.forecasts)
FIELD(f_anomalies, p->shard.anomalies)
FIELD(f_checkpoints, p->shard.checkpoints)
FIELD(f_ckpt_failures, p->shard.checkpoint_failures)
FIELD(f_position, p->next.resume_seq)
FIELD(f_series, p->series)

static const struct family families[] = {
	{"tickcast_cluster_messages_total", 1, "Stream messages applied, per partition.",
		f_messages},
	{"tickcast_cluster_readings_total", 1, "Readings offered to the partition's engine.",
		f_readings},
	{"tickcast_cluster_bad_messages_total", 1,
		"Messages with a reading or a body that did not parse (skipped).", f_bad},
	{"tickcast_cluster_misrouted_readings_total", 1,
		"Readings of series of another partition, or whose id cannot end a subject.",
		f_misrouted},
	{"tickcast_cluster_late_readings_total", 1, "Readings of a bucket already closed.", f_late},
	{"tickcast_cluster_duplicate_messages_total", 1,
		"Messages before the partition's position (delivered again), skipped.", f_duplicates},
	{"tickcast_cluster_ticks_total", 1, "Ticks closed.", f_ticks},
	{"tickcast_cluster_forecasts_total", 1, "Forecasts published on NATS.", f_forecasts},
	{"tickcast_cluster_anomalies_total", 1, "Anomaly events published on NATS.", f_anomalies},
	{"tickcast_cluster_checkpoints_total", 1, "Checkpoints written to JetStream.",
		f_checkpoints},
	{"tickcast_cluster_checkpoint_failures_total", 1, "Checkpoints that could not be written.",
		f_ckpt_failures},
	{"tickcast_cluster_position", 0, "Stream sequence of the next message the partition "
		"applies.", f_position},
	{"tickcast_cluster_series", 0, "Live series.", f_series},
};

void tc_cluster_node_metrics(struct tc_cluster_node *n, FILE *out)
{
	struct tc_member_status st;
	struct tc_nats_link_status ls;
	if (tc_member_status(n->member, &st) < 0) {
		return;
	}
	tc_nats_link_status(n->link, &ls);
	gauge(out, "tickcast_cluster_nats_connected", "1 while connected to a NATS server.");
	fprintf(out, "tickcast_cluster_nats_connected %d\n", ls.connected);
	counter(out, "tickcast_cluster_nats_disconnects_total", "Times the NATS connection was lost.");
	fprintf(out, "tickcast_cluster_nats_disconnects_total %llu\n",
		(unsigned long long)ls.disconnects);
	counter(out, "tickcast_cluster_nats_reconnects_total", "Times it was regained.");
	fprintf(out, "tickcast_cluster_nats_reconnects_total %llu\n", (unsigned long long)ls.reconnects);
	counter(out, "tickcast_cluster_nats_async_errors_total",
		"Asynchronous NATS errors (slow consumer, permissions).");
	fprintf(out, "tickcast_cluster_nats_async_errors_total %llu\n",
		(unsigned long long)ls.async_errors);
	gauge(out, "tickcast_cluster_queued_messages", "Messages received, waiting to be applied.");
	fprintf(out, "tickcast_cluster_queued_messages %llu\n", (unsigned long long)st.queued);
	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
		per_partition(out, &st, &families[i]);
	}
	free(st.partitions);
}

void tc_cluster_node_summary(struct tc_cluster_node *n, char *buf, size_t len)
{
	struct tc_member_summary s;
	struct tc_nats_link_status ls;
	tc_member_summary(n->member, &s);
	tc_nats_link_status(n->link, &ls);
	snprintf(buf, len, "member %d: partitions %u..%u, %llu series, %llu ticks, NATS %s",
		n->cfg->cluster.member, s.first, s.first + s.count - 1,
		(unsigned long long)s.series, (unsigned long long)s.ticks,
		ls.connected ? "connected" : "reconnecting");
}
