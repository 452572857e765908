/* test_daemon_forecast_binary.c -- tickcastd with publish.format: binary over real sockets:
 * per-series and batched messages decode to the very floats `tickcast replay` prints as text,
 * warm bytes follow the scaler, and `tickcast sub` prints the batches as replay's lines. */
#include <math.h>

#include "daemon_harness.h"
#include "forecast_binary.h"

TestSuite(daemon_forecast_binary, .init = dh_setup, .fini = dh_teardown, .timeout = 120);

#define OUTPUTS 12  /* DH_SAMPLE_MODEL's */

/* ---- receiving and decoding ---- */

/* One message as it came: binary bodies hold NUL bytes, so lengths are kept. */
struct message {
	char topic[512];
	unsigned char *body;
	size_t len;
};

/* One decoded record and the message it came in. */
struct record {
	char id[256];
	int64_t bucket_ms;
	float y[OUTPUTS];
	int warm;
	size_t message;
};

struct received {
	struct message *m;
	size_t n_m, cap_m;
	struct record *r;
	size_t n_r, cap_r;
};

static void received_free(struct received *got)
{
	for (size_t i = 0; i < got->n_m; i++) {
		free(got->m[i].body);
	}
	free(got->m);
	free(got->r);
	*got = (struct received){0};
}

/* Keeps one message and decodes its records; the batch must read cleanly. */
static void keep(void *ud, zmq_msg_t *topic, zmq_msg_t *body)
{
	struct received *got = ud;
	if (got->n_m == got->cap_m) {
		got->cap_m = got->cap_m ? 2 * got->cap_m : 64;
		got->m = realloc(got->m, got->cap_m * sizeof *got->m);
		cr_assert_not_null(got->m);
	}
	struct message *m = &got->m[got->n_m];
	size_t topic_len = zmq_msg_size(topic);
	cr_assert_lt(topic_len, sizeof m->topic);
	memcpy(m->topic, zmq_msg_data(topic), topic_len);
	m->topic[topic_len] = '\0';
	m->len = zmq_msg_size(body);
	m->body = malloc(m->len ? m->len : 1);
	cr_assert_not_null(m->body);
	memcpy(m->body, zmq_msg_data(body), m->len);

	struct tc_forecast_binary_reader rd;
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_forecast_binary_reader_init(&rd, m->body, m->len, err), 0,
		"message %zu on \"%s\": %s", got->n_m, m->topic, err);
	cr_assert_eq(rd.n_outputs, OUTPUTS);
	struct tc_forecast_binary_record f;
	float y[OUTPUTS];
	while (tc_forecast_binary_reader_next(&rd, &f, y, NULL, NULL)) {
		if (got->n_r == got->cap_r) {
			got->cap_r = got->cap_r ? 2 * got->cap_r : 256;
			got->r = realloc(got->r, got->cap_r * sizeof *got->r);
			cr_assert_not_null(got->r);
		}
		struct record *r = &got->r[got->n_r++];
		memcpy(r->id, f.id, f.id_len);
		r->id[f.id_len] = '\0';
		r->bucket_ms = rd.bucket_ms;
		memcpy(r->y, y, sizeof y);
		r->warm = f.warm;
		r->message = got->n_m;
	}
	got->n_m++;
}

static size_t records(void *ud)
{
	return ((struct received *)ud)->n_r;
}

/* Receives two-frame messages until at least want records are in and then
 * nothing more comes for quiet_ms, or timeout_ms pass. */
static void receive(void *sub, struct received *got, size_t want, int quiet_ms, int timeout_ms)
{
	dh_receive_each(sub, want, records, keep, got, quiet_ms, timeout_ms);
}

/* ---- the oracle: replay's text lines ---- */

/* Starts a daemon with the sample model (or `model`) and publish settings
 * `publish`, sends `buckets` buckets of `series` series "<prefix><i>", stops
 * it, and fills want with replay's lines for those readings and got with
 * what the subscriber received. */
static void run_daemon(const char *model, const char *publish, const char *prefix,
	unsigned series, unsigned buckets, struct dh_lines *want, struct received *got)
{
	struct dh_buf file = {0};
	void *sub = dh_run_buckets(model, publish, prefix, series, buckets, &file);
	dh_replay(dh.config, file.p, file.len, want);
	cr_assert_eq(want->n, (size_t)series * buckets);
	receive(sub, got, want->n, 200, DH_RECEIVE_MS);
	dh_buf_free(&file);
}

/* Fails unless every record has the floats of the text line of its series and
 * tick, bit for bit, and every line has one record. */
static void expect_the_text_floats(const struct received *got, const struct dh_lines *want)
{
	cr_assert_eq(got->n_r, want->n, "%zu records received, %zu text forecasts; log:\n%s",
		got->n_r, want->n, dh_log_tail());
	char *matched = calloc(got->n_r ? got->n_r : 1, 1);
	cr_assert_not_null(matched);
	for (size_t k = 0; k < want->n; k++) {
		const char *line = want->v[k];
		const char *sp = strchr(line, ' ');
		cr_assert_not_null(sp);
		size_t id_len = (size_t)(sp - line);
		int64_t ms = llround(dh_line_time(line) * 1000.0);
		size_t i = 0;
		while (i < got->n_r && (matched[i] || strlen(got->r[i].id) != id_len
			|| memcmp(got->r[i].id, line, id_len) != 0 || got->r[i].bucket_ms != ms)) {
			i++;
		}
		cr_assert_lt(i, got->n_r, "no binary record for the text forecast \"%s\"", line);
		matched[i] = 1;
		char *p = strchr(sp + 1, ' ');
		for (int o = 0; o < OUTPUTS; o++) {
			float text = strtof(p, &p);
			uint32_t a, b;
			memcpy(&a, &got->r[i].y[o], sizeof a);
			memcpy(&b, &text, sizeof b);
			cr_assert_eq(a, b, "%s, output %d: binary %08x (%.9g), text %08x (%.9g)",
				got->r[i].id, o + 1, a, (double)got->r[i].y[o], b, (double)text);
		}
		cr_assert_eq(*p, '\0', "more than %d outputs in \"%s\"", OUTPUTS, line);
	}
	free(matched);
}

/* ---- per series and batched ---- */

Test(daemon_forecast_binary, per_series_messages_are_one_record_batches_of_the_text_floats)
{
	enum { SERIES = 40, BUCKETS = 4 };
	struct dh_lines want = {0};
	struct received got = {0};
	run_daemon(NULL, "format: binary", "fb-", SERIES, BUCKETS, &want, &got);
	cr_assert_eq(got.n_m, want.n, "one message per forecast");
	for (size_t i = 0; i < got.n_r; i++) {
		const struct message *m = &got.m[got.r[i].message];
		char topic[300];
		snprintf(topic, sizeof topic, "forecast.%s", got.r[i].id);
		cr_assert_str_eq(m->topic, topic);
		cr_assert_eq(m->body[8], 1, "N = 1");
		cr_assert_eq(m->body[5], 0, "no scaler: no warm bytes");
		cr_assert_eq(m->len, TC_FORECAST_BINARY_HEADER_LEN
			+ tc_forecast_binary_record_size(strlen(got.r[i].id), OUTPUTS, 0, 0));
		cr_assert_eq(got.r[i].warm, 1);
	}
	expect_the_text_floats(&got, &want);
	dh_lines_free(&want);
	received_free(&got);
}

Test(daemon_forecast_binary, batched_messages_pack_whole_records_into_about_batch_bytes)
{
	enum { SERIES = 200, BUCKETS = 3, BATCH = 2048 };
	struct dh_lines want = {0};
	struct received got = {0};
	run_daemon(NULL, "format: binary, batch_bytes: 2048", "fbatch-", SERIES, BUCKETS, &want,
		&got);
	/* A message ends with the record that reaches BATCH bytes, or the tick's last. */
	size_t record_max = tc_forecast_binary_record_size(strlen("fbatch-199"), OUTPUTS, 0, 0);
	size_t full = 0;
	for (size_t m = 0; m < got.n_m; m++) {
		cr_assert_str_eq(got.m[m].topic, "forecast.", "a batch's topic is the prefix");
		cr_assert_lt(got.m[m].len, (size_t)BATCH + record_max, "a batch of %zu bytes",
			got.m[m].len);
		full += got.m[m].len >= BATCH;
	}
	cr_assert_lt(got.n_m, want.n / 10, "%zu messages for %zu forecasts", got.n_m, want.n);
	cr_assert_geq(full, got.n_m - BUCKETS, "only a tick's last batch may be short");
	expect_the_text_floats(&got, &want);
	dh_lines_free(&want);
	received_free(&got);
}

Test(daemon_forecast_binary, warm_bytes_say_whether_the_scaler_has_had_warmup_readings)
{
	enum { SERIES = 30, BUCKETS = 4, WARMUP = 2 };
	struct dh_lines want = {0};
	struct received got = {0};
	run_daemon(DH_SAMPLE_MODEL ", scaler: {type: ema, alpha: 0.1, warmup: 2}",
		"format: binary, batch_bytes: 1000", "warm-", SERIES, BUCKETS, &want, &got);
	for (size_t m = 0; m < got.n_m; m++) {
		cr_assert_eq(got.m[m].body[5], TC_FORECAST_BINARY_FLAG_WARM, "a scaler: warm bytes");
	}
	for (size_t i = 0; i < got.n_r; i++) {
		/* The forecast of bucket b is made with b + 1 readings. */
		int64_t b = (got.r[i].bucket_ms - (int64_t)(DH_T0 * 1000)) / 1000;
		cr_assert_eq(got.r[i].warm, b + 1 >= WARMUP, "%s in bucket %lld", got.r[i].id,
			(long long)b);
	}
	expect_the_text_floats(&got, &want);
	dh_lines_free(&want);
	received_free(&got);
}

/* ---- tickcast sub ---- */

/* Starts `tickcast sub <publish endpoint>`, stdout to dir/out, stderr to dir/err. */
static pid_t start_sub(const char *out, const char *err)
{
	const char *exe = getenv("TC_TICKCAST");
	cr_assert_not_null(exe, "TC_TICKCAST is not set");
	int o = open(dh_path(out), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int e = open(dh_path(err), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert(o >= 0 && e >= 0, "%s", strerror(errno));
	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) {
			_exit(127);
		}
		dup2(o, 1);
		dup2(e, 2);
		signal(SIGTERM, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl(exe, exe, "sub", dh.publish, (char *)NULL);
		_exit(127);
	}
	close(o);
	close(e);
	return pid;
}

/* Lines of dir/name that start with prefix. */
static size_t count_prefixed(const char *name, const char *prefix)
{
	size_t len, n = 0;
	char *text = dh_read_file(dh_path(name), &len);
	for (char *p = text; p && *p;) {
		n += strncmp(p, prefix, strlen(prefix)) == 0;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	free(text);
	return n;
}

Test(daemon_forecast_binary, tickcast_sub_prints_the_lines_replay_prints)
{
	enum { SERIES = 50, BUCKETS = 3, FIRST = 1000 };
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK,
		.publish = "format: binary, batch_bytes: 1500"});
	dh_start();
	pid_t sub = start_sub("sub.out", "sub.err");
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	/* A probe a bucket until sub prints one of its forecasts: from then on
	 * its subscription is in, and the later buckets reach it whole. */
	unsigned probe = 0;
	while (count_prefixed("sub.out", "probe ") == 0) {
		cr_assert_lt(probe, FIRST, "tickcast sub printed nothing; its stderr:\n%s",
			dh_read_file(dh_path("sub.err"), &(size_t){0}));
		size_t from = file.len;
		dh_buf_printf(&file, "probe 0.5 %.3f\n", DH_T0 + probe++);
		dh_send(pub, file.p + from, file.len - from);
		dh_sleep_ms(20);
	}
	dh_send_buckets(pub, &file, "sub-", SERIES, FIRST, BUCKETS);
	dh_stop(DH_STOP_MS);
	struct dh_lines all = {0}, want = {0}, got = {0};
	dh_replay(dh.config, file.p, file.len, &all);
	dh_lines_select(&want, &all, "sub-", 0, INFINITY);
	cr_assert_eq(want.n, SERIES * BUCKETS);
	double deadline = dh_now_ms() + DH_RECEIVE_MS;
	while (count_prefixed("sub.out", "sub-") < want.n && dh_now_ms() < deadline) {
		dh_sleep_ms(10);
	}
	cr_assert_eq(kill(sub, SIGTERM), 0);
	int status;
	cr_assert_eq(waitpid(sub, &status, 0), sub);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "tickcast sub: status %d", status);
	size_t len;
	char *printed = dh_read_file(dh_path("sub.out"), &len);
	struct dh_lines lines = {0};
	dh_lines_split(&lines, printed, len);
	dh_lines_select(&got, &lines, "sub-", 0, INFINITY);
	dh_expect_same_lines(&got, &want, "tickcast sub of binary batches");
	char *err = dh_read_file(dh_path("sub.err"), &len);
	cr_assert_eq(len, 0, "tickcast sub complained: %s", err);
	free(err);
	free(printed);
	dh_lines_free(&lines);
	dh_lines_free(&all);
	dh_lines_free(&want);
	dh_lines_free(&got);
	dh_buf_free(&file);
}
