/* forecast_out.h -- a partition's forecasts onto core NATS, one message per series.
 *
 * Series s's forecast goes to `<prefix>.forecast.<s>` (and with the anomaly
 * section, an event for s to `<prefix>.anomaly.<s>`, after the tick's
 * forecasts, as the ZeroMQ publisher sends them), its body in
 * publish.format as the ZeroMQ publisher writes one series (text line, JSON
 * object, or a binary batch of one record; wire/forecast_format.h,
 * wire/forecast_binary.h). An id can only be a subject's tail when none of
 * its dot-separated tokens is empty, `*` or `>` (spaces and control bytes
 * are never in an id): tc_forecast_out_id_ok says so, and the member refuses
 * other ids at the door. A publish that cannot go out because the
 * connection is down (libnats' reconnect buffer is full) is retried until
 * the connection is back or the member stops: forecasts are at least once. */
#ifndef TC_FORECAST_OUT_H
#define TC_FORECAST_OUT_H

#include <nats/nats.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "tick.h"

struct tc_forecast_out;

/* Publishes to conn (borrowed) under prefix, in format, for models of
 * n_outputs outputs. NULL and err when out of memory. */
struct tc_forecast_out *tc_forecast_out_create(natsConnection *conn, const char *prefix,
	enum tc_format format, int n_outputs, char *err);
void tc_forecast_out_destroy(struct tc_forecast_out **o);

/* Whether id (len bytes, a valid series id) can end a subject. */
int tc_forecast_out_id_ok(const char *id, size_t len);

/* Publishes every forecast of f, then its anomaly events; *stop nonzero
 * ends the retries of a publish that waits for the connection. Returns the
 * forecasts published; *failed counts those given up on, *events the events
 * published. */
size_t tc_forecast_out_publish(struct tc_forecast_out *o, const struct tc_forecasts *f,
	const volatile int *stop, uint64_t *failed, uint64_t *events);

#endif
