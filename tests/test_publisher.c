/* test_publisher.c -- the publisher's bounded queue: nothing dropped, at
 * most publish.queue_ticks ticks waiting, the tick thread held back instead. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zmq.h>

#include "error.h"
#include "publisher.h"
#include "registry.h"

#define SERIES 50000
#define OUTPUTS 12

struct fixture {
	void *ctx;
	struct tc_publisher *pub;
	struct tc_registry *registry;
	uint32_t *slots;
	float *outputs;
	struct tc_forecasts f;
};

/* A started publisher (text, a message per series, no subscriber: every
 * forecast is formatted, and ZeroMQ drops the messages) and a tick of
 * SERIES forecasts to hand it. */
static void setup(struct fixture *x, int queue_ticks)
{
	char err[TC_ERR_LEN];
	struct tc_publish_config cfg = {.n_bind = 1, .format = TC_FORMAT_TEXT, .sndhwm = 0, /* no limit */
		.queue_ticks = queue_ticks};
	snprintf(cfg.bind[0], sizeof cfg.bind[0], "inproc://publisher-%d", queue_ticks);
	snprintf(cfg.topic_prefix, sizeof cfg.topic_prefix, "forecast.");
	x->ctx = zmq_ctx_new();
	x->pub = tc_publisher_create(x->ctx, &cfg, err);
	cr_assert_not_null(x->pub, "%s", err);
	cr_assert_eq(tc_publisher_start(x->pub, err), 0, "%s", err);
	x->registry = tc_registry_create(SERIES, err);
	x->slots = malloc(SERIES * sizeof *x->slots);
	x->outputs = malloc(SERIES * OUTPUTS * sizeof *x->outputs);
	cr_assert(x->registry && x->slots && x->outputs);
	for (int i = 0; i < SERIES; i++) {
		char id[16];
		int len = snprintf(id, sizeof id, "s%d", i);
		int created;
		x->slots[i] = (uint32_t)tc_registry_insert(x->registry, id, (size_t)len, &created);
		for (int k = 0; k < OUTPUTS; k++) {
			x->outputs[i * OUTPUTS + k] = (float)i / (float)(k + 1);
		}
	}
	x->f = (struct tc_forecasts){.n = SERIES, .slots = x->slots, .outputs = x->outputs,
		.n_outputs = OUTPUTS, .registry = x->registry};
}

static void teardown(struct fixture *x)
{
	tc_publisher_destroy(&x->pub, 0);
	zmq_ctx_term(x->ctx);
	tc_registry_destroy(&x->registry);
	free(x->slots);
	free(x->outputs);
}

/* Ticks handed over far faster than they are formatted: each submit may
 * return only once at most queue_ticks wait and one is being sent, so the
 * forecasts sent trail the forecasts submitted by at most that. */
static void expect_bounded_queue(int queue_ticks)
{
	enum { TICKS = 12 };
	struct fixture x;
	setup(&x, queue_ticks);
	for (int t = 0; t < TICKS; t++) {
		x.f.bucket_ms = t * 1000;
		cr_assert_eq(tc_publisher_submit(x.pub, &x.f), 0);
		uint64_t submitted = (uint64_t)(t + 1) * SERIES;
		uint64_t sent = tc_publisher_forecasts(x.pub);
		cr_assert_geq(sent + (uint64_t)(queue_ticks + 1) * SERIES, submitted,
			"tick %d handed over with %llu of %llu forecasts sent: more than %d ticks wait", t,
			(unsigned long long)sent, (unsigned long long)submitted, queue_ticks);
	}
	cr_assert_gt(tc_publisher_waits(x.pub), 0, "the hand-over never waited");
	while (tc_publisher_forecasts(x.pub) < (uint64_t)TICKS * SERIES) {
		struct timespec pause = {0, 1000000};
		nanosleep(&pause, NULL);
	}
	cr_assert_eq(tc_publisher_forecasts(x.pub), (uint64_t)TICKS * SERIES, "forecasts lost");
	cr_assert_eq(tc_publisher_messages(x.pub), (uint64_t)TICKS * SERIES);
	teardown(&x);
}

Test(publisher, one_queued_tick_holds_the_tick_thread_back_and_drops_nothing, .timeout = 60)
{
	expect_bounded_queue(1);
}

Test(publisher, four_queued_ticks_hold_the_tick_thread_back_and_drop_nothing, .timeout = 60)
{
	expect_bounded_queue(4);
}

/* Destroying sends every queued tick first: a subscriber that reads only
 * after the destroy still gets all of them. */
Test(publisher, destroy_sends_every_queued_tick_first, .timeout = 60)
{
	enum { TICKS = 3 };
	struct fixture x;
	setup(&x, TICKS);
	void *sub = zmq_socket(x.ctx, ZMQ_SUB);
	int hwm = 0; /* no limit: the test reads only at the end */
	zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
	cr_assert_eq(zmq_connect(sub, "inproc://publisher-3"), 0);
	struct timespec settle = {0, 100000000}; /* the subscription reaches the PUB */
	nanosleep(&settle, NULL);
	for (int t = 0; t < TICKS; t++) {
		cr_assert_eq(tc_publisher_submit(x.pub, &x.f), 0);
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
