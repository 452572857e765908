/* replay_output.c -- writing a replay's forecasts and anomaly events in a publish format. */
#include "replay_output.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly_format.h"
#include "byte_order.h"
#include "error.h"
#include "forecast_binary.h"
#include "forecast_format.h"

#define PRINT_ROUND 8192   /* lines formatted at a time, split among the threads */

struct tc_replay_writer {
	enum tc_format format;
	FILE *out;
	FILE *anomalies;             /* NULL: events not written */
	int threads;                 /* text and JSON: threads formatting a round */
	char *buf;                   /* text, JSON: [PRINT_ROUND x max_line]; binary: a batch */
	size_t cap;                  /* bytes of buf */
	size_t max_line;             /* text, JSON: bytes a line may take, newline included */
	size_t part_len[PRINT_ROUND]; /* bytes each thread's part of buf holds */
	char *event;                 /* [event_cap]: one event's body */
	size_t event_cap;
	uint64_t forecasts, events;
};

struct tc_replay_writer *tc_replay_writer_create(enum tc_format format, FILE *out,
	FILE *anomalies, char *err)
{
	struct tc_replay_writer *w = calloc(1, sizeof *w);
	size_t binary = TC_ANOMALY_BINARY_HEADER_LEN + tc_anomaly_binary_record_size(TC_ID_MAX);
	size_t text = tc_anomaly_format_max_len() + 1;
	char *event = malloc(binary > text ? binary : text);
	if (!w || !event) {
		free(w);
		free(event);
		tc_err_set(err, "out of memory");
		return NULL;
	}
	int threads = omp_get_max_threads();
	*w = (struct tc_replay_writer){
		.format = format,
		.out = out,
		.anomalies = anomalies,
		.threads = threads < PRINT_ROUND ? threads : PRINT_ROUND,
		.event = event,
		.event_cap = binary > text ? binary : text,
	};
	return w;
}

void tc_replay_writer_destroy(struct tc_replay_writer **pw)
{
	if (!pw || !*pw) {
		return;
	}
	free((*pw)->buf);
	free((*pw)->event);
	free(*pw);
	*pw = NULL;
}

/* Makes w->buf hold need bytes; grows only for a tick larger than any
 * before. 0, or -1 out of memory. */
static int reserve(struct tc_replay_writer *w, size_t need)
{
	if (need <= w->cap) {
		return 0;
	}
	char *grown = realloc(w->buf, need);
	if (!grown) {
		return -1;
	}
	w->buf = grown;
	w->cap = need;
	return 0;
}

/* Series i's forecast in f, borrowed from it. */
static struct tc_forecast_values values_of(const struct tc_forecasts *f, size_t i)
{
	size_t row = i * (size_t)f->n_outputs;
	int interval = f->lower && f->upper;
	return (struct tc_forecast_values){
		.y = f->outputs + row,
		.lower = interval ? f->lower + row : NULL,
		.upper = interval ? f->upper + row : NULL,
		.n = f->n_outputs,
		.warm = f->warm ? f->warm[i] : 1,
	};
}

/* Formats forecasts [lo, hi) of f as lines into buf; returns the bytes. */
static size_t format_lines(enum tc_format format, char *buf, const struct tc_forecasts *f,
	size_t lo, size_t hi)
{
	size_t len = 0;
	for (size_t i = lo; i < hi; i++) {
		size_t id_len;
		const char *id = tc_forecasts_id(f, i, &id_len);
		struct tc_forecast_values v = values_of(f, i);
		len += tc_forecast_format(buf + len, format, id, id_len, f->bucket_ms, &v);
		buf[len++] = '\n';
	}
	return len;
}

/* Text or JSON: each round is formatted by the threads, each into its own
 * part of buf, and written in order. */
static int write_lines(struct tc_replay_writer *w, const struct tc_forecasts *f)
{
	size_t max_line = tc_forecast_max_len(f->n_outputs, f->lower && f->upper) + 1;
	if (max_line > w->max_line && reserve(w, PRINT_ROUND * max_line) < 0) {
		return -1;
	}
	w->max_line = max_line > w->max_line ? max_line : w->max_line;
	for (size_t base = 0; base < f->n; base += PRINT_ROUND) {
		const size_t n = f->n - base < PRINT_ROUND ? f->n - base : PRINT_ROUND;
		const int parts = n >= 512 ? w->threads : 1;
		const size_t per = (n + (size_t)parts - 1) / (size_t)parts;
#pragma omp parallel for schedule(static) num_threads(parts)
		for (int k = 0; k < parts; k++) {
			size_t lo = base + (size_t)k * per;
			size_t hi = lo + per < base + n ? lo + per : base + n;
			w->part_len[k] = lo < hi ? format_lines(w->format,
				w->buf + (size_t)k * per * w->max_line, f, lo, hi) : 0;
		}
		for (int k = 0; k < parts; k++) {
			const char *part = w->buf + (size_t)k * per * w->max_line;
			if (fwrite(part, 1, w->part_len[k], w->out) != w->part_len[k]) {
				return -1;
			}
		}
	}
	return 0;
}

/* Writes len bytes of body to out after its length, a u32 little-endian. */
static int write_prefixed(FILE *out, const void *body, size_t len)
{
	unsigned char prefix[4];
	tc_store_u32(prefix, (uint32_t)len);
	return len <= UINT32_MAX && fwrite(prefix, 1, 4, out) == 4
		&& fwrite(body, 1, len, out) == len ? 0 : -1;
}

/* Binary: the whole tick as one batch, after its length. */
static int write_batch(struct tc_replay_writer *w, const struct tc_forecasts *f)
{
	int has_warm = f->warm != NULL, interval = f->lower && f->upper;
	size_t len = TC_FORECAST_BINARY_HEADER_LEN;
	for (size_t i = 0; i < f->n; i++) {
		size_t id_len;
		tc_forecasts_id(f, i, &id_len);
		len += tc_forecast_binary_record_size(id_len, f->n_outputs, has_warm, interval);
	}
	struct tc_forecast_binary_writer bw;
	if (reserve(w, len) < 0 || tc_forecast_binary_writer_init(&bw, w->buf, len, f->n_outputs,
		has_warm, interval, f->bucket_ms) < 0) {
		return -1;
	}
	for (size_t i = 0; i < f->n; i++) {
		size_t id_len;
		const char *id = tc_forecasts_id(f, i, &id_len);
		struct tc_forecast_values v = values_of(f, i);
		if (tc_forecast_binary_writer_add(&bw, id, id_len, v.y, v.lower, v.upper, v.warm) < 0) {
			return -1;
		}
	}
	return write_prefixed(w->out, w->buf, bw.len);
}

/* Writes event a of f as the daemon publishes it. */
static int write_event(struct tc_replay_writer *w, const struct tc_forecasts *f,
	const struct tc_anomaly *a)
{
	size_t id_len;
	const char *id = tc_forecasts_id(f, a->row, &id_len);
	if (w->format != TC_FORMAT_BINARY) {
		size_t len = tc_anomaly_format(w->event, w->format, id, id_len, f->bucket_ms, a);
		w->event[len++] = '\n';
		return fwrite(w->event, 1, len, w->anomalies) == len ? 0 : -1;
	}
	struct tc_anomaly_binary_writer bw;
	if (tc_anomaly_binary_writer_init(&bw, w->event, w->event_cap, f->bucket_ms) < 0
		|| tc_anomaly_binary_writer_add(&bw, id, id_len, a) < 0) {
		return -1;
	}
	return write_prefixed(w->anomalies, w->event, bw.len);
}

int tc_replay_writer_emit(void *ud, const struct tc_forecasts *f)
{
	struct tc_replay_writer *w = ud;
	if (f->n == 0) {
		return 0;
	}
	int rc = w->format == TC_FORMAT_BINARY ? write_batch(w, f) : write_lines(w, f);
	if (rc < 0) {
		return -1;
	}
	w->forecasts += f->n;
	for (size_t e = 0; w->anomalies && f->anomalies && e < f->n_anomalies; e++) {
		if (f->anomalies[e].row >= f->n) {
			continue; /* not of this tick, as the daemon skips it */
		}
		if (write_event(w, f, &f->anomalies[e]) < 0) {
			return -1;
		}
		w->events++;
	}
	return 0;
}

uint64_t tc_replay_writer_forecasts(const struct tc_replay_writer *w)
{
	return w->forecasts;
}

uint64_t tc_replay_writer_anomalies(const struct tc_replay_writer *w)
{
	return w->events;
}
