/* test_ticker.c -- the tick thread with a publisher that cannot keep up: it
 * waits for the publisher only with the engine let go, so `series` requests
 * are answered while one batch of readings closes many ticks, and nothing is
 * lost meanwhile. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "config.h"
#include "error.h"
#include "model.h"
#include "publisher.h"
#include "queue.h"
#include "ticker.h"

TestSuite(ticker, .timeout = 120);

#define SERIES 20000  /* held series: every tick steps and publishes all of them */
#define BUCKETS 40    /* event-clock buckets one batch of readings spans */

/* A one-layer model of 2 units, input 1, all zero but the head bias: its
 * step is nothing next to formatting and sending a forecast. */
static struct tc_model *small_model(void)
{
	static const float zero[16], half[1] = {0.5f};
	struct tc_model_spec spec;
	tc_model_spec_init(&spec);
	spec.input_size = 1;
	spec.n_layers = 1;
	spec.hidden[0] = 2;
	spec.outputs = 1;
	struct tc_model_weights w = {
		.layer[0] = {zero, zero, zero, zero},
		.head[0] = {zero, half},
	};
	char err[TC_ERR_LEN];
	struct tc_model *m = tc_model_create(&spec, &w, err);
	cr_assert_not_null(m, "%s", err);
	return m;
}

static void push(struct tc_queue *q, const char *id, double t)
{
	struct tc_reading r;
	memset(&r, 0, sizeof r);
	r.id = id;
	r.id_len = strlen(id);
	r.n_values = 1;
	r.values[0] = 1.0f;
	r.has_time = 1;
	r.time = t;
	struct tc_queue_local *l = tc_queue_local_create(1);
	cr_assert_eq(tc_queue_local_add(l, &r), 0);
	cr_assert_eq(tc_queue_push(q, l), 0);
	tc_queue_local_destroy(&l);
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* Event clock, publish.queue_ticks 1 and ticks of SERIES forecasts (a
 * message each, which the publisher is far slower at than the tick thread
 * at stepping them): one batch of readings, SERIES in bucket 0 and one in
 * each of BUCKETS more, closes BUCKETS ticks in one go. A `series` request
 * made once the first is being sent must be answered between two of those
 * ticks, not after the whole batch (when the tick thread waited for the
 * publisher with the engine held, most forecasts were sent by then). */
Test(ticker, a_series_request_is_answered_while_one_batch_closes_many_ticks)
{
	char err[TC_ERR_LEN];
	struct tc_config cfg;
	tc_config_init(&cfg);
	cfg.tick = (struct tc_tick_config){.clock = TC_CLOCK_EVENT, .interval_ms = 1000,
		.flush_ms = 60000, .aggregate = TC_AGGREGATE_LAST, .missing = TC_MISSING_HOLD};
	cfg.series.max = SERIES;
	cfg.series.ttl_ticks = 0;
	cfg.publish.n_bind = 1;
	snprintf(cfg.publish.bind[0], sizeof cfg.publish.bind[0], "inproc://ticker");
	cfg.publish.format = TC_FORMAT_TEXT;
	cfg.publish.batch_bytes = 0;
	cfg.publish.queue_ticks = 1;
	cfg.publish.threads = 1;
	void *ctx = zmq_ctx_new();
	struct tc_publisher *pub = tc_publisher_create(ctx, &cfg.publish,
		cfg.anomaly.topic_prefix, NULL, err);
	cr_assert_not_null(pub, "%s", err);
	cr_assert_eq(tc_publisher_start(pub, err), 0, "%s", err);
	struct tc_queue *q = tc_queue_create(1, SERIES + BUCKETS, SIZE_MAX, err);
	cr_assert_not_null(q, "%s", err);
	static char ids[SERIES][8];
	for (int i = 0; i < SERIES; i++) {
		snprintf(ids[i], sizeof ids[i], "s%d", i);
		push(q, ids[i], 0.5);
	}
	for (int b = 1; b <= BUCKETS; b++) {
		push(q, "s0", b + 0.5);
	}
	/* Queued before the tick thread starts, so that it takes them in one batch. */
	struct tc_checkpointer *cp = tc_checkpointer_create(&cfg.checkpoint, err); /* off */
	cr_assert_not_null(cp, "%s", err);
	struct tc_ticker *tk = tc_ticker_create(&cfg, small_model(), q, pub, cp, err);
	cr_assert_not_null(tk, "%s", err);
	cr_assert_eq(tc_ticker_start(tk, err), 0, "%s", err);
	while (tc_publisher_forecasts(pub) == 0) {
		pause_ms(1);
	}
	struct tc_series_report rep;
	cr_assert_eq(tc_ticker_series(tk, "s1", 2, &rep), 0);
	uint64_t sent = tc_publisher_forecasts(pub);
	const uint64_t total = (uint64_t)(BUCKETS + 1) * SERIES;
	cr_assert_lt(sent, total / 2, "the series request was answered only once %llu of %llu "
		"forecasts were sent: it waited for the whole batch", (unsigned long long)sent,
		(unsigned long long)total);
	cr_assert_float_eq(rep.output[0], 0.5f, 0);
	tc_queue_close(q);
	tc_ticker_destroy(&tk); /* steps the last bucket */
	while (tc_publisher_forecasts(pub) < total) {
		pause_ms(1);
	}
	cr_assert_eq(tc_publisher_forecasts(pub), total, "forecasts lost");
	tc_publisher_destroy(&pub, 0);
	tc_checkpointer_destroy(&cp);
	tc_queue_destroy(&q);
	zmq_ctx_term(ctx);
}
