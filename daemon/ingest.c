/* ingest.c -- receiving readings, parsing them on ingest.threads threads, queueing them in order.
 *
 * The receiving thread (tc-ingest) owns the SUB socket: it takes each
 * message off it into a ring of MESSAGES_PER_PARSER slots per parser and
 * numbers it. Parsers (tc-parse) claim messages in that order, parse them
 * side by side, each into its own tc_queue_local, and push to the queue in
 * turn: message k's readings go in after message k - 1's, so the queue sees
 * the order the socket delivered whatever the number of parsers. A full
 * ring holds the receiver back, leaving messages in ZeroMQ's queue (rcvhwm). */
#include "ingest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "error.h"
#include "log.h"
#include "message.h"
#include "sockets.h"

#define POLL_MS 100           /* how often the receiver looks at the stop flag */
#define REJECT_LOG_MS 10000   /* at most one log line per reason this often, per parser */
#define MESSAGES_PER_PARSER 4 /* ring slots: enough that no parser waits for the receiver */
#define KEEP 2                /* frames of a message kept; more are counted and refused */

struct message {
	zmq_msg_t parts[KEEP];
	int n;                       /* frames received */
};

struct parser {
	struct tc_ingest *in;
	pthread_t thread;
	int started;
	struct tc_queue_local *local;  /* the message being parsed's readings */
	struct tc_log_limit limits[TC_REJECT__COUNT];
};

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

	pthread_mutex_t lock;        /* guards the counts below */
	pthread_cond_t received;     /* a message to claim, or the receiver stopped */
	pthread_cond_t pushed;       /* a message's turn passed: room, or another's turn */
	struct message *ring;        /* [n_ring]: message k in slot k % n_ring */
	uint64_t n_ring;
	uint64_t n_received, n_claimed, n_pushed; /* messages, counted from 0 */
	int receiving;               /* 0 once the receiver has stopped */
	int n_parsers;
	struct parser *parsers;      /* [n_parsers] */
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
	in->n_parsers = cfg->threads > 0 ? cfg->threads : 1;
	in->n_ring = (uint64_t)in->n_parsers * MESSAGES_PER_PARSER;
	pthread_mutex_init(&in->lock, NULL);
	pthread_cond_init(&in->received, NULL);
	pthread_cond_init(&in->pushed, NULL);
	in->ring = calloc(in->n_ring, sizeof *in->ring);
	in->parsers = calloc((size_t)in->n_parsers, sizeof *in->parsers);
	if (!in->ring || !in->parsers) {
		tc_err_set(err, "out of memory for ingest");
		tc_ingest_destroy(&in);
		return NULL;
	}
	for (int i = 0; i < in->n_parsers; i++) {
		struct parser *p = &in->parsers[i];
		p->in = in;
		for (int k = 0; k < TC_REJECT__COUNT; k++) {
			p->limits[k].interval_ms = REJECT_LOG_MS;
		}
		if (!(p->local = tc_queue_local_create(width))) {
			tc_err_set(err, "out of memory for ingest");
			tc_ingest_destroy(&in);
			return NULL;
		}
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

/* ---- parsing ------------------------------------------------------------ */

static void reject_reading(void *ud, enum tc_reject why, const char *detail)
{
	struct parser *p = ud;
	atomic_fetch_add(&p->in->rejected[why], 1);
	tc_log_limited(&p->limits[why], TC_LOG_WARNING, "ingest: rejected (%s): %s",
		tc_reject_to_string(why), detail);
}

static void accept_reading(void *ud, const struct tc_reading *r)
{
	struct parser *p = ud;
	if (tc_queue_local_add(p->local, r) < 0) {
		reject_reading(p, TC_REJECT_OUT_OF_MEMORY, "no memory to queue it for the tick thread");
	}
}

/* Parses message m into p's local buffer. The parser rejects more than
 * KEEP frames by their count alone, without reading them. */
static void parse(struct parser *p, const struct message *m)
{
	struct tc_frame frames[KEEP] = {{0}};
	for (int i = 0; i < m->n && i < KEEP; i++) {
		frames[i] = (struct tc_frame){zmq_msg_data((zmq_msg_t *)&m->parts[i]),
			zmq_msg_size((zmq_msg_t *)&m->parts[i])};
	}
	struct tc_reading_sink sink = {accept_reading, reject_reading, p};
	tc_message_parse(frames, m->n, p->in->width, (size_t)p->in->cfg.max_message_bytes, &sink);
}

/* Hands p's readings to the queue; they are counted as queued, or as
 * out_of_memory when the queue could not take them. */
static void push(struct parser *p)
{
	size_t n = tc_queue_local_count(p->local);
	int rc = n ? tc_queue_push(p->in->queue, p->local) : 0;
	if (rc == 0) {
		atomic_fetch_add(&p->in->queued, n);
	} else if (rc == TC_QUEUE_NO_MEMORY) {
		char detail[96];
		snprintf(detail, sizeof detail, "no memory to queue a message's %zu readings", n);
		atomic_fetch_add(&p->in->rejected[TC_REJECT_OUT_OF_MEMORY], n - 1);
		reject_reading(p, TC_REJECT_OUT_OF_MEMORY, detail);
	}
}

static void close_message(struct message *m)
{
	for (int i = 0; i < m->n && i < KEEP; i++) {
		zmq_msg_close(&m->parts[i]);
	}
	m->n = 0;
}

/* A parser: claims the next message, parses it, waits for its turn,
 * pushes, until the receiver has stopped and every message is done. */
static void *parse_loop(void *arg)
{
	struct parser *p = arg;
	struct tc_ingest *in = p->in;
	pthread_mutex_lock(&in->lock);
	for (;;) {
		while (in->n_claimed == in->n_received && in->receiving) {
			pthread_cond_wait(&in->received, &in->lock);
		}
		if (in->n_claimed == in->n_received) {
			break;
		}
		uint64_t k = in->n_claimed++;
		struct message *m = &in->ring[k % in->n_ring];
		pthread_mutex_unlock(&in->lock);
		parse(p, m);
		pthread_mutex_lock(&in->lock);
		while (in->n_pushed != k) {
			pthread_cond_wait(&in->pushed, &in->lock);
		}
		pthread_mutex_unlock(&in->lock);
		push(p);
		close_message(m);
		pthread_mutex_lock(&in->lock);
		in->n_pushed++;
		pthread_cond_broadcast(&in->pushed);
	}
	pthread_mutex_unlock(&in->lock);
	return NULL;
}

/* ---- receiving ---------------------------------------------------------- */

/* Receives the rest of a message into m; frames past KEEP are counted, so
 * that the parser can reject the message, and released at once. Returns
 * 0, or -1 when nothing was there after all (EINTR, EAGAIN). */
static int receive(struct tc_ingest *in, struct message *m)
{
	int more = 1;
	m->n = 0;
	while (more) {
		zmq_msg_t part;
		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, in->socket, 0) < 0) {
			zmq_msg_close(&part);
			if (m->n == 0) {
				return -1;
			}
			break;
		}
		more = zmq_msg_more(&part);
		if (m->n < KEEP) {
			m->parts[m->n] = part;
		} else {
			zmq_msg_close(&part);
		}
		m->n++;
	}
	atomic_fetch_add(&in->messages, 1);
	return 0;
}

/* The receiver: a message into the next free ring slot, until stopped. */
static void *receive_loop(void *arg)
{
	struct tc_ingest *in = arg;
	zmq_pollitem_t item = {.socket = in->socket, .events = ZMQ_POLLIN};
	for (;;) {
		pthread_mutex_lock(&in->lock);
		while (in->n_received - in->n_pushed == in->n_ring && !atomic_load(&in->stop)) {
			pthread_cond_wait(&in->pushed, &in->lock);
		}
		struct message *m = &in->ring[in->n_received % in->n_ring];
		pthread_mutex_unlock(&in->lock);
		if (atomic_load(&in->stop)) {
			break;
		}
		int ready = zmq_poll(&item, 1, POLL_MS);
		if (ready > 0 && (item.revents & ZMQ_POLLIN) && receive(in, m) == 0) {
			pthread_mutex_lock(&in->lock);
			in->n_received++;
			pthread_cond_signal(&in->received);
			pthread_mutex_unlock(&in->lock);
		}
	}
	pthread_mutex_lock(&in->lock);
	in->receiving = 0;
	pthread_cond_broadcast(&in->received);
	pthread_mutex_unlock(&in->lock);
	return NULL;
}

int tc_ingest_start(struct tc_ingest *in, char *err)
{
	in->receiving = 1;
	for (int i = 0; i < in->n_parsers; i++) {
		struct parser *p = &in->parsers[i];
		if (pthread_create(&p->thread, NULL, parse_loop, p) != 0) {
			return tc_err_set(err, "cannot start ingest's parsing threads");
		}
		pthread_setname_np(p->thread, "tc-parse");
		p->started = 1;
	}
	if (pthread_create(&in->thread, NULL, receive_loop, in) != 0) {
		return tc_err_set(err, "cannot start the ingest thread");
	}
	pthread_setname_np(in->thread, "tc-ingest"); /* for top -H and gdb */
	in->started = 1;
	return 0;
}

/* Stops the receiver; the parsers finish the messages received, then stop.
 * Parsers without a receiver (it failed to start) are told directly. */
static void stop_threads(struct tc_ingest *in)
{
	pthread_mutex_lock(&in->lock);
	atomic_store(&in->stop, 1);
	pthread_cond_broadcast(&in->pushed); /* a receiver waiting for room */
	pthread_mutex_unlock(&in->lock);
	if (in->started) {
		pthread_join(in->thread, NULL);
	} else {
		pthread_mutex_lock(&in->lock);
		in->receiving = 0;
		pthread_cond_broadcast(&in->received);
		pthread_mutex_unlock(&in->lock);
	}
	for (int i = 0; i < in->n_parsers; i++) {
		if (in->parsers[i].started) {
			pthread_join(in->parsers[i].thread, NULL);
		}
	}
}

void tc_ingest_destroy(struct tc_ingest **inp)
{
	if (!inp || !*inp) {
		return;
	}
	struct tc_ingest *in = *inp;
	if (in->parsers) {
		stop_threads(in);
		for (int i = 0; i < in->n_parsers; i++) {
			tc_queue_local_destroy(&in->parsers[i].local);
		}
	}
	if (in->socket) {
		int linger = 0;
		zmq_setsockopt(in->socket, ZMQ_LINGER, &linger, sizeof linger);
		zmq_close(in->socket);
	}
	free(in->parsers);
	free(in->ring);
	pthread_cond_destroy(&in->received);
	pthread_cond_destroy(&in->pushed);
	pthread_mutex_destroy(&in->lock);
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
