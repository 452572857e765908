/* test_daemon_flow.c -- tickcastd end to end over real sockets: readings in
 * (text and binary, from several publishers), forecasts out (text, JSON,
 * batched), the event and wall clocks, series expiry, SIGTERM, and the
 * control socket under load. Expected forecasts are what `tickcast replay`
 * prints for the same readings. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "daemon_harness.h"
#include "reading_binary.h"

TestSuite(daemon_flow, .init = dh_setup, .fini = dh_teardown, .timeout = 120);

/* ---- three publishers at once ---- */

#define FLOW_SERIES 210
#define FLOW_BUCKETS 10
#define FLOW_PUBS 3
#define FLOW_CHUNK 16          /* series per message */
#define FLOW_CHUNKS ((FLOW_SERIES / FLOW_PUBS + FLOW_CHUNK - 1) / FLOW_CHUNK)

/* Series i has no reading in some buckets, and two (the last counts) in others. */
static int flow_skips(unsigned i, unsigned b)
{
	return (i * 7 + b * 3) % 13 == 0;
}

static int flow_twice(unsigned i, unsigned b)
{
	return (i + b) % 9 == 0;
}

/* Appends series i's readings in bucket b; returns how many. */
static unsigned flow_lines(struct dh_buf *out, unsigned i, unsigned b)
{
	if (flow_skips(i, b)) {
		return 0;
	}
	double t = DH_T0 + b + (double)(i % 900) / 1000.0;
	unsigned n = 0;
	if (flow_twice(i, b)) {
		dh_buf_printf(out, "host-%03u.cpu %.9g %.3f\n", i, (double)dh_value(i + 1000, b), t);
		n++;
	}
	dh_buf_printf(out, "host-%03u.cpu %.9g %.3f\n", i, (double)dh_value(i, b), t);
	return n + 1;
}

struct flow_pub {
	void *socket;
	struct dh_buf (*chunks)[FLOW_CHUNKS];   /* [bucket][chunk]: its messages */
	pthread_barrier_t *go, *sent;
	int failed;
};

static void *flow_pub_main(void *arg)
{
	struct flow_pub *p = arg;
	for (unsigned b = 0; b < FLOW_BUCKETS; b++) {
		pthread_barrier_wait(p->go);
		for (unsigned c = 0; c < FLOW_CHUNKS; c++) {
			const struct dh_buf *m = &p->chunks[b][c];
			const void *data = m->p;
			if (m->len && dh_try_send_frames(p->socket, &data, &m->len, 1) < 0) {
				p->failed = 1;
			}
		}
		pthread_barrier_wait(p->sent);
	}
	return NULL;
}

Test(daemon_flow, three_publishers_at_once_give_what_replay_prints)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK});
	dh_start();
	void *sub = dh_subscriber();

	/* The file, and each publisher's share of it: series i belongs to
	 * publisher i % 3, which sends it in chunks of FLOW_CHUNK series. */
	static struct dh_buf chunks[FLOW_PUBS][FLOW_BUCKETS][FLOW_CHUNKS];
	struct dh_buf file = {0};
	unsigned per_bucket[FLOW_BUCKETS] = {0};
	for (unsigned b = 0; b < FLOW_BUCKETS; b++) {
		for (unsigned i = 0; i < FLOW_SERIES; i++) {
			unsigned n = flow_lines(&file, i, b);
			flow_lines(&chunks[i % FLOW_PUBS][b][i / FLOW_PUBS / FLOW_CHUNK], i, b);
			per_bucket[b] += n;
		}
	}
	struct dh_lines want = {0};
	dh_replay(dh.config, file.p, file.len, &want);

	pthread_barrier_t go, sent;
	pthread_barrier_init(&go, NULL, FLOW_PUBS + 1);
	pthread_barrier_init(&sent, NULL, FLOW_PUBS + 1);
	struct flow_pub pubs[FLOW_PUBS];
	pthread_t threads[FLOW_PUBS];
	for (int p = 0; p < FLOW_PUBS; p++) {
		pubs[p] = (struct flow_pub){dh_publisher(), chunks[p], &go, &sent, 0};
	}
	for (int p = 0; p < FLOW_PUBS; p++) {
		cr_assert_eq(pthread_create(&threads[p], NULL, flow_pub_main, &pubs[p]), 0);
	}
	/* Bucket by bucket: a bucket is sent by all three at once, and the next
	 * only once the daemon has taken every reading of it, so that no
	 * reading of bucket k+1 can overtake one of bucket k. */
	long long total = 0;
	for (unsigned b = 0; b < FLOW_BUCKETS; b++) {
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&sent);
		total += per_bucket[b];
		long long accepted = dh_wait_int("readings.accepted", total, DH_WAIT_MS);
		cr_assert_eq(accepted, total, "bucket %u: %lld readings accepted of %lld sent; log:\n%s",
			b, accepted, total, dh_log_tail());
	}
	for (int p = 0; p < FLOW_PUBS; p++) {
		pthread_join(threads[p], NULL);
		cr_assert(!pubs[p].failed, "publisher %d could not send", p);
	}
	json_t *status = dh_request("status");
	cr_assert_eq(dh_json_int(status, "readings.rejected_total"), 0);
	cr_assert_eq(dh_json_int(status, "series"), FLOW_SERIES);
	cr_assert_eq(dh_json_int(status, "ticks"), FLOW_BUCKETS - 1, "the last bucket is still open");
	json_decref(status);

	dh_stop(DH_STOP_MS); /* steps the last bucket */
	struct dh_received got = {0};
	dh_receive(sub, &got, want.n, 200, DH_RECEIVE_MS);
	dh_expect_same_lines(&got.lines, &want, "forecasts of three publishers");

	for (int p = 0; p < FLOW_PUBS; p++) {
		for (unsigned b = 0; b < FLOW_BUCKETS; b++) {
			for (unsigned c = 0; c < FLOW_CHUNKS; c++) {
				dh_buf_free(&chunks[p][b][c]);
			}
		}
	}
	pthread_barrier_destroy(&go);
	pthread_barrier_destroy(&sent);
	dh_buf_free(&file);
	dh_lines_free(&want);
	dh_received_free(&got);
}

/* ---- the binary batch format ---- */

Test(daemon_flow, binary_batches_give_the_same_forecasts_as_text)
{
	enum { SERIES = 80, BUCKETS = 6 };
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK});
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();

	static char ids[SERIES][16];
	struct tc_reading r[SERIES];
	struct dh_buf text = {0};
	long long total = 0;
	for (unsigned b = 0; b < BUCKETS; b++) {
		for (unsigned i = 0; i < SERIES; i++) {
			snprintf(ids[i], sizeof ids[i], "bin-%u", i);
			char t[32];
			snprintf(t, sizeof t, "%.3f", DH_T0 + b + (double)i / 100.0);
			r[i] = (struct tc_reading){.id = ids[i], .id_len = strlen(ids[i]), .n_values = 1,
				.has_time = 1, .time = strtod(t, NULL)};
			r[i].values[0] = dh_value(i, b);
			dh_buf_printf(&text, "%s %.9g %s\n", ids[i], (double)r[i].values[0], t);
		}
		/* Bucket 2 goes as two batches, bucket 4 with a topic frame. */
		size_t parts = b == 2 ? 2 : 1;
		for (size_t part = 0; part < parts; part++) {
			size_t from = part * SERIES / parts, n = (part + 1) * SERIES / parts - from;
			size_t size = tc_reading_binary_encode(NULL, 0, r + from, n, 1);
			cr_assert_gt(size, 0);
			unsigned char *batch = malloc(size);
			cr_assert_eq(tc_reading_binary_encode(batch, size, r + from, n, 1), size);
			if (b == 4) {
				const void *frames[2] = {"bin-", batch};
				size_t lens[2] = {4, size};
				dh_send_frames(pub, frames, lens, 2);
			} else {
				dh_send(pub, batch, size);
			}
			free(batch);
		}
		total += SERIES;
		cr_assert_eq(dh_wait_int("readings.accepted", total, DH_WAIT_MS), total);
	}
	cr_assert_eq(dh_status_int("readings.rejected_total"), 0);
	struct dh_lines want = {0};
	dh_replay(dh.config, text.p, text.len, &want);
	cr_assert_eq(want.n, SERIES * BUCKETS);
	dh_stop(DH_STOP_MS);
	struct dh_received got = {0};
	dh_receive(sub, &got, want.n, 200, DH_RECEIVE_MS);
	dh_expect_same_lines(&got.lines, &want, "forecasts of binary batches");
	dh_buf_free(&text);
	dh_lines_free(&want);
	dh_received_free(&got);
}

/* ---- SIGTERM ---- */

Test(daemon_flow, sigterm_steps_and_publishes_the_open_bucket_and_exits_0_at_once)
{
	enum { SERIES = 50 };
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK});
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	for (unsigned b = 0; b < 2; b++) {
		size_t from = file.len;
		dh_add_bucket(&file, "term-", 0, SERIES, b);
		dh_send(pub, file.p + from, file.len - from);
		cr_assert_eq(dh_wait_int("readings.accepted", SERIES * (b + 1), DH_WAIT_MS),
			SERIES * (b + 1));
	}
	/* Bucket 0 was stepped when bucket 1 began; bucket 1 is open (flush_ms
	 * is a minute away). */
	struct dh_received got = {0};
	cr_assert_eq(dh_receive(sub, &got, SERIES, 100, DH_RECEIVE_MS), SERIES);
	cr_assert_eq(dh_status_int("ticks"), 1);

	double took = dh_stop(DH_STOP_MS);
	cr_assert_lt(took, 1000.0, "tickcastd took %.0f ms to exit after SIGTERM (limit 1000)", took);
	dh_receive(sub, &got, 2 * SERIES, 200, DH_RECEIVE_MS);
	struct dh_lines want = {0};
	dh_replay(dh.config, file.p, file.len, &want);
	cr_assert_eq(want.n, 2 * SERIES);
	dh_expect_same_lines(&got.lines, &want, "forecasts up to SIGTERM");
	dh_buf_free(&file);
	dh_lines_free(&want);
	dh_received_free(&got);
}

/* ---- the wall clock ---- */

static int64_t realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(daemon_flow, the_wall_clock_ticks_every_interval_without_skipping_one)
{
	enum { INTERVAL = 200, SEND_MS = 1500 };
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL,
		.tick = "clock: wall, interval_ms: 200"});
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	int64_t first = realtime_ms(), last = first;
	double start = dh_now_ms();
	for (unsigned k = 0; dh_now_ms() - start < SEND_MS; k++) {
		char line[64];
		int n = snprintf(line, sizeof line, "wall-0 %.9g", (double)dh_value(0, k));
		last = realtime_ms();
		dh_send(pub, line, (size_t)n);
		dh_sleep_ms(10);
	}
	int64_t expected = last / INTERVAL - first / INTERVAL + 1;
	struct dh_received got = {0};
	dh_receive(sub, &got, (size_t)expected - 1, 3 * INTERVAL, DH_RECEIVE_MS);
	int64_t previous = 0;
	for (size_t i = 0; i < got.lines.n; i++) {
		double t = dh_line_time(got.lines.v[i]);
		int64_t ms = llround(t * 1000.0);
		cr_assert_eq(ms % INTERVAL, 0, "forecast time %s is not a multiple of 0.2 s",
			got.lines.v[i]);
		cr_assert(ms >= first / INTERVAL * INTERVAL - INTERVAL && ms <= last + INTERVAL,
			"forecast time %.3f lies outside the sending (%.3f .. %.3f)", t, first / 1e3,
			last / 1e3);
		cr_assert(i == 0 || ms == previous + INTERVAL,
			"tick skipped or repeated: %.3f follows %.3f", t, previous / 1e3);
		previous = ms;
	}
	long long n = (long long)got.lines.n;
	cr_assert(llabs(n - expected) <= 1, "%lld forecasts for %lld intervals of sending", n,
		(long long)expected);
	dh_stop(DH_STOP_MS);
	dh_received_free(&got);
}

/* ---- series expiry ---- */

/* The forecast line of series id at time t in lines, or NULL. */
static const char *find_line(const struct dh_lines *lines, const char *id, double t)
{
	size_t len = strlen(id);
	for (size_t i = 0; i < lines->n; i++) {
		const char *l = lines->v[i];
		if (strncmp(l, id, len) == 0 && l[len] == ' ' && dh_line_time(l) == t) {
			return l;
		}
	}
	return NULL;
}

/* The forecast numbers of a line: what follows "<id> <t> ". */
static const char *numbers_of(const char *line)
{
	const char *p = strchr(line, ' ');
	cr_assert_not_null(p);
	p = strchr(p + 1, ' ');
	cr_assert_not_null(p);
	return p + 1;
}

static void send_text(void *pub, struct dh_buf *file, const char *fmt, double v, double t)
{
	char line[128];
	int n = snprintf(line, sizeof line, fmt, v, t);
	dh_buf_add(file, line, (size_t)n);
	dh_send(pub, line, (size_t)n);
}

Test(daemon_flow, a_series_silent_for_ttl_ticks_is_freed_and_comes_back_new)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK,
		.series = "ttl_ticks: 2"});
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	long long sent = 0;
	/* "keep" reads in every bucket, "gone" in bucket 0 only, then again in 5. */
	send_text(pub, &file, "gone %.9g %.3f\n", 0.75, DH_T0 + 0.5);
	sent++;
	for (unsigned b = 0; b <= 4; b++) {
		send_text(pub, &file, "keep %.9g %.3f\n", (double)dh_value(1, b), DH_T0 + b);
		sent++;
		cr_assert_eq(dh_wait_int("readings.accepted", sent, DH_WAIT_MS), sent);
		if (b == 2) {
			/* Ticks 0 and 1 closed: gone silent for one tick, still there. */
			json_t *s = dh_request("status");
			cr_assert_eq(dh_json_int(s, "series"), 2);
			cr_assert_eq(dh_json_int(s, "series_evicted"), 0);
			json_decref(s);
			json_t *g = dh_request("series gone");
			cr_assert(json_is_true(json_object_get(g, "ok")), "gone was freed too early");
			cr_assert_eq(dh_json_int(g, "age_ticks"), 1); /* tick 1 closed without it */
			json_decref(g);
		}
	}
	/* Ticks 0..3 closed: gone silent for three (1, 2, 3). */
	json_t *s = dh_request("status");
	cr_assert_eq(dh_json_int(s, "series"), 1, "gone should have been freed");
	cr_assert_eq(dh_json_int(s, "series_evicted"), 1);
	json_decref(s);
	json_t *g = dh_request("series gone");
	cr_assert(json_is_false(json_object_get(g, "ok")));
	cr_assert_str_eq(dh_json_str(g, "error"), "no such series");
	json_decref(g);

	/* Back in bucket 5, with the same value as a brand-new series. */
	send_text(pub, &file, "keep %.9g %.3f\n", (double)dh_value(1, 5), DH_T0 + 5);
	send_text(pub, &file, "gone %.9g %.3f\n", 0.25, DH_T0 + 5.1);
	send_text(pub, &file, "fresh %.9g %.3f\n", 0.25, DH_T0 + 5.2);
	send_text(pub, &file, "keep %.9g %.3f\n", (double)dh_value(1, 6), DH_T0 + 6);
	sent += 4;
	cr_assert_eq(dh_wait_int("readings.accepted", sent, DH_WAIT_MS), sent);
	cr_assert_eq(dh_status_int("series"), 3);
	struct dh_received got = {0};
	dh_receive(sub, &got, 9, 100, DH_RECEIVE_MS); /* keep 0..5, gone 0 and 5, fresh 5 */
	const char *gone = find_line(&got.lines, "gone", DH_T0 + 5);
	const char *fresh = find_line(&got.lines, "fresh", DH_T0 + 5);
	cr_assert_not_null(gone, "no forecast of gone in bucket 5");
	cr_assert_not_null(fresh, "no forecast of fresh in bucket 5");
	cr_assert_str_eq(numbers_of(gone), numbers_of(fresh),
		"a series that comes back must start from a zero state");
	/* keep never went away: its forecasts are replay's. */
	struct dh_lines want = {0}, want_keep = {0}, got_keep = {0};
	dh_replay(dh.config, file.p, file.len, &want);
	dh_lines_select(&want_keep, &want, "keep", DH_T0, DH_T0 + 6);
	dh_lines_select(&got_keep, &got.lines, "keep", DH_T0, DH_T0 + 6);
	dh_expect_same_lines(&got_keep, &want_keep, "forecasts of keep");
	/* Replay never frees series: there, gone's old state shows, which this
	 * test would have caught. */
	const char *stale = find_line(&want, "gone", DH_T0 + 5);
	cr_assert_not_null(stale);
	cr_assert_str_neq(numbers_of(stale), numbers_of(fresh));
	dh_stop(DH_STOP_MS);
	dh_buf_free(&file);
	dh_lines_free(&want);
	dh_lines_free(&want_keep);
	dh_lines_free(&got_keep);
	dh_received_free(&got);
}

/* ---- the control socket under load ---- */

struct flood {
	void *socket;
	atomic_int stop;
	unsigned long long sent;   /* readings */
	int failed;
};

static void *flood_main(void *arg)
{
	struct flood *f = arg;
	enum { LINES = 2000, IDS = 2000 };
	struct dh_buf m = {0};
	for (unsigned i = 0; i < LINES; i++) {
		dh_buf_printf(&m, "flood-%u %.9g\n", i % IDS, (double)dh_value(i, 0));
	}
	while (!atomic_load(&f->stop)) {
		if (zmq_send(f->socket, m.p, m.len, ZMQ_DONTWAIT) >= 0) {
			f->sent += LINES;
		} else if (zmq_errno() == EAGAIN) {
			dh_sleep_ms(1);
		} else {
			f->failed = 1;
			break;
		}
	}
	dh_buf_free(&m);
	return NULL;
}

Test(daemon_flow, the_control_socket_answers_within_500_ms_during_a_flood)
{
	const int hidden[] = {8};
	dh_write_gru("w.safetensors", hidden, 1, 4, 7);
	dh_write_config(&(struct dh_config){.model = dh_gru_yaml("w.safetensors", hidden, 1, 4, NULL),
		.tick = "clock: wall, interval_ms: 100", .ingest = "rcvhwm: 64"});
	dh_start();
	struct flood f = {.socket = dh_publisher()};
	pthread_t thread;
	cr_assert_eq(pthread_create(&thread, NULL, flood_main, &f), 0);
	long long before = dh_wait_int("readings.accepted", 20000, DH_WAIT_MS);
	cr_assert_geq(before, 20000, "the flood does not reach the daemon");
	double worst = 0;
	for (int k = 0; k < 10; k++) {
		double start = dh_now_ms();
		json_t *s = dh_request("status");
		double took = dh_now_ms() - start;
		worst = took > worst ? took : worst;
		cr_assert(json_is_true(json_object_get(s, "ok")));
		json_decref(s);
		dh_sleep_ms(50);
	}
	long long after = dh_status_int("readings.accepted");
	atomic_store(&f.stop, 1);
	pthread_join(thread, NULL);
	cr_assert(!f.failed, "the flood could not send");
	cr_assert_leq(worst, 500.0, "status took %.0f ms during the flood", worst);
	cr_assert_geq(after - before, 20000, "the flood stopped during the requests (%lld readings)",
		after - before);
	dh_stop(DH_STOP_MS);
}

/* ---- JSON and batched forecasts ---- */

Test(daemon_flow, json_forecasts_carry_the_numbers_of_the_text_ones)
{
	enum { SERIES = 40, BUCKETS = 4 };
	struct dh_buf file = {0};
	void *sub = dh_run_buckets(NULL, "format: json", "json-\"q\\", SERIES, BUCKETS, &file);
	struct dh_lines want = {0};
	dh_replay(dh.config, file.p, file.len, &want);
	cr_assert_eq(want.n, SERIES * BUCKETS);
	struct dh_received got = {0};
	dh_receive(sub, &got, want.n, 200, DH_RECEIVE_MS);
	cr_assert_eq(got.bodies.n, want.n, "one message per forecast");
	char *matched = calloc(want.n, 1);
	for (size_t m = 0; m < got.bodies.n; m++) {
		json_error_t error;
		json_t *j = json_loads(got.bodies.v[m], 0, &error);
		cr_assert(json_is_object(j), "not a JSON object (%s): %s", error.text, got.bodies.v[m]);
		cr_assert_eq(json_object_size(j), 3, "%s", got.bodies.v[m]);
		const char *series = dh_json_str(j, "series");
		json_t *t = json_object_get(j, "t"), *forecast = json_object_get(j, "forecast");
		cr_assert(json_is_number(t) && json_is_array(forecast), "%s", got.bodies.v[m]);
		cr_assert_eq(json_array_size(forecast), 12, "%s", got.bodies.v[m]);
		char topic[300];
		snprintf(topic, sizeof topic, "forecast.%s", series);
		cr_assert_str_eq(got.topics.v[m], topic);
		const char *line = find_line(&want, series, json_number_value(t));
		cr_assert_not_null(line, "no text forecast for %s", got.bodies.v[m]);
		for (size_t k = 0; k < want.n; k++) {
			matched[k] |= want.v[k] == line;
		}
		char *p = (char *)numbers_of(line);
		for (size_t k = 0; k < 12; k++) {
			float text_value = strtof(p, &p);
			json_t *v = json_array_get(forecast, k);
			cr_assert(json_is_number(v), "%s", got.bodies.v[m]);
			cr_assert_eq((float)json_number_value(v), text_value,
				"forecast[%zu] of %s: JSON %.9g, text %.9g", k, series, json_number_value(v),
				(double)text_value);
		}
		json_decref(j);
	}
	for (size_t k = 0; k < want.n; k++) {
		cr_assert(matched[k], "no JSON forecast for \"%s\"", want.v[k]);
	}
	free(matched);
	dh_buf_free(&file);
	dh_lines_free(&want);
	dh_received_free(&got);
}

Test(daemon_flow, batched_messages_hold_the_per_series_lines)
{
	enum { SERIES = 200, BUCKETS = 3, BATCH = 4096 };
	struct dh_buf file = {0};
	void *sub = dh_run_buckets(NULL, "batch_bytes: 4096", "batch-", SERIES, BUCKETS, &file);
	struct dh_lines want = {0};
	dh_replay(dh.config, file.p, file.len, &want);
	cr_assert_eq(want.n, SERIES * BUCKETS);
	struct dh_received got = {0};
	dh_receive(sub, &got, want.n, 200, DH_RECEIVE_MS);
	size_t multi = 0, longest_line = 0;
	for (size_t k = 0; k < want.n; k++) {
		size_t len = strlen(want.v[k]) + 1;
		longest_line = len > longest_line ? len : longest_line;
	}
	for (size_t m = 0; m < got.bodies.n; m++) {
		cr_assert_str_eq(got.topics.v[m], "forecast.", "a batch's topic is the prefix");
		const char *body = got.bodies.v[m];
		size_t len = strlen(body);
		cr_assert(len > 0 && body[len - 1] == '\n', "a batch's lines end with a newline");
		cr_assert_leq(len, (size_t)BATCH + longest_line, "a batch of %zu bytes", len);
		multi += strchr(body, '\n') != body + len - 1;
	}
	cr_assert_lt(got.bodies.n, want.n / 10, "%zu messages for %zu forecasts", got.bodies.n,
		want.n);
	cr_assert_gt(multi, 0);
	dh_expect_same_lines(&got.lines, &want, "lines of the batches");
	dh_buf_free(&file);
	dh_lines_free(&want);
	dh_received_free(&got);
}
