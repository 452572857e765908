/* test_cluster.c -- tickcastd members on a real 3-node nats-server cluster: every forecast
 * equals `tickcast replay` of its partition's readings in stream order, through garbage on
 * a partition, a member killed with SIGKILL and restarted, a restart of all with another
 * member count, and the loss of the readings stream's leader. */
#include <criterion/criterion.h>

#include "cli_run.h"
#include "cluster_fixture.h"

TestSuite(cluster, .timeout = 240);

static void setup_r1(void)
{
	cf_setup(3, 1);
}

static void setup_r3(void)
{
	cf_setup(3, 3);
}

static long long member_total(int k, const char *field)
{
	json_t *s = cf_status(k);
	char path[96];
	snprintf(path, sizeof path, "cluster.totals.%s", field);
	long long v = dh_json_int(s, path);
	json_decref(s);
	return v;
}

/* Waits until member k has written n checkpoints in all. */
static void wait_checkpoints(int k, long long n)
{
	double deadline = dh_now_ms() + 20000;
	while (member_total(k, "checkpoints") < n) {
		cr_assert_lt(dh_now_ms(), deadline, "member %d wrote no %lld checkpoints", k, n);
		dh_sleep_ms(50);
	}
}

Test(cluster, two_members_over_8_partitions_forecast_what_replay_gives_and_skip_garbage,
	.init = setup_r1, .fini = cf_teardown)
{
	cf_start_member(0, 2);
	cf_start_member(1, 2);
	cf_publish_buckets(6);
	/* Partition 5 (member 1's: 4..7) gets garbage between its readings. */
	static const char garbage[][24] = {"no value here", "s1 abc 1700000000", "\0TCR\x09junk"};
	for (int i = 0; i < 3; i++) {
		cf_publish(5, garbage[i], i == 2 ? 10 : strlen(garbage[i]));
	}
	cf_publish_buckets(12);
	cf_flush_all();
	struct dh_lines want = {0};
	cf_expected(&want, dh_path("m0.yaml"));
	cr_assert_gt(want.n, (size_t)CF_SERIES * 9, "the reference is too small: %zu", want.n);
	cf_expect_forecasts(&want);
	double deadline = dh_now_ms() + 10000;
	long long readings;
	while ((readings = member_total(0, "readings") + member_total(1, "readings"))
		< CF_SERIES * 12 && dh_now_ms() < deadline) {
		dh_sleep_ms(50);
	}
	cr_assert_eq(readings, CF_SERIES * 12, "every reading applied once");
	cr_assert_eq(member_total(1, "bad_messages"), 3, "each garbage message is counted once");
	cr_assert_eq(member_total(0, "bad_messages"), 0);
	dh_lines_free(&want);
}

Test(cluster, a_member_killed_and_restarted_then_all_restarted_as_three_continue_exactly,
	.init = setup_r1, .fini = cf_teardown)
{
	cf_start_member(0, 2);
	cf_start_member(1, 2);
	cf_publish_buckets(8);
	struct dh_lines want = {0};
	cf_expected(&want, dh_path("m0.yaml"));
	cf_expect_forecasts(&want);
	dh_lines_free(&want);
	dh_sleep_ms(1500); /* a checkpoint of each partition comes due (checkpoint_every_s: 1) */
	cf_publish_buckets(10);
	wait_checkpoints(0, 4);
	cf_kill_member(0, SIGKILL);
	cf_publish_buckets(14);
	cf_start_member(0, 2);
	json_t *s = cf_status(0);
	json_t *p0 = json_array_get(dh_json_get(s, "cluster.by_partition"), 0);
	cr_assert(json_is_true(json_object_get(p0, "restored")),
		"member 0 did not restore partition 0 from JetStream: %s; its log:\n%s",
		json_dumps(s, 0), cf_log(0));
	json_decref(s);
	const char *log = cf_log(0);
	int restored = 0, at_message_start = 0;
	for (const char *at = log; (at = strstr(at, "restored checkpoint")); at++) {
		restored++;
	}
	for (const char *at = log; (at = strstr(at, ", 0 readings of it already")); at++) {
		at_message_start++;
	}
	cr_assert_gt(restored, at_message_start, "no partition resumed inside a message, so "
		"resume_skip went untested; the log:\n%s", log);
	cf_publish_buckets(16);
	cf_expected(&want, dh_path("m0.yaml"));
	cf_expect_forecasts(&want);
	dh_lines_free(&want);
	/* A reading applied before the checkpoint and again after the restore
	 * would belong to a closed bucket: it would count as late. */
	cr_assert_eq(member_total(0, "late"), 0, "readings were applied twice");

	dh_sleep_ms(1500);
	cf_publish_buckets(17);
	cf_kill_member(0, SIGTERM);
	cf_kill_member(1, SIGTERM);
	cr_assert_null(strstr(cf_log(1), "NATS: disconnected"), "a clean stop is logged as a lost "
		"connection:\n%s", cf_log(1));
	for (int k = 0; k < 3; k++) {
		cf_start_member(k, 3);
	}
	cf_publish_buckets(22);
	cf_expected(&want, dh_path("m0.yaml"));
	cf_expect_forecasts(&want);
	long long readings = 0;
	for (int k = 0; k < 3; k++) {
		readings += member_total(k, "readings");
	}
	cr_assert_leq(readings, CF_SERIES * 22, "the three replay no more than they own");
	dh_lines_free(&want);
}

Test(cluster, losing_the_readings_streams_leader_loses_nothing_once_another_is_elected,
	.init = setup_r3, .fini = cf_teardown)
{
	/* Both at once, on streams that do not exist yet: each creates them (or
	 * finds the other's) and reads its checkpoints before they have leaders. */
	cf_spawn_member(0, 2);
	cf_spawn_member(1, 2);
	cf_wait_member(0);
	cf_wait_member(1);
	cf_publish_buckets(6);
	int leader = nf_stream_leader(&cf.nats, "tickcast_readings");
	cr_assert_geq(leader, 0, "no leader of tickcast_readings");
	nf_kill(&cf.nats, leader, SIGKILL);
	cf_publish_buckets(12);
	struct dh_lines want = {0};
	cf_expected(&want, dh_path("m0.yaml"));
	cf_expect_forecasts(&want);
	cr_assert_eq(nf_restart(&cf.nats, leader), 0);
	dh_lines_free(&want);
}

/* The NATS node of index i serving client port port; -1 if none. */
static int node_of_port(int port)
{
	for (int i = 0; i < cf.nats.n; i++) {
		if (cf.nats.node[i].client_port == port) {
			return i;
		}
	}
	return -1;
}

Test(cluster, a_member_whose_nats_server_dies_reconnects_and_resumes_from_its_position,
	.init = setup_r1, .fini = cf_teardown)
{
	cf_start_member(0, 1);
	json_t *s = cf_status(0);
	const char *url = dh_json_str(s, "cluster.nats.url");
	const char *colon = strrchr(url, ':');
	int node = node_of_port(colon ? atoi(colon + 1) : 0);
	cr_assert_geq(node, 0, "member 0 is connected to no node of the cluster: %s", url);
	json_decref(s);
	cf_subscribe_via((node + 1) % cf.nats.n);
	cf_publish_buckets(5);
	struct dh_lines want = {0};
	cf_expected(&want, dh_path("m0.yaml"));
	cf_expect_forecasts(&want);
	dh_lines_free(&want);
	nf_kill(&cf.nats, node, SIGKILL);
	dh_sleep_ms(1000);
	cr_assert_eq(nf_restart(&cf.nats, node), 0);
	cf_publish_buckets(10);
	cf_flush_all();
	cf_expected(&want, dh_path("m0.yaml"));
	cf_expect_forecasts(&want);
	dh_lines_free(&want);
	s = cf_status(0);
	cr_assert_geq(dh_json_int(s, "cluster.nats.disconnects"), 1, "%s", json_dumps(s, 0));
	cr_assert_geq(dh_json_int(s, "cluster.nats.reconnects"), 1, "%s", json_dumps(s, 0));
	cr_assert(json_is_true(dh_json_get(s, "cluster.nats.connected")));
	cr_assert_eq(dh_json_int(s, "cluster.totals.late"), 0, "a reading was applied twice");
	json_decref(s);
	cr_assert_not_null(strstr(cf_log(0), "NATS: disconnected from"), "the disconnect is not "
		"logged:\n%s", cf_log(0));
	cr_assert_not_null(strstr(cf_log(0), "NATS: reconnected to"), "%s", cf_log(0));
}

/* A sample's value in Prometheus text, or -1 when it is not there. */
static double sample(const char *text, const char *name_and_labels)
{
	char want[160];
	snprintf(want, sizeof want, "\n%s ", name_and_labels);
	const char *at = strstr(text, want);
	return at ? atof(at + strlen(want)) : -1;
}

Test(cluster, metrics_pass_promtool_and_equal_status_and_forecasts_also_go_to_zeromq,
	.init = setup_r1, .fini = cf_teardown)
{
	int ports[1];
	cr_assert_eq(nf_free_ports(ports, 1), 0);
	cf.metrics_port[0] = ports[0];
	char publish[256];
	snprintf(publish, sizeof publish, "bind: [\"%s\"]", dh.publish);
	cf.publish = publish;
	cf_start_member(0, 1);
	void *sub = dh_subscriber();
	dh_sleep_ms(300); /* the subscription reaches the PUB socket */
	cf_publish_buckets(6);
	cf_flush_all();
	struct dh_lines want = {0};
	cf_expected(&want, dh_path("m0.yaml"));
	cf_expect_forecasts(&want);
	struct dh_received zmq = {0};
	dh_receive(sub, &zmq, want.n, 300, 10000);
	dh_expect_same_lines(&zmq.lines, &want, "forecasts on ZeroMQ against replay per partition");
	dh_received_free(&zmq);

	static char body[1 << 20];
	cr_assert_eq(nf_http_get(ports[0], "/metrics", body, sizeof body), 200);
	dh_expect_promtool_clean(body);
	json_t *s = cf_status(0);
	json_t *parts = dh_json_get(s, "cluster.by_partition");
	cr_assert_eq(json_array_size(parts), CF_PARTITIONS);
	for (size_t i = 0; i < json_array_size(parts); i++) {
		char name[96];
		snprintf(name, sizeof name, "tickcast_cluster_readings_total{partition=\"%zu\"}", i);
		cr_assert_eq(sample(body, name),
			(double)json_integer_value(json_object_get(json_array_get(parts, i), "readings")),
			"%s", name);
	}
	cr_assert_eq(sample(body, "tickcast_cluster_nats_connected"), 1);
	json_decref(s);
	dh_lines_free(&want);
	zmq_close(sub);
}

Test(cluster, a_restore_whose_readings_retention_removed_says_they_are_lost,
	.init = setup_r1, .fini = cf_teardown)
{
	cf.cluster_extra = ", max_age_s: 2";
	cf_start_member(0, 1);
	cf_publish_buckets(4);
	dh_sleep_ms(1200);
	cf_publish_buckets(6);
	wait_checkpoints(0, 1);
	cf_kill_member(0, SIGKILL);
	cf_publish_buckets(8);
	cf_flush_all();
	dh_sleep_ms(3500); /* every reading is older than max_age_s */
	cf_start_member(0, 1);
	json_t *s = cf_status(0);
	json_t *parts = dh_json_get(s, "cluster.by_partition");
	int restored = 0, gaps = 0;
	for (size_t i = 0; i < json_array_size(parts); i++) {
		json_t *p = json_array_get(parts, i);
		restored += json_is_true(json_object_get(p, "restored"));
		gaps += json_is_true(json_object_get(p, "retention_gap"));
	}
	json_decref(s);
	cr_assert_gt(restored, 0, "no partition was restored");
	cr_assert_eq(gaps, restored, "every restored partition lost readings to retention");
	cr_assert_not_null(strstr(cf_log(0), "are lost to this partition"), "%s", cf_log(0));
}

/* `tickcastd --member K` against what the config says; no NATS needed. */
static void expect_member_refused(const char *config, const char *member, const char *want)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s --config %s --member %s --check 2>&1", getenv("TC_TICKCASTD"),
		config, member);
	int status = run_sh(cmd);
	cr_assert_neq(status, 0, "tickcastd accepted --member %s: %s", member, output);
	expect_output(want);
}

Test(cluster_member_option, a_member_number_the_config_cannot_have_is_refused_saying_why,
	.init = dh_setup, .fini = dh_teardown)
{
	dh_copy_sample("w.safetensors");
	struct dh_buf b = {0};
	dh_buf_printf(&b, "model: {%s}\ntick: {%s}\ncluster: {members: 2, partitions: 4}\n",
		DH_SAMPLE_MODEL, DH_EVENT_TICK);
	dh_write_file("c.yaml", b.p, b.len);
	dh_buf_free(&b);
	b = (struct dh_buf){0};
	dh_buf_printf(&b, "model: {%s}\n", DH_SAMPLE_MODEL);
	dh_write_file("single.yaml", b.p, b.len);
	dh_buf_free(&b);
	expect_member_refused(dh_path("c.yaml"), "2", "--member 2: ");
	expect_output("cluster has 2 members (numbered from 0)");
	expect_member_refused(dh_path("c.yaml"), "x", "--member: \"x\" is not a member number");
	expect_member_refused(dh_path("c.yaml"), "-1", "is not a member number");
	expect_member_refused(dh_path("single.yaml"), "0", "has no cluster section");
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s --config %s --member 1 --check 2>&1", getenv("TC_TICKCASTD"),
		dh_path("c.yaml"));
	cr_assert_eq(run_sh(cmd), 0, "%s", output);
}

Test(cluster, with_intervals_forecasts_carry_bounds_and_anomaly_events_go_to_nats,
	.init = setup_r1, .fini = cf_teardown)
{
	cf.model = DH_SAMPLE_MODEL ", intervals: {level: 0.8}";
	cf.anomaly = "level: 0.5";
	natsSubscription *events = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&events, cf.nc, "tickcast.anomaly.>"), NATS_OK);
	natsSubscription_SetPendingLimits(events, -1, -1);
	cf_start_member(0, 1);
	cf_publish_buckets(16);
	cf_flush_all();
	struct dh_lines want = {0}, want_events = {0}, got_events = {0};
	cf_expected_all(&want, &want_events, dh_path("m0.yaml"));
	cr_assert_gt(want_events.n, 10, "replay found only %zu events", want_events.n);
	cr_assert(strstr(want.v[0], " lower "), "%s", want.v[0]);
	cf_expect_forecasts(&want);
	cf_expect_messages(events, &got_events, &want_events,
		"anomaly events on NATS against replay per partition");
	cr_assert_eq(member_total(0, "anomalies"), (long long)want_events.n);
	natsSubscription_Destroy(events);
	dh_lines_free(&want);
	dh_lines_free(&want_events);
	dh_lines_free(&got_events);
}
