/* test_publisher.c -- the publisher's bounded queue (nothing dropped, at
 * most publish.queue_ticks ticks waiting, the tick thread held back instead,
 * nothing allocated once its copies are grown), and publish.threads: the
 * same forecasts, bytes and order on any count. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "error.h"
#include "forecast_binary.h"
#include "forecast_format.h"
#include "publisher.h"

/* One timeout for the suite: with per-test timeouts of different lengths,
 * LeakSanitizer reported 48 bytes lost inside Criterion's runner. */
TestSuite(publisher, .timeout = 120);

#define SERIES 50000
#define OUTPUTS 12

struct fixture {
	void *ctx;
	struct tc_publisher *pub;
	char (*ids)[16];             /* [SERIES]: slot i is s<i> */
	uint32_t *slots;
	float *outputs;
	uint8_t *warm;
	struct tc_forecasts f;
};

/* The forecasts' ids: slot i of the fixture's names is s<i>. */
static const char *fixture_id(const void *names, uint32_t slot, size_t *len)
{
	const char (*ids)[16] = names;
	*len = strlen(ids[slot]);
	return ids[slot];
}

/* A publisher of cfg, not started (bound to inproc://<name>, sndhwm
 * unlimited, so that nothing is dropped, and topic prefix "forecast.") and a
 * tick of SERIES forecasts to hand it. */
static void setup_unstarted(struct fixture *x, struct tc_publish_config cfg, const char *name)
{
	char err[TC_ERR_LEN];
	cfg.n_bind = 1;
	cfg.sndhwm = 0; /* no limit */
	snprintf(cfg.bind[0], sizeof cfg.bind[0], "inproc://%s", name);
	snprintf(cfg.topic_prefix, sizeof cfg.topic_prefix, "forecast.");
	x->ctx = zmq_ctx_new();
	x->pub = tc_publisher_create(x->ctx, &cfg, "anomaly.", NULL, err);
	cr_assert_not_null(x->pub, "%s", err);
	x->ids = malloc(SERIES * sizeof *x->ids);
	x->slots = malloc(SERIES * sizeof *x->slots);
	x->outputs = malloc(SERIES * OUTPUTS * sizeof *x->outputs);
	x->warm = malloc(SERIES);
	cr_assert(x->ids && x->slots && x->outputs && x->warm);
	for (int i = 0; i < SERIES; i++) {
		snprintf(x->ids[i], sizeof x->ids[i], "s%d", i);
		x->slots[i] = (uint32_t)i;
		for (int k = 0; k < OUTPUTS; k++) {
			x->outputs[i * OUTPUTS + k] = (float)i / (float)(k + 1);
		}
		x->warm[i] = i % 7 != 0;
	}
	x->f = (struct tc_forecasts){.n = SERIES, .slots = x->slots, .outputs = x->outputs,
		.n_outputs = OUTPUTS, .id = fixture_id, .names = x->ids};
}

/* As setup_unstarted, and started. */
static void setup(struct fixture *x, struct tc_publish_config cfg, const char *name)
{
	char err[TC_ERR_LEN];
	setup_unstarted(x, cfg, name);
	cr_assert_eq(tc_publisher_start(x->pub, err), 0, "%s", err);
}

/* Hands x's tick over as the tick thread does: room first, then the copy. */
static void submit(struct fixture *x)
{
	char err[TC_ERR_LEN];
	tc_publisher_wait_room(x->pub);
	cr_assert_eq(tc_publisher_submit(x->pub, &x->f, err), 0, "%s", err);
}

/* Waits until the publisher has sent n forecasts (the test's timeout
 * bounds it). */
static void wait_sent(struct fixture *x, uint64_t n)
{
	while (tc_publisher_forecasts(x->pub) < n) {
		struct timespec pause = {0, 1000000};
		nanosleep(&pause, NULL);
	}
}

static void teardown(struct fixture *x)
{
	tc_publisher_destroy(&x->pub, 0);
	zmq_ctx_term(x->ctx);
	free(x->ids);
	free(x->slots);
	free(x->outputs);
	free(x->warm);
}

/* Ticks handed over faster than they are formatted (text, a message per
 * series, no subscriber: ZeroMQ drops them): each submit may return only
 * once at most queue_ticks wait and one is being sent, so the forecasts sent
 * trail the forecasts submitted by at most that. */
static void expect_bounded_queue(int queue_ticks, int threads)
{
	enum { MIN_TICKS = 12, MAX_TICKS = 400 };
	struct fixture x;
	char name[32];
	snprintf(name, sizeof name, "queue-%d-%d", queue_ticks, threads);
	setup(&x, (struct tc_publish_config){.format = TC_FORMAT_TEXT, .queue_ticks = queue_ticks,
		.threads = threads}, name);
	/* On a loaded machine the formatting may keep up for a while: go on
	 * until the hand-over has waited, which the bound is about. */
	int ticks = 0;
	for (int t = 0; t < MIN_TICKS || (tc_publisher_waits(x.pub) == 0 && t < MAX_TICKS); t++) {
		x.f.bucket_ms = t * 1000;
		submit(&x);
		uint64_t submitted = (uint64_t)(t + 1) * SERIES;
		uint64_t sent = tc_publisher_forecasts(x.pub);
		cr_assert_geq(sent + (uint64_t)(queue_ticks + 1) * SERIES, submitted,
			"tick %d handed over with %llu of %llu forecasts sent: more than %d ticks wait", t,
			(unsigned long long)sent, (unsigned long long)submitted, queue_ticks);
		ticks = t + 1;
	}
	cr_assert_gt(tc_publisher_waits(x.pub), 0, "the hand-over never waited");
	/* wait_room returns once fewer than queue_ticks wait: all but those and
	 * the one being sent are out. */
	tc_publisher_wait_room(x.pub);
	uint64_t sent = tc_publisher_forecasts(x.pub);
	cr_assert_geq(sent + (uint64_t)queue_ticks * SERIES, (uint64_t)ticks * SERIES,
		"wait_room returned with %llu of %llu forecasts sent", (unsigned long long)sent,
		(unsigned long long)ticks * SERIES);
	wait_sent(&x, (uint64_t)ticks * SERIES);
	cr_assert_eq(tc_publisher_forecasts(x.pub), (uint64_t)ticks * SERIES, "forecasts lost");
	cr_assert_eq(tc_publisher_messages(x.pub), (uint64_t)ticks * SERIES);
	teardown(&x);
}

Test(publisher, one_queued_tick_holds_the_tick_thread_back_and_drops_nothing)
{
	expect_bounded_queue(1, 1);
}

Test(publisher, four_queued_ticks_hold_the_tick_thread_back_and_drop_nothing)
{
	expect_bounded_queue(4, 1);
}

Test(publisher, the_queue_bound_holds_with_formatting_threads)
{
	expect_bounded_queue(1, 2);
	expect_bounded_queue(4, 4);
}

/* Destroying sends every queued tick first: a subscriber that reads only
 * after the destroy still gets all of them. */
Test(publisher, destroy_sends_every_queued_tick_first)
{
	enum { TICKS = 3 };
	struct fixture x;
	setup(&x, (struct tc_publish_config){.format = TC_FORMAT_TEXT, .queue_ticks = TICKS,
		.threads = 2}, "destroy");
	void *sub = zmq_socket(x.ctx, ZMQ_SUB);
	int hwm = 0; /* no limit: the test reads only at the end */
	zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
	cr_assert_eq(zmq_connect(sub, "inproc://destroy"), 0);
	struct timespec settle = {0, 100000000}; /* the subscription reaches the PUB */
	nanosleep(&settle, NULL);
	for (int t = 0; t < TICKS; t++) {
		submit(&x);
	}
	tc_publisher_destroy(&x.pub, 5000);
	long messages = 0;
	char buf[512];
	while (zmq_recv(sub, buf, sizeof buf, ZMQ_DONTWAIT) >= 0) {
		int more;
		size_t more_len = sizeof more;
		zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &more_len);
		messages += !more;
	}
	cr_assert_eq(messages, (long)TICKS * SERIES, "%ld of %d forecasts arrived", messages,
		TICKS * SERIES);
	zmq_close(sub);
	teardown(&x);
}

/* Ticks of one size, handed over again and again, allocate nothing once each
 * of the queue_ticks + 1 copies has grown to that size; a larger tick grows
 * the copy it fills. */
Test(publisher, ticks_of_one_size_allocate_nothing_once_the_copies_are_grown)
{
	enum { QUEUE = 2, TICKS = 40 };
	struct fixture x;
	setup(&x, (struct tc_publish_config){.format = TC_FORMAT_TEXT, .queue_ticks = QUEUE,
		.threads = 1}, "growth");
	x.f.n = SERIES / 2;
	x.f.warm = x.warm;
	for (int t = 0; t < TICKS; t++) {
		submit(&x);
	}
	uint64_t grown = tc_publisher_growths(x.pub);
	cr_assert_geq(grown, 1, "the first tick found the copies empty");
	cr_assert_leq(grown, QUEUE + 1, "%llu of %d ticks of one size grew the copy they filled",
		(unsigned long long)grown, TICKS);
	x.f.n = SERIES;
	submit(&x);
	cr_assert_gt(tc_publisher_growths(x.pub), grown, "a larger tick fit a smaller one's copy");
	wait_sent(&x, (uint64_t)TICKS * (SERIES / 2) + SERIES);
	cr_assert_eq(tc_publisher_messages(x.pub), (uint64_t)TICKS * (SERIES / 2) + SERIES);
	teardown(&x);
}

/* The tick thread makes room before it closes a tick, while it holds no
 * lock; the submit itself never waits: without room it refuses the tick. */
Test(publisher, a_submit_without_room_refuses_the_tick_instead_of_waiting)
{
	enum { QUEUE = 2 };
	struct fixture x;
	char err[TC_ERR_LEN] = "";
	setup_unstarted(&x, (struct tc_publish_config){.format = TC_FORMAT_TEXT,
		.queue_ticks = QUEUE, .threads = 1}, "no-room");
	for (int t = 0; t < QUEUE; t++) {
		submit(&x);
	}
	tc_publisher_wait_room(x.pub); /* not started: returns at once */
	cr_assert_eq(tc_publisher_submit(x.pub, &x.f, err), -1);
	cr_assert(strstr(err, "publish.queue_ticks"), "%s", err);
	teardown(&x);
}

/* ---- publish.threads: the same forecasts on any count ---- */

#define PREFIX "forecast."
#define PREFIX_LEN (sizeof PREFIX - 1)
#define CHUNKS_PER_TICK 4 /* SERIES in chunks of 16384 (format_pool.c) */
#define RUN_TICKS 3       /* ticks a run publishes */

/* The forecasts one run delivered, each as bytes that must match across
 * thread counts: a series' own message as topic, NUL, body; a line of a
 * batched message as it is; a record of a batched binary message as
 * bucket_ms, id, NUL, its floats' bytes and its warm byte. */
struct delivery {
	char *bytes;                 /* the forecasts back to back */
	size_t len, cap;
	size_t *end;                 /* [n]: end offset of each forecast in bytes */
	size_t n, cap_n;
	size_t messages;
	size_t max_body;             /* bytes of the longest message body */
};

static void delivery_free(struct delivery *d)
{
	free(d->bytes);
	free(d->end);
	*d = (struct delivery){0};
}

static void append(struct delivery *d, const void *data, size_t len)
{
	if (d->len + len > d->cap) {
		d->cap = 2 * (d->len + len);
		d->bytes = realloc(d->bytes, d->cap);
		cr_assert_not_null(d->bytes);
	}
	memcpy(d->bytes + d->len, data, len);
	d->len += len;
}

/* Ends the forecast of series id (len bytes): it must be the next one of
 * the ticks in series order, s0 .. s<SERIES - 1> again and again. */
static void end_forecast(struct delivery *d, const char *id, size_t len)
{
	char want[16];
	int want_len = snprintf(want, sizeof want, "s%zu", d->n % SERIES);
	cr_assert(len == (size_t)want_len && memcmp(id, want, len) == 0,
		"forecast %zu is of \"%.*s\", expected %s", d->n, (int)len, id, want);
	if (d->n == d->cap_n) {
		d->cap_n = d->cap_n ? 2 * d->cap_n : 4096;
		d->end = realloc(d->end, d->cap_n * sizeof *d->end);
		cr_assert_not_null(d->end);
	}
	d->end[d->n++] = d->len;
}

/* The id of a text or JSON line: its first word, or its "series" string. */
static const char *line_id(const char *line, size_t len, enum tc_format format, size_t *id_len)
{
	const char *key = "{\"series\":\"";
	size_t skip = format == TC_FORMAT_JSON ? strlen(key) : 0;
	cr_assert_gt(len, skip);
	cr_assert(skip == 0 || memcmp(line, key, skip) == 0, "%.*s", (int)len, line);
	const char *id = line + skip;
	const char *stop = memchr(id, format == TC_FORMAT_JSON ? '"' : ' ', len - skip);
	cr_assert_not_null(stop, "%.*s", (int)len, line);
	*id_len = (size_t)(stop - id);
	return id;
}

static void keep_binary_records(struct delivery *d, const char *body, size_t len)
{
	struct tc_forecast_binary_reader rd;
	struct tc_forecast_binary_record r;
	float y[OUTPUTS];
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_forecast_binary_reader_init(&rd, body, len, err), 0, "%s", err);
	cr_assert_eq(rd.n_outputs, OUTPUTS);
	while (tc_forecast_binary_reader_next(&rd, &r, y, NULL, NULL)) {
		unsigned char warm = (unsigned char)r.warm;
		append(d, &rd.bucket_ms, sizeof rd.bucket_ms);
		append(d, r.id, r.id_len);
		append(d, "", 1);
		append(d, y, sizeof y);
		append(d, &warm, 1);
		end_forecast(d, r.id, r.id_len);
	}
}

/* Splits one message into forecasts. */
static void keep_message(struct delivery *d, enum tc_format format, const char *topic,
	size_t topic_len, const char *body, size_t len)
{
	cr_assert(topic_len >= PREFIX_LEN && memcmp(topic, PREFIX, PREFIX_LEN) == 0);
	d->messages++;
	d->max_body = len > d->max_body ? len : d->max_body;
	if (topic_len > PREFIX_LEN) { /* a series' own message */
		append(d, topic, topic_len);
		append(d, "", 1);
		append(d, body, len);
		end_forecast(d, topic + PREFIX_LEN, topic_len - PREFIX_LEN);
		return;
	}
	if (format == TC_FORMAT_BINARY) {
		keep_binary_records(d, body, len);
		return;
	}
	cr_assert(len > 0 && body[len - 1] == '\n', "a batch ends with a newline");
	for (const char *line = body; line < body + len;) {
		const char *nl = memchr(line, '\n', (size_t)(body + len - line));
		size_t id_len;
		const char *id = line_id(line, (size_t)(nl - line), format, &id_len);
		append(d, line, (size_t)(nl - line));
		end_forecast(d, id, id_len);
		line = nl + 1;
	}
}

/* Receives everything queued on sub (the publisher is gone: nothing more comes). */
static void receive_all(void *sub, enum tc_format format, struct delivery *d)
{
	for (;;) {
		zmq_msg_t topic, body;
		zmq_msg_init(&topic);
		zmq_msg_init(&body);
		if (zmq_msg_recv(&topic, sub, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&topic);
			zmq_msg_close(&body);
			return;
		}
		cr_assert(zmq_msg_more(&topic), "a two-frame message");
		cr_assert_geq(zmq_msg_recv(&body, sub, 0), 0);
		cr_assert(!zmq_msg_more(&body), "a two-frame message");
		keep_message(d, format, zmq_msg_data(&topic), zmq_msg_size(&topic),
			zmq_msg_data(&body), zmq_msg_size(&body));
		zmq_msg_close(&topic);
		zmq_msg_close(&body);
	}
}

/* Publishes TICKS ticks (outputs, times and warm bytes differing per tick,
 * the first without a scaler) on `threads` threads to a subscriber that
 * reads only after the publisher is destroyed, and collects what arrived. */
static void publish_ticks(enum tc_format format, int batch_bytes, int threads,
	struct delivery *d)
{
	enum { TICKS = RUN_TICKS };
	struct fixture x;
	char name[48];
	snprintf(name, sizeof name, "threads-%d-%d-%d", (int)format, batch_bytes, threads);
	setup(&x, (struct tc_publish_config){.format = format, .batch_bytes = batch_bytes,
		.queue_ticks = TICKS, .threads = threads}, name);
	void *sub = zmq_socket(x.ctx, ZMQ_SUB);
	int hwm = 0; /* no limit: the test reads only at the end */
	zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
	char endpoint[64];
	snprintf(endpoint, sizeof endpoint, "inproc://%s", name);
	cr_assert_eq(zmq_connect(sub, endpoint), 0);
	struct timespec settle = {0, 100000000}; /* the subscription reaches the PUB */
	nanosleep(&settle, NULL);
	for (int t = 0; t < TICKS; t++) {
		for (int i = 0; i < SERIES * OUTPUTS; i++) {
			x.outputs[i] = (float)(i - SERIES) / (float)(t + 3);
		}
		x.f.bucket_ms = 1700000000000 + t * 1250;
		x.f.warm = t == 0 ? NULL : x.warm;
		submit(&x);
	}
	wait_sent(&x, (uint64_t)TICKS * SERIES);
	uint64_t messages = tc_publisher_messages(x.pub);
	tc_publisher_destroy(&x.pub, 5000);
	receive_all(sub, format, d);
	cr_assert_eq(d->n, (size_t)TICKS * SERIES, "%zu of %d forecasts arrived", d->n,
		TICKS * SERIES);
	cr_assert_eq(d->messages, messages, "messages counted: %llu, arrived: %zu",
		(unsigned long long)messages, d->messages);
	zmq_close(sub);
	teardown(&x);
}

/* One thread's run is the reference; 2 and 4 threads must deliver the same
 * forecasts byte for byte, in the same order. Only batches may end early,
 * at a chunk's end, so there may be a few more of them, none larger. */
static void expect_same_on_any_thread_count(enum tc_format format, int batch_bytes)
{
	struct delivery one = {0};
	publish_ticks(format, batch_bytes, 1, &one);
	const int counts[] = {2, 4};
	for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
		struct delivery many = {0};
		publish_ticks(format, batch_bytes, counts[c], &many);
		cr_assert_eq(many.n, one.n);
		for (size_t i = 0; i < one.n; i++) {
			size_t start = i ? one.end[i - 1] : 0, many_start = i ? many.end[i - 1] : 0;
			cr_assert(one.end[i] - start == many.end[i] - many_start
				&& memcmp(one.bytes + start, many.bytes + many_start, one.end[i] - start) == 0,
				"%d threads: forecast %zu differs", counts[c], i);
		}
		if (batch_bytes == 0) {
			cr_assert_eq(many.messages, one.messages, "%d threads", counts[c]);
		} else {
			cr_assert_geq(many.messages, one.messages, "%d threads", counts[c]);
			cr_assert_leq(many.messages, one.messages + RUN_TICKS * CHUNKS_PER_TICK,
				"%d threads", counts[c]);
			/* A batch ends with the forecast that takes it to batch_bytes (a
			 * binary record with its header is shorter than a text line). */
			size_t most = (size_t)batch_bytes + tc_forecast_max_len(OUTPUTS, 0);
			cr_assert_leq(many.max_body, most, "%d threads", counts[c]);
			cr_assert_leq(one.max_body, most);
		}
		delivery_free(&many);
	}
	delivery_free(&one);
}

Test(publisher, sends_the_same_text_messages_on_any_thread_count)
{
	expect_same_on_any_thread_count(TC_FORMAT_TEXT, 0);
}

Test(publisher, sends_the_same_text_lines_in_batches_on_any_thread_count)
{
	expect_same_on_any_thread_count(TC_FORMAT_TEXT, 4096);
}

Test(publisher, sends_the_same_json_messages_on_any_thread_count)
{
	expect_same_on_any_thread_count(TC_FORMAT_JSON, 0);
}

Test(publisher, sends_the_same_json_lines_in_batches_on_any_thread_count)
{
	expect_same_on_any_thread_count(TC_FORMAT_JSON, 4096);
}

Test(publisher, sends_the_same_binary_messages_on_any_thread_count)
{
	expect_same_on_any_thread_count(TC_FORMAT_BINARY, 0);
}

Test(publisher, sends_the_same_binary_records_in_batches_on_any_thread_count)
{
	expect_same_on_any_thread_count(TC_FORMAT_BINARY, 4096);
}
