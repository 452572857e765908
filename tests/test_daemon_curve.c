/* test_daemon_curve.c -- tickcastd with security.curve: an authorized client publishes,
 * subscribes and asks for status; clients with an unlisted key, without CURVE, or with
 * another server key get nothing, change nothing and are counted as refused. */
#include "daemon_harness.h"

#include "cert.h"
#include "cli_run.h"

TestSuite(daemon_curve, .init = dh_setup, .fini = dh_teardown, .timeout = 60);

#define REFUSED_MS 400 /* how long a refused client waits for anything */

struct keypair {
	char public_key[41], secret_key[41];
};

static struct keypair server, alice, mallory;
static struct dh_key as_alice, as_mallory, with_wrong_server;

/* Fresh keys; server.key_secret in the test dir, alice's public cert in clients/. */
static void make_keys(void)
{
	struct keypair *all[] = {&server, &alice, &mallory};
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(zmq_curve_keypair(all[i]->public_key, all[i]->secret_key), 0);
	}
	char err[TC_ERR_LEN];
	struct tc_cert s, a;
	memcpy(s.public_key, server.public_key, 41);
	memcpy(s.secret_key, server.secret_key, 41);
	memcpy(a.public_key, alice.public_key, 41);
	memcpy(a.secret_key, alice.secret_key, 41);
	cr_assert_eq(tc_cert_write(dh.dir, "server", &s, err), 0, "%s", err);
	cr_assert_eq(mkdir(dh_path("clients"), 0755), 0);
	cr_assert_eq(tc_cert_write(dh_path("clients"), "alice", &a, err), 0, "%s", err);
	as_alice = (struct dh_key){server.public_key, alice.public_key, alice.secret_key};
	as_mallory = (struct dh_key){server.public_key, mallory.public_key, mallory.secret_key};
	with_wrong_server = (struct dh_key){mallory.public_key, alice.public_key, alice.secret_key};
}

static void start_curve(const char *security)
{
	make_keys();
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK,
		.security = security});
	dh.key = &as_alice;
	dh_start();
}

/* Waits until status field path is at least min; returns its value. */
static long long wait_at_least(const char *path, long long min)
{
	double deadline = dh_now_ms() + DH_WAIT_MS;
	long long v;
	while ((v = dh_status_int(path)) < min && dh_now_ms() < deadline) {
		dh_sleep_ms(20);
	}
	return v;
}

/* Two readings of series id, the second closing the first's bucket: one forecast. */
static void send_pair(void *pub, const char *id, int bucket)
{
	char text[128];
	int n = snprintf(text, sizeof text, "%s 1.5 %.3f\n%s 2.5 %.3f\n", id,
		DH_T0 + 2 * bucket + 0.1, id, DH_T0 + 2 * bucket + 1.1);
	dh_send(pub, text, (size_t)n);
}

/* A client with key (NULL: no CURVE) is refused everything: no control reply,
 * no subscription from the ingest socket, no forecasts; refused goes up. */
static void expect_refused(const struct dh_key *key, const char *who)
{
	long long refused = dh_status_int("security.refused");
	long long accepted = dh_status_int("readings.accepted");
	const char *req = "status";
	size_t len = 6;
	json_t *reply = dh_request_key(&req, &len, 1, REFUSED_MS, key);
	cr_assert_null(reply, "%s got a control reply", who);
	void *pub = dh_socket(ZMQ_XPUB);
	dh_apply_key(pub, key);
	cr_assert_eq(zmq_connect(pub, dh.ingest), 0);
	zmq_pollitem_t item = {.socket = pub, .events = ZMQ_POLLIN};
	cr_assert_eq(zmq_poll(&item, 1, REFUSED_MS), 0, "the ingest socket subscribed to %s", who);
	dh_send(pub, "x.refused 1 1\n", 14);
	void *sub = dh_socket(ZMQ_SUB);
	dh_apply_key(sub, key);
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
	cr_assert_eq(zmq_connect(sub, dh.publish), 0);
	cr_assert_gt(wait_at_least("security.refused", refused + 1), refused,
		"%s was not counted as refused; log:\n%s", who, dh_log_tail());
	cr_assert_eq(dh_status_int("readings.accepted"), accepted, "%s changed readings", who);
	item = (zmq_pollitem_t){.socket = sub, .events = ZMQ_POLLIN};
	cr_assert_eq(zmq_poll(&item, 1, REFUSED_MS), 0, "%s received a forecast", who);
}

Test(daemon_curve, an_authorized_client_publishes_subscribes_and_gets_status)
{
	start_curve("curve: {secret_key: server.key_secret, authorized_keys: clients}");
	void *sub = dh_subscriber(), *pub = dh_publisher();
	send_pair(pub, "c.a", 0);
	dh_expect_int("readings.accepted", 2);
	struct dh_received r = {0};
	cr_assert_geq(dh_receive(sub, &r, 1, 100, DH_WAIT_MS), 1, "no forecast; log:\n%s",
		dh_log_tail());
	cr_assert_str_eq(r.topics.v[0], "forecast.c.a");
	dh_received_free(&r);
	json_t *s = dh_request("status");
	cr_assert(json_is_true(dh_json_get(s, "security.curve")));
	cr_assert_eq(dh_json_int(s, "security.refused"), 0);
	json_decref(s);
}

Test(daemon_curve, unlisted_plain_and_wrong_server_key_clients_get_nothing_and_are_counted)
{
	start_curve("curve: {secret_key: server.key_secret, authorized_keys: clients}");
	void *sub = dh_subscriber(), *pub = dh_publisher();
	expect_refused(&as_mallory, "a client with an unlisted key");
	expect_refused(NULL, "a client without CURVE");
	expect_refused(&with_wrong_server, "a client with another server key");
	char want[128];
	snprintf(want, sizeof want, "refused client key %s", mallory.public_key);
	size_t log_len;
	char *log = dh_read_file(dh.log, &log_len);
	int named = strstr(log, want) != NULL;
	free(log);
	cr_assert(named, "no log line naming the refused key; log:\n%s", dh_log_tail());
	/* The authorized client is still served. */
	send_pair(pub, "c.b", 0);
	dh_expect_int("readings.accepted", 2);
	struct dh_received r = {0};
	cr_assert_geq(dh_receive(sub, &r, 1, 100, DH_WAIT_MS), 1, "no forecast; log:\n%s",
		dh_log_tail());
	cr_assert_str_eq(r.topics.v[0], "forecast.c.b");
	dh_received_free(&r);
}

Test(daemon_curve, without_authorized_keys_any_key_is_let_in_but_not_a_plain_client)
{
	start_curve("curve: {secret_key: server.key_secret}");
	const char *req = "status";
	size_t len = 6;
	json_t *reply = dh_request_key(&req, &len, 1, DH_REQUEST_MS, &as_mallory);
	cr_assert(json_is_true(json_object_get(reply, "ok")), "a client with any key was refused; "
		"log:\n%s", dh_log_tail());
	json_decref(reply);
	expect_refused(NULL, "a client without CURVE");
}

/* Runs tickcastd on dh.config, expecting it to exit 1 with want in its output. */
static void expect_start_fails(const char *want)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "'%s' --config '%s' 2>&1", getenv("TC_TICKCASTD"), dh.config);
	cr_assert_eq(run_sh(cmd), 1, "%s", output);
	cr_assert(strstr(output, want), "no \"%s\" in:\n%s", want, output);
}

Test(daemon_curve, a_public_cert_as_secret_key_or_a_folder_without_keys_stops_start_up)
{
	make_keys();
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK,
		.security = "curve: {secret_key: server.key}"});
	expect_start_fails("server.key is a public certificate; give the NAME.key_secret file");
	cr_assert_eq(mkdir(dh_path("empty"), 0755), 0);
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK,
		.security = "curve: {secret_key: server.key_secret, authorized_keys: empty}"});
	expect_start_fails("has no *.key public certificate, so no client could connect");
}

Test(daemon_curve, keygen_pairs_make_the_cli_pub_sub_and_status_curve_clients)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "'%s' keygen '%s' server && mkdir '%s' && '%s' keygen '%s' bob",
		tickcast(), dh.dir, dh_path("clients"), tickcast(), dh_path("clients"));
	cr_assert_eq(run_sh(cmd), 0, "%s", output);
	snprintf(cmd, sizeof cmd, "'%s' keygen '%s' server 2>&1", tickcast(), dh.dir);
	cr_assert_eq(run_sh(cmd), 1, "keygen overwrote a pair: %s", output);
	cr_assert(strstr(output, "server.key_secret: already exists; not overwritten"), "%s", output);
	struct tc_cert s, b;
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_cert_read(&s, dh_path("server.key"), err), 0, "%s", err);
	cr_assert_eq(tc_cert_read(&b, dh_path("clients/bob.key_secret"), err), 0, "%s", err);
	struct dh_key as_bob = {s.public_key, b.public_key, b.secret_key};
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK,
		.security = "curve: {secret_key: server.key_secret, authorized_keys: clients}"});
	dh.key = &as_bob;
	dh_start();
	char keys[1024];
	snprintf(keys, sizeof keys, "--server-key '%s' --key '%s'", dh_path("server.key"),
		dh_path("clients/bob.key_secret"));
	snprintf(cmd, sizeof cmd, "'%s' status --control '%s' %s 2>&1", tickcast(), dh.control, keys);
	cr_assert_eq(run_sh(cmd), 0, "%s", output);
	cr_assert(strstr(output, "\"curve\": true"), "%s", output);
	snprintf(cmd, sizeof cmd, "'%s' status --control '%s' --timeout-ms 300 2>&1", tickcast(),
		dh.control);
	cr_assert_eq(run_sh(cmd), 1, "a plain status was answered: %s", output);
	/* sub in the background (a second to connect), then pub: the one forecast comes
	 * back through sub. */
	snprintf(cmd, sizeof cmd, "( '%s' sub '%s' %s --count 1 --timeout-ms %d > '%s' & "
		"sleep 1; printf 'k.a 1.5 %.3f\\nk.a 2.5 %.3f\\n' | '%s' pub '%s' %s; st=$?; "
		"wait $!; exit $(( st | $? )) ) 2>&1", tickcast(), dh.publish, keys, DH_WAIT_MS,
		dh_path("sub.txt"), DH_T0 + 0.1, DH_T0 + 1.1, tickcast(), dh.ingest, keys);
	cr_assert_eq(run_sh(cmd), 0, "%s", output);
	size_t got_len;
	char *got = dh_read_file(dh_path("sub.txt"), &got_len);
	int found = strstr(got, "k.a") != NULL;
	free(got);
	cr_assert(found, "no forecast of k.a through `tickcast sub`; log:\n%s", dh_log_tail());
	cr_assert_eq(dh_status_int("readings.accepted"), 2);
}
