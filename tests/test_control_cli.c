/* test_control_cli.c -- `tickcast status|reload|series` and `tickcast sub`
 * as a user runs them, against a fake daemon: a REP or PUB socket served by
 * a thread of the test process on an ipc:// endpoint in /tmp. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "anomaly_format.h"
#include "cli_run.h"
#include "forecast_binary.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* An ipc:// endpoint of its own for this test process and tag. */
static void unique_endpoint(char *out, size_t size, const char *tag)
{
	snprintf(out, size, "ipc:///tmp/tc_ctl_%ld_%s.sock", (long)getpid(), tag);
}

/* ---- the fake daemon ---- */

struct fake {
	void *ctx;
	void *sock;                 /* bound by fake_start, then the thread's */
	char endpoint[128];
	pthread_t thread;
	atomic_int stop;
	char last_request[512];     /* REP: the last request, NUL-terminated */
	const char *const (*messages)[2];   /* PUB: {topic, body} pairs, sent over and over */
	const size_t *body_lens;            /* PUB: each body's bytes; NULL: strlen (text) */
	int n_messages;
};

static const char *reply_to(const char *request)
{
	if (strcmp(request, "status") == 0) {
		return "{\"ok\": true, \"series\": 3}";
	}
	if (strcmp(request, "series x") == 0) {
		return "{\"ok\": false, \"error\": \"no such series\"}";
	}
	if (strcmp(request, "series cpu") == 0) {
		return "{\"ok\": true, \"series\": \"cpu\", \"t\": 1732665600.5, "
			"\"forecast\": [0.1, 0.123456791, -3]}";
	}
	if (strcmp(request, "series junk") == 0) {
		return "this is not JSON";
	}
	if (strcmp(request, "reload") == 0) {
		return "{\"ok\": true, \"reloaded\": true}";
	}
	return "{\"ok\": false, \"error\": \"unknown request\"}";
}

static void *rep_main(void *arg)
{
	struct fake *f = arg;
	zmq_pollitem_t item = {.socket = f->sock, .events = ZMQ_POLLIN};
	while (!atomic_load(&f->stop)) {
		if (zmq_poll(&item, 1, 20) <= 0) {
			continue;
		}
		int n = zmq_recv(f->sock, f->last_request, sizeof f->last_request - 1, 0);
		if (n < 0) {
			continue;
		}
		int max = (int)sizeof f->last_request - 1;   /* zmq_recv truncates, returns the full size */
		f->last_request[n < max ? n : max] = '\0';
		const char *reply = reply_to(f->last_request);
		zmq_send(f->sock, reply, strlen(reply), 0);
	}
	return NULL;
}

/* Sends every message over and over until stopped, so that a subscriber
 * that joins late (ZeroMQ's slow joiner) still gets some. */
static void *pub_main(void *arg)
{
	struct fake *f = arg;
	while (!atomic_load(&f->stop)) {
		for (int i = 0; i < f->n_messages; i++) {
			const char *topic = f->messages[i][0], *body = f->messages[i][1];
			zmq_send(f->sock, topic, strlen(topic), ZMQ_SNDMORE);
			zmq_send(f->sock, body, f->body_lens ? f->body_lens[i] : strlen(body), 0);
		}
		usleep(10 * 1000);
	}
	return NULL;
}

static void fake_start(struct fake *f, int type, const char *tag)
{
	unique_endpoint(f->endpoint, sizeof f->endpoint, tag);
	f->ctx = zmq_ctx_new();
	cr_assert_not_null(f->ctx);
	f->sock = zmq_socket(f->ctx, type);
	cr_assert_not_null(f->sock);
	int zero = 0;
	zmq_setsockopt(f->sock, ZMQ_LINGER, &zero, sizeof zero);
	cr_assert_eq(zmq_bind(f->sock, f->endpoint), 0, "bind %s: %s", f->endpoint,
		zmq_strerror(zmq_errno()));
	atomic_init(&f->stop, 0);
	cr_assert_eq(pthread_create(&f->thread, NULL, type == ZMQ_REP ? rep_main : pub_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->thread, NULL);
	zmq_close(f->sock);
	zmq_ctx_term(f->ctx);
	unlink(f->endpoint + strlen("ipc://"));
}

/* Starts a fake of type with tag, runs `tickcast <before> <endpoint><after>`
 * against it, stops it and returns the exit status (output in `output`). */
static int run_with_fake(struct fake *f, int type, const char *tag, const char *before,
	const char *after)
{
	fake_start(f, type, tag);
	char args[512];
	snprintf(args, sizeof args, "%s %s%s", before, f->endpoint, after);
	int status = run(args);
	fake_stop(f);
	return status;
}

/* ---- status, reload, series ---- */

Test(control_cli, help_lists_the_new_commands)
{
	cr_assert_eq(run("--help"), 0);
	expect_output("sub ENDPOINT [PREFIX ...]");
	expect_output("status ");
	expect_output("reload ");
	expect_output("series ID");
	cr_assert_eq(run("status --help"), 0);
	expect_output("Usage: tickcast status");
	expect_output("--timeout-ms T");
	cr_assert_eq(run("series --help"), 0);
	expect_output("Usage: tickcast series [OPTIONS] ID");
	cr_assert_eq(run("sub --help"), 0);
	expect_output("Usage: tickcast sub");
}

Test(control_cli, status_prints_the_reply_indented_and_exits_0_when_ok)
{
	struct fake f = {0};
	int status = run_with_fake(&f, ZMQ_REP, "status", "status --control", "");
	cr_assert_eq(status, 0, "%s", output);
	cr_assert_str_eq(f.last_request, "status");
	expect_exactly("{\n  \"ok\": true,\n  \"series\": 3\n}\n");
}

Test(control_cli, series_sends_the_id_and_exits_1_when_not_ok)
{
	struct fake f = {0};
	int status = run_with_fake(&f, ZMQ_REP, "series_x", "series x --control", "");
	cr_assert_eq(status, 1, "%s", output);
	cr_assert_str_eq(f.last_request, "series x");
	expect_exactly("{\n  \"ok\": false,\n  \"error\": \"no such series\"\n}\n");
}

Test(control_cli, numbers_print_as_short_as_reads_back_the_same)
{
	struct fake f = {0};
	int status = run_with_fake(&f, ZMQ_REP, "series_cpu",
		"series --control", " --timeout-ms 2000 cpu");
	cr_assert_eq(status, 0, "%s", output);
	/* Not 0.10000000000000001, jansson's default. */
	expect_exactly("{\n  \"ok\": true,\n  \"series\": \"cpu\",\n  \"t\": 1732665600.5,\n"
		"  \"forecast\": [\n    0.1,\n    0.123456791,\n    -3\n  ]\n}\n");
}

Test(control_cli, reload_sends_reload)
{
	struct fake f = {0};
	int status = run_with_fake(&f, ZMQ_REP, "reload", "reload -e", "");
	cr_assert_eq(status, 0, "%s", output);
	cr_assert_str_eq(f.last_request, "reload");
	expect_output("\"reloaded\": true");
}

Test(control_cli, a_reply_that_is_not_json_fails)
{
	struct fake f = {0};
	int status = run_with_fake(&f, ZMQ_REP, "junk", "series junk --control", "");
	cr_assert_eq(status, 1, "%s", output);
	expect_output("tickcast series: the reply from ipc://");
	expect_output("is not a JSON object");
}

Test(control_cli, no_daemon_times_out_at_once_with_exit_1)
{
	char endpoint[128], args[256], want[256];
	unique_endpoint(endpoint, sizeof endpoint, "nobody");
	snprintf(args, sizeof args, "status --control %s --timeout-ms 300", endpoint);
	double start = now_s();
	int status = run(args);
	double took = now_s() - start;
	cr_assert_eq(status, 1, "%s", output);
	snprintf(want, sizeof want, "tickcast status: no reply from %s within 300 ms "
		"(is tickcastd running?)\n", endpoint);
	expect_exactly(want);
	cr_assert(took >= 0.29 && took < 1.5, "took %.3f s", took);
}

Test(control_cli, bad_usage_exits_2)
{
	cr_assert_eq(run("status extra"), 2);
	expect_output("tickcast status: unexpected argument");
	cr_assert_eq(run("series"), 2);
	expect_output("tickcast series: ID is required");
	cr_assert_eq(run("series 'a b'"), 2);
	expect_output("ID must be 1-255 bytes");
	cr_assert_eq(run("series a b"), 2);
	expect_output("unexpected argument");
	cr_assert_eq(run("reload --timeout-ms 0"), 2);
	expect_output("--timeout-ms: expected a positive integer");
	cr_assert_eq(run("status --timeout-ms 12x"), 2);
	cr_assert_eq(run("status --control ipc:///tmp/a --config /tmp/b.yaml"), 2);
	expect_output("exclude each other");
	cr_assert_eq(run("status --frobnicate"), 2);
	expect_output("Usage: tickcast status");
	cr_assert_eq(run("status --control not-an-endpoint"), 2);
	expect_output("cannot connect to \"not-an-endpoint\"");
}

Test(control_cli, config_gives_the_endpoint)
{
	/* The control section is new; skip until the schema has it. */
	cr_assert_eq(run("check --help"), 0);
	if (!strstr(output, "control.bind")) {
		cr_skip_test("the config schema has no control.bind yet");
	}
	struct fake f = {0};
	fake_start(&f, ZMQ_REP, "config");
	char path[] = "/tmp/tc_ctl_XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	char text[512];
	int len = snprintf(text, sizeof text, "model:\n  weights: w.safetensors\n"
		"  layers: [{type: gru, hidden: 4}]\n  head: {type: linear, outputs: 1}\n"
		"control:\n  bind: %s\n", f.endpoint);
	cr_assert_eq(write(fd, text, (size_t)len), len);
	close(fd);
	char args[256];
	snprintf(args, sizeof args, "status --config %s", path);
	int status = run(args);
	fake_stop(&f);
	unlink(path);
	cr_assert_eq(status, 0, "%s", output);
	expect_exactly("{\n  \"ok\": true,\n  \"series\": 3\n}\n");
}

/* ---- sub ---- */

static const char *const per_series[][2] = {
	{"forecast.b", "b 12.5 9 8"},
	{"forecast.a", "a 12.5 0.5 0.25"},
	{"other.a", "o 12.5 1 1"},
	{"forecast.ab", "ab 12.5 0.25 0.125\n\n"},
};

/* Counts the lines of output equal to line. */
static int count_lines(const char *line)
{
	int n = 0;
	size_t len = strlen(line);
	for (const char *p = output; *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		n += l == len && strncmp(p, line, len) == 0;
		p += l + (nl != NULL);
	}
	return n;
}

Test(control_cli, sub_prints_only_the_bodies_of_the_subscribed_topics)
{
	struct fake f = {.messages = per_series, .n_messages = 4};
	int status = run_with_fake(&f, ZMQ_PUB, "sub_a",
		"sub", " forecast.a --count 2 --timeout-ms 5000");
	cr_assert_eq(status, 0, "%s", output);
	/* Two messages in a row: one of each forecast.a* topic, each body on one line. */
	cr_assert_eq(count_lines("a 12.5 0.5 0.25"), 1, "%s", output);
	cr_assert_eq(count_lines("ab 12.5 0.25 0.125"), 1, "%s", output);
	cr_assert_eq(strlen(output), strlen("a 12.5 0.5 0.25\nab 12.5 0.25 0.125\n"), "%s", output);
}

Test(control_cli, sub_without_a_prefix_gets_everything)
{
	struct fake f = {.messages = per_series, .n_messages = 4};
	int status = run_with_fake(&f, ZMQ_PUB, "sub_all", "sub", " -n 4 -t 5000");
	cr_assert_eq(status, 0, "%s", output);
	cr_assert_eq(count_lines("b 12.5 9 8"), 1, "%s", output);
	cr_assert_eq(count_lines("a 12.5 0.5 0.25"), 1, "%s", output);
	cr_assert_eq(count_lines("o 12.5 1 1"), 1, "%s", output);
	cr_assert_eq(count_lines("ab 12.5 0.25 0.125"), 1, "%s", output);
}

Test(control_cli, sub_topic_puts_the_topic_before_the_body)
{
	struct fake f = {.messages = per_series, .n_messages = 4};
	int status = run_with_fake(&f, ZMQ_PUB, "sub_topic",
		"sub --topic", " forecast.ab --count 1 --timeout-ms 5000");
	cr_assert_eq(status, 0, "%s", output);
	expect_exactly("forecast.ab\tab 12.5 0.25 0.125\n");
}

static const char *const batch[][2] = {
	{"forecast.", "a 12 0.5 0.25\nb 12 1 2"},
};

/* Publishes f's one message and checks that `tickcast sub` prints the
 * forecasts of series a and b at 12 s, without and with --topic. */
static void expect_sub_prints_a_and_b(struct fake *f, const char *name)
{
	fake_start(f, ZMQ_PUB, name);
	char args[256];
	snprintf(args, sizeof args, "sub %s --count 1 --timeout-ms 5000", f->endpoint);
	int status = run(args);
	cr_assert_eq(status, 0, "%s", output);
	expect_exactly("a 12 0.5 0.25\nb 12 1 2\n");
	snprintf(args, sizeof args, "sub %s --count 1 --timeout-ms 5000 --topic", f->endpoint);
	status = run(args);
	fake_stop(f);
	cr_assert_eq(status, 0, "%s", output);
	expect_exactly("forecast.\ta 12 0.5 0.25\nforecast.\tb 12 1 2\n");
}

Test(control_cli, sub_prints_a_batch_as_is_with_one_final_newline)
{
	struct fake f = {.messages = batch, .n_messages = 1};
	expect_sub_prints_a_and_b(&f, "sub_batch");
}

/* Binary batches (publish.format: binary) of the bucket at 12 s, O = 2. */
static unsigned char good_batch[128], bad_batch[128];
static size_t binary_lens[2];
static const char *const binary[][2] = {
	{"forecast.", (const char *)good_batch},
	{"forecast.", (const char *)bad_batch},
};

/* good_batch: a 12 0.5 0.25, and b 12 1 2 still warming; bad_batch: the same as version 2. */
static void make_batches(void)
{
	static const float a[2] = {0.5f, 0.25f}, b[2] = {1, 2};
	struct tc_forecast_binary_writer w;
	cr_assert_eq(tc_forecast_binary_writer_init(&w, good_batch, sizeof good_batch, 2, 1, 0,
		12000), 0);
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "a", 1, a, NULL, NULL, 1), 0);
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "b", 1, b, NULL, NULL, 0), 0);
	binary_lens[0] = binary_lens[1] = w.len;
	memcpy(bad_batch, good_batch, w.len);
	bad_batch[4] = 2;
}

Test(control_cli, sub_prints_a_binary_batch_as_the_text_lines)
{
	make_batches();
	struct fake f = {.messages = binary, .body_lens = binary_lens, .n_messages = 1};
	expect_sub_prints_a_and_b(&f, "sub_binary");
}

Test(control_cli, sub_reports_a_malformed_binary_batch_and_goes_on)
{
	make_batches();
	struct fake f = {.messages = binary, .body_lens = binary_lens, .n_messages = 2};
	int status = run_with_fake(&f, ZMQ_PUB, "sub_badbin",
		"sub", " --count 3 --timeout-ms 5000");
	cr_assert_eq(status, 0, "%s", output);
	expect_output("tickcast sub: skipped a message on topic \"forecast.\": binary forecast "
		"batch: version 2, this reader knows version 1\n");
	cr_assert_geq(count_lines("a 12 0.5 0.25"), 1, "%s", output);
	cr_assert_geq(count_lines("b 12 1 2"), 1, "%s", output);
	cr_assert_eq(run("sub --help"), 0);
	expect_output("A binary body (publish.format: binary");
}

/* A forecast batch with intervals, then an anomaly event, both binary. */
static unsigned char interval_batch[128], event_batch[128];
static size_t event_lens[2];
static const char *const events[][2] = {
	{"forecast.", (const char *)interval_batch},
	{"anomaly.a", (const char *)event_batch},
};

Test(control_cli, sub_prints_binary_intervals_and_anomaly_events_as_their_text_lines)
{
	static const float y[2] = {0.5f, 0.25f}, lower[2] = {0, -1}, upper[2] = {1, 1.5f};
	struct tc_forecast_binary_writer w;
	cr_assert_eq(tc_forecast_binary_writer_init(&w, interval_batch, sizeof interval_batch, 2,
		0, 1, 12000), 0);
	cr_assert_eq(tc_forecast_binary_writer_add(&w, "a", 1, y, lower, upper, 1), 0);
	event_lens[0] = w.len;
	struct tc_anomaly_binary_writer e;
	cr_assert_eq(tc_anomaly_binary_writer_init(&e, event_batch, sizeof event_batch, 12000), 0);
	cr_assert_eq(tc_anomaly_binary_writer_add(&e, "a", 1, &(struct tc_anomaly){.value = 9,
		.expected = 0.5f, .lower = 0, .upper = 1, .score = 17}), 0);
	event_lens[1] = e.len;
	struct fake f = {.messages = events, .body_lens = event_lens, .n_messages = 2};
	int status = run_with_fake(&f, ZMQ_PUB, "sub_events", "sub", " -n 2 -t 5000");
	cr_assert_eq(status, 0, "%s", output);
	expect_exactly("a 12 0.5 0.25 lower 0 -1 upper 1 1.5\na 12 9 0.5 0 1 17\n");
	status = run_with_fake(&f, ZMQ_PUB, "sub_events_only", "sub", " anomaly. -n 1 -t 5000");
	cr_assert_eq(status, 0, "%s", output);
	expect_exactly("a 12 9 0.5 0 1 17\n");
	cr_assert_eq(run("sub --help"), 0);
	expect_output("`<series> <t> <value> <expected> <lower> <upper> <score>`");
	expect_output("`tickcast sub ENDPOINT anomaly.` shows only the events");
}

Test(control_cli, sub_times_out_with_exit_1)
{
	char endpoint[128], args[256], want[256];
	unique_endpoint(endpoint, sizeof endpoint, "sub_nobody");
	snprintf(args, sizeof args, "sub %s --timeout-ms 200", endpoint);
	double start = now_s();
	int status = run(args);
	double took = now_s() - start;
	cr_assert_eq(status, 1, "%s", output);
	snprintf(want, sizeof want, "tickcast sub: nothing received from %s within 200 ms\n",
		endpoint);
	expect_exactly(want);
	cr_assert(took >= 0.19 && took < 1.5, "took %.3f s", took);
}

Test(control_cli, sub_exits_0_on_sigterm)
{
	struct fake f = {.messages = per_series, .n_messages = 4};
	fake_start(&f, ZMQ_PUB, "sub_term");
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s sub %s >/dev/null & pid=$!; sleep 0.3; kill -TERM $pid; "
		"wait $pid; echo rc=$?", tickcast(), f.endpoint);
	int status = run_sh(cmd);
	fake_stop(&f);
	cr_assert_eq(status, 0, "%s", output);
	expect_exactly("rc=0\n");
}

Test(control_cli, sub_bad_usage_exits_2)
{
	cr_assert_eq(run("sub"), 2);
	expect_output("tickcast sub: ENDPOINT is required");
	cr_assert_eq(run("sub --count 0 ipc:///tmp/x"), 2);
	expect_output("--count: expected a positive integer, got \"0\"");
	cr_assert_eq(run("sub --timeout-ms soon ipc:///tmp/x"), 2);
	expect_output("--timeout-ms: expected a positive integer");
	cr_assert_eq(run("sub not-an-endpoint"), 2);
	expect_output("cannot connect to \"not-an-endpoint\"");
}
