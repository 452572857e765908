/* queue.c -- the double-buffered reading queue between ingest and ticks. */
#include "queue.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "error.h"
#include "log.h"

struct buffer {
	size_t n, cap;               /* readings */
	char *ids;                   /* every id's bytes, back to back */
	size_t ids_len, ids_cap;     /* bytes */
	size_t *id_off;              /* [cap] */
	uint8_t *id_len;             /* [cap] */
	double *time;                /* [cap], NAN when the reading had none */
	float *values;               /* [cap x width] */
};

struct tc_queue_local {
	int width;
	struct buffer b;
};

struct tc_queue {
	int width;
	size_t max_readings;
	size_t max_bytes;            /* of a buffer's readings: ids, offsets, lengths, times, values */
	pthread_mutex_t lock;
	pthread_cond_t filled;       /* signalled on push and close */
	pthread_cond_t drained;      /* signalled on take and close */
	struct buffer bufs[2];
	struct buffer *filling;      /* ingest appends here, under lock */
	struct buffer *taken;        /* the tick thread reads here, no lock */
	int closed;
};

struct tc_queue *tc_queue_create(int width, size_t max_readings, size_t max_bytes, char *err)
{
	struct tc_queue *q = calloc(1, sizeof *q);
	if (!q) {
		tc_err_set(err, "out of memory for the reading queue");
		return NULL;
	}
	q->width = width;
	q->max_readings = max_readings;
	q->max_bytes = max_bytes;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->filled, &attr);
	pthread_cond_init(&q->drained, &attr);
	pthread_condattr_destroy(&attr);
	q->filling = &q->bufs[0];
	q->taken = &q->bufs[1];
	return q;
}

static void buffer_finish(struct buffer *b)
{
	free(b->ids);
	free(b->id_off);
	free(b->id_len);
	free(b->time);
	free(b->values);
}

void tc_queue_destroy(struct tc_queue **qp)
{
	if (!qp || !*qp) {
		return;
	}
	struct tc_queue *q = *qp;
	buffer_finish(&q->bufs[0]);
	buffer_finish(&q->bufs[1]);
	pthread_cond_destroy(&q->filled);
	pthread_cond_destroy(&q->drained);
	pthread_mutex_destroy(&q->lock);
	free(q);
	*qp = NULL;
}

/* Makes b hold `more` readings with id_bytes of ids more. Returns 0 or -1. */
static int reserve(struct buffer *b, int width, size_t more, size_t id_bytes)
{
	if (b->cap - b->n < more) {
		size_t cap = b->cap ? 2 * b->cap : 4096;
		while (cap - b->n < more) {
			cap *= 2;
		}
		if (tc_array_grow((void **)&b->id_off, cap, sizeof *b->id_off) < 0
			|| tc_array_grow((void **)&b->id_len, cap, sizeof *b->id_len) < 0
			|| tc_array_grow((void **)&b->time, cap, sizeof *b->time) < 0
			|| tc_array_grow((void **)&b->values, cap, (size_t)width * sizeof *b->values) < 0) {
			return -1;
		}
		b->cap = cap;
	}
	if (!b->ids || b->ids_len + id_bytes > b->ids_cap) { /* never NULL: empty ids point in it */
		size_t cap = b->ids_cap ? 2 * b->ids_cap : 65536;
		while (cap < b->ids_len + id_bytes) {
			cap *= 2;
		}
		if (tc_array_grow((void **)&b->ids, cap, 1) < 0) {
			return -1;
		}
		b->ids_cap = cap;
	}
	return 0;
}

/* Bytes of a buffer's readings: ids, offsets, lengths, times, values. */
static size_t bytes_of(const struct tc_queue *q, const struct buffer *b)
{
	size_t per_reading = sizeof *b->id_off + sizeof *b->id_len + sizeof *b->time
		+ (size_t)q->width * sizeof *b->values;
	return b->ids_len + b->n * per_reading;
}

/* Whether src must wait for the tick thread to take: with it the filling
 * buffer would pass max_readings or max_bytes (an empty buffer takes any
 * batch, so that one larger than the bounds still passes). */
static int is_full(const struct tc_queue *q, const struct buffer *src)
{
	const struct buffer *b = q->filling;
	return b->n && (b->n + src->n > q->max_readings
		|| bytes_of(q, b) + bytes_of(q, src) > q->max_bytes);
}

/* Appends src's readings to dst. Returns 0, or -1 when dst cannot grow. */
static int append(struct buffer *dst, const struct buffer *src, int width)
{
	if (reserve(dst, width, src->n, src->ids_len) < 0) {
		return -1;
	}
	memcpy(dst->ids + dst->ids_len, src->ids, src->ids_len);
	for (size_t i = 0; i < src->n; i++) {
		dst->id_off[dst->n + i] = src->id_off[i] + dst->ids_len;
	}
	memcpy(dst->id_len + dst->n, src->id_len, src->n * sizeof *src->id_len);
	memcpy(dst->time + dst->n, src->time, src->n * sizeof *src->time);
	memcpy(dst->values + dst->n * (size_t)width, src->values,
		src->n * (size_t)width * sizeof *src->values);
	dst->n += src->n;
	dst->ids_len += src->ids_len;
	return 0;
}

struct tc_queue_local *tc_queue_local_create(int width)
{
	struct tc_queue_local *l = calloc(1, sizeof *l);
	if (l) {
		l->width = width;
	}
	return l;
}

void tc_queue_local_destroy(struct tc_queue_local **lp)
{
	if (!lp || !*lp) {
		return;
	}
	buffer_finish(&(*lp)->b);
	free(*lp);
	*lp = NULL;
}

int tc_queue_local_add(struct tc_queue_local *l, const struct tc_reading *r)
{
	struct buffer *b = &l->b;
	if (reserve(b, l->width, 1, r->id_len) < 0) {
		return TC_QUEUE_NO_MEMORY;
	}
	memcpy(b->ids + b->ids_len, r->id, r->id_len);
	b->id_off[b->n] = b->ids_len;
	b->id_len[b->n] = (uint8_t)r->id_len;
	b->ids_len += r->id_len;
	b->time[b->n] = r->has_time ? r->time : NAN;
	memcpy(b->values + b->n * (size_t)l->width, r->values, (size_t)l->width * sizeof(float));
	b->n++;
	return 0;
}

size_t tc_queue_local_count(const struct tc_queue_local *l)
{
	return l->b.n;
}

int tc_queue_push(struct tc_queue *q, struct tc_queue_local *l)
{
	pthread_mutex_lock(&q->lock);
	while (!q->closed && is_full(q, &l->b)) {
		pthread_cond_wait(&q->drained, &q->lock);
	}
	struct buffer *b = q->filling;
	int was_empty = b->n == 0;
	int rc = q->closed ? TC_QUEUE_CLOSED
		: append(b, &l->b, q->width) < 0 ? TC_QUEUE_NO_MEMORY : 0;
	if (rc == 0 && was_empty && b->n) {
		pthread_cond_signal(&q->filled);
	}
	pthread_mutex_unlock(&q->lock);
	l->b.n = 0;
	l->b.ids_len = 0;
	return rc;
}

size_t tc_queue_take(struct tc_queue *q, int64_t deadline_ms)
{
	struct timespec until = {
		.tv_sec = deadline_ms / 1000,
		.tv_nsec = (long)(deadline_ms % 1000) * 1000000L,
	};
	pthread_mutex_lock(&q->lock);
	while (!q->closed && q->filling->n == 0) {
		if (pthread_cond_timedwait(&q->filled, &q->lock, &until) == ETIMEDOUT) {
			break;
		}
	}
	struct buffer *done = q->taken;
	done->n = 0;
	done->ids_len = 0;
	q->taken = q->filling;
	q->filling = done;
	pthread_cond_broadcast(&q->drained);
	size_t n = q->taken->n;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void tc_queue_taken(const struct tc_queue *q, struct tc_reading_batch *b)
{
	const struct buffer *t = q->taken;
	*b = (struct tc_reading_batch){
		.n = t->n, .ids = t->ids, .id_off = t->id_off, .id_len = t->id_len, .time = t->time,
		.values = t->values,
	};
}

void tc_queue_close(struct tc_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = 1;
	pthread_cond_broadcast(&q->filled);
	pthread_cond_broadcast(&q->drained);
	pthread_mutex_unlock(&q->lock);
}
