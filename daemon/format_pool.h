/* format_pool.h -- a tick's forecasts made into messages, on the sending thread and any workers.
 *
 * Formatting is most of the publisher's work (about 0.3 s of one core for a
 * million text forecasts), while only the thread that owns the PUB socket may
 * send. A tick is cut into chunks of consecutive series (16384, fewer for
 * wide forecasts so that a chunk stays a few MB); the calling thread and, with
 * threads > 1, threads - 1 workers format chunks into buffers (one, or 2 x
 * threads of them, reused from tick to tick), and the calling thread alone
 * hands the messages to `send`, chunk by chunk in order, as soon as each chunk
 * is ready. Alone, the caller formats a chunk, sends it, then the next.
 * The tick's anomaly events follow, formatted and sent by the caller alone
 * (they are few), each into one buffer made when the pool is.
 *
 * The messages are those of publish.format and publish.batch_bytes
 * (publisher.h), in series order and with the same bytes on any thread count;
 * a batch message never holds forecasts of two chunks, so the last message of
 * a chunk may be shorter than batch_bytes.
 *
 *     void send_one(void *sock, const char *id, size_t id_len, const char *body, size_t len);
 *
 *     struct tc_format_pool *pool = tc_format_pool_create(TC_FORMAT_TEXT, 0, 2, err);
 *     size_t sent = tc_format_pool_run(pool, &copy, send_one, sock); // on sock's thread
 *     tc_format_pool_destroy(&pool);
 */
#ifndef TC_FORMAT_POOL_H
#define TC_FORMAT_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"
#include "config.h"

/* One tick's forecasts, copied out of the tick engine (the publisher owns it). */
struct tc_forecast_copy {
	int64_t bucket_ms;           /* the tick's start, ms since the epoch */
	size_t n;                    /* series */
	int n_outputs;
	char *ids;                   /* the ids back to back */
	size_t *id_end;              /* [n]: end offset of each id in ids */
	float *outputs;              /* [n x n_outputs] */
	uint8_t *warm;               /* [n]: 0 while a series warms up; NULL: no scaler */
	float *lower, *upper;        /* [n x n_outputs] each: the intervals; NULL: none */
	size_t n_anomalies;
	struct tc_anomaly *anomalies; /* [n_anomalies]: row is a series of this copy */
};

struct tc_format_pool;

/* A pool formatting as format with batch_bytes (0: a message per series) on
 * threads threads in all, the caller's included (below 1 counts as 1); starts
 * the threads - 1 workers. NULL and err when out of memory or a thread does
 * not start. */
struct tc_format_pool *tc_format_pool_create(enum tc_format format, int batch_bytes, int threads,
	char *err);

/* Stops and joins the workers (call it with no run in progress), frees pool
 * and sets *pool to NULL. */
void tc_format_pool_destroy(struct tc_format_pool **pool);

/* Formats every forecast of f and calls send(arg, ...) for each message, in
 * order, on the calling thread only: id is the series' id (id_len bytes, no
 * NUL) for a message per series, or NULL for a batch; body (len bytes) is
 * borrowed for the call. One caller at a time. Returns the forecasts sent:
 * f->n, less those whose buffer could not be allocated (then not sent). */
size_t tc_format_pool_run(struct tc_format_pool *pool, const struct tc_forecast_copy *f,
	void (*send)(void *arg, const char *id, size_t id_len, const char *body, size_t len),
	void *arg);

/* Formats each of f's anomaly events as one body (binary: a one-record
 * batch) and calls send(arg, id, id_len, body, len) for it, on the calling
 * thread, in f's order, after the forecasts (call it after
 * tc_format_pool_run). Returns the events sent. */
size_t tc_format_pool_anomalies(struct tc_format_pool *pool, const struct tc_forecast_copy *f,
	void (*send)(void *arg, const char *id, size_t id_len, const char *body, size_t len),
	void *arg);

#endif
