/* cluster_fixture.h -- tickcastd members of a cluster on a real nats-server cluster
 * (nats_fixture.h), the readings they consume, and the oracle: `tickcast replay` of
 * each partition's readings in stream order. */
#ifndef TC_TEST_CLUSTER_FIXTURE_H
#define TC_TEST_CLUSTER_FIXTURE_H

#include <math.h>

#include "daemon_harness.h"
#include "nats_fixture.h"
#include "partition.h"

#define CF_PARTITIONS 8
#define CF_SERIES 48
#define CF_MAX_MEMBERS 3
#define CF_WAIT_MS 60000     /* every expected forecast must arrive within this */

struct cf {
	struct nf_cluster nats;
	int replicas;
	pid_t member[CF_MAX_MEMBERS];
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *forecasts; /* core NATS <prefix>.forecast.> */
	natsConnection *sub_nc;      /* cf_subscribe_via's; NULL: forecasts come through nc */
	struct dh_buf readings[CF_PARTITIONS]; /* each partition's readings, in stream order */
	struct dh_buf pending[CF_PARTITIONS];  /* generated, not yet published */
	unsigned pending_lines[CF_PARTITIONS];
	unsigned buckets;            /* published so far */
	struct dh_lines got;         /* forecast bodies received, sorted and unique on demand */
	int metrics_port[CF_MAX_MEMBERS]; /* 0: no metrics endpoint */
	const char *publish;         /* the inside of a publish section; NULL: none */
	const char *cluster_extra;   /* more keys of the cluster section (", k: v"); NULL: none */
	const char *model;           /* the inside of the model section; NULL: DH_SAMPLE_MODEL */
	const char *anomaly;         /* the inside of an anomaly section; NULL: none */
};

static struct cf cf;

static inline void cf_setup(int nodes, int replicas)
{
	dh_setup();
	memset(&cf, 0, sizeof cf);
	cf.replicas = replicas;
	cr_assert_eq(nf_start(&cf.nats, nodes), 0, "nats-server did not start");
	cr_assert_eq(nf_connect(&cf.nats, &cf.nc, &cf.js), 0);
	cr_assert_eq(natsConnection_SubscribeSync(&cf.forecasts, cf.nc, "tickcast.forecast.>"),
		NATS_OK);
	natsSubscription_SetPendingLimits(cf.forecasts, -1, -1);
	dh_copy_sample("w.safetensors");
}

/* Receives forecasts through node i alone from now on (core NATS reaches a
 * subscriber only while its server is up: a test that kills a node keeps
 * its subscriber elsewhere). */
static inline void cf_subscribe_via(int i)
{
	char url[64];
	snprintf(url, sizeof url, "nats://127.0.0.1:%d", cf.nats.node[i].client_port);
	natsSubscription_Destroy(cf.forecasts);
	cf.forecasts = NULL;
	cr_assert_eq(natsConnection_ConnectTo(&cf.sub_nc, url), NATS_OK);
	cr_assert_eq(natsConnection_SubscribeSync(&cf.forecasts, cf.sub_nc, "tickcast.forecast.>"),
		NATS_OK);
	natsSubscription_SetPendingLimits(cf.forecasts, -1, -1);
	cr_assert_eq(natsConnection_Flush(cf.sub_nc), NATS_OK);
	dh_sleep_ms(200); /* the interest reaches the other nodes */
}

static inline void cf_kill_member(int k, int sig)
{
	if (cf.member[k] > 0) {
		kill(cf.member[k], sig);
		waitpid(cf.member[k], NULL, 0);
		cf.member[k] = 0;
	}
}

static inline void cf_teardown(void)
{
	for (int k = 0; k < CF_MAX_MEMBERS; k++) {
		cf_kill_member(k, SIGKILL);
	}
	natsSubscription_Destroy(cf.forecasts);
	natsConnection_Destroy(cf.sub_nc);
	jsCtx_Destroy(cf.js);
	natsConnection_Destroy(cf.nc);
	nf_stop(&cf.nats);
	for (int p = 0; p < CF_PARTITIONS; p++) {
		dh_buf_free(&cf.readings[p]);
		dh_buf_free(&cf.pending[p]);
	}
	dh_lines_free(&cf.got);
	dh_teardown();
}

/* Writes dir/m<k>.yaml for member k of members. */
static inline const char *cf_config(int k, int members)
{
	static char name[32];
	snprintf(name, sizeof name, "m%d.yaml", k);
	struct dh_buf b = {0};
	dh_buf_printf(&b, "model: {%s}\ntick: {%s}\ncontrol: {bind: \"ipc://%s/control%d.sock\"}\n"
		"log: {level: info}\n", cf.model ? cf.model : DH_SAMPLE_MODEL, DH_EVENT_TICK, dh.dir, k);
	if (cf.anomaly) {
		dh_buf_printf(&b, "anomaly: {%s}\n", cf.anomaly);
	}
	if (cf.metrics_port[k]) {
		dh_buf_printf(&b, "metrics: {listen: \"127.0.0.1:%d\"}\n", cf.metrics_port[k]);
	} else {
		dh_buf_printf(&b, "metrics: {listen: \"\"}\n");
	}
	if (cf.publish) {
		dh_buf_printf(&b, "publish: {%s}\n", cf.publish);
	}
	dh_buf_printf(&b, "cluster: {nats: [");
	for (int i = 0; i < cf.nats.n; i++) {
		dh_buf_printf(&b, "%s\"nats://127.0.0.1:%d\"", i ? ", " : "",
			cf.nats.node[i].client_port);
	}
	dh_buf_printf(&b, "], partitions: %d, members: %d, member: %d, replicas: %d, "
		"checkpoint_every_s: 1%s}\n", CF_PARTITIONS, members, k, cf.replicas,
		cf.cluster_extra ? cf.cluster_extra : "");
	dh_write_file(name, b.p, b.len);
	dh_buf_free(&b);
	return dh_path(name);
}

/* Member k's log (static; for failure messages). */
static inline const char *cf_log(int k)
{
	static char text[8192];
	char name[32];
	snprintf(name, sizeof name, "m%d.log", k);
	size_t len = 0;
	char *all = dh_read_file(dh_path(name), &len);
	snprintf(text, sizeof text, "%s", len > sizeof text - 1 ? all + len - (sizeof text - 1) : all);
	free(all);
	return text;
}

/* Asks member k for status. */
static inline json_t *cf_status(int k)
{
	char saved[sizeof dh.control];
	memcpy(saved, dh.control, sizeof saved);
	snprintf(dh.control, sizeof dh.control, "ipc://%s/control%d.sock", dh.dir, k);
	const char *req = "status";
	size_t len = 6;
	json_t *reply = dh_request_frames_raw(&req, &len, 1, 1000);
	memcpy(dh.control, saved, sizeof saved);
	return reply;
}

/* Starts member k of members, its log in dir/m<k>.log. */
static inline void cf_spawn_member(int k, int members)
{
	const char *config = cf_config(k, members);
	char log_path[256];
	snprintf(log_path, sizeof log_path, "%s/m%d.log", dh.dir, k);
	cf.member[k] = dh_spawn(config, log_path);
}

/* Waits until member k answers status. */
static inline void cf_wait_member(int k)
{
	pid_t pid = cf.member[k];
	double deadline = dh_now_ms() + 30000;
	for (;;) {
		json_t *s = cf_status(k);
		int ok = json_is_true(json_object_get(s, "ok"));
		json_decref(s);
		if (ok) {
			return;
		}
		int status;
		cr_assert_neq(waitpid(pid, &status, WNOHANG), pid, "member %d exited; its log:\n%s", k,
			cf_log(k));
		cr_assert_lt(dh_now_ms(), deadline, "member %d did not answer; its log:\n%s", k,
			cf_log(k));
		dh_sleep_ms(50);
	}
}

/* Starts member k of members and waits until it answers. */
static inline void cf_start_member(int k, int members)
{
	cf_spawn_member(k, members);
	cf_wait_member(k);
}

/* Publishes one message to partition p's subject with a JetStream ack,
 * retrying while the stream has no leader. */
static inline void cf_publish(uint32_t p, const void *body, size_t len)
{
	char subject[64];
	snprintf(subject, sizeof subject, "tickcast.readings.%u", p);
	double deadline = dh_now_ms() + 30000;
	jsErrCode jerr = 0;
	while (js_Publish(NULL, cf.js, subject, body, (int)len, NULL, &jerr) != NATS_OK) {
		cr_assert_lt(dh_now_ms(), deadline, "publishing to %s: %s (%d)", subject,
			nats_GetLastError(NULL), (int)jerr);
		dh_sleep_ms(100);
	}
}

/* Publishes partition p's pending lines as one message, remembered for replay. */
static inline void cf_flush_partition(uint32_t p)
{
	if (cf.pending[p].len) {
		cf_publish(p, cf.pending[p].p, cf.pending[p].len);
		dh_buf_add(&cf.readings[p], cf.pending[p].p, cf.pending[p].len);
	}
	cf.pending[p].len = 0;
	cf.pending_lines[p] = 0;
}

static inline void cf_flush_all(void)
{
	for (uint32_t p = 0; p < CF_PARTITIONS; p++) {
		cf_flush_partition(p);
	}
}

/* Generates buckets [cf.buckets, until) and publishes each partition's
 * readings in messages of CF_LINES lines, which cut across buckets and
 * across calls (the rest waits for the next call), so that ticks close in
 * the middle of messages, and checkpoints are taken there. */
#define CF_LINES 3
static inline void cf_publish_buckets(unsigned until)
{
	for (; cf.buckets < until; cf.buckets++) {
		struct dh_buf all = {0};
		dh_add_bucket(&all, "s", 0, CF_SERIES, cf.buckets);
		for (char *line = all.p, *end; line && line < all.p + all.len; line = end + 1) {
			end = strchr(line, '\n');
			uint32_t p = tc_partition_of(line, (size_t)(strchr(line, ' ') - line),
				CF_PARTITIONS);
			dh_buf_add(&cf.pending[p], line, (size_t)(end - line) + 1);
			if (++cf.pending_lines[p] == CF_LINES) {
				cf_flush_partition(p);
			}
		}
		dh_buf_free(&all);
	}
}

/* The time of the last line of text (len bytes), or 0 when it is empty. */
static inline double cf_last_time(const char *text, size_t len)
{
	if (!len) {
		return 0;
	}
	const char *last = text + len - 1;
	while (last > text && last[-1] != '\n') {
		last--;
	}
	return atof(strrchr(last, ' ') + 1);
}

/* Adds to want the lines of got whose time is before last_bucket. */
static inline void cf_keep_before(struct dh_lines *want, struct dh_lines *got, double last_bucket)
{
	for (size_t i = 0; i < got->n; i++) {
		if (dh_line_time(got->v[i]) < last_bucket - 0.5) {
			dh_lines_add(want, got->v[i], strlen(got->v[i]));
		}
	}
	dh_lines_free(got);
}

/* The forecasts (and into events, unless NULL, the anomaly events) replay
 * gives for each partition's published readings, but for each partition's
 * last bucket, which no later reading has closed yet. */
static inline void cf_expected_all(struct dh_lines *want, struct dh_lines *events,
	const char *config)
{
	for (int p = 0; p < CF_PARTITIONS; p++) {
		struct dh_lines lines = {0}, found = {0};
		if (cf.readings[p].len) {
			dh_replay_as(config, cf.readings[p].p, cf.readings[p].len, TC_FORMAT_TEXT,
				&lines, events ? &found : NULL);
		}
		double last_bucket = floor(cf_last_time(cf.readings[p].p, cf.readings[p].len));
		cf_keep_before(want, &lines, last_bucket);
		if (events) {
			cf_keep_before(events, &found, last_bucket);
		}
	}
	dh_lines_sort(want);
}

static inline void cf_expected(struct dh_lines *want, const char *config)
{
	cf_expected_all(want, NULL, config);
}

/* Sorts l and drops repeated lines. */
static inline void cf_unique(struct dh_lines *l)
{
	dh_lines_sort(l);
	size_t kept = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (kept && strcmp(l->v[kept - 1], l->v[i]) == 0) {
			free(l->v[i]);
		} else {
			l->v[kept++] = l->v[i];
		}
	}
	l->n = kept;
}

/* Receives from sub into got until the distinct messages number want->n
 * (or the time is up), then expects exactly want: every one, and one
 * published twice (a replayed tick) the same both times. */
static inline void cf_expect_messages(natsSubscription *sub, struct dh_lines *got,
	struct dh_lines *want, const char *what)
{
	double deadline = dh_now_ms() + CF_WAIT_MS;
	while (dh_now_ms() < deadline) {
		natsMsg *m = NULL;
		if (natsSubscription_NextMsg(&m, sub, 200) == NATS_OK) {
			dh_lines_add(got, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
			natsMsg_Destroy(m);
			continue;
		}
		cf_unique(got);
		if (got->n >= want->n) {
			break;
		}
	}
	cf_unique(got);
	dh_expect_same_lines(got, want, what);
}

static inline void cf_expect_forecasts(struct dh_lines *want)
{
	cf_expect_messages(cf.forecasts, &cf.got, want,
		"forecasts on NATS against replay per partition");
}

#endif
