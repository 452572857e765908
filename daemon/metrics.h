/* metrics.h -- the Prometheus endpoint: GET /metrics over HTTP (libmicrohttpd).
 *
 * Its own thread (MHD's internal polling thread) answers each scrape from
 * the same snapshots and counters that the control socket's `status` reads
 * (ticker, ingest, publisher, reloader, checkpointer), so a scrape never
 * waits for a step or holds the engine. The text is the exposition format
 * 0.0.4; every metric is listed in docs/protocol.md, "Metrics". Any other
 * path is 404 and any method but GET and HEAD is 405. */
#ifndef TC_METRICS_H
#define TC_METRICS_H

#include "control.h"

struct tc_metrics;

/* Binds listen (host:port, IPv6 in brackets: metrics.listen) and starts
 * serving what deps report on (borrowed: destroy the endpoint first).
 * NULL and err (naming metrics.listen) on failure. */
struct tc_metrics *tc_metrics_start(const char *listen, const struct tc_control_deps *deps,
	char *err);

/* Stops the thread, closes the socket, frees *m; *m = NULL. */
void tc_metrics_destroy(struct tc_metrics **m);

#endif
