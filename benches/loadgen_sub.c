/* loadgen_sub.c -- loadgen's forecast subscriber: forecasts counted per tick from text or binary messages. */
#include "loadgen_sub.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "error.h"
#include "forecast_binary.h"
#include "loadgen.h"

/* The tick of a text forecast body `<series> <t> <y>...`: its bucket. */
static int parse_bucket(const char *body, size_t len, int interval_ms, int64_t *bucket)
{
	const char *sp = memchr(body, ' ', len);
	if (!sp) {
		return -1;
	}
	char t[40];
	size_t n = len - (size_t)(sp + 1 - body);
	n = n < sizeof t - 1 ? n : sizeof t - 1;
	memcpy(t, sp + 1, n);
	t[n] = '\0';
	char *end;
	double seconds = strtod(t, &end);
	if (end == t) {
		return -1;
	}
	*bucket = (int64_t)llround(seconds * 1000.0 / interval_ms);
	return 0;
}

/* A text body: its forecasts and their bucket. 0, or -1 when unreadable. */
static int read_text(const struct lg_run *rn, const char *body, size_t len, uint_fast64_t *lines,
	int64_t *bucket)
{
	if (tc_forecast_binary_detect(body, len)) {
		return -1;
	}
	/* A batched body ends each forecast with \n; a per-series body is one
	 * forecast without. A batch holds one tick only. */
	*lines = 0;
	if (len && body[len - 1] == '\n') {
		for (const char *p = body; (p = memchr(p, '\n', len - (size_t)(p - body))) != NULL; p++) {
			(*lines)++;
		}
	} else {
		*lines = 1;
	}
	return parse_bucket(body, len, rn->o.interval_ms, bucket);
}

/* A binary body: N and bucket_ms from its header, once the reader has
 * checked the whole batch. 0, or -1 when unreadable. */
static int read_binary(const struct lg_run *rn, const char *body, size_t len, uint_fast64_t *count,
	int64_t *bucket)
{
	struct tc_forecast_binary_reader rd;
	char err[TC_ERR_LEN];
	if (!tc_forecast_binary_detect(body, len)
		|| tc_forecast_binary_reader_init(&rd, body, len, err) < 0) {
		return -1;
	}
	*count = rd.count;
	*bucket = rd.bucket_ms / rn->o.interval_ms;
	return 0;
}

static void count_forecasts(struct lg_run *rn, const char *body, size_t len)
{
	uint_fast64_t n;
	int64_t bucket;
	int readable = (rn->o.forecast_binary ? read_binary : read_text)(rn, body, len, &n, &bucket)
		== 0;
	atomic_fetch_add(&rn->received_messages, 1);
	if (!readable) {
		atomic_fetch_add(&rn->received_unreadable, 1);
		return;
	}
	int64_t idx = bucket - atomic_load(&rn->first_bucket);
	if (idx >= 0 && idx < rn->rounds) {
		atomic_fetch_add(&rn->received[idx], n);
		atomic_store(&rn->last_arrival[idx], (long long)lg_real_ms());
	} else {
		atomic_fetch_add(&rn->received_other, n);
	}
}

void *lg_sub_run(void *arg)
{
	struct lg_run *rn = arg;
	void *sock = zmq_socket(rn->ctx, ZMQ_SUB);
	int unlimited = 0, linger = 0;
	if (!sock || zmq_setsockopt(sock, ZMQ_RCVHWM, &unlimited, sizeof unlimited) != 0
		|| zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0
		|| zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0) != 0
		|| zmq_connect(sock, rn->o.forecasts) != 0) {
		fprintf(stderr, "loadgen: forecast socket on %s: %s\n", rn->o.forecasts,
			zmq_strerror(zmq_errno()));
		atomic_store(&rn->failed, 1);
		if (sock) {
			zmq_close(sock);
		}
		return NULL;
	}
	atomic_fetch_add(&rn->ready, 1);
	zmq_msg_t part;
	zmq_msg_init(&part);
	while (!atomic_load(&rn->stop)) {
		zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
		if (zmq_poll(&item, 1, LG_POLL_MS) <= 0) {
			continue;
		}
		/* The body is the last frame: topic + body, or a body alone. */
		while (zmq_msg_recv(&part, sock, ZMQ_DONTWAIT) >= 0) {
			while (zmq_msg_more(&part) && zmq_msg_recv(&part, sock, 0) >= 0) {
			}
			count_forecasts(rn, zmq_msg_data(&part), zmq_msg_size(&part));
		}
	}
	zmq_msg_close(&part);
	zmq_close(sock);
	return NULL;
}
