/* daemon_harness.h -- end-to-end tests of tickcastd over real sockets:
 * set-up and tear-down, configs, the daemon, control requests and sockets.
 *
 * Each test (Criterion forks a process per test) gets a fresh temp dir, a
 * config whose three sockets are ipc:// endpoints in it, and a daemon
 * ($TC_TICKCASTD) started on it with its stderr in dir/daemon.log. The test
 * talks to it as a user does: XPUB publishers into the ingest socket (an XPUB
 * sees the daemon's subscription arrive, so nothing is sent before the daemon
 * can receive it), a SUB on the forecasts, REQ requests to the control socket
 * (each with a timeout, so a hung daemon fails the test instead of hanging
 * it). Expected forecasts come from the replay code (tc_replay_run, what
 * `tickcast replay` runs), in-process, on the same readings.
 *
 *     TestSuite(flow, .init = dh_setup, .fini = dh_teardown);
 *     dh_copy_sample("w.safetensors");
 *     dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK});
 *     dh_start();
 *     void *sub = dh_subscriber(), *pub = dh_publisher();
 *     dh_send(pub, text, len);
 *     dh_wait_int("readings.accepted", n, DH_WAIT_MS);
 *     dh_stop(DH_STOP_MS);
 *
 * With security.curve in the config, set dh.key (struct dh_key) before
 * dh_start: the harness's own sockets are then CURVE clients with it;
 * dh_request_key asks as any other client.
 *
 * Everything is static inline over one static struct per test process.
 * TC_E2E_KEEP=1 keeps the temp dirs (configs, daemon.log) for a post-mortem.
 *
 * The rest is in one header per job, all included here, so a test includes
 * only this one: dh_util.h (clocks, buffers, lines, file reads), dh_state.h
 * (struct dh, paths and files in its temp dir), dh_models.h (weights files),
 * dh_readings.h (readings to send) and dh_forecasts.h (receiving forecasts
 * and comparing them with the replay oracle's). */
#ifndef TC_TEST_DAEMON_HARNESS_H
#define TC_TEST_DAEMON_HARNESS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "dh_forecasts.h"
#include "dh_models.h"
#include "dh_readings.h"
#include "dh_state.h"
#include "dh_util.h"
#include "spawn.h"

/* Timeouts: generous for sanitizer builds on a loaded machine, but bounded. */
#define DH_START_MS 15000   /* until the control socket answers */
#define DH_REQUEST_MS 5000  /* one control request */
#define DH_WAIT_MS 10000    /* a counter to reach its value */
#define DH_STOP_MS 5000     /* SIGTERM to exit */
#define DH_RECEIVE_MS 10000 /* forecasts to arrive */

/* Event clock, 1 s buckets, closed by later readings (or SIGTERM), not by flushing. */
#define DH_EVENT_TICK "clock: event, interval_ms: 1000, flush_ms: 60000"

/* ---- config ---- */

/* The variable parts of a config: the contents of each flow mapping; the
 * sockets are added to ingest, publish and control. NULL: the defaults. */
struct dh_config {
	const char *model;
	const char *tick;
	const char *ingest;
	const char *publish;
	const char *series;
	const char *checkpoint;
	const char *metrics;         /* NULL: metrics off, so that daemons in parallel never share a port */
	const char *security;       /* the inside of `security: {...}`; NULL: none */
	const char *anomaly;        /* the inside of `anomaly: {...}`; NULL: none */
};

/* Writes the config for c to dir/name (atomically). */
static inline void dh_write_config_as(const char *name, const struct dh_config *c)
{
	struct dh_buf b = {0};
	dh_buf_printf(&b, "# written by daemon_harness.h\nmodel: {%s}\n", c->model);
	if (c->tick) {
		dh_buf_printf(&b, "tick: {%s}\n", c->tick);
	}
	dh_buf_printf(&b, "ingest: {bind: [\"%s\"]%s%s}\n", dh.ingest, c->ingest ? ", " : "",
		c->ingest ? c->ingest : "");
	dh_buf_printf(&b, "publish: {bind: [\"%s\"]%s%s}\n", dh.publish, c->publish ? ", " : "",
		c->publish ? c->publish : "");
	dh_buf_printf(&b, "control: {bind: \"%s\"}\n", dh.control);
	if (c->series) {
		dh_buf_printf(&b, "series: {%s}\n", c->series);
	}
	if (c->checkpoint) {
		dh_buf_printf(&b, "checkpoint: {%s}\n", c->checkpoint);
	}
	dh_buf_printf(&b, "metrics: {%s}\n", c->metrics ? c->metrics : "listen: \"\"");
	if (c->security) {
		dh_buf_printf(&b, "security: {%s}\n", c->security);
	}
	if (c->anomaly) {
		dh_buf_printf(&b, "anomaly: {%s}\n", c->anomaly);
	}
	dh_buf_printf(&b, "log: {level: info}\n");
	dh_write_file(name, b.p, b.len);
	dh_buf_free(&b);
}

/* Writes the daemon's config, dir/tickcast.yaml. */
static inline void dh_write_config(const struct dh_config *c)
{
	dh_write_config_as("tickcast.yaml", c);
}

/* ---- set-up and tear-down (Criterion .init and .fini) ---- */

static inline void dh_setup(void)
{
	memset(&dh, 0, sizeof dh);
	snprintf(dh.dir, sizeof dh.dir, "/tmp/tc_e2e_XXXXXX");
	cr_assert_not_null(mkdtemp(dh.dir), "mkdtemp: %s", strerror(errno));
	snprintf(dh.config, sizeof dh.config, "%s/tickcast.yaml", dh.dir);
	snprintf(dh.log, sizeof dh.log, "%s/daemon.log", dh.dir);
	snprintf(dh.ingest, sizeof dh.ingest, "ipc://%s/ingest.sock", dh.dir);
	snprintf(dh.publish, sizeof dh.publish, "ipc://%s/publish.sock", dh.dir);
	snprintf(dh.control, sizeof dh.control, "ipc://%s/control.sock", dh.dir);
	dh.ctx = zmq_ctx_new();
	cr_assert_not_null(dh.ctx);
	cr_assert_eq(zmq_ctx_set(dh.ctx, ZMQ_IPV6, 1), 0); /* tcp://[::1] endpoints too */
}

static inline int dh_remove_one(const char *path, const struct stat *st, int flag,
	struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static inline void dh_teardown(void)
{
	if (dh.pid > 0) {
		kill(dh.pid, SIGKILL);
		waitpid(dh.pid, NULL, 0);
		dh.pid = 0;
	}
	for (int i = 0; i < dh.n_sockets; i++) {
		zmq_close(dh.sockets[i]);
	}
	dh.n_sockets = 0;
	if (dh.ctx) {
		zmq_ctx_term(dh.ctx);
		dh.ctx = NULL;
	}
	if (dh.dir[0] && !getenv("TC_E2E_KEEP")) {
		nftw(dh.dir, dh_remove_one, 8, FTW_DEPTH | FTW_PHYS);
	}
}

/* ---- sockets ---- */

/* A socket of the test's context, linger 0, closed at teardown. */
static inline void *dh_socket(int type)
{
	void *s = zmq_socket(dh.ctx, type);
	cr_assert_not_null(s, "zmq_socket: %s", zmq_strerror(zmq_errno()));
	int zero = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	cr_assert_lt(dh.n_sockets, (int)(sizeof dh.sockets / sizeof dh.sockets[0]));
	dh.sockets[dh.n_sockets++] = s;
	return s;
}

/* Makes s a CURVE client with key's keys; nothing when key is NULL. */
static inline void dh_apply_key(void *s, const struct dh_key *key)
{
	if (key) {
		zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, key->server_public, 40);
		zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, key->public_key, 40);
		zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, key->secret_key, 40);
	}
}

/* Sends a request (n frames) on a fresh REQ socket with CURVE key (NULL:
 * plain) and waits up to timeout_ms for the reply. Returns the parsed
 * reply, or NULL on timeout or when the reply is not JSON. Asserts
 * nothing, so threads may use it. */
static inline json_t *dh_request_key(const char *const *frames, const size_t *lens, int n,
	int timeout_ms, const struct dh_key *key)
{
	void *s = zmq_socket(dh.ctx, ZMQ_REQ);
	cr_assert_not_null(s);
	dh_apply_key(s, key);
	int zero = 0, sndtimeo = timeout_ms;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(s, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo);
	json_t *reply = NULL;
	if (zmq_connect(s, dh.control) == 0) {
		int ok = 1;
		for (int i = 0; i < n && ok; i++) {
			ok = zmq_send(s, frames[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0) >= 0;
		}
		zmq_pollitem_t item = {.socket = s, .events = ZMQ_POLLIN};
		if (ok && zmq_poll(&item, 1, timeout_ms) == 1) {
			zmq_msg_t msg;
			zmq_msg_init(&msg);
			if (zmq_msg_recv(&msg, s, 0) >= 0) {
				reply = json_loadb(zmq_msg_data(&msg), zmq_msg_size(&msg), 0, NULL);
			}
			zmq_msg_close(&msg);
		}
	}
	zmq_close(s);
	return reply;
}

/* dh_request_key with dh.key. */
static inline json_t *dh_request_frames_raw(const char *const *frames, const size_t *lens,
	int n, int timeout_ms)
{
	return dh_request_key(frames, lens, n, timeout_ms, dh.key);
}

/* As dh_request_frames_raw, failing the test when no JSON object comes back. */
static inline json_t *dh_request_frames(const char *const *frames, const size_t *lens, int n)
{
	double start = dh_now_ms();
	json_t *reply = dh_request_frames_raw(frames, lens, n, DH_REQUEST_MS);
	cr_assert(json_is_object(reply), "no JSON object came back within %d ms for \"%.*s\""
		" (%.0f ms); daemon log:\n%s", DH_REQUEST_MS, (int)(lens[0] > 64 ? 64 : lens[0]),
		frames[0], dh_now_ms() - start, dh_log_tail());
	return reply;
}

/* One single-frame request, e.g. "status"; the reply must be a JSON object. */
static inline json_t *dh_request(const char *request)
{
	size_t len = strlen(request);
	return dh_request_frames(&request, &len, 1);
}

/* The value at a dotted path ("readings.rejected.too_big") of j, or NULL. */
static inline json_t *dh_json_get(json_t *j, const char *path)
{
	char key[128];
	while (j && *path) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);
		cr_assert_lt(len, sizeof key);
		memcpy(key, path, len);
		key[len] = '\0';
		j = json_object_get(j, key);
		path += len + (dot ? 1 : 0);
	}
	return j;
}

static inline long long dh_json_int(json_t *j, const char *path)
{
	json_t *v = dh_json_get(j, path);
	if (!json_is_integer(v)) {
		char *text = json_dumps(j, JSON_COMPACT);
		cr_assert_fail("%s is not an integer in %s", path, text);
	}
	return (long long)json_integer_value(v);
}

/* A number (real or integer) at path. */
static inline double dh_json_real(json_t *j, const char *path)
{
	json_t *v = dh_json_get(j, path);
	if (!json_is_number(v)) {
		char *text = json_dumps(j, JSON_COMPACT);
		cr_assert_fail("%s is not a number in %s", path, text);
	}
	return json_number_value(v);
}

static inline const char *dh_json_str(json_t *j, const char *path)
{
	json_t *v = dh_json_get(j, path);
	if (!json_is_string(v)) {
		char *text = json_dumps(j, JSON_COMPACT);
		cr_assert_fail("%s is not a string in %s", path, text);
	}
	return json_string_value(v);
}

/* One integer of a fresh `status`. */
static inline long long dh_status_int(const char *path)
{
	json_t *s = dh_request("status");
	long long v = dh_json_int(s, path);
	json_decref(s);
	return v;
}

/* Polls `status` until the integer at path is at least `want` or timeout_ms
 * pass; returns the last value seen (the caller asserts on it). */
static inline long long dh_wait_int(const char *path, long long want, int timeout_ms)
{
	double deadline = dh_now_ms() + timeout_ms;
	for (;;) {
		long long v = dh_status_int(path);
		if (v >= want || dh_now_ms() > deadline) {
			return v;
		}
		dh_sleep_ms(2);
	}
}

/* Waits for path to reach exactly `want` (fails on timeout or overshoot). */
static inline void dh_expect_int(const char *path, long long want)
{
	long long v = dh_wait_int(path, want, DH_WAIT_MS);
	cr_assert_eq(v, want, "status %s: expected %lld, got %lld; daemon log:\n%s", path, want, v,
		dh_log_tail());
}

/* ---- the daemon ---- */

/* Starts $TC_TICKCASTD --config config, stdout and stderr appended to
 * log_path; it dies with the test. Returns its pid. */
static inline pid_t dh_spawn(const char *config, const char *log_path)
{
	const char *exe = getenv("TC_TICKCASTD");
	cr_assert_not_null(exe, "TC_TICKCASTD is not set");
	char *const argv[] = {(char *)exe, "--config", (char *)config, NULL};
	pid_t pid = test_spawn(argv, log_path);
	cr_assert_gt(pid, 0, "cannot start %s", exe);
	return pid;
}

/* Starts $TC_TICKCASTD --config dir/tickcast.yaml, stderr and stdout to
 * dir/daemon.log, and waits until its control socket answers `status`. */
static inline void dh_start(void)
{
	pid_t pid = dh_spawn(dh.config, dh.log);
	dh.pid = pid;
	double deadline = dh_now_ms() + DH_START_MS;
	for (;;) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			dh.pid = 0;
			cr_assert_fail("tickcastd exited (status %d) instead of starting; its log:\n%s",
				status, dh_log_tail());
		}
		const char *req = "status";
		size_t len = 6;
		json_t *reply = dh_request_frames_raw(&req, &len, 1, 200);
		int ok = json_is_true(json_object_get(reply, "ok"));
		json_decref(reply);
		if (ok) {
			return;
		}
		cr_assert(dh_now_ms() < deadline, "tickcastd did not answer status within %d ms; "
			"its log:\n%s", DH_START_MS, dh_log_tail());
		dh_sleep_ms(10);
	}
}

static inline void dh_signal(int sig)
{
	cr_assert_gt(dh.pid, 0, "the daemon is not running");
	cr_assert_eq(kill(dh.pid, sig), 0);
}

/* SIGTERM, then waits up to deadline_ms for the daemon to exit; it must
 * exit with status 0. Returns the milliseconds it took. */
static inline double dh_stop(int deadline_ms)
{
	cr_assert_gt(dh.pid, 0, "the daemon is not running");
	double start = dh_now_ms();
	cr_assert_eq(kill(dh.pid, SIGTERM), 0);
	int status;
	for (;;) {
		pid_t r = waitpid(dh.pid, &status, WNOHANG);
		cr_assert_geq(r, 0, "waitpid: %s", strerror(errno));
		if (r == dh.pid) {
			break;
		}
		if (dh_now_ms() - start > deadline_ms) {
			cr_assert_fail("tickcastd did not exit within %d ms of SIGTERM; its log:\n%s",
				deadline_ms, dh_log_tail());
		}
		dh_sleep_ms(1);
	}
	double took = dh_now_ms() - start;
	dh.pid = 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"tickcastd ended with %s %d after SIGTERM; its log:\n%s",
		WIFEXITED(status) ? "exit status" : "signal",
		WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), dh_log_tail());
	/* Sanitizer builds: a report that did not change the exit status. */
	size_t len;
	char *log = dh_read_file(dh.log, &len);
	int reported = strstr(log, "runtime error:") || strstr(log, "Sanitizer");
	free(log);
	cr_assert(!reported, "the daemon's log has a sanitizer report:\n%s", dh_log_tail());
	return took;
}

/* Stops the daemon and checks that sub received exactly the lines that
 * `tickcast replay --config config` prints for the readings (len bytes);
 * `what` names them in a failure. */
static inline void dh_stop_and_expect_replay(void *sub, const char *config, const char *readings,
	size_t len, const char *what)
{
	dh_stop(DH_STOP_MS);
	struct dh_lines want = {0};
	dh_replay(config, readings, len, &want);
	struct dh_received got = {0};
	dh_receive(sub, &got, want.n, 200, DH_RECEIVE_MS);
	dh_expect_same_lines(&got.lines, &want, what);
	dh_lines_free(&want);
	dh_received_free(&got);
}

/* ---- publishers and the subscriber ---- */

/* An XPUB connected to the ingest socket, returned once the daemon's
 * subscription has come in: from then on nothing sent is lost. It does not
 * drop at its high-water mark; a send blocks (at most 10 s) instead. */
static inline void *dh_publisher(void)
{
	void *s = dh_socket(ZMQ_XPUB);
	dh_apply_key(s, dh.key);
	int one = 1, hwm = 100000, timeout = 10000;
	zmq_setsockopt(s, ZMQ_XPUB_NODROP, &one, sizeof one);
	zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
	zmq_setsockopt(s, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
	cr_assert_eq(zmq_connect(s, dh.ingest), 0, "connect %s: %s", dh.ingest,
		zmq_strerror(zmq_errno()));
	zmq_pollitem_t item = {.socket = s, .events = ZMQ_POLLIN};
	cr_assert_eq(zmq_poll(&item, 1, DH_WAIT_MS), 1,
		"the daemon's ingest socket did not subscribe within %d ms", DH_WAIT_MS);
	char sub[8];
	int n = zmq_recv(s, sub, sizeof sub, 0);
	cr_assert(n >= 1 && sub[0] == 1, "expected a subscription, got %d bytes", n);
	return s;
}

/* Sends one message of n frames; returns 0, or -1 (errno from zmq). Safe
 * in threads other than the test's (it asserts nothing). */
static inline int dh_try_send_frames(void *pub, const void *const *data, const size_t *lens,
	int n)
{
	for (int i = 0; i < n; i++) {
		if (zmq_send(pub, data[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0) < 0) {
			return -1;
		}
	}
	return 0;
}

static inline void dh_send(void *pub, const void *data, size_t len)
{
	cr_assert_eq(dh_try_send_frames(pub, &data, &len, 1), 0, "send: %s",
		zmq_strerror(zmq_errno()));
}

static inline void dh_send_frames(void *pub, const void *const *data, const size_t *lens, int n)
{
	cr_assert_eq(dh_try_send_frames(pub, data, lens, n), 0, "send: %s",
		zmq_strerror(zmq_errno()));
}

/* A SUB on the forecasts, subscribed to everything, returned once its
 * connection is made (ZeroMQ's monitor says the handshake succeeded) and
 * its subscription has had time to reach the daemon. */
static inline void *dh_subscriber_hwm(int rcvhwm);

static inline void *dh_subscriber(void)
{
	return dh_subscriber_hwm(0); /* no limit: we never drop */
}

/* dh_subscriber holding at most rcvhwm messages (0: no limit): with a
 * limit, what it does not read stays queued in the daemon. */
static inline void *dh_subscriber_hwm(int rcvhwm)
{
	void *s = dh_socket(ZMQ_SUB);
	dh_apply_key(s, dh.key);
	int zero = 0;
	zmq_setsockopt(s, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
	zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
	char monitor[64];
	snprintf(monitor, sizeof monitor, "inproc://dh-monitor-%d", dh.n_monitors++);
	cr_assert_eq(zmq_socket_monitor(s, monitor, ZMQ_EVENT_HANDSHAKE_SUCCEEDED), 0);
	void *events = zmq_socket(dh.ctx, ZMQ_PAIR);
	cr_assert_eq(zmq_connect(events, monitor), 0);
	cr_assert_eq(zmq_connect(s, dh.publish), 0);
	zmq_pollitem_t item = {.socket = events, .events = ZMQ_POLLIN};
	cr_assert_eq(zmq_poll(&item, 1, DH_WAIT_MS), 1,
		"no connection to the forecast socket within %d ms", DH_WAIT_MS);
	int more = 1;
	while (more) {
		zmq_msg_t part;
		zmq_msg_init(&part);
		zmq_msg_recv(&part, events, 0);
		more = zmq_msg_more(&part);
		zmq_msg_close(&part);
	}
	zmq_socket_monitor(s, NULL, 0);
	zmq_setsockopt(events, ZMQ_LINGER, &zero, sizeof zero);
	zmq_close(events);
	dh_sleep_ms(100); /* the subscription follows the handshake */
	return s;
}

/* ---- a whole run ---- */

/* Sends `buckets` buckets of `series` series ("<prefix><i>"), one message a
 * bucket from bucket `first` on, waiting for each to be taken; the readings
 * go to file too. */
static inline void dh_send_buckets(void *pub, struct dh_buf *file, const char *prefix,
	unsigned series, unsigned first, unsigned buckets)
{
	long long base = dh_status_int("readings.accepted");
	for (unsigned b = 0; b < buckets; b++) {
		size_t from = file->len;
		dh_add_bucket(file, prefix, 0, series, first + b);
		dh_send(pub, file->p + from, file->len - from);
		long long want = base + (long long)series * (b + 1);
		cr_assert_eq(dh_wait_int("readings.accepted", want, DH_WAIT_MS), want);
	}
}

/* Runs a daemon with the sample model (or the `model:` contents given), the
 * event clock and the `publish:` keys given: sends buckets 0..buckets-1 of
 * `series` series "<prefix><i>" (into file too) and stops it. Returns the
 * subscriber, which holds every forecast it published. */
static inline void *dh_run_buckets(const char *model, const char *publish, const char *prefix,
	unsigned series, unsigned buckets, struct dh_buf *file)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = model ? model : DH_SAMPLE_MODEL,
		.tick = DH_EVENT_TICK, .publish = publish});
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	dh_send_buckets(pub, file, prefix, series, 0, buckets);
	dh_stop(DH_STOP_MS);
	return sub;
}

#endif
