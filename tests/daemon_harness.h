/* daemon_harness.h -- end-to-end tests of tickcastd over real sockets.
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
 * Everything is static inline over one static struct per test process.
 * TC_E2E_KEEP=1 keeps the temp dirs (configs, daemon.log) for a post-mortem. */
#ifndef TC_TEST_DAEMON_HARNESS_H
#define TC_TEST_DAEMON_HARNESS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "config.h"
#include "error.h"
#include "model.h"
#include "reload.h"
#include "replay.h"
#include "st_writer.h"

/* Timeouts: generous for sanitizer builds on a loaded machine, but bounded. */
#define DH_START_MS 15000   /* until the control socket answers */
#define DH_REQUEST_MS 5000  /* one control request */
#define DH_WAIT_MS 10000    /* a counter to reach its value */
#define DH_STOP_MS 5000     /* SIGTERM to exit */
#define DH_RECEIVE_MS 10000 /* forecasts to arrive */

/* The bundled model (models/sample.safetensors): 2 GRU layers of 64, 12 outputs. */
#define DH_SAMPLE_MODEL "weights: w.safetensors, layers: [{type: gru, hidden: 64}, " \
	"{type: gru, hidden: 64}], head: {type: linear, outputs: 12}"
/* Event clock, 1 s buckets, closed by later readings (or SIGTERM), not by flushing. */
#define DH_EVENT_TICK "clock: event, interval_ms: 1000, flush_ms: 60000"
/* Timestamps of bucket 0 (event clock, 1 s buckets). */
#define DH_T0 1700000000.0

struct dh {
	char dir[64];               /* /tmp/tc_e2e_XXXXXX */
	char config[128];           /* dir/tickcast.yaml */
	char log[128];              /* dir/daemon.log */
	char ingest[160], publish[160], control[160]; /* ipc://dir/... */
	void *ctx;
	pid_t pid;                  /* the daemon while it runs, else 0 */
	void *sockets[32];          /* closed at teardown */
	int n_sockets;
	int n_monitors;
};

static struct dh dh;

/* ---- small utilities ---- */

static inline double dh_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline void dh_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* dir/name in a static buffer (one of 4, so a few can be used at once). */
static inline const char *dh_path(const char *name)
{
	static char paths[4][256];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, sizeof paths[0], "%s/%s", dh.dir, name);
	return p;
}

/* The last ~3 KB of the daemon's log, for failure messages. */
static inline const char *dh_log_tail(void)
{
	static char tail[3072];
	tail[0] = '\0';
	FILE *f = fopen(dh.log, "r");
	if (!f) {
		return "(no daemon log)";
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, size > (long)sizeof tail - 1 ? size - (long)sizeof tail + 1 : 0, SEEK_SET);
	size_t n = fread(tail, 1, sizeof tail - 1, f);
	tail[n] = '\0';
	fclose(f);
	return tail;
}

/* A growable byte buffer for building readings. */
struct dh_buf {
	char *p;
	size_t len, cap;
};

static inline void dh_buf_add(struct dh_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len + 1) {
			cap *= 2;
		}
		b->p = realloc(b->p, cap);
		cr_assert_not_null(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

__attribute__((format(printf, 2, 3)))
static inline void dh_buf_printf(struct dh_buf *b, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < sizeof line);
	dh_buf_add(b, line, (size_t)n);
}

static inline void dh_buf_free(struct dh_buf *b)
{
	free(b->p);
	*b = (struct dh_buf){0};
}

/* Writes len bytes to dir/name atomically (a temp file renamed over it). */
static inline void dh_write_file(const char *name, const void *data, size_t len)
{
	char tmp[256];
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dh.dir, name);
	FILE *f = fopen(tmp, "wb");
	cr_assert_not_null(f, "%s: %s", tmp, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(rename(tmp, dh_path(name)), 0, "rename: %s", strerror(errno));
}

/* Reads a whole file into a malloc'ed buffer. */
static inline char *dh_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	struct dh_buf b = {0};
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		dh_buf_add(&b, chunk, n);
	}
	fclose(f);
	*len = b.len;
	return b.p;
}

/* ---- models ---- */

/* Copies models/sample.safetensors (TC_TEST_DATA/../../models) to dir/name. */
static inline void dh_copy_sample(const char *name)
{
	const char *data = getenv("TC_TEST_DATA");
	cr_assert_not_null(data, "TC_TEST_DATA is not set");
	char src[4096];
	snprintf(src, sizeof src, "%s/../../models/sample.safetensors", data);
	size_t len;
	char *bytes = dh_read_file(src, &len);
	dh_write_file(name, bytes, len);
	free(bytes);
}

/* Writes dir/name: a GRU of n_layers layers (hidden[k] units, input 1) and
 * a linear head of `outputs`, weights uniform in [-0.5, 0.5) from seed. */
static inline void dh_write_gru(const char *name, const int *hidden, int n_layers, int outputs,
	uint32_t seed)
{
	struct st_tensor t[4 * TC_MAX_LAYERS + 2];
	float *blocks[4 * TC_MAX_LAYERS + 2];
	char names[4 * TC_MAX_LAYERS + 2][32];
	int n = 0;
	uint32_t state = seed * 2654435761u + 12345u;
	for (int k = 0; k <= n_layers; k++) {
		int in = k == 0 ? 1 : hidden[k - 1];
		uint64_t h3 = k < n_layers ? 3 * (uint64_t)hidden[k] : 0;
		struct shape {
			const char *fmt;
			uint64_t rows, cols; /* cols 0: a vector */
		} shapes[4] = {{"gru.weight_ih_l%d", h3, (uint64_t)in},
			{"gru.weight_hh_l%d", h3, h3 / 3}, {"gru.bias_ih_l%d", h3, 0},
			{"gru.bias_hh_l%d", h3, 0}};
		if (k == n_layers) {
			shapes[0] = (struct shape){"fc.weight", (uint64_t)outputs, (uint64_t)in};
			shapes[1] = (struct shape){"fc.bias", (uint64_t)outputs, 0};
		}
		for (int s = 0; s < (k == n_layers ? 2 : 4); s++) {
			size_t count = shapes[s].rows * (shapes[s].cols ? shapes[s].cols : 1);
			float *v = malloc(count * sizeof *v);
			cr_assert_not_null(v);
			for (size_t i = 0; i < count; i++) {
				state = state * 1664525u + 1013904223u;
				v[i] = (float)(state >> 8) / 16777216.0f - 0.5f;
			}
			snprintf(names[n], sizeof names[n], shapes[s].fmt, k);
			t[n] = (struct st_tensor){names[n], "F32", shapes[s].cols ? 2 : 1,
				{shapes[s].rows, shapes[s].cols}, v, count * sizeof *v};
			blocks[n++] = v;
		}
	}
	char tmp[64];
	cr_assert_eq(st_write(tmp, t, (size_t)n), 0);
	for (int i = 0; i < n; i++) {
		free(blocks[i]);
	}
	/* st_write's file is in /tmp, like dir: rename is atomic. */
	cr_assert_eq(rename(tmp, dh_path(name)), 0, "rename: %s", strerror(errno));
}

/* The `model:` mapping's contents for dh_write_gru's model. */
static inline const char *dh_gru_yaml(const char *weights, const int *hidden, int n_layers,
	int outputs, const char *extra)
{
	static char yaml[1024];
	int used = snprintf(yaml, sizeof yaml, "weights: %s, layers: [", weights);
	for (int k = 0; k < n_layers; k++) {
		used += snprintf(yaml + used, sizeof yaml - (size_t)used, "%s{type: gru, hidden: %d}",
			k ? ", " : "", hidden[k]);
	}
	snprintf(yaml + used, sizeof yaml - (size_t)used, "], head: {type: linear, outputs: %d}%s%s",
		outputs, extra ? ", " : "", extra ? extra : "");
	return yaml;
}

/* ---- config ---- */

/* The variable parts of a config: the contents of each flow mapping; the
 * sockets are added to ingest, publish and control. NULL: the defaults. */
struct dh_config {
	const char *model;
	const char *tick;
	const char *ingest;
	const char *publish;
	const char *series;
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

/* Sends a request (n frames) on a fresh REQ socket and waits up to
 * timeout_ms for the reply. Returns the parsed reply, or NULL on timeout or
 * when the reply is not JSON. Asserts nothing, so threads may use it. */
static inline json_t *dh_request_frames_raw(const char *const *frames, const size_t *lens,
	int n, int timeout_ms)
{
	void *s = zmq_socket(dh.ctx, ZMQ_REQ);
	cr_assert_not_null(s);
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

/* Starts $TC_TICKCASTD --config dir/tickcast.yaml, stderr and stdout to
 * dir/daemon.log, and waits until its control socket answers `status`. */
static inline void dh_start(void)
{
	const char *exe = getenv("TC_TICKCASTD");
	cr_assert_not_null(exe, "TC_TICKCASTD is not set");
	int log = open(dh.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	cr_assert_geq(log, 0, "%s: %s", dh.log, strerror(errno));
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* Dies with the test, whatever way the test ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) {
			_exit(127);
		}
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(log, 1);
		dup2(log, 2);
		for (int fd = 3; fd < 1024; fd++) {
			close(fd);
		}
		/* Ignored signals stay ignored across exec, and a signalfd never
		 * sees an ignored signal: give the daemon default dispositions. */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl(exe, exe, "--config", dh.config, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	close(log);
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

/* ---- publishers and the subscriber ---- */

/* An XPUB connected to the ingest socket, returned once the daemon's
 * subscription has come in: from then on nothing sent is lost. It does not
 * drop at its high-water mark; a send blocks (at most 10 s) instead. */
static inline void *dh_publisher(void)
{
	void *s = dh_socket(ZMQ_XPUB);
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
static inline void *dh_subscriber(void)
{
	void *s = dh_socket(ZMQ_SUB);
	int zero = 0;
	zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero); /* no limit: we never drop */
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

/* ---- lines ---- */

struct dh_lines {
	char **v;
	size_t n, cap;
};

static inline void dh_lines_add(struct dh_lines *l, const char *s, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		cr_assert_not_null(l->v);
	}
	char *copy = malloc(len + 1);
	cr_assert_not_null(copy);
	memcpy(copy, s, len);
	copy[len] = '\0';
	l->v[l->n++] = copy;
}

/* Adds every non-empty line of text. */
static inline void dh_lines_split(struct dh_lines *l, const char *text, size_t len)
{
	const char *end = text + len;
	while (text < end) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		const char *stop = nl ? nl : end;
		if (stop > text) {
			dh_lines_add(l, text, (size_t)(stop - text));
		}
		text = nl ? nl + 1 : end;
	}
}

static inline void dh_lines_free(struct dh_lines *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i]);
	}
	free(l->v);
	*l = (struct dh_lines){0};
}

static inline int dh_compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline void dh_lines_sort(struct dh_lines *l)
{
	if (l->n) {
		qsort(l->v, l->n, sizeof *l->v, dh_compare_strings);
	}
}

/* The timestamp (second field) of a forecast line. */
static inline double dh_line_time(const char *line)
{
	const char *sp = strchr(line, ' ');
	cr_assert_not_null(sp, "not a forecast line: \"%s\"", line);
	return strtod(sp + 1, NULL);
}

/* Copies to dst the lines of src whose series id starts with prefix and
 * whose time is in [t_from, t_to). */
static inline void dh_lines_select(struct dh_lines *dst, const struct dh_lines *src,
	const char *prefix, double t_from, double t_to)
{
	for (size_t i = 0; i < src->n; i++) {
		double t = dh_line_time(src->v[i]);
		if (strncmp(src->v[i], prefix, strlen(prefix)) == 0 && t >= t_from && t < t_to) {
			dh_lines_add(dst, src->v[i], strlen(src->v[i]));
		}
	}
}

/* Fails unless got and want hold the same lines (in any order); sorts both. */
static inline void dh_expect_same_lines(struct dh_lines *got, struct dh_lines *want,
	const char *what)
{
	dh_lines_sort(got);
	dh_lines_sort(want);
	size_t i = 0;
	while (i < got->n && i < want->n && strcmp(got->v[i], want->v[i]) == 0) {
		i++;
	}
	cr_assert(i == got->n && i == want->n,
		"%s: %zu lines received, %zu expected; first difference (sorted) at %zu:\n"
		"  got:  %.200s\n  want: %.200s\ndaemon log:\n%s", what, got->n, want->n, i,
		i < got->n ? got->v[i] : "(none)", i < want->n ? want->v[i] : "(none)", dh_log_tail());
}

/* ---- forecasts ---- */

/* What a subscriber received: each message's topic and body, and the lines
 * of all bodies. */
struct dh_received {
	struct dh_lines topics, bodies, lines;
};

static inline void dh_received_free(struct dh_received *r)
{
	dh_lines_free(&r->topics);
	dh_lines_free(&r->bodies);
	dh_lines_free(&r->lines);
}

/* Receives two-frame messages (topic, body), handing each to keep(ud, ...),
 * until count(ud) reaches want and then nothing more comes for quiet_ms, or
 * timeout_ms pass. */
static inline void dh_receive_each(void *sub, size_t want, size_t (*count)(void *ud),
	void (*keep)(void *ud, zmq_msg_t *topic, zmq_msg_t *body), void *ud, int quiet_ms,
	int timeout_ms)
{
	double deadline = dh_now_ms() + timeout_ms;
	for (;;) {
		double now = dh_now_ms();
		if (now >= deadline) {
			break;
		}
		int wait = count(ud) >= want ? quiet_ms : (int)(deadline - now) + 1;
		zmq_pollitem_t item = {.socket = sub, .events = ZMQ_POLLIN};
		if (zmq_poll(&item, 1, wait) != 1) {
			if (count(ud) >= want) {
				break;
			}
			continue;
		}
		zmq_msg_t topic, body;
		zmq_msg_init(&topic);
		zmq_msg_init(&body);
		cr_assert_geq(zmq_msg_recv(&topic, sub, 0), 0);
		cr_assert(zmq_msg_more(&topic), "a forecast message must have a topic and a body");
		cr_assert_geq(zmq_msg_recv(&body, sub, 0), 0);
		cr_assert(!zmq_msg_more(&body), "a forecast message has more than two frames");
		keep(ud, &topic, &body);
		zmq_msg_close(&topic);
		zmq_msg_close(&body);
	}
}

static inline size_t dh_received_lines(void *ud)
{
	return ((struct dh_received *)ud)->lines.n;
}

static inline void dh_received_keep(void *ud, zmq_msg_t *topic, zmq_msg_t *body)
{
	struct dh_received *r = ud;
	dh_lines_add(&r->topics, zmq_msg_data(topic), zmq_msg_size(topic));
	dh_lines_add(&r->bodies, zmq_msg_data(body), zmq_msg_size(body));
	dh_lines_split(&r->lines, zmq_msg_data(body), zmq_msg_size(body));
}

/* Receives forecast messages into r until it holds at least want_lines
 * lines and then nothing more comes for quiet_ms, or timeout_ms pass.
 * Returns the lines held. */
static inline size_t dh_receive(void *sub, struct dh_received *r, size_t want_lines,
	int quiet_ms, int timeout_ms)
{
	dh_receive_each(sub, want_lines, dh_received_lines, dh_received_keep, r, quiet_ms,
		timeout_ms);
	return r->lines.n;
}

/* ---- the oracle ---- */

/* The forecast lines `tickcast replay --config config_path` prints for the
 * readings text (the same code, in-process). */
static inline void dh_replay(const char *config_path, const char *text, size_t len,
	struct dh_lines *out)
{
	struct tc_config *cfg = malloc(sizeof *cfg);
	cr_assert_not_null(cfg);
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_config_load(cfg, config_path, err), 0, "%s", err);
	struct tc_model *m = tc_model_load(&cfg->model, cfg->weights_path, err);
	cr_assert_not_null(m, "%s", err);
	FILE *in = fmemopen((void *)text, len, "r");
	char *printed = NULL;
	size_t printed_len = 0;
	FILE *o = open_memstream(&printed, &printed_len);
	FILE *log = fopen("/dev/null", "w");
	cr_assert(in && o && log);
	struct tc_replay_stats stats;
	cr_assert_eq(tc_replay_run(cfg, m, in, o, log, &stats, err), 0, "replay: %s", err);
	fclose(in);
	fclose(o);
	fclose(log);
	dh_lines_split(out, printed, printed_len);
	free(printed);
	tc_model_destroy(&m);
	free(cfg);
}

/* ---- readings ---- */

/* A value in [-2, 2) for series i in bucket b, a float that %.9g round-trips. */
static inline float dh_value(unsigned i, unsigned b)
{
	uint32_t h = i * 2654435761u ^ (b + 1) * 2246822519u;
	h ^= h >> 15;
	h *= 2654435761u;
	h ^= h >> 13;
	return (float)((int)(h % 40000u) - 20000) / 10000.0f;
}

/* Appends `<prefix><i> <value> <t>` for series i0..i0+n-1 in event bucket
 * b (1 s buckets from DH_T0), each at its own time inside the bucket. */
static inline void dh_add_bucket(struct dh_buf *b, const char *prefix, unsigned i0, unsigned n,
	unsigned bucket)
{
	for (unsigned i = i0; i < i0 + n; i++) {
		dh_buf_printf(b, "%s%u %.9g %.3f\n", prefix, i, (double)dh_value(i, bucket),
			DH_T0 + bucket + (double)(i % 900) / 1000.0);
	}
}

/* The hex SHA-256 of dir/name, as status reports it. */
static inline const char *dh_sha256(const char *name)
{
	static char hex[65];
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_sha256_file(dh_path(name), hex, err), 0, "%s", err);
	return hex;
}

#endif
