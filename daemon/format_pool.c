/* format_pool.c -- formatting a tick in chunks, on the sending thread and any workers. */
#include "format_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly_format.h"
#include "error.h"
#include "forecast_binary.h"
#include "forecast_format.h"
#include "reading.h"

#define CHUNK_SERIES_MAX 16384       /* series a chunk holds at most */
#define CHUNK_BYTES ((size_t)4 << 20) /* about the most text a chunk should hold */

/* One chunk's messages, formatted and waiting to be sent. */
struct chunk {
	char *body;                  /* the message bodies back to back */
	size_t body_cap;             /* bytes allocated for body */
	size_t *end;                 /* [CHUNK_SERIES_MAX]: end offset of each message in body */
	size_t n_messages;
	size_t first, count;         /* the chunk is series [first, first + count) of the tick */
	int failed;                  /* out of memory: none of its forecasts is sent */
	int ready;                   /* formatted and not yet sent (under the pool's lock) */
};

struct tc_format_pool {
	enum tc_format format;
	size_t batch_bytes;          /* 0: a message per series; else ~bytes a message */
	int threads;                 /* the caller's and the workers' */
	pthread_t *workers;          /* [threads - 1], allocated one larger so never calloc(0) */
	int n_workers;               /* workers started */
	struct chunk *chunks;        /* [n_slots]: chunk i of a tick goes in chunks[i % n_slots] */
	size_t n_slots;
	char *event;                 /* [event_cap]: one anomaly event's body, the caller's */
	size_t event_cap;
	pthread_mutex_t lock;        /* guards what follows, and each chunk's ready */
	pthread_cond_t work;         /* for workers: a chunk may be claimed, or stopping */
	pthread_cond_t done;         /* for the caller: a chunk was formatted */
	const struct tc_forecast_copy *tick; /* the tick being formatted; NULL between runs */
	size_t chunk_series;         /* series a chunk of this tick holds */
	size_t n_chunks;             /* chunks of this tick */
	size_t next_claim;           /* the next chunk to format */
	size_t next_send;            /* the next chunk to send */
	int stopping;
};

/* tc_format_pool_run's send. */
typedef void send_fn(void *arg, const char *id, size_t id_len, const char *body, size_t len);

/* Makes *buf (*cap bytes) hold at least need bytes, at least doubling it. */
static int reserve(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap) {
		return 0;
	}
	size_t grown_cap = need > 2 * *cap ? need : 2 * *cap;
	char *grown = realloc(*buf, grown_cap);
	if (!grown) {
		return -1;
	}
	*buf = grown;
	*cap = grown_cap;
	return 0;
}

/* Series i's id in f: its bytes (no NUL) and their count. */
static const char *series_id(const struct tc_forecast_copy *f, size_t i, size_t *len)
{
	size_t start = i ? f->id_end[i - 1] : 0;
	*len = f->id_end[i] - start;
	return f->ids + start;
}

/* A message being written into a chunk's body. */
struct message {
	size_t start;                /* where it begins in the body */
	size_t len;                  /* its bytes so far; 0: not begun */
	struct tc_forecast_binary_writer w; /* binary: the batch it is */
};

/* Series i's forecast in f, borrowed from it. */
static struct tc_forecast_values forecast_values(const struct tc_forecast_copy *f, size_t i)
{
	size_t row = i * (size_t)f->n_outputs;
	return (struct tc_forecast_values){
		.y = f->outputs + row,
		.lower = f->lower ? f->lower + row : NULL,
		.upper = f->upper ? f->upper + row : NULL,
		.n = f->n_outputs,
		.warm = f->warm ? f->warm[i] : 1,
	};
}

/* Text or JSON: appends series i's line to m (with its newline when lines
 * are batched). */
static int append_line(const struct tc_format_pool *pool, const struct tc_forecast_copy *f,
	size_t i, struct chunk *c, struct message *m)
{
	size_t end = m->start + m->len;
	if (reserve(&c->body, &c->body_cap,
		end + tc_forecast_max_len(f->n_outputs, f->lower != NULL) + 1) < 0) {
		return -1;
	}
	size_t id_len;
	const char *id = series_id(f, i, &id_len);
	struct tc_forecast_values v = forecast_values(f, i);
	end += tc_forecast_format(c->body + end, pool->format, id, id_len, f->bucket_ms, &v);
	if (pool->batch_bytes > 0) {
		c->body[end++] = '\n';
	}
	m->len = end - m->start;
	return 0;
}

/* Binary: appends series i's record to m, first beginning the batch with
 * room for all it may take (it ends at batch_bytes or at the chunk's end,
 * `left` series away). */
static int append_record(const struct tc_format_pool *pool, const struct tc_forecast_copy *f,
	size_t i, size_t left, struct chunk *c, struct message *m)
{
	int has_warm = f->warm != NULL, has_interval = f->lower != NULL;
	if (m->len == 0) {
		size_t record_max = tc_forecast_binary_record_size(TC_ID_MAX,
			f->n_outputs, has_warm, has_interval);
		size_t most = pool->batch_bytes + record_max;
		most = most < left * record_max ? most : left * record_max;
		size_t cap = TC_FORECAST_BINARY_HEADER_LEN + most;
		if (reserve(&c->body, &c->body_cap, m->start + cap) < 0
			|| tc_forecast_binary_writer_init(&m->w, c->body + m->start, cap, f->n_outputs,
				has_warm, has_interval, f->bucket_ms) < 0) {
			return -1;
		}
	}
	size_t id_len;
	const char *id = series_id(f, i, &id_len);
	struct tc_forecast_values v = forecast_values(f, i);
	tc_forecast_binary_writer_add(&m->w, id, id_len, v.y, v.lower, v.upper, v.warm);
	m->len = m->w.len;
	return 0;
}

/* Sends series i's own message, with its id for the topic. */
static void send_own(send_fn *send, void *arg, const struct tc_forecast_copy *f, size_t i,
	const char *body, size_t len)
{
	size_t id_len;
	const char *id = series_id(f, i, &id_len);
	send(arg, id, id_len, body, len);
}

/* Formats c's series into messages back to back in c->body. The one rule
 * of batching, for every format: a message per series (batch_bytes 0), or
 * forecasts packed until the message reaches batch_bytes, never past the
 * chunk's end (so its last message may be shorter). Returns 0 or -1 out of
 * memory. */
static int format_chunk(const struct tc_format_pool *pool, const struct tc_forecast_copy *f,
	struct chunk *c)
{
	size_t last = c->first + c->count;
	struct message m = {0};
	for (size_t i = c->first; i < last; i++) {
		int rc = pool->format == TC_FORMAT_BINARY ? append_record(pool, f, i, last - i, c, &m)
			: append_line(pool, f, i, c, &m);
		if (rc < 0) {
			return -1;
		}
		if (pool->batch_bytes > 0 && m.len < pool->batch_bytes && i + 1 < last) {
			continue; /* the message takes more */
		}
		m.start += m.len;
		m.len = 0;
		c->end[c->n_messages++] = m.start;
	}
	return 0;
}

/* Whether the next chunk may be formatted: the tick has one left, and its
 * slot's previous chunk was sent. Lock held. */
static int claimable(const struct tc_format_pool *pool)
{
	return pool->tick && pool->next_claim < pool->n_chunks
		&& pool->next_claim < pool->next_send + pool->n_slots;
}

/* Claims the next chunk, formats it without the lock and marks it ready.
 * Lock held on entry and on return. */
static void format_next(struct tc_format_pool *pool)
{
	const struct tc_forecast_copy *f = pool->tick;
	size_t i = pool->next_claim++;
	struct chunk *c = &pool->chunks[i % pool->n_slots];
	c->first = i * pool->chunk_series;
	c->count = f->n - c->first < pool->chunk_series ? f->n - c->first : pool->chunk_series;
	pthread_mutex_unlock(&pool->lock);
	c->n_messages = 0;
	c->failed = format_chunk(pool, f, c) < 0;
	pthread_mutex_lock(&pool->lock);
	c->ready = 1;
	pthread_cond_signal(&pool->done);
}

static void *work(void *arg)
{
	struct tc_format_pool *pool = arg;
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (!pool->stopping && !claimable(pool)) {
			pthread_cond_wait(&pool->work, &pool->lock);
		}
		if (pool->stopping) {
			break;
		}
		format_next(pool);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

/* Sends c's messages; returns its forecasts sent. */
static size_t send_chunk(const struct tc_format_pool *pool, const struct tc_forecast_copy *f,
	const struct chunk *c, send_fn *send, void *arg)
{
	if (c->failed) {
		return 0;
	}
	size_t start = 0;
	for (size_t m = 0; m < c->n_messages; m++) {
		if (pool->batch_bytes == 0) {
			send_own(send, arg, f, c->first + m, c->body + start, c->end[m] - start);
		} else {
			send(arg, NULL, 0, c->body + start, c->end[m] - start);
		}
		start = c->end[m];
	}
	return c->count;
}

/* Series a chunk holds: CHUNK_SERIES_MAX, fewer when forecasts are so wide
 * that their text (~16 bytes an output) would pass CHUNK_BYTES. */
static size_t chunk_series(int n_outputs)
{
	size_t series = CHUNK_BYTES / (32 + 16 * (size_t)n_outputs);
	return series < 1 ? 1 : series > CHUNK_SERIES_MAX ? CHUNK_SERIES_MAX : series;
}

/* Formats f's chunks here and on the workers; sends each here, in order, as
 * soon as it is ready, formatting one itself only when none is. */
static size_t run_chunks(struct tc_format_pool *pool, const struct tc_forecast_copy *f,
	send_fn *send, void *arg)
{
	size_t sent = 0;
	pthread_mutex_lock(&pool->lock);
	pool->tick = f;
	pool->chunk_series = chunk_series(f->n_outputs);
	pool->n_chunks = (f->n + pool->chunk_series - 1) / pool->chunk_series;
	pool->next_claim = 0;
	pool->next_send = 0;
	pthread_cond_broadcast(&pool->work);
	while (pool->next_send < pool->n_chunks) {
		struct chunk *c = &pool->chunks[pool->next_send % pool->n_slots];
		if (c->ready) {
			pthread_mutex_unlock(&pool->lock);
			sent += send_chunk(pool, f, c, send, arg);
			pthread_mutex_lock(&pool->lock);
			c->ready = 0;
			pool->next_send++;
			pthread_cond_signal(&pool->work); /* its slot is free for a further chunk */
		} else if (claimable(pool)) {
			format_next(pool);
		} else {
			pthread_cond_wait(&pool->done, &pool->lock);
		}
	}
	pool->tick = NULL;
	pthread_mutex_unlock(&pool->lock);
	return sent;
}

size_t tc_format_pool_run(struct tc_format_pool *pool, const struct tc_forecast_copy *f,
	send_fn *send, void *arg)
{
	return f->n ? run_chunks(pool, f, send, arg) : 0;
}

size_t tc_format_pool_anomalies(struct tc_format_pool *pool, const struct tc_forecast_copy *f,
	send_fn *send, void *arg)
{
	size_t sent = 0;
	for (size_t e = 0; e < f->n_anomalies; e++) {
		const struct tc_anomaly *a = &f->anomalies[e];
		if (a->row >= f->n) {
			continue; /* not of this tick: the engine's mistake, not a subscriber's */
		}
		size_t id_len, len;
		const char *id = series_id(f, a->row, &id_len);
		if (pool->format == TC_FORMAT_BINARY) {
			struct tc_anomaly_binary_writer w;
			tc_anomaly_binary_writer_init(&w, pool->event, pool->event_cap, f->bucket_ms);
			tc_anomaly_binary_writer_add(&w, id, id_len, a);
			len = w.len;
		} else {
			len = tc_anomaly_format(pool->event, pool->format, id, id_len, f->bucket_ms, a);
		}
		send(arg, id, id_len, pool->event, len);
		sent++;
	}
	return sent;
}

struct tc_format_pool *tc_format_pool_create(enum tc_format format, int batch_bytes, int threads,
	char *err)
{
	struct tc_format_pool *pool = calloc(1, sizeof *pool);
	if (!pool) {
		tc_err_set(err, "out of memory for the formatting threads");
		return NULL;
	}
	pool->format = format;
	pool->batch_bytes = (size_t)batch_bytes;
	pool->threads = threads < 1 ? 1 : threads;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->work, NULL);
	pthread_cond_init(&pool->done, NULL);
	/* Alone, the caller formats a chunk and sends it before the next. */
	pool->n_slots = pool->threads > 1 ? 2 * (size_t)pool->threads : 1;
	pool->chunks = calloc(pool->n_slots, sizeof *pool->chunks);
	pool->workers = calloc((size_t)pool->threads, sizeof *pool->workers);
	size_t binary = TC_ANOMALY_BINARY_HEADER_LEN + tc_anomaly_binary_record_size(TC_ID_MAX);
	pool->event_cap = binary > tc_anomaly_format_max_len() ? binary : tc_anomaly_format_max_len();
	pool->event = malloc(pool->event_cap);
	if (!pool->chunks || !pool->workers || !pool->event) {
		tc_err_set(err, "out of memory for the formatting threads");
		goto err_destroy;
	}
	for (size_t s = 0; s < pool->n_slots; s++) {
		if (!(pool->chunks[s].end = malloc(CHUNK_SERIES_MAX * sizeof *pool->chunks[s].end))) {
			tc_err_set(err, "out of memory for the formatting threads");
			goto err_destroy;
		}
	}
	for (; pool->n_workers < pool->threads - 1; pool->n_workers++) {
		if (pthread_create(&pool->workers[pool->n_workers], NULL, work, pool) != 0) {
			tc_err_set(err, "cannot start formatting thread %d of %d (publish.threads)",
				pool->n_workers + 2, pool->threads);
			goto err_destroy;
		}
		pthread_setname_np(pool->workers[pool->n_workers], "tc-format"); /* for top -H */
	}
	return pool;

err_destroy:
	tc_format_pool_destroy(&pool);
	return NULL;
}

void tc_format_pool_destroy(struct tc_format_pool **pp)
{
	if (!pp || !*pp) {
		return;
	}
	struct tc_format_pool *pool = *pp;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->lock);
	for (int w = 0; w < pool->n_workers; w++) {
		pthread_join(pool->workers[w], NULL);
	}
	for (size_t s = 0; pool->chunks && s < pool->n_slots; s++) {
		free(pool->chunks[s].body);
		free(pool->chunks[s].end);
	}
	free(pool->chunks);
	free(pool->workers);
	free(pool->event);
	pthread_cond_destroy(&pool->done);
	pthread_cond_destroy(&pool->work);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
	*pp = NULL;
}
