/* publisher.c -- formatting and sending forecasts on the PUB socket. */
#include "publisher.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "error.h"
#include "forecast_binary.h"
#include "forecast_format.h"
#include "log.h"
#include "sockets.h"

_Static_assert(TC_ID_MAX == TC_FORECAST_BINARY_ID_MAX, "a series id fits a binary record");

/* One tick's forecasts, copied out of the tick engine. */
struct batch {
	struct batch *next;
	int64_t bucket_ms;
	size_t n;
	int n_outputs;
	char *ids;                   /* the ids back to back */
	size_t *id_end;              /* [n]: end offset of each id in ids */
	float *outputs;              /* [n x n_outputs] */
	uint8_t *warm;               /* [n]: 0 while a series warms up; NULL: no scaler */
};

struct tc_publisher {
	struct tc_publish_config cfg;
	void *socket;
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct batch *head, *tail;   /* queued, oldest first */
	int queued;                  /* batches in the queue; at most cfg.queue_ticks */
	pthread_cond_t room;         /* signalled when a batch leaves the queue */
	atomic_uint_fast64_t waits;  /* submits that found the queue full */
	struct tc_log_limit wait_log;
	int stopping;
	atomic_uint_fast64_t forecasts;
	atomic_uint_fast64_t messages;
	char *topic;                 /* scratch: prefix + id */
	size_t prefix_len;
	char *body;                  /* scratch: one forecast or one batch message */
	size_t body_cap;
};

struct tc_publisher *tc_publisher_create(void *ctx, const struct tc_publish_config *cfg,
	char *err)
{
	struct tc_publisher *p = calloc(1, sizeof *p);
	if (!p) {
		tc_err_set(err, "out of memory for the publisher");
		return NULL;
	}
	p->cfg = *cfg;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->room, NULL);
	p->wait_log.interval_ms = 10000;
	p->prefix_len = strlen(cfg->topic_prefix);
	p->topic = malloc(p->prefix_len + TC_ID_MAX + 1);
	memcpy(p->topic, cfg->topic_prefix, p->prefix_len);
	p->socket = zmq_socket(ctx, ZMQ_PUB);
	if (!p->socket || tc_socket_set_int(p->socket, ZMQ_SNDHWM, cfg->sndhwm, err) < 0
		|| tc_socket_bind_all(p->socket, "publish.bind", cfg->bind, cfg->n_bind, err) < 0) {
		tc_publisher_destroy(&p, 0);
		return NULL;
	}
	return p;
}

static void send_message(struct tc_publisher *p, const char *topic, size_t topic_len,
	const char *body, size_t body_len)
{
	zmq_send(p->socket, topic, topic_len, ZMQ_SNDMORE);
	zmq_send(p->socket, body, body_len, 0);
	atomic_fetch_add(&p->messages, 1);
}

/* Makes the body scratch hold at least need bytes. */
static int body_reserve(struct tc_publisher *p, size_t need)
{
	if (need <= p->body_cap) {
		return 0;
	}
	char *grown = realloc(p->body, need);
	if (!grown) {
		return -1;
	}
	p->body = grown;
	p->body_cap = need;
	return 0;
}

/* Series i's id in b: its bytes (no NUL) and their count. */
static const char *batch_id(const struct batch *b, size_t i, size_t *len)
{
	size_t start = i ? b->id_end[i - 1] : 0;
	*len = b->id_end[i] - start;
	return b->ids + start;
}

/* Text or JSON: a line per series, or lines packed into ~batch_bytes. */
static int send_text(struct tc_publisher *p, const struct batch *b)
{
	size_t line_max = tc_forecast_max_len(b->n_outputs);
	size_t cap = (size_t)p->cfg.batch_bytes + line_max + 1;
	if (body_reserve(p, cap) < 0) {
		return -1;
	}
	size_t used = 0;
	for (size_t i = 0; i < b->n; i++) {
		size_t id_len;
		const char *id = batch_id(b, i, &id_len);
		const float *y = b->outputs + i * (size_t)b->n_outputs;
		int warm = b->warm ? b->warm[i] : 1;
		if (p->cfg.batch_bytes == 0) {
			size_t len = tc_forecast_format(p->body, p->cfg.format, id, id_len, b->bucket_ms,
				y, b->n_outputs, warm);
			memcpy(p->topic + p->prefix_len, id, id_len);
			send_message(p, p->topic, p->prefix_len + id_len, p->body, len);
			continue;
		}
		used += tc_forecast_format(p->body + used, p->cfg.format, id, id_len, b->bucket_ms,
			y, b->n_outputs, warm);
		p->body[used++] = '\n';
		if (used >= (size_t)p->cfg.batch_bytes || i + 1 == b->n) {
			send_message(p, p->cfg.topic_prefix, p->prefix_len, p->body, used);
			used = 0;
		}
	}
	return 0;
}

/* Binary: a one-record batch per series, or records packed into batches of
 * ~batch_bytes; each message is a whole batch. */
static int send_binary(struct tc_publisher *p, const struct batch *b)
{
	int has_warm = b->warm != NULL;
	size_t record_max = tc_forecast_binary_record_size(TC_FORECAST_BINARY_ID_MAX, b->n_outputs,
		has_warm);
	size_t cap = TC_FORECAST_BINARY_HEADER_LEN + (size_t)p->cfg.batch_bytes + record_max;
	struct tc_forecast_binary_writer w;
	if (body_reserve(p, cap) < 0
		|| tc_forecast_binary_writer_init(&w, p->body, cap, b->n_outputs, has_warm,
			b->bucket_ms) < 0) {
		return -1;
	}
	for (size_t i = 0; i < b->n; i++) {
		size_t id_len;
		const char *id = batch_id(b, i, &id_len);
		const float *y = b->outputs + i * (size_t)b->n_outputs;
		/* Cannot fail: cap holds the header, batch_bytes and one more record. */
		tc_forecast_binary_writer_add(&w, id, id_len, y, b->warm ? b->warm[i] : 1);
		if (p->cfg.batch_bytes == 0) {
			memcpy(p->topic + p->prefix_len, id, id_len);
			send_message(p, p->topic, p->prefix_len + id_len, p->body, w.len);
		} else if (w.len >= (size_t)p->cfg.batch_bytes || i + 1 == b->n) {
			send_message(p, p->cfg.topic_prefix, p->prefix_len, p->body, w.len);
		} else {
			continue; /* the batch takes more records */
		}
		tc_forecast_binary_writer_init(&w, p->body, cap, b->n_outputs, has_warm, b->bucket_ms);
	}
	return 0;
}

static void send_batch(struct tc_publisher *p, const struct batch *b)
{
	int rc = p->cfg.format == TC_FORMAT_BINARY ? send_binary(p, b) : send_text(p, b);
	if (rc < 0) {
		tc_log_error("out of memory formatting forecasts: %zu not published", b->n);
		return;
	}
	atomic_fetch_add(&p->forecasts, b->n);
}

static void batch_free(struct batch *b)
{
	if (b) {
		free(b->ids);
		free(b->id_end);
		free(b->outputs);
		free(b->warm);
		free(b);
	}
}

static void *run(void *arg)
{
	struct tc_publisher *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stopping) {
			pthread_cond_wait(&p->wake, &p->lock);
		}
		struct batch *b = p->head;
		if (!b) {
			break;
		}
		p->head = b->next;
		if (!p->head) {
			p->tail = NULL;
		}
		p->queued--;
		pthread_cond_signal(&p->room);
		pthread_mutex_unlock(&p->lock);
		send_batch(p, b);
		batch_free(b);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int tc_publisher_start(struct tc_publisher *p, char *err)
{
	if (pthread_create(&p->thread, NULL, run, p) != 0) {
		return tc_err_set(err, "cannot start the publisher thread");
	}
	p->started = 1;
	return 0;
}

static struct batch *batch_copy(const struct tc_forecasts *f)
{
	struct batch *b = calloc(1, sizeof *b);
	if (!b) {
		return NULL;
	}
	b->bucket_ms = f->bucket_ms;
	b->n = f->n;
	b->n_outputs = f->n_outputs;
	size_t outs = f->n * (size_t)f->n_outputs;
	b->id_end = malloc((f->n + 1) * sizeof *b->id_end);
	b->outputs = malloc(outs * sizeof *b->outputs + 1);
	b->warm = f->warm ? malloc(f->n) : NULL;
	if (!b->id_end || !b->outputs || (f->warm && !b->warm)) {
		batch_free(b);
		return NULL;
	}
	size_t used = 0;
	for (size_t i = 0; i < f->n; i++) {
		size_t len;
		tc_registry_id(f->registry, f->slots[i], &len);
		used += len;
		b->id_end[i] = used;
	}
	if (!(b->ids = malloc(used + 1))) {
		batch_free(b);
		return NULL;
	}
	for (size_t i = 0; i < f->n; i++) {
		size_t start = i ? b->id_end[i - 1] : 0;
		memcpy(b->ids + start, tc_registry_id(f->registry, f->slots[i], NULL),
			b->id_end[i] - start);
	}
	memcpy(b->outputs, f->outputs, outs * sizeof *b->outputs);
	if (b->warm) {
		memcpy(b->warm, f->warm, f->n);
	}
	return b;
}

/* Blocks the caller (the tick thread) while cfg.queue_ticks ticks wait to
 * be sent: nothing is dropped, and the wait backs up into the reading queue
 * and ZeroMQ's, bounding the memory a slow publisher can take. Lock held. */
static void wait_for_room(struct tc_publisher *p)
{
	if (p->queued < p->cfg.queue_ticks || !p->started) {
		return;
	}
	atomic_fetch_add(&p->waits, 1);
	tc_log_limited(&p->wait_log, TC_LOG_WARNING,
		"publisher: %d ticks wait to be sent (publish.queue_ticks); the tick thread waits "
		"for them: forecasts are written and sent slower than ticks close", p->queued);
	while (p->queued >= p->cfg.queue_ticks) {
		pthread_cond_wait(&p->room, &p->lock);
	}
}

int tc_publisher_submit(struct tc_publisher *p, const struct tc_forecasts *f)
{
	if (f->n == 0) {
		return 0;
	}
	struct batch *b = batch_copy(f);
	if (!b) {
		return -1;
	}
	pthread_mutex_lock(&p->lock);
	wait_for_room(p);
	if (p->tail) {
		p->tail->next = b;
	} else {
		p->head = b;
	}
	p->tail = b;
	p->queued++;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void tc_publisher_destroy(struct tc_publisher **pp, int linger_ms)
{
	if (!pp || !*pp) {
		return;
	}
	struct tc_publisher *p = *pp;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->stopping = 1;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	while (p->head) {
		struct batch *next = p->head->next;
		batch_free(p->head);
		p->head = next;
	}
	if (p->socket) {
		zmq_setsockopt(p->socket, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
		zmq_close(p->socket);
	}
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->room);
	pthread_mutex_destroy(&p->lock);
	free(p->topic);
	free(p->body);
	free(p);
	*pp = NULL;
}

uint64_t tc_publisher_forecasts(const struct tc_publisher *p)
{
	return atomic_load(&p->forecasts);
}

uint64_t tc_publisher_messages(const struct tc_publisher *p)
{
	return atomic_load(&p->messages);
}

uint64_t tc_publisher_waits(const struct tc_publisher *p)
{
	return atomic_load(&p->waits);
}
