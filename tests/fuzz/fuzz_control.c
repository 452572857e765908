/* fuzz_control.c -- libFuzzer harness: control requests (tc_control_answer).
 *
 * A request's bytes reach two things: the dispatch on its first word, and
 * `series <id>`, whose id (any bytes) is looked up in the tick engine and put
 * back into the JSON reply. The harness builds the deps that path needs for
 * real: a ticker (event clock) stepping a tiny model, its queue, publisher
 * (inproc) and a disabled checkpointer, with series "s1" stepped once, so
 * that both "no such series" and a full report are reachable. `status`,
 * `reload` and `checkpoint` are exact words that carry no bytes of their own
 * and need the ingest thread and the reloader as well: the harness leaves
 * those three out (deps.ingest and deps.reloader stay NULL). Checked: every
 * reply is a JSON object with a boolean "ok", as docs/protocol.md says, for
 * requests up to the control thread's 512 bytes. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "control.h"
#include "error.h"

#define REQUEST_MAX 512 /* bytes, as the control thread takes them */

static struct tc_control_deps deps;

static void fail(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_control: %s: %s\n", what, err);
	abort();
}

/* One layer of 2 units, input 1, all weights zero but the head bias. */
static struct tc_model *tiny_model(void)
{
	static const float zero[16], half[1] = {0.5f};
	struct tc_model_spec spec;
	tc_model_spec_init(&spec);
	spec.n_layers = 1;
	spec.hidden[0] = 2;
	spec.outputs = 1;
	struct tc_model_weights w = {.layer[0] = {zero, zero, zero, zero}, .head[0] = {zero, half}};
	char err[TC_ERR_LEN];
	struct tc_model *m = tc_model_create(&spec, &w, err);
	if (!m) {
		fail("model", err);
	}
	return m;
}

static void push(struct tc_queue *q, double t)
{
	struct tc_reading r = {.id = "s1", .id_len = 2, .n_values = 1, .values = {1.0f},
		.has_time = 1, .time = t};
	struct tc_queue_local *l = tc_queue_local_create(1);
	if (!l || tc_queue_local_add(l, &r) != 0 || tc_queue_push(q, l) != 0) {
		fail("queue", "push");
	}
	tc_queue_local_destroy(&l);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static struct tc_config cfg;
	char err[TC_ERR_LEN];
	tc_config_init(&cfg);
	cfg.tick = (struct tc_tick_config){.clock = TC_CLOCK_EVENT, .interval_ms = 1000,
		.flush_ms = 3600000, .aggregate = TC_AGGREGATE_LAST, .missing = TC_MISSING_HOLD};
	cfg.series.max = 16;
	cfg.publish.n_bind = 1;
	snprintf(cfg.publish.bind[0], sizeof cfg.publish.bind[0], "inproc://fuzz_control");
	cfg.publish.threads = 1;
	void *ctx = zmq_ctx_new();
	struct tc_publisher *pub = ctx ? tc_publisher_create(ctx, &cfg.publish,
		cfg.anomaly.topic_prefix, NULL, err) : NULL;
	struct tc_queue *q = tc_queue_create(1, 16, SIZE_MAX, err);
	struct tc_checkpointer *cp = tc_checkpointer_create(&cfg.checkpoint, err);
	if (!pub || !q || !cp || tc_publisher_start(pub, err) < 0) {
		fail("deps", err);
	}
	deps.ticker = tc_ticker_create(&cfg, tiny_model(), q, pub, cp, err);
	if (!deps.ticker || tc_ticker_start(deps.ticker, err) < 0) {
		fail("ticker", err);
	}
	deps.publisher = pub;
	deps.checkpointer = cp;
	push(q, 0.5);
	push(q, 1.5); /* closes the tick of 0.5: s1 is stepped */
	for (int i = 0; i < 5000 && tc_publisher_forecasts(pub) == 0; i++) {
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	if (tc_publisher_forecasts(pub) == 0) {
		fail("ticker", "s1 was not stepped within 5 s");
	}
	return 0;
}

static int is_word(const uint8_t *data, size_t size, const char *word)
{
	return size == strlen(word) && memcmp(data, word, size) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > REQUEST_MAX || is_word(data, size, "status") || is_word(data, size, "reload")
		|| is_word(data, size, "checkpoint")) {
		return 0;
	}
	char *text = tc_control_answer(&deps, (const char *)data, size);
	json_error_t jerr;
	json_t *reply = text ? json_loads(text, 0, &jerr) : NULL;
	if (!reply || !json_is_object(reply) || !json_is_boolean(json_object_get(reply, "ok"))) {
		fail("reply is not a JSON object with \"ok\"", text ? text : "(null)");
	}
	json_decref(reply);
	free(text);
	return 0;
}
