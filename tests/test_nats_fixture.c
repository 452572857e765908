/* test_nats_fixture.c -- the nats-server fixture (tests/nats_fixture.h) does
 * what the cluster tests rely on: nodes start healthy, a replicated stream
 * has a leader that can be found, killed and replaced, and a node restarts. */
#include <criterion/criterion.h>

#include "nats_fixture.h"

#define PUBLISH_MS 20000 /* JetStream publishes are retried this long after a kill */

/* One JetStream publish with an ack, retried (a leader may be being
 * elected) until PUBLISH_MS pass; the ack's stream sequence, 0 if none. */
static uint64_t publish_acked(jsCtx *js, const char *subject, const char *data)
{
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MaxWait = 1000;
	double deadline = dh_now_ms() + PUBLISH_MS;
	while (dh_now_ms() < deadline) {
		jsPubAck *ack = NULL;
		if (js_Publish(&ack, js, subject, data, (int)strlen(data), &po, NULL) == NATS_OK) {
			uint64_t seq = ack->Sequence;
			jsPubAck_Destroy(ack);
			return seq;
		}
		dh_sleep_ms(100);
	}
	return 0;
}

static void add_r3_stream(jsCtx *js, const char *name, const char *subject)
{
	jsStreamConfig cfg;
	jsStreamConfig_Init(&cfg);
	cfg.Name = name;
	const char *subjects[] = {subject};
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	cfg.Replicas = 3;
	jsStreamInfo *si = NULL;
	jsErrCode code = 0;
	natsStatus s = js_AddStream(&si, js, &cfg, NULL, &code);
	cr_assert_eq(s, NATS_OK, "js_AddStream: %s (%d)", nats_GetLastError(NULL), (int)code);
	cr_assert_eq(si->Config->Replicas, 3);
	jsStreamInfo_Destroy(si);
}

Test(nats_fixture, a_three_node_cluster_elects_a_new_stream_leader_when_the_leader_is_killed)
{
	struct nf_cluster c;
	cr_assert_eq(nf_start(&c, 3), 0, "the cluster did not start (see stderr)");
	cr_assert_eq(c.n, 3);
	for (int i = 0; i < 3; i++) {
		char url[32];
		snprintf(url, sizeof url, "nats://127.0.0.1:%d", c.node[i].client_port);
		cr_assert(strstr(c.urls, url), "urls %s lack %s", c.urls, url);
	}
	natsConnection *nc;
	jsCtx *js;
	cr_assert_eq(nf_connect(&c, &nc, &js), 0);
	add_r3_stream(js, "fx", "fx.>");
	cr_assert_eq(publish_acked(js, "fx.a", "one"), 1);

	int leader = nf_stream_leader(&c, "fx");
	cr_assert(leader >= 0 && leader < 3, "leader %d", leader);
	nf_kill(&c, leader, SIGKILL);
	cr_assert_eq(c.node[leader].pid, 0);
	cr_assert_eq(publish_acked(js, "fx.a", "two"), 2,
		"no JetStream publish was acknowledged after the leader was killed");
	int next = nf_stream_leader(&c, "fx");
	cr_assert(next >= 0 && next != leader, "leader %d, then %d", leader, next);

	cr_assert_eq(nf_restart(&c, leader), 0, "the killed node did not come back healthy");
	char body[256];
	cr_assert_eq(nf_http_get(c.node[leader].http_port, "/healthz", body, sizeof body), 200);
	cr_assert_eq(publish_acked(js, "fx.a", "three"), 3);

	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nf_stop(&c);
}

Test(nats_fixture, one_node_starts_healthy_and_stop_removes_its_folder)
{
	struct nf_cluster c;
	cr_assert_eq(nf_start(&c, 1), 0);
	char want[64];
	snprintf(want, sizeof want, "nats://127.0.0.1:%d", c.node[0].client_port);
	cr_assert_str_eq(c.urls, want);
	char body[256];
	cr_assert_eq(nf_http_get(c.node[0].http_port, "/healthz", body, sizeof body), 200);
	cr_assert(strstr(body, "\"ok\""), "healthz body: %s", body);
	char dir[64];
	snprintf(dir, sizeof dir, "%s", c.dir);
	cr_assert_eq(access(dir, F_OK), 0);
	nf_stop(&c);
	cr_assert_neq(access(dir, F_OK), 0, "%s is still there", dir);
	cr_assert_eq(nf_http_get(c.node[0].http_port, "/healthz", body, sizeof body), -1,
		"the node still answers after nf_stop");
}

Test(nats_fixture, only_one_or_three_nodes_are_started)
{
	struct nf_cluster c;
	cr_assert_eq(nf_start(&c, 2), -1);
	cr_assert_eq(c.dir[0], '\0');
}
