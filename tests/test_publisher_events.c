/* test_publisher_events.c -- the publisher with intervals and anomaly events: a
 * synthetic tick's messages, received on a real SUB socket, in every format,
 * batched and not, and no allocation per tick once the copies are grown. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "anomaly_format.h"
#include "error.h"
#include "forecast_binary.h"
#include "publisher.h"

TestSuite(publisher, .timeout = 60);

#define N 3
#define O 2
#define MAX_MESSAGES 16

static const char *const ids[N] = {"a", "b", "c"};
static const float outputs[N * O] = {1, 2, 3, 4, 5, 6};
static const float lower[N * O] = {0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f};
static const float upper[N * O] = {1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f};
static const uint8_t warm[N] = {1, 0, 1};
static const struct tc_anomaly events[2] = {
	{.row = 0, .value = 9, .expected = 1, .lower = 0.5f, .upper = 1.5f, .score = 16},
	{.row = 2, .value = -1, .expected = 5, .lower = 4.5f, .upper = 5.5f, .score = 12},
};

static const char *tick_id(const void *names, uint32_t slot, size_t *len)
{
	(void)names;
	*len = strlen(ids[slot]);
	return ids[slot];
}

static const uint32_t slots[N] = {0, 1, 2};

/* The tick: three series, O = 2, with intervals, b warming, events for a and c. */
static const struct tc_forecasts tick = {
	.bucket_ms = 12000, .n = N, .slots = slots, .outputs = outputs, .n_outputs = O,
	.warm = warm, .lower = lower, .upper = upper, .n_anomalies = 2, .anomalies = events,
	.id = tick_id,
};

struct message {
	char topic[64];
	char body[512];
	size_t len;
};

struct received {
	struct message m[MAX_MESSAGES];
	int n;
	uint64_t anomalies;          /* tc_publisher_anomalies at the end */
	uint64_t growths;            /* tc_publisher_growths at the end */
};

/* Publishes `ticks` copies of the tick (waiting for each to be sent) as
 * format with batch_bytes, and receives what a SUB socket got. */
static void publish(enum tc_format format, int batch_bytes, int ticks, struct received *got)
{
	char err[TC_ERR_LEN];
	char name[48];
	snprintf(name, sizeof name, "events-%d-%d-%d", (int)format, batch_bytes, ticks);
	struct tc_publish_config cfg = {.format = format, .batch_bytes = batch_bytes,
		.queue_ticks = 1, .threads = 1, .n_bind = 1};
	snprintf(cfg.bind[0], sizeof cfg.bind[0], "inproc://%s", name);
	snprintf(cfg.topic_prefix, sizeof cfg.topic_prefix, "forecast.");
	void *ctx = zmq_ctx_new();
	struct tc_publisher *pub = tc_publisher_create(ctx, &cfg, "anomaly.", NULL, err);
	cr_assert_not_null(pub, "%s", err);
	void *sub = zmq_socket(ctx, ZMQ_SUB);
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
	cr_assert_eq(zmq_connect(sub, cfg.bind[0]), 0);
	struct timespec pause = {0, 100000000}; /* the subscription reaches the PUB */
	nanosleep(&pause, NULL);
	cr_assert_eq(tc_publisher_start(pub, err), 0, "%s", err);
	for (int t = 0; t < ticks; t++) {
		tc_publisher_wait_room(pub);
		cr_assert_eq(tc_publisher_submit(pub, &tick, err), 0, "%s", err);
		while (tc_publisher_anomalies(pub) < 2 * (uint64_t)(t + 1)) {
			struct timespec ms = {0, 1000000};
			nanosleep(&ms, NULL);
		}
	}
	got->anomalies = tc_publisher_anomalies(pub);
	got->growths = tc_publisher_growths(pub);
	cr_assert_eq(tc_publisher_forecasts(pub), (uint64_t)ticks * N);
	tc_publisher_destroy(&pub, 5000);
	got->n = 0;
	zmq_msg_t topic, body;
	zmq_msg_init(&topic);
	zmq_msg_init(&body);
	while (got->n < MAX_MESSAGES && zmq_msg_recv(&topic, sub, ZMQ_DONTWAIT) >= 0) {
		struct message *m = &got->m[got->n++];
		cr_assert(zmq_msg_more(&topic), "two frames");
		cr_assert_geq(zmq_msg_recv(&body, sub, 0), 0);
		cr_assert(!zmq_msg_more(&body), "two frames");
		cr_assert_lt(zmq_msg_size(&topic), sizeof m->topic);
		cr_assert_leq(zmq_msg_size(&body), sizeof m->body);
		snprintf(m->topic, sizeof m->topic, "%.*s", (int)zmq_msg_size(&topic),
			(const char *)zmq_msg_data(&topic));
		m->len = zmq_msg_size(&body);
		memcpy(m->body, zmq_msg_data(&body), m->len);
	}
	zmq_msg_close(&topic);
	zmq_msg_close(&body);
	zmq_close(sub);
	zmq_ctx_term(ctx);
}

/* got must be exactly these (topic, body) pairs, in order. */
static void expect(const struct received *got, const char *const (*want)[2], int n)
{
	cr_assert_eq(got->n, n, "%d messages arrived, expected %d", got->n, n);
	for (int i = 0; i < n; i++) {
		cr_assert_str_eq(got->m[i].topic, want[i][0], "message %d", i);
		cr_assert(got->m[i].len == strlen(want[i][1])
			&& memcmp(got->m[i].body, want[i][1], got->m[i].len) == 0,
			"message %d: \"%.*s\", expected \"%s\"", i, (int)got->m[i].len, got->m[i].body,
			want[i][1]);
	}
	cr_assert_eq(got->anomalies, 2);
}

#define TEXT_A "a 12 1 2 lower 0.5 1.5 upper 1.5 2.5"
#define TEXT_B "b 12 3 4 lower 2.5 3.5 upper 3.5 4.5"
#define TEXT_C "c 12 5 6 lower 4.5 5.5 upper 5.5 6.5"
#define EVENT_A "a 12 9 1 0.5 1.5 16"
#define EVENT_C "c 12 -1 5 4.5 5.5 12"
#define JSON_A "{\"series\":\"a\",\"t\":12,\"forecast\":[1,2],\"lower\":[0.5,1.5]," \
	"\"upper\":[1.5,2.5]}"
#define JSON_B "{\"series\":\"b\",\"t\":12,\"forecast\":[3,4],\"lower\":[2.5,3.5]," \
	"\"upper\":[3.5,4.5],\"warm\":false}"
#define JSON_C "{\"series\":\"c\",\"t\":12,\"forecast\":[5,6],\"lower\":[4.5,5.5]," \
	"\"upper\":[5.5,6.5]}"
#define JSON_EVENT_A "{\"series\":\"a\",\"t\":12,\"value\":9,\"expected\":1,\"lower\":0.5," \
	"\"upper\":1.5,\"score\":16}"
#define JSON_EVENT_C "{\"series\":\"c\",\"t\":12,\"value\":-1,\"expected\":5,\"lower\":4.5," \
	"\"upper\":5.5,\"score\":12}"

Test(publisher, sends_text_forecasts_with_intervals_then_each_anomaly_event)
{
	static const char *const want[][2] = {
		{"forecast.a", TEXT_A}, {"forecast.b", TEXT_B}, {"forecast.c", TEXT_C},
		{"anomaly.a", EVENT_A}, {"anomaly.c", EVENT_C},
	};
	struct received got;
	publish(TC_FORMAT_TEXT, 0, 1, &got);
	expect(&got, want, 5);
}

Test(publisher, sends_batched_text_forecasts_with_intervals_then_each_anomaly_event)
{
	static const char *const want[][2] = {
		{"forecast.", TEXT_A "\n" TEXT_B "\n" TEXT_C "\n"},
		{"anomaly.a", EVENT_A}, {"anomaly.c", EVENT_C},
	};
	struct received got;
	publish(TC_FORMAT_TEXT, 4096, 1, &got);
	expect(&got, want, 3);
}

Test(publisher, sends_json_forecasts_with_intervals_then_each_anomaly_event)
{
	static const char *const want[][2] = {
		{"forecast.a", JSON_A}, {"forecast.b", JSON_B}, {"forecast.c", JSON_C},
		{"anomaly.a", JSON_EVENT_A}, {"anomaly.c", JSON_EVENT_C},
	};
	struct received got;
	publish(TC_FORMAT_JSON, 0, 1, &got);
	expect(&got, want, 5);
}

Test(publisher, sends_batched_json_forecasts_with_intervals_then_each_anomaly_event)
{
	static const char *const want[][2] = {
		{"forecast.", JSON_A "\n" JSON_B "\n" JSON_C "\n"},
		{"anomaly.a", JSON_EVENT_A}, {"anomaly.c", JSON_EVENT_C},
	};
	struct received got;
	publish(TC_FORMAT_JSON, 4096, 1, &got);
	expect(&got, want, 3);
}

/* Reads the forecast batch m and checks its records are series [first,
 * first + count) of the tick, bounds and warm bytes included. */
static void expect_forecast_batch(const struct message *m, int first, int count)
{
	struct tc_forecast_binary_reader rd;
	struct tc_forecast_binary_record f;
	char err[TC_ERR_LEN];
	float y[O], lo[O], hi[O];
	cr_assert_eq(tc_forecast_binary_reader_init(&rd, m->body, m->len, err), 0, "%s", err);
	cr_assert_eq(rd.count, (uint32_t)count);
	cr_assert(rd.has_interval && rd.has_warm);
	cr_assert_eq(rd.bucket_ms, 12000);
	for (int i = first; tc_forecast_binary_reader_next(&rd, &f, y, lo, hi); i++) {
		cr_assert(f.id_len == 1 && f.id[0] == ids[i][0]);
		cr_assert_eq(memcmp(y, outputs + i * O, sizeof y), 0, "series %d", i);
		cr_assert_eq(memcmp(lo, lower + i * O, sizeof lo), 0, "series %d", i);
		cr_assert_eq(memcmp(hi, upper + i * O, sizeof hi), 0, "series %d", i);
		cr_assert_eq(f.warm, warm[i]);
	}
}

/* m must be a one-record anomaly batch holding events[e]. */
static void expect_event(const struct message *m, int e)
{
	struct tc_anomaly_binary_reader rd;
	struct tc_anomaly_binary_record r;
	char err[TC_ERR_LEN];
	const struct tc_anomaly *a = &events[e];
	char topic[32];
	snprintf(topic, sizeof topic, "anomaly.%s", ids[a->row]);
	cr_assert_str_eq(m->topic, topic);
	cr_assert_eq(tc_anomaly_binary_reader_init(&rd, m->body, m->len, err), 0, "%s", err);
	cr_assert_eq(rd.count, 1);
	cr_assert_eq(rd.bucket_ms, 12000);
	cr_assert_eq(tc_anomaly_binary_reader_next(&rd, &r), 1);
	cr_assert(r.id_len == 1 && r.id[0] == ids[a->row][0]);
	cr_assert(r.a.value == a->value && r.a.expected == a->expected && r.a.lower == a->lower
		&& r.a.upper == a->upper && r.a.score == a->score);
}

Test(publisher, sends_binary_forecasts_with_intervals_then_each_anomaly_event)
{
	struct received got;
	publish(TC_FORMAT_BINARY, 0, 1, &got);
	cr_assert_eq(got.n, 5);
	for (int i = 0; i < N; i++) {
		char topic[32];
		snprintf(topic, sizeof topic, "forecast.%s", ids[i]);
		cr_assert_str_eq(got.m[i].topic, topic);
		expect_forecast_batch(&got.m[i], i, 1);
	}
	expect_event(&got.m[3], 0);
	expect_event(&got.m[4], 1);
}

Test(publisher, sends_batched_binary_forecasts_with_intervals_then_each_anomaly_event)
{
	struct received got;
	publish(TC_FORMAT_BINARY, 4096, 1, &got);
	cr_assert_eq(got.n, 3);
	cr_assert_str_eq(got.m[0].topic, "forecast.");
	expect_forecast_batch(&got.m[0], 0, N);
	expect_event(&got.m[1], 0);
	expect_event(&got.m[2], 1);
}

/* The bounds and events are copied into buffers kept from tick to tick:
 * with queue_ticks 1 there are two copies, so at most two of eight ticks of
 * one size grow one. */
Test(publisher, intervals_and_events_allocate_nothing_once_the_copies_are_grown)
{
	struct received got;
	publish(TC_FORMAT_TEXT, 0, 8, &got);
	cr_assert_geq(got.growths, 1);
	cr_assert_leq(got.growths, 2, "%llu of 8 ticks of one size grew their copy",
		(unsigned long long)got.growths);
	cr_assert_eq(got.anomalies, 16);
}
