/* test_daemon_metrics.c -- tickcastd's Prometheus endpoint (metrics.listen): the text that
 * promtool accepts, figures equal to `status`, 404 and 405, a taken port, and a real scrape. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "daemon_harness.h"
#include "step.h"

#define SERIES 5
#define BUCKETS 4
#define HTTP_TIMEOUT_S 5
#define SCRAPE_WAIT_MS 15000   /* its start and first scrape: target updates come every 5 s */

static pid_t prometheus_pid;

/* Stops a Prometheus still running when a test fails, then the daemon. */
static void teardown(void)
{
	if (prometheus_pid > 0) {
		kill(prometheus_pid, SIGKILL);
		waitpid(prometheus_pid, NULL, 0);
		prometheus_pid = 0;
	}
	dh_teardown();
}

TestSuite(daemon_metrics, .init = dh_setup, .fini = teardown, .timeout = 60);

/* A TCP port on 127.0.0.1 that nothing listens on now: the kernel's choice
 * for port 0. With keep, the socket stays bound and listening (a taken
 * port) and *fd holds it. */
static int loopback_port(int keep, int *fd)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0, "bind: %s", strerror(errno));
	cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
	if (keep) {
		cr_assert_eq(listen(s, 1), 0);
		*fd = s;
	} else {
		close(s);
	}
	return ntohs(a.sin_port);
}

/* A TCP connection to the loopback address (::1 with v6) at port; -1 when refused. */
static int connect_loopback(int v6, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
		.sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	struct timeval tv = {.tv_sec = HTTP_TIMEOUT_S};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	int rc = v6 ? connect(s, (struct sockaddr *)&a6, sizeof a6)
		: connect(s, (struct sockaddr *)&a, sizeof a);
	if (rc < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* One HTTP/1.0 request to the loopback address at port (IPv4, or ::1 with
 * v6); the whole response (headers and body) in out, NUL-terminated, and
 * the status code returned (-1: no connection). */
static int http_on(int v6, int port, const char *method, const char *target, struct dh_buf *out)
{
	int s = connect_loopback(v6, port);
	if (s < 0) {
		return -1;
	}
	char req[512];
	int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n"
		"Content-Length: 0\r\n\r\n", method, target);
	cr_assert_eq(send(s, req, (size_t)n, MSG_NOSIGNAL), n);
	char chunk[4096];
	ssize_t got;
	out->len = 0;
	while ((got = recv(s, chunk, sizeof chunk, 0)) > 0) {
		dh_buf_add(out, chunk, (size_t)got);
	}
	close(s);
	dh_buf_add(out, "", 1);
	int status = -1;
	sscanf(out->p ? out->p : "", "HTTP/1.%*d %d", &status);
	return status;
}

static int http(int port, const char *method, const char *target, struct dh_buf *out)
{
	return http_on(0, port, method, target, out);
}

/* GET /metrics: the body (after the headers), asserting 200 and the
 * exposition format's Content-Type. */
static const char *scrape(int port, struct dh_buf *res)
{
	int status = http(port, "GET", "/metrics", res);
	cr_assert_eq(status, 200, "GET /metrics: status %d; daemon log:\n%s", status, dh_log_tail());
	cr_assert_not_null(strstr(res->p,
		"\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), "%.300s", res->p);
	const char *body = strstr(res->p, "\r\n\r\n");
	cr_assert_not_null(body);
	return body + 4;
}

/* The value of the sample `key` (name and labels, as written) in body. */
static double sample_of(const char *body, const char *key)
{
	size_t len = strlen(key);
	for (const char *l = body; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, key, len) == 0 && l[len] == ' ') {
			return strtod(l + len + 1, NULL);
		}
	}
	cr_assert_fail("no sample %s in:\n%s", key, body);
	return 0;
}

/* Runs argv with stdout and stderr to log; its pid. */
static pid_t spawn(char *const argv[], const char *log)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) {
			_exit(127);
		}
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Whether prog is on PATH. */
static int have(const char *prog)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/* The daemon's config, with metrics.listen host:port. */
static void write_metrics_config(const char *host, int port)
{
	char metrics[64];
	snprintf(metrics, sizeof metrics, "listen: \"%s:%d\"", host, port);
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL ", intervals: {level: 0.8}",
		.tick = DH_EVENT_TICK, .metrics = metrics});
}

/* Starts the daemon with metrics on a free port and sends BUCKETS buckets
 * of SERIES series and two bad lines a bucket; returns the port once the
 * BUCKETS - 1 closed ticks are published. */
static int start_and_feed(void)
{
	int port = loopback_port(0, NULL);
	write_metrics_config("127.0.0.1", port);
	dh_start();
	void *pub = dh_publisher();
	for (unsigned b = 0; b < BUCKETS; b++) {
		struct dh_buf m = {0};
		dh_add_bucket(&m, "s-", 0, SERIES, b);
		dh_buf_printf(&m, "bad-nan nan %.3f\nbad-width 1,2 %.3f\n", DH_T0 + b, DH_T0 + b);
		dh_send(pub, m.p, m.len);
		dh_buf_free(&m);
		dh_expect_int("readings.accepted", (long long)SERIES * (b + 1));
	}
	dh_expect_int("published.forecasts", (long long)SERIES * (BUCKETS - 1));
	return port;
}

Test(daemon_metrics, promtool_accepts_the_text_without_a_lint_problem)
{
	if (!have("promtool")) {
		cr_skip_test("promtool is not installed (Debian package prometheus)");
	}
	int port = start_and_feed();
	struct dh_buf res = {0};
	const char *body = scrape(port, &res);
	dh_expect_promtool_clean(body);
	dh_buf_free(&res);
}

Test(daemon_metrics, counters_equal_the_status_figures_after_readings)
{
	int port = start_and_feed();
	struct dh_buf res = {0};
	const char *body = scrape(port, &res);
	json_t *s = dh_request("status");
	static const struct { const char *sample, *status; } same[] = {
		{"tickcast_readings_accepted_total", "readings.accepted"},
		{"tickcast_messages_received_total", "readings.messages"},
		{"tickcast_ticks_total", "ticks"},
		{"tickcast_series", "series"},
		{"tickcast_forecasts_published_total", "published.forecasts"},
		{"tickcast_messages_published_total", "published.messages"},
		{"tickcast_readings_unstepped_total", "readings.unstepped_step_failed"},
		{"tickcast_tick_duration_seconds_count", "ticks"},
	};
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		cr_expect_eq(sample_of(body, same[i].sample), (double)dh_json_int(s, same[i].status),
			"%s against status %s", same[i].sample, same[i].status);
	}
	for (int i = 0; i < TC_REJECT__COUNT; i++) {
		const char *why = tc_reject_to_string((enum tc_reject)i);
		char key[128], path[128];
		snprintf(key, sizeof key, "tickcast_readings_rejected_total{reason=\"%s\"}", why);
		snprintf(path, sizeof path, "readings.rejected.%s", why);
		cr_expect_eq(sample_of(body, key), (double)dh_json_int(s, path), "%s", key);
	}
	cr_assert_eq(sample_of(body, "tickcast_readings_rejected_total{reason=\"non_finite\"}"),
		BUCKETS);
	cr_assert_eq(sample_of(body, "tickcast_tick_duration_seconds_bucket{le=\"+Inf\"}"),
		BUCKETS - 1);
	char info[160];
	snprintf(info, sizeof info,
		"tickcast_model_info{sha256=\"%s\",layers=\"64,64\",types=\"gru,gru\"}",
		dh_json_str(s, "model.sha256"));
	cr_assert_eq(sample_of(body, info), 1);
	cr_assert_gt(sample_of(body, "process_resident_memory_bytes"), 0);
	/* Each series' third reading is the first scored (its second only sets
	 * the error scale): one per series at horizon 1 after three ticks. */
	cr_assert_eq(sample_of(body, "tickcast_interval_scored_total{horizon=\"1\"}"), SERIES);
	cr_assert_eq(sample_of(body, "tickcast_interval_scored_total{horizon=\"2\"}"), 0);
	cr_assert_float_eq(sample_of(body, "tickcast_interval_covered_total{horizon=\"1\"}"),
		(double)dh_json_int(s, "accuracy.scored") * dh_json_real(s, "accuracy.coverage"), 1e-9);
	cr_assert_eq(sample_of(body, "tickcast_interval_level"), 0.8);
	cr_assert_eq(sample_of(body, "tickcast_live_mase_series"), SERIES);
	json_decref(s);
	dh_buf_free(&res);
}

Test(daemon_metrics, other_paths_are_404_and_other_methods_405)
{
	int port = loopback_port(0, NULL);
	write_metrics_config("127.0.0.1", port);
	dh_start();
	struct dh_buf res = {0};
	cr_assert_eq(http(port, "GET", "/", &res), 404, "%s", res.p);
	cr_assert_eq(http(port, "GET", "/metrics/x", &res), 404, "%s", res.p);
	cr_assert_eq(http(port, "POST", "/metrics", &res), 405, "%s", res.p);
	cr_assert_not_null(strstr(res.p, "\r\nAllow: GET, HEAD\r\n"), "%s", res.p);
	cr_assert_eq(http(port, "HEAD", "/metrics", &res), 200, "%s", res.p);
	dh_buf_free(&res);
}

Test(daemon_metrics, a_taken_port_stops_the_start_with_an_error_naming_metrics_listen)
{
	int taken;
	int port = loopback_port(1, &taken);
	write_metrics_config("127.0.0.1", port);
	char *const argv[] = {getenv("TC_TICKCASTD"), "--config", dh.config, NULL};
	cr_assert_not_null(argv[0], "TC_TICKCASTD is not set");
	int status;
	cr_assert_eq(waitpid(spawn(argv, dh.log), &status, 0) > 0, 1);
	close(taken);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
	char want[96];
	snprintf(want, sizeof want, "metrics.listen 127.0.0.1:%d: cannot listen there: "
		"Address already in use", port);
	cr_assert_not_null(strstr(dh_log_tail(), want), "log:\n%s", dh_log_tail());
}

Test(daemon_metrics, an_ipv6_listen_address_in_brackets_is_served)
{
	int port = loopback_port(0, NULL);
	write_metrics_config("[::1]", port);
	dh_start();
	struct dh_buf res = {0};
	int status = http_on(1, port, "GET", "/metrics", &res);
	cr_assert_eq(status, 200, "GET http://[::1]:%d/metrics: %d; log:\n%s", port, status,
		dh_log_tail());
	cr_assert_not_null(strstr(res.p, "\ntickcast_ticks_total "), "%s", res.p);
	cr_assert_eq(http_on(0, port, "GET", "/metrics", &res), -1, "IPv4 answered too");
	dh_buf_free(&res);
}

/* Prometheus' answer to an instant query of `query`, or NULL until it has a sample. */
static const char *prometheus_value(int port, const char *query, struct dh_buf *res)
{
	char target[256];
	snprintf(target, sizeof target, "/api/v1/query?query=%s", query);
	if (http(port, "GET", target, res) != 200) {
		return NULL;
	}
	json_t *j = json_loads(strstr(res->p, "\r\n\r\n") + 4, 0, NULL);
	json_t *v = json_array_get(json_object_get(json_array_get(dh_json_get(j, "data.result"), 0),
		"value"), 1);
	static char value[64];
	snprintf(value, sizeof value, "%s", json_is_string(v) ? json_string_value(v) : "");
	json_decref(j);
	return value[0] ? value : NULL;
}

Test(daemon_metrics, prometheus_scrapes_the_ticks)
{
	if (!have("prometheus")) {
		cr_skip_test("the prometheus binary is not installed (Debian package prometheus)");
	}
	int port = start_and_feed();
	int web = loopback_port(0, NULL);
	struct dh_buf yml = {0};
	dh_buf_printf(&yml, "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
		"scrape_configs:\n  - job_name: tickcast\n"
		"    static_configs: [{targets: [\"127.0.0.1:%d\"]}]\n", port);
	dh_write_file("prometheus.yml", yml.p, yml.len);
	dh_buf_free(&yml);
	char config[300], tsdb[300], listen[64];
	snprintf(config, sizeof config, "--config.file=%s", dh_path("prometheus.yml"));
	snprintf(tsdb, sizeof tsdb, "--storage.tsdb.path=%s", dh_path("tsdb"));
	snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", web);
	char *const argv[] = {"prometheus", config, tsdb, listen, NULL};
	prometheus_pid = spawn(argv, dh_path("prometheus.log"));
	char want[32];
	snprintf(want, sizeof want, "%lld", dh_status_int("ticks"));
	struct dh_buf res = {0};
	const char *got = NULL;
	double deadline = dh_now_ms() + SCRAPE_WAIT_MS;
	while (!(got = prometheus_value(web, "tickcast_ticks_total", &res)) && dh_now_ms() < deadline) {
		dh_sleep_ms(100);
	}
	cr_assert_not_null(got, "Prometheus had no tickcast_ticks_total after %d ms; its log:\n%s",
		SCRAPE_WAIT_MS, dh_read_file(dh_path("prometheus.log"), &(size_t){0}));
	cr_assert_str_eq(got, want);
	dh_buf_free(&res);
}

/* With model.precision: bf16 the build info names the bf16 kernel this CPU
 * runs (what tc_step picks for such a model here), not the fp32 one. */
Test(daemon_metrics, build_info_names_the_kernel_of_the_models_precision)
{
	int port = loopback_port(0, NULL);
	char metrics[64];
	snprintf(metrics, sizeof metrics, "listen: \"127.0.0.1:%d\"", port);
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL ", precision: bf16",
		.tick = DH_EVENT_TICK, .metrics = metrics});
	dh_start();
	struct dh_buf res = {0};
	const char *body = scrape(port, &res);
	char info[160];
	snprintf(info, sizeof info, "tickcast_build_info{version=\"%s\",kernel=\"%s\"}", TC_VERSION,
		tc_step_kernel_name(TC_PRECISION_BF16));
	cr_assert_eq(sample_of(body, info), 1, "no %s in:\n%s", info, body);
	cr_assert_str_neq(tc_step_kernel_name(TC_PRECISION_BF16),
		tc_step_kernel_name(TC_PRECISION_FP32));
	dh_buf_free(&res);
}
