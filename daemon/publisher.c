/* publisher.c -- the forecast queue (reused tick copies) and the thread that sends it on the PUB socket. */
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
#include "parallel_copy.h"
#include "sockets.h"

#define IDLE_WAIT_MS 100 /* longest sleep with nothing to send: the watchdog sees it turn */

/* One tick's forecasts, copied for the publisher thread. An entry's buffers
 * are kept from tick to tick and grow (by half at least) only for a tick
 * larger than any it held before: in a steady state nothing is allocated. */
struct entry {
	struct tc_forecast_copy copy;  /* what the formatting pool reads */
	size_t id_end_cap;           /* series copy.id_end holds */
	size_t warm_cap;             /* series warm_buf holds */
	size_t outputs_cap;          /* floats copy.outputs holds */
	size_t ids_cap;              /* bytes copy.ids holds */
	uint8_t *warm_buf;           /* copy.warm is it, or NULL without a scaler */
	size_t lower_cap, upper_cap; /* floats lower_buf and upper_buf hold */
	float *lower_buf, *upper_buf; /* copy.lower and upper are them, or NULL without intervals */
	size_t anomalies_cap;        /* events copy.anomalies holds */
};

/* The entries are queue_ticks + 1: at most queue_ticks wait and one is being
 * sent. The tick thread fills a free one (taken off `free_stack` under the
 * lock, filled without it) and queues it; the publisher thread takes the
 * oldest, sends it and gives it back. The free entries are a stack, so that
 * the entry just sent is the next one filled: while publishing keeps up, one
 * or two entries are ever used and the others never allocate. */
struct tc_publisher {
	struct tc_publish_config cfg;
	void *socket;
	pthread_t thread;
	int started;
	struct tc_format_pool *pool; /* formats for the publisher thread; from start on */
	struct entry *entries;       /* [n_entries] */
	int n_entries;               /* cfg.queue_ticks + 1 */
	pthread_mutex_t lock;        /* guards what follows, up to `stopping` */
	pthread_cond_t wake;         /* for the publisher thread: a tick was queued, or stopping */
	pthread_cond_t room;         /* for the tick thread: a queued tick began to be sent */
	int *waiting;                /* [n_entries]: queued entries, a ring, oldest at waiting_head */
	int waiting_head;
	int n_waiting;               /* at most cfg.queue_ticks */
	int *free_stack;             /* [n_entries]: entries neither queued, filled nor sent */
	int n_free;
	int stopping;
	atomic_uint_fast64_t waits;  /* wait_room calls that found the queue full */
	atomic_uint_fast64_t growths; /* fills that grew an entry's buffers */
	struct tc_log_limit wait_log;
	atomic_uint_fast64_t forecasts;
	atomic_uint_fast64_t messages;
	atomic_uint_fast64_t anomalies;
	char *topic;                 /* scratch: prefix + id */
	size_t prefix_len;
	char *anomaly_topic;         /* scratch: anomaly prefix + id */
	size_t anomaly_prefix_len;
	_Atomic int64_t last_turn_ms; /* tc_now_ms() at the thread's last turn or idle wake-up */
};

/* A sign of life for the watchdog (tc_publisher_last_turn_ms). */
static void note_progress(struct tc_publisher *p)
{
	atomic_store(&p->last_turn_ms, tc_now_ms());
}

struct tc_publisher *tc_publisher_create(void *ctx, const struct tc_publish_config *cfg,
	const char *anomaly_prefix, struct tc_curve *curve, char *err)
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
	p->anomaly_prefix_len = strlen(anomaly_prefix);
	p->anomaly_topic = malloc(p->anomaly_prefix_len + TC_ID_MAX + 1);
	p->n_entries = cfg->queue_ticks + 1;
	p->entries = calloc((size_t)p->n_entries, sizeof *p->entries);
	p->waiting = calloc((size_t)p->n_entries, sizeof *p->waiting);
	p->free_stack = calloc((size_t)p->n_entries, sizeof *p->free_stack);
	for (int e = 0; p->free_stack && e < p->n_entries; e++) {
		p->free_stack[p->n_free++] = p->n_entries - 1 - e; /* entry 0 on top */
	}
	if (!p->topic || !p->anomaly_topic || !p->entries || !p->waiting || !p->free_stack) {
		tc_err_set(err, "out of memory for the publisher");
		tc_publisher_destroy(&p, 0);
		return NULL;
	}
	memcpy(p->topic, cfg->topic_prefix, p->prefix_len);
	memcpy(p->anomaly_topic, anomaly_prefix, p->anomaly_prefix_len);
	p->socket = zmq_socket(ctx, ZMQ_PUB);
	if (!p->socket) {
		tc_err_set(err, "cannot create the publish socket: %s", zmq_strerror(zmq_errno()));
		tc_publisher_destroy(&p, 0);
		return NULL;
	}
	if (tc_socket_set_int(p->socket, ZMQ_SNDHWM, cfg->sndhwm, err) < 0
		|| tc_curve_apply(curve, p->socket, "publish", err) < 0
		|| tc_socket_bind_all(p->socket, "publish.bind", cfg->bind, cfg->n_bind, err) < 0) {
		tc_publisher_destroy(&p, 0);
		return NULL;
	}
	return p;
}

/* Sends one two-frame message: topic (topic_len bytes), then body. */
static void send_frames(struct tc_publisher *p, const char *topic, size_t topic_len,
	const char *body, size_t body_len)
{
	if (zmq_send(p->socket, topic, topic_len, ZMQ_SNDMORE) < 0) {
		return; /* ETERM: the context is going away */
	}
	if (zmq_send(p->socket, body, body_len, 0) < 0) {
		zmq_send(p->socket, "", 0, 0); /* end the message, so the next one stays whole */
		return;
	}
	atomic_fetch_add(&p->messages, 1);
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
	send_frames(p, topic, p->prefix_len + id_len, body, body_len);
}

/* The pool's send for an anomaly event: its topic the anomaly prefix and
 * the series id. Publisher thread only. */
static void send_anomaly(void *arg, const char *id, size_t id_len, const char *body,
	size_t body_len)
{
	struct tc_publisher *p = arg;
	memcpy(p->anomaly_topic + p->anomaly_prefix_len, id, id_len);
	send_frames(p, p->anomaly_topic, p->anomaly_prefix_len + id_len, body, body_len);
}

/* The tick's forecasts, then its anomaly events. */
static void send_entry(struct tc_publisher *p, const struct entry *e)
{
	size_t sent = tc_format_pool_run(p->pool, &e->copy, send_message, p);
	if (sent < e->copy.n) {
		tc_log_error("out of memory formatting forecasts: %zu not published", e->copy.n - sent);
	}
	atomic_fetch_add(&p->forecasts, sent);
	atomic_fetch_add(&p->anomalies, tc_format_pool_anomalies(p->pool, &e->copy, send_anomaly,
		p));
}

static void entry_free(struct entry *e)
{
	free(e->copy.ids);
	free(e->copy.id_end);
	free(e->copy.outputs);
	free(e->warm_buf);
	free(e->lower_buf);
	free(e->upper_buf);
	free(e->copy.anomalies);
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

/* Sends the queued entries, oldest first, until stopping finds none. */
static void *run(void *arg)
{
	struct tc_publisher *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		note_progress(p);
		while (!p->n_waiting && !p->stopping) {
			idle_wait(p);
		}
		if (!p->n_waiting) {
			break;
		}
		int e = p->waiting[p->waiting_head];
		p->waiting_head = (p->waiting_head + 1) % p->n_entries;
		p->n_waiting--;
		pthread_cond_signal(&p->room);
		pthread_mutex_unlock(&p->lock);
		send_entry(p, &p->entries[e]);
		pthread_mutex_lock(&p->lock);
		p->free_stack[p->n_free++] = e;
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

/* Makes *buf (*cap items of size bytes) hold need items, growing it by half
 * at least. Returns 1 when it grew, 0 when it held them, -1 out of memory. */
static int reserve(void **buf, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap) {
		return 0;
	}
	size_t grown_cap = need > *cap + *cap / 2 ? need : *cap + *cap / 2;
	void *grown = realloc(*buf, grown_cap * size);
	if (!grown) {
		return -1;
	}
	*buf = grown;
	*cap = grown_cap;
	return 1;
}

/* Copies the ids of f's series back to back into c->ids, ending each at
 * c->id_end[i] (which must hold f->n). Returns as reserve. */
static int copy_ids(struct entry *e, const struct tc_forecasts *f)
{
	struct tc_forecast_copy *c = &e->copy;
	size_t bytes = tc_forecasts_id_ends(f, c->id_end);
	int grew = reserve((void **)&c->ids, &e->ids_cap, bytes ? bytes : 1, 1);
	if (grew >= 0) {
		tc_forecasts_copy_ids(f, c->id_end, c->ids);
	}
	return grew;
}

/* Whether f's forecasts come with intervals (both bounds). */
static int has_interval(const struct tc_forecasts *f)
{
	return f->lower && f->upper;
}

/* Anomaly events of f. */
static size_t n_events(const struct tc_forecasts *f)
{
	return f->anomalies ? f->n_anomalies : 0;
}

/* Copies f's intervals and anomaly events into e, whose buffers hold them;
 * NULL and none when f has none. */
static void copy_extras(struct entry *e, const struct tc_forecasts *f, size_t outs)
{
	struct tc_forecast_copy *c = &e->copy;
	c->lower = has_interval(f) ? e->lower_buf : NULL;
	c->upper = has_interval(f) ? e->upper_buf : NULL;
	if (c->lower) {
		tc_parallel_copy(c->lower, f->lower, outs * sizeof *c->lower);
		tc_parallel_copy(c->upper, f->upper, outs * sizeof *c->upper);
	}
	c->n_anomalies = n_events(f);
	if (c->n_anomalies) {
		memcpy(c->anomalies, f->anomalies, c->n_anomalies * sizeof *c->anomalies);
	}
}

/* Copies f into e, growing e's buffers when f is larger than they are.
 * Returns as reserve. */
static int entry_fill(struct entry *e, const struct tc_forecasts *f)
{
	struct tc_forecast_copy *c = &e->copy;
	size_t outs = f->n * (size_t)f->n_outputs;
	int interval = has_interval(f);
	/* Each of -1, 0 and 1: or-ed, -1 (all bits set) wins, then 1. */
	int grew = reserve((void **)&c->id_end, &e->id_end_cap, f->n, sizeof *c->id_end)
		| (f->warm ? reserve((void **)&e->warm_buf, &e->warm_cap, f->n, 1) : 0)
		| reserve((void **)&c->outputs, &e->outputs_cap, outs, sizeof *c->outputs)
		| (interval ? reserve((void **)&e->lower_buf, &e->lower_cap, outs, sizeof (float)) : 0)
		| (interval ? reserve((void **)&e->upper_buf, &e->upper_cap, outs, sizeof (float)) : 0)
		| (n_events(f) ? reserve((void **)&c->anomalies, &e->anomalies_cap, n_events(f),
			sizeof *c->anomalies) : 0);
	if (grew < 0) {
		return -1;
	}
	int grew_ids = copy_ids(e, f);
	if (grew_ids < 0) {
		return -1;
	}
	c->bucket_ms = f->bucket_ms;
	c->n = f->n;
	c->n_outputs = f->n_outputs;
	tc_parallel_copy(c->outputs, f->outputs, outs * sizeof *c->outputs);
	c->warm = f->warm ? e->warm_buf : NULL;
	if (f->warm) {
		memcpy(e->warm_buf, f->warm, f->n);
	}
	copy_extras(e, f, outs);
	return grew | grew_ids;
}

/* Whether a tick can be queued now: fewer than queue_ticks wait (then an
 * entry is free, as only the one being sent is neither free nor waiting).
 * Lock held. */
static int has_room(const struct tc_publisher *p)
{
	return p->n_waiting < p->cfg.queue_ticks && p->n_free > 0;
}

void tc_publisher_wait_room(struct tc_publisher *p)
{
	int waited = 0;
	pthread_mutex_lock(&p->lock);
	while (p->started && !has_room(p)) {
		waited = 1;
		pthread_cond_wait(&p->room, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	if (waited) {
		atomic_fetch_add(&p->waits, 1);
		tc_log_limited(&p->wait_log, TC_LOG_WARNING,
			"publisher: %d ticks waited to be sent (publish.queue_ticks), so the tick thread "
			"waited: forecasts are written and sent slower than ticks close",
			p->cfg.queue_ticks);
	}
}

/* A free entry is taken under the lock, filled without it (the publisher
 * thread does not look at it until it is queued), then queued. */
int tc_publisher_submit(struct tc_publisher *p, const struct tc_forecasts *f, char *err)
{
	if (f->n == 0) {
		return 0;
	}
	pthread_mutex_lock(&p->lock);
	int e = has_room(p) ? p->free_stack[--p->n_free] : -1;
	pthread_mutex_unlock(&p->lock);
	if (e < 0) {
		return tc_err_set(err, "%d ticks already wait to be sent (publish.queue_ticks): the "
			"forecasts of %zu series were not published", p->cfg.queue_ticks, f->n);
	}
	int grew = entry_fill(&p->entries[e], f);
	pthread_mutex_lock(&p->lock);
	if (grew < 0) {
		p->free_stack[p->n_free++] = e;
		pthread_mutex_unlock(&p->lock);
		return tc_err_set(err, "out of memory copying the forecasts of %zu series: they were "
			"not published", f->n);
	}
	p->waiting[(p->waiting_head + p->n_waiting++) % p->n_entries] = e;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	atomic_fetch_add(&p->growths, (uint64_t)grew);
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
	for (int e = 0; p->entries && e < p->n_entries; e++) {
		entry_free(&p->entries[e]);
	}
	free(p->entries);
	free(p->waiting);
	free(p->free_stack);
	if (p->socket) {
		zmq_setsockopt(p->socket, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
		zmq_close(p->socket);
	}
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->room);
	pthread_mutex_destroy(&p->lock);
	free(p->topic);
	free(p->anomaly_topic);
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

uint64_t tc_publisher_anomalies(const struct tc_publisher *p)
{
	return atomic_load(&p->anomalies);
}

uint64_t tc_publisher_waits(const struct tc_publisher *p)
{
	return atomic_load(&p->waits);
}

int64_t tc_publisher_last_turn_ms(const struct tc_publisher *p)
{
	return atomic_load(&p->last_turn_ms);
}

uint64_t tc_publisher_growths(const struct tc_publisher *p)
{
	return atomic_load(&p->growths);
}
