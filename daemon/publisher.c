/* publisher.c -- the forecast queue and the thread that sends it on the PUB socket. */
#include "publisher.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "error.h"
#include "format_pool.h"
#include "log.h"
#include "sockets.h"

#define IDLE_WAIT_MS 100 /* longest sleep with nothing to send: the watchdog sees it turn */

/* One tick's forecasts, queued. */
struct batch {
	struct batch *next;
	struct tc_forecast_copy copy;
};

struct tc_publisher {
	struct tc_publish_config cfg;
	void *socket;
	pthread_t thread;
	int started;
	struct tc_format_pool *pool; /* formats for the publisher thread; from start on */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct batch *head, *tail;   /* queued, oldest first */
	int queued;                  /* queued or being copied in; at most cfg.queue_ticks */
	pthread_cond_t room;         /* signalled when a batch leaves the queue */
	atomic_uint_fast64_t waits;  /* submits that found the queue full */
	struct tc_log_limit wait_log;
	int stopping;
	atomic_uint_fast64_t forecasts;
	atomic_uint_fast64_t messages;
	char *topic;                 /* scratch: prefix + id */
	size_t prefix_len;
	_Atomic int64_t last_turn_ms; /* tc_now_ms() at the thread's last turn or idle wake-up */
};

/* A sign of life for the watchdog (tc_publisher_last_turn_ms). */
static void note_progress(struct tc_publisher *p)
{
	atomic_store(&p->last_turn_ms, tc_now_ms());
}

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
	pthread_condattr_t monotonic;
	pthread_condattr_init(&monotonic);
	pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &monotonic); /* idle_wait's deadline is monotonic */
	pthread_condattr_destroy(&monotonic);
	pthread_cond_init(&p->room, NULL);
	p->wait_log.interval_ms = 10000;
	p->prefix_len = strlen(cfg->topic_prefix);
	p->topic = malloc(p->prefix_len + TC_ID_MAX + 1);
	if (!p->topic) {
		tc_err_set(err, "out of memory for the publisher");
		tc_publisher_destroy(&p, 0);
		return NULL;
	}
	memcpy(p->topic, cfg->topic_prefix, p->prefix_len);
	p->socket = zmq_socket(ctx, ZMQ_PUB);
	if (!p->socket) {
		tc_err_set(err, "cannot create the publish socket: %s", zmq_strerror(zmq_errno()));
		tc_publisher_destroy(&p, 0);
		return NULL;
	}
	if (tc_socket_set_int(p->socket, ZMQ_SNDHWM, cfg->sndhwm, err) < 0
		|| tc_socket_bind_all(p->socket, "publish.bind", cfg->bind, cfg->n_bind, err) < 0) {
		tc_publisher_destroy(&p, 0);
		return NULL;
	}
	return p;
}

/* The pool's send: one two-frame message, its topic the prefix and, for a
 * series' own message, the series id. Publisher thread only. */
static void send_message(void *arg, const char *id, size_t id_len, const char *body,
	size_t body_len)
{
	struct tc_publisher *p = arg;
	const char *topic = p->cfg.topic_prefix;
	if (id) {
		memcpy(p->topic + p->prefix_len, id, id_len);
		topic = p->topic;
	}
	if (zmq_send(p->socket, topic, p->prefix_len + id_len, ZMQ_SNDMORE) < 0) {
		return; /* ETERM: the context is going away */
	}
	if (zmq_send(p->socket, body, body_len, 0) < 0) {
		zmq_send(p->socket, "", 0, 0); /* end the message, so the next one stays whole */
		return;
	}
	atomic_fetch_add(&p->messages, 1);
}

static void send_batch(struct tc_publisher *p, const struct batch *b)
{
	size_t sent = tc_format_pool_run(p->pool, &b->copy, send_message, p);
	if (sent < b->copy.n) {
		tc_log_error("out of memory formatting forecasts: %zu not published", b->copy.n - sent);
	}
	atomic_fetch_add(&p->forecasts, sent);
}

static void batch_free(struct batch *b)
{
	if (b) {
		free(b->copy.ids);
		free(b->copy.id_end);
		free(b->copy.outputs);
		free(b->copy.warm);
		free(b);
	}
}

/* Waits (lock held) for a tick or stop, at most IDLE_WAIT_MS, and counts
 * waking up as progress: a publisher with nothing to send is not stuck. */
static void idle_wait(struct tc_publisher *p)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += IDLE_WAIT_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&p->wake, &p->lock, &until);
	note_progress(p);
}

static void *run(void *arg)
{
	struct tc_publisher *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		note_progress(p);
		while (!p->head && !p->stopping) {
			idle_wait(p);
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
	p->pool = tc_format_pool_create(p->cfg.format, p->cfg.batch_bytes, p->cfg.threads, err);
	if (!p->pool) {
		return -1;
	}
	note_progress(p);
	if (pthread_create(&p->thread, NULL, run, p) != 0) {
		tc_format_pool_destroy(&p->pool);
		return tc_err_set(err, "cannot start the publisher thread");
	}
	pthread_setname_np(p->thread, "tc-publish"); /* for top -H, gdb and the tests */
	p->started = 1;
	return 0;
}

/* Copies the ids of f's series back to back into c->ids, in one pass over
 * the registry (growing the buffer as it goes), with their ends in c->id_end. */
static int copy_ids(struct tc_forecast_copy *c, const struct tc_forecasts *f)
{
	size_t cap = f->n * 16 + TC_ID_MAX, used = 0;
	if (!(c->ids = malloc(cap))) {
		return -1;
	}
	for (size_t i = 0; i < f->n; i++) {
		size_t len;
		const char *id = tc_registry_id(f->registry, f->slots[i], &len);
		if (used + len > cap) {
			char *grown = realloc(c->ids, cap * 2);
			if (!grown) {
				return -1;
			}
			c->ids = grown;
			cap *= 2;
		}
		memcpy(c->ids + used, id, len);
		used += len;
		c->id_end[i] = used;
	}
	return 0;
}

static struct batch *batch_copy(const struct tc_forecasts *f)
{
	struct batch *b = calloc(1, sizeof *b);
	if (!b) {
		return NULL;
	}
	struct tc_forecast_copy *c = &b->copy;
	c->bucket_ms = f->bucket_ms;
	c->n = f->n;
	c->n_outputs = f->n_outputs;
	size_t outs = f->n * (size_t)f->n_outputs;
	c->id_end = malloc((f->n + 1) * sizeof *c->id_end);
	c->outputs = malloc(outs * sizeof *c->outputs + 1);
	c->warm = f->warm ? malloc(f->n) : NULL;
	if (!c->id_end || !c->outputs || (f->warm && !c->warm)) {
		batch_free(b);
		return NULL;
	}
	if (copy_ids(c, f) < 0) {
		batch_free(b);
		return NULL;
	}
	memcpy(c->outputs, f->outputs, outs * sizeof *c->outputs);
	if (c->warm) {
		memcpy(c->warm, f->warm, f->n);
	}
	return b;
}

/* Waits while cfg.queue_ticks ticks are queued (or reserved), once the
 * publisher runs. Lock held; returns whether it had to wait. */
static int wait_while_full(struct tc_publisher *p)
{
	int waited = 0;
	while (p->started && p->queued >= p->cfg.queue_ticks) {
		waited = 1;
		pthread_cond_wait(&p->room, &p->lock);
	}
	return waited;
}

/* Counts and logs (outside the lock) a hand-over that had to wait. */
static void note_wait(struct tc_publisher *p)
{
	atomic_fetch_add(&p->waits, 1);
	tc_log_limited(&p->wait_log, TC_LOG_WARNING,
		"publisher: %d ticks waited to be sent (publish.queue_ticks), so the tick thread "
		"waited: forecasts are written and sent slower than ticks close", p->cfg.queue_ticks);
}

void tc_publisher_wait_room(struct tc_publisher *p)
{
	pthread_mutex_lock(&p->lock);
	int waited = wait_while_full(p);
	pthread_mutex_unlock(&p->lock);
	if (waited) {
		note_wait(p);
	}
}

/* The tick's place in the queue is taken before it is copied, so at most
 * queue_ticks copies wait (and one is being sent): nothing is dropped, and
 * a slow publisher backs up into the reading queue and ZeroMQ's instead of
 * memory. */
int tc_publisher_submit(struct tc_publisher *p, const struct tc_forecasts *f)
{
	if (f->n == 0) {
		return 0;
	}
	pthread_mutex_lock(&p->lock);
	int waited = wait_while_full(p);
	p->queued++;
	pthread_mutex_unlock(&p->lock);
	if (waited) {
		note_wait(p);
	}
	struct batch *b = batch_copy(f);
	pthread_mutex_lock(&p->lock);
	if (!b) {
		p->queued--;
		pthread_cond_signal(&p->room);
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	if (p->tail) {
		p->tail->next = b;
	} else {
		p->head = b;
	}
	p->tail = b;
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
	tc_format_pool_destroy(&p->pool);
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

int64_t tc_publisher_last_turn_ms(const struct tc_publisher *p)
{
	return atomic_load(&p->last_turn_ms);
}
