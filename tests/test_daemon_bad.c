/* test_daemon_bad.c -- tickcastd under bad traffic: malformed lines and
 * messages, a flood of new series past series.max, bad control requests.
 * Each is counted under its reason, and the good series' forecasts stay
 * exactly what `tickcast replay` prints for the good lines alone. */
#include "daemon_harness.h"

TestSuite(daemon_bad, .init = dh_setup, .fini = dh_teardown, .timeout = 120);

#define GOOD 20   /* good series "g-0" .. "g-19" */

/* Sends bucket b of the good series as one message (appending it to file)
 * and waits until the daemon has taken it; *accepted counts along. */
static void send_good(void *pub, struct dh_buf *file, unsigned b, long long *accepted)
{
	size_t from = file->len;
	dh_add_bucket(file, "g-", 0, GOOD, b);
	dh_send(pub, file->p + from, file->len - from);
	*accepted += GOOD;
	long long v = dh_wait_int("readings.accepted", *accepted, DH_WAIT_MS);
	cr_assert_eq(v, *accepted, "%lld readings accepted, expected %lld; log:\n%s", v, *accepted,
		dh_log_tail());
}

/* Stops the daemon and checks that the good series got exactly replay's
 * forecasts for the good lines (file), and that no other series did unless
 * `others` is its id prefix. */
static void expect_good_forecasts(void *sub, const struct dh_buf *file, const char *others)
{
	dh_stop(DH_STOP_MS);
	struct dh_lines want = {0}, good = {0};
	dh_replay(dh.config, file->p, file->len, &want);
	struct dh_received got = {0};
	dh_receive(sub, &got, want.n, 200, DH_RECEIVE_MS);
	for (size_t i = 0; i < got.lines.n; i++) {
		const char *l = got.lines.v[i];
		if (strncmp(l, "g-", 2) == 0) {
			dh_lines_add(&good, l, strlen(l));
		} else {
			cr_assert(others && strncmp(l, others, strlen(others)) == 0,
				"a forecast for a series never accepted: %.100s", l);
		}
	}
	dh_expect_same_lines(&good, &want, "forecasts of the good series");
	dh_lines_free(&want);
	dh_lines_free(&good);
	dh_received_free(&got);
}

static void expect_rejected(const char *reason, long long n)
{
	char path[64];
	snprintf(path, sizeof path, "readings.rejected.%s", reason);
	dh_expect_int(path, n);
}

static uint32_t rng = 12345;

static unsigned char random_byte(void)
{
	rng = rng * 1664525u + 1013904223u;
	return (unsigned char)(rng >> 24);
}

Test(daemon_bad, bad_lines_are_counted_by_reason_and_the_good_series_go_on)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK});
	dh_start();
	void *sub = dh_subscriber();
	void *good = dh_publisher(), *bad = dh_publisher();
	struct dh_buf file = {0};
	long long accepted = 0;
	enum { BUCKETS = 4, LONG_ID = 100 * 1000 };
	char *long_line = malloc(LONG_ID + 64);
	cr_assert_not_null(long_line);
	memset(long_line, 'x', LONG_ID);
	for (unsigned b = 0; b < BUCKETS; b++) {
		send_good(good, &file, b, &accepted);
		double t = DH_T0 + b + 0.95;
		char line[128];
		int n = snprintf(line, sizeof line, "bad-nan nan %.3f", t);
		dh_send(bad, line, (size_t)n);
		n = snprintf(line, sizeof line, "bad-inf 1e999 %.3f", t);
		dh_send(bad, line, (size_t)n);
		n = snprintf(line, sizeof line, "bad-width 1,2 %.3f", t);
		dh_send(bad, line, (size_t)n);
		n = snprintf(long_line + LONG_ID, 64, " 1 %.3f\n", t);
		dh_send(bad, long_line, LONG_ID + (size_t)n);
		/* A good line among bad ones is taken. */
		n = snprintf(line, sizeof line, "bad-nan nan %.3f\ng-0 %.9g %.3f\nbad-width ,\n", t,
			(double)dh_value(999, b), t);
		dh_buf_printf(&file, "g-0 %.9g %.3f\n", (double)dh_value(999, b), t);
		dh_send(bad, line, (size_t)n);
		accepted++;
		expect_rejected("non_finite", 3 * (b + 1));
		expect_rejected("wrong_width", 1 * (b + 1));
		expect_rejected("id_too_long", 1 * (b + 1));
		expect_rejected("malformed", 1 * (b + 1)); /* "bad-width ," has an empty value */
		cr_assert_eq(dh_wait_int("readings.accepted", accepted, DH_WAIT_MS), accepted);
	}
	json_t *s = dh_request("status");
	cr_assert_eq(dh_json_int(s, "readings.rejected_total"), 6 * BUCKETS);
	cr_assert_eq(dh_json_int(s, "readings.messages"), 6 * BUCKETS);
	cr_assert_eq(dh_json_int(s, "series"), GOOD);
	json_decref(s);
	free(long_line);
	expect_good_forecasts(sub, &file, NULL);
	dh_buf_free(&file);
}

Test(daemon_bad, bad_messages_are_counted_by_reason_and_the_good_series_go_on)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK});
	dh_start();
	void *sub = dh_subscriber();
	void *good = dh_publisher(), *bad = dh_publisher();
	struct dh_buf file = {0};
	long long accepted = 0, messages = 0;
	enum { BUCKETS = 3, RANDOM = 3 };
	for (unsigned b = 0; b < BUCKETS; b++) {
		send_good(good, &file, b, &accepted);
		messages++;
		double t = DH_T0 + b + 0.95;
		/* Random bytes, no blank among them: one bad line each. */
		for (int k = 0; k < RANDOM; k++) {
			unsigned char junk[200];
			for (size_t i = 0; i < sizeof junk; i++) {
				do {
					junk[i] = random_byte();
				} while (junk[i] == ' ' || junk[i] == '\t' || junk[i] == '\r'
					|| junk[i] == '\n' || (i == 0 && junk[i] == 0));
			}
			dh_send(bad, junk, sizeof junk);
		}
		/* Random bytes after a 0x00: a binary batch whose header is wrong. */
		unsigned char binary[200] = {0};
		for (size_t i = 1; i < sizeof binary; i++) {
			binary[i] = random_byte();
		}
		dh_send(bad, binary, sizeof binary);
		/* Empty: a message of one empty frame, a topic and an empty body. */
		dh_send(bad, "", 0);
		dh_send_frames(bad, (const void *[]){"g-", ""}, (const size_t[]){2, 0}, 2);
		/* Three frames, the middle one a good line: the whole message is bad. */
		char line[64];
		int n = snprintf(line, sizeof line, "three 1 %.3f", t);
		dh_send_frames(bad, (const void *[]){"t", line, "x"}, (const size_t[]){1, (size_t)n, 1}, 3);
		messages += RANDOM + 4;
		cr_assert_eq(dh_wait_int("readings.messages", messages, DH_WAIT_MS), messages);
		expect_rejected("malformed", RANDOM * (b + 1));
		expect_rejected("bad_message", 2 * (b + 1));
	}
	json_t *s = dh_request("status");
	cr_assert_eq(dh_json_int(s, "readings.accepted"), accepted);
	cr_assert_eq(dh_json_int(s, "readings.rejected_total"), (RANDOM + 2) * BUCKETS);
	cr_assert_eq(dh_json_int(s, "series"), GOOD);
	json_decref(s);
	send_good(good, &file, BUCKETS, &accepted);
	expect_good_forecasts(sub, &file, NULL);
	dh_buf_free(&file);
}

Test(daemon_bad, a_million_new_series_stop_at_series_max_and_the_first_ones_go_on)
{
	enum { MAX = 1000, FLOOD = 1000 * 1000, PER_MESSAGE = 50 * 1000, BUCKETS = 4 };
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK,
		.series = "max: 1000"});
	dh_start();
	void *sub = dh_subscriber();
	void *good = dh_publisher(), *flood = dh_publisher();
	struct dh_buf file = {0};
	long long accepted = 0;
	send_good(good, &file, 0, &accepted);
	/* A million distinct ids, in bucket 0, in messages of 50,000 lines. */
	struct dh_buf m = {0};
	for (unsigned i = 0; i < FLOOD; i++) {
		dh_buf_printf(&m, "s%u %.9g %.3f\n", i, (double)dh_value(i, 0), DH_T0 + 0.99);
		if ((i + 1) % PER_MESSAGE == 0) {
			dh_send(flood, m.p, m.len);
			m.len = 0;
		}
	}
	dh_buf_free(&m);
	accepted += MAX - GOOD;
	expect_rejected("series_limit", FLOOD - (MAX - GOOD));
	cr_assert_eq(dh_status_int("readings.accepted"), accepted);
	for (unsigned b = 1; b < BUCKETS; b++) {
		send_good(good, &file, b, &accepted);
	}
	json_t *s = dh_request("status");
	cr_assert_eq(dh_json_int(s, "series"), MAX);
	cr_assert_eq(dh_json_int(s, "readings.rejected_total"), FLOOD - (MAX - GOOD));
	json_decref(s);
	expect_good_forecasts(sub, &file, "s");
	dh_buf_free(&file);
}

/* A request whose reply must be ok:false with an error containing `why`. */
static void expect_error(const char *const *frames, const size_t *lens, int n, const char *why)
{
	json_t *r = dh_request_frames(frames, lens, n);
	char *text = json_dumps(r, JSON_COMPACT);
	cr_assert(json_is_false(json_object_get(r, "ok")), "expected ok:false, got %s", text);
	json_t *error = json_object_get(r, "error");
	cr_assert(json_is_string(error) && strstr(json_string_value(error), why),
		"the reply %s lacks \"%s\"", text, why);
	free(text);
	json_decref(r);
	/* Still serving. */
	json_t *s = dh_request("status");
	cr_assert(json_is_true(json_object_get(s, "ok")));
	json_decref(s);
}

static void expect_error1(const char *request, size_t len, const char *why)
{
	expect_error(&request, &len, 1, why);
}

Test(daemon_bad, bad_control_requests_get_errors_and_the_daemon_serves_on)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK});
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	long long accepted = 0;
	send_good(pub, &file, 0, &accepted);

	expect_error1("series nope", 11, "no such series");
	expect_error1("frobnicate", 10, "unknown request");
	expect_error1("series", 6, "unknown request");
	expect_error1("", 0, "unknown request");
	expect_error1("status\n", 7, "unknown request");
	char huge[600];
	memset(huge, 's', sizeof huge);
	expect_error1(huge, sizeof huge, "one frame of at most 512 bytes");
	expect_error((const char *[]){"status", "status"}, (const size_t[]){6, 6}, 2,
		"one frame of at most 512 bytes");
	expect_error((const char *[]){"series", "g-0", ""}, (const size_t[]){6, 3, 0}, 3,
		"one frame of at most 512 bytes");

	json_t *g = dh_request("series g-0");
	cr_assert(json_is_true(json_object_get(g, "ok")));
	cr_assert_str_eq(dh_json_str(g, "series"), "g-0");
	json_decref(g);
	for (unsigned b = 1; b < 3; b++) {
		send_good(pub, &file, b, &accepted);
	}
	expect_good_forecasts(sub, &file, NULL);
	dh_buf_free(&file);
}

/* A tick thread held up past two boundaries (here the whole daemon,
 * stopped with SIGSTOP) leaves those intervals without a tick of their own:
 * status counts them, the log says why, and the readings sent meanwhile are
 * all accepted, into the next tick. */
Test(daemon_bad, intervals_passed_while_stopped_are_counted_and_their_readings_kept)
{
	enum { INTERVAL = 200, STOPPED_MS = 900 };
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL,
		.tick = "clock: wall, interval_ms: 200"});
	dh_start();
	void *pub = dh_publisher();
	dh_wait_int("ticks", 2, DH_WAIT_MS);
	cr_assert_eq(dh_status_int("intervals_skipped"), 0, "log:\n%s", dh_log_tail());
	long long accepted = dh_status_int("readings.accepted");

	dh_signal(SIGSTOP);
	double stopped = dh_now_ms();
	for (int k = 0; k < 5; k++) {
		dh_send(pub, "paused-0 1.5", strlen("paused-0 1.5"));
	}
	dh_sleep_ms(STOPPED_MS - (int)(dh_now_ms() - stopped));
	dh_signal(SIGCONT);

	long long ticks = dh_status_int("ticks");
	dh_wait_int("ticks", ticks + 2, DH_WAIT_MS);
	long long skipped = dh_status_int("intervals_skipped");
	cr_assert_geq(skipped, STOPPED_MS / INTERVAL - 2, "%lld intervals skipped; log:\n%s",
		skipped, dh_log_tail());
	cr_assert_leq(skipped, STOPPED_MS / INTERVAL + 1, "%lld intervals skipped", skipped);
	dh_expect_int("readings.accepted", accepted + 5);
	cr_assert(strstr(dh_log_tail(), "interval(s) of 200 ms passed while the last tick ran"),
		"the log does not say why; log:\n%s", dh_log_tail());
	dh_stop(DH_STOP_MS);
}

/* Ids are bytes and paths may be too: replies escape what is not UTF-8
 * (U+FFFD, and the id's bytes in hex) instead of failing. */
Test(daemon_bad, ids_and_errors_that_are_not_utf8_get_replies_that_are)
{
	static const char replaced[] = "\xef\xbf\xbd"; /* U+FFFD */
	dh_copy_sample("w.safetensors");
	snprintf(dh.config, sizeof dh.config, "%s/t\xff.yaml", dh.dir);
	dh_write_config_as("t\xff.yaml",
		&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK});
	dh_start();
	void *pub = dh_publisher();
	char line[64];
	int n = snprintf(line, sizeof line, "id\xff\xfe 1 %.3f", DH_T0 + 0.5);
	dh_send(pub, line, (size_t)n);
	dh_expect_int("readings.accepted", 1);
	json_t *s = dh_request("series id\xff\xfe");
	cr_assert(json_is_true(json_object_get(s, "ok")), "series failed: %s",
		json_dumps(s, JSON_COMPACT));
	char want[32];
	snprintf(want, sizeof want, "id%s%s", replaced, replaced);
	cr_assert_str_eq(dh_json_str(s, "series"), want);
	cr_assert_str_eq(dh_json_str(s, "series_hex"), "6964fffe");
	json_decref(s);
	/* A reload whose error names the file's non-UTF-8 path. */
	dh_write_file("t\xff.yaml", "model: [", 8);
	json_t *r = dh_request("reload");
	cr_assert(json_is_false(json_object_get(r, "ok")));
	snprintf(want, sizeof want, "t%s.yaml", replaced);
	cr_assert(strstr(dh_json_str(r, "error"), want), "%s", dh_json_str(r, "error"));
	json_decref(r);
	s = dh_request("status");
	cr_assert_eq(dh_json_int(s, "reload.failed"), 1);
	cr_assert(strstr(dh_json_str(s, "reload.last.error"), want), "%s",
		json_dumps(s, JSON_COMPACT));
	json_decref(s);
}
