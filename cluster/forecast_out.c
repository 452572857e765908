/* forecast_out.c -- a partition's forecasts onto core NATS (forecast_out.h). */
#include "forecast_out.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anomaly_format.h"
#include "error.h"
#include "forecast_binary.h"
#include "forecast_format.h"
#include "series_id.h"

#define RETRY_SLEEP_NS 20000000L /* 20 ms between tries while the connection is down */

struct tc_forecast_out {
	natsConnection *conn;        /* borrowed */
	enum tc_format format;
	int n_outputs;
	size_t prefix_len;           /* "<prefix>.forecast." */
	char *subject;               /* prefix, then room for an id and the NUL */
	size_t event_prefix_len;     /* "<prefix>.anomaly." */
	char *event_subject;
	char *body;                  /* one forecast, any format */
	size_t body_cap;
};

struct tc_forecast_out *tc_forecast_out_create(natsConnection *conn, const char *prefix,
	enum tc_format format, int n_outputs, char *err)
{
	struct tc_forecast_out *o = calloc(1, sizeof *o);
	size_t text = tc_forecast_max_len(n_outputs, 1);
	size_t binary = 64 + tc_forecast_binary_record_size(TC_ID_MAX, n_outputs, 1, 1);
	size_t event = 64 + tc_anomaly_format_max_len() + tc_anomaly_binary_record_size(TC_ID_MAX);
	if (o) {
		o->prefix_len = strlen(prefix) + strlen(".forecast.");
		o->subject = malloc(o->prefix_len + TC_ID_MAX + 1);
		o->event_prefix_len = strlen(prefix) + strlen(".anomaly.");
		o->event_subject = malloc(o->event_prefix_len + TC_ID_MAX + 1);
		o->body_cap = text > binary ? text : binary;
		o->body_cap = o->body_cap > event ? o->body_cap : event;
		o->body = malloc(o->body_cap);
	}
	if (!o || !o->subject || !o->event_subject || !o->body) {
		tc_forecast_out_destroy(&o);
		tc_err_set(err, "out of memory for the forecast publisher");
		return NULL;
	}
	o->conn = conn;
	o->format = format;
	o->n_outputs = n_outputs;
	snprintf(o->subject, o->prefix_len + 1, "%s.forecast.", prefix);
	snprintf(o->event_subject, o->event_prefix_len + 1, "%s.anomaly.", prefix);
	return o;
}

void tc_forecast_out_destroy(struct tc_forecast_out **o)
{
	if (o && *o) {
		free((*o)->subject);
		free((*o)->event_subject);
		free((*o)->body);
		free(*o);
		*o = NULL;
	}
}

int tc_forecast_out_id_ok(const char *id, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && id[i] != '.') {
			continue;
		}
		size_t n = i - start;
		if (n == 0 || (n == 1 && (id[start] == '*' || id[start] == '>'))) {
			return 0;
		}
		start = i + 1;
	}
	return 1;
}

/* Series i's forecast in o's format into o->body; returns its length. */
static size_t format_one(struct tc_forecast_out *o, const struct tc_forecasts *f, size_t i,
	const char *id, size_t len)
{
	size_t row = i * (size_t)f->n_outputs;
	struct tc_forecast_values v = {
		.y = f->outputs + row,
		.lower = f->lower ? f->lower + row : NULL,
		.upper = f->upper ? f->upper + row : NULL,
		.n = f->n_outputs,
		.warm = f->warm ? f->warm[i] : 1,
	};
	if (o->format != TC_FORMAT_BINARY) {
		return tc_forecast_format(o->body, o->format, id, len, f->bucket_ms, &v);
	}
	struct tc_forecast_binary_writer w;
	tc_forecast_binary_writer_init(&w, o->body, o->body_cap, f->n_outputs, f->warm != NULL,
		f->lower != NULL, f->bucket_ms);
	tc_forecast_binary_writer_add(&w, id, len, v.y, v.lower, v.upper, v.warm);
	return w.len;
}

/* Event a of series id into o->body in o's format; returns its length. */
static size_t format_event(struct tc_forecast_out *o, const struct tc_forecasts *f,
	const struct tc_anomaly *a, const char *id, size_t len)
{
	if (o->format != TC_FORMAT_BINARY) {
		return tc_anomaly_format(o->body, o->format, id, len, f->bucket_ms, a);
	}
	struct tc_anomaly_binary_writer w;
	tc_anomaly_binary_writer_init(&w, o->body, o->body_cap, f->bucket_ms);
	tc_anomaly_binary_writer_add(&w, id, len, a);
	return w.len;
}

/* Publishes o->body on subject, waiting while the connection is down. */
static int publish_one(struct tc_forecast_out *o, const char *subject, size_t body_len,
	const volatile int *stop)
{
	const struct timespec pause = {0, RETRY_SLEEP_NS};
	for (;;) {
		natsStatus s = natsConnection_Publish(o->conn, subject, o->body, (int)body_len);
		if (s == NATS_OK) {
			return 0;
		}
		if (*stop || natsConnection_IsClosed(o->conn)) {
			return -1;
		}
		nanosleep(&pause, NULL);
	}
}

size_t tc_forecast_out_publish(struct tc_forecast_out *o, const struct tc_forecasts *f,
	const volatile int *stop, uint64_t *failed, uint64_t *events)
{
	size_t sent = 0;
	for (size_t i = 0; i < f->n; i++) {
		size_t len;
		const char *id = tc_forecasts_id(f, i, &len);
		memcpy(o->subject + o->prefix_len, id, len);
		o->subject[o->prefix_len + len] = '\0';
		size_t body_len = format_one(o, f, i, id, len);
		if (publish_one(o, o->subject, body_len, stop) == 0) {
			sent++;
		} else {
			(*failed)++;
		}
	}
	for (size_t k = 0; k < f->n_anomalies; k++) {
		const struct tc_anomaly *a = &f->anomalies[k];
		size_t len;
		const char *id = tc_forecasts_id(f, a->row, &len);
		memcpy(o->event_subject + o->event_prefix_len, id, len);
		o->event_subject[o->event_prefix_len + len] = '\0';
		size_t body_len = format_event(o, f, a, id, len);
		*events += publish_one(o, o->event_subject, body_len, stop) == 0;
	}
	return sent;
}
