/* ingest.c -- receiving, parsing and queueing readings. */
#include "ingest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "error.h"
#include "log.h"
#include "message.h"
#include "sockets.h"

#define POLL_MS 100           /* how often the thread looks at the stop flag */
#define REJECT_LOG_MS 10000   /* at most one log line per reason this often */

struct tc_ingest {
	struct tc_ingest_config cfg;
	int width;
	struct tc_queue *queue;
	void *socket;
	pthread_t thread;
	int started;
	atomic_int stop;
	atomic_uint_fast64_t messages;
	atomic_uint_fast64_t queued;
	atomic_uint_fast64_t rejected[TC_REJECT__COUNT];
	struct tc_log_limit limits[TC_REJECT__COUNT]; /* used by the thread only */
};

struct tc_ingest *tc_ingest_create(void *ctx, const struct tc_ingest_config *cfg, int width,
	struct tc_queue *q, struct tc_curve *curve, char *err)
{
	struct tc_ingest *in = calloc(1, sizeof *in);
	if (!in) {
		tc_err_set(err, "out of memory for ingest");
		return NULL;
	}
	in->cfg = *cfg;
	in->width = width;
	in->queue = q;
	for (int i = 0; i < TC_REJECT__COUNT; i++) {
		in->limits[i].interval_ms = REJECT_LOG_MS;
	}
	in->socket = zmq_socket(ctx, ZMQ_SUB);
	/* ZMQ_MAXMSGSIZE: ZeroMQ refuses a frame over the limit as it arrives (and
	 * drops that producer's connection) instead of receiving it whole. */
	int64_t max_frame = cfg->max_message_bytes;
	if (!in->socket || tc_socket_set_int(in->socket, ZMQ_RCVHWM, cfg->rcvhwm, err) < 0
		|| tc_socket_set_int64(in->socket, ZMQ_MAXMSGSIZE, max_frame, err) < 0
		|| tc_curve_apply(curve, in->socket, "ingest", err) < 0
		|| tc_socket_bind_all(in->socket, "ingest.bind", cfg->bind, cfg->n_bind, err) < 0) {
		tc_ingest_destroy(&in);
		return NULL;
	}
	for (int i = 0; i < cfg->n_subscribe; i++) {
		const char *prefix = cfg->subscribe[i];
		if (zmq_setsockopt(in->socket, ZMQ_SUBSCRIBE, prefix, strlen(prefix)) != 0) {
			tc_err_set(err, "ingest.subscribe[%d]: %s", i, zmq_strerror(zmq_errno()));
			tc_ingest_destroy(&in);
			return NULL;
		}
	}
	return in;
}

static void reject_reading(void *ud, enum tc_reject why, const char *detail)
{
	struct tc_ingest *in = ud;
	atomic_fetch_add(&in->rejected[why], 1);
	tc_log_limited(&in->limits[why], TC_LOG_WARNING, "ingest: rejected (%s): %s",
		tc_reject_to_string(why), detail);
}

static void accept_reading(void *ud, const struct tc_reading *r)
{
	struct tc_ingest *in = ud;
	int rc = tc_queue_push(in->queue, r);
	if (rc == 0) {
		atomic_fetch_add(&in->queued, 1);
	} else if (rc == TC_QUEUE_NO_MEMORY) {
		reject_reading(in, TC_REJECT_OUT_OF_MEMORY, "no memory to queue it for the tick thread");
	}
}

/* Receives the rest of a message; frames past the second are counted so
 * that the parser can reject the message, and released at once. */
static void receive_and_parse(struct tc_ingest *in)
{
	enum { KEEP = 2 };
	zmq_msg_t parts[KEEP];
	int n = 0;
	int more = 1;
	while (more) {
		zmq_msg_t part;
		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, in->socket, 0) < 0) {
			zmq_msg_close(&part);
			if (n == 0) {
				return; /* nothing was there after all (EINTR, EAGAIN) */
			}
			break;
		}
		more = zmq_msg_more(&part);
		if (n < KEEP) {
			parts[n] = part;
		} else {
			zmq_msg_close(&part);
		}
		n++;
	}
	atomic_fetch_add(&in->messages, 1);
	struct tc_frame frames[KEEP] = {{0}};
	for (int i = 0; i < n && i < KEEP; i++) {
		frames[i] = (struct tc_frame){zmq_msg_data(&parts[i]), zmq_msg_size(&parts[i])};
	}
	struct tc_reading_sink sink = {accept_reading, reject_reading, in};
	/* The parser rejects more than KEEP frames by their count alone, without
	 * reading them: only the first KEEP are kept. */
	tc_message_parse(frames, n, in->width, (size_t)in->cfg.max_message_bytes, &sink);
	for (int i = 0; i < n && i < KEEP; i++) {
		zmq_msg_close(&parts[i]);
	}
}

static void *run(void *arg)
{
	struct tc_ingest *in = arg;
	zmq_pollitem_t item = {.socket = in->socket, .events = ZMQ_POLLIN};
	while (!atomic_load(&in->stop)) {
		int ready = zmq_poll(&item, 1, POLL_MS);
		if (ready > 0 && (item.revents & ZMQ_POLLIN)) {
			receive_and_parse(in);
		}
	}
	return NULL;
}

int tc_ingest_start(struct tc_ingest *in, char *err)
{
	if (pthread_create(&in->thread, NULL, run, in) != 0) {
		return tc_err_set(err, "cannot start the ingest thread");
	}
	pthread_setname_np(in->thread, "tc-ingest"); /* for top -H and gdb */
	in->started = 1;
	return 0;
}

void tc_ingest_destroy(struct tc_ingest **inp)
{
	if (!inp || !*inp) {
		return;
	}
	struct tc_ingest *in = *inp;
	if (in->started) {
		atomic_store(&in->stop, 1);
		pthread_join(in->thread, NULL);
	}
	if (in->socket) {
		int linger = 0;
		zmq_setsockopt(in->socket, ZMQ_LINGER, &linger, sizeof linger);
		zmq_close(in->socket);
	}
	free(in);
	*inp = NULL;
}

void tc_ingest_get_counts(const struct tc_ingest *in, struct tc_ingest_counts *c)
{
	c->messages = atomic_load(&in->messages);
	c->queued = atomic_load(&in->queued);
	for (int i = 0; i < TC_REJECT__COUNT; i++) {
		c->rejected[i] = atomic_load(&in->rejected[i]);
	}
}
