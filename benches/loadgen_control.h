/* loadgen_control.h -- the daemon's counters as loadgen reads them from its control socket's `status`.
 *
 *   void *sock = NULL;                      // opened on first use
 *   struct lg_control_status s;
 *   if (lg_control_query(ctx, "tcp://127.0.0.1:7702", &sock, &s) == 0) { use(s.ticks); }
 *   ...
 *   if (sock) { zmq_close(sock); }          // before zmq_ctx_term(ctx)
 */
#ifndef LOADGEN_CONTROL_H
#define LOADGEN_CONTROL_H

/* Counters are totals since the daemon started; differences give a run's. */
struct lg_control_status {
	long long ticks, accepted, rejected, series, forecasts, messages;
	double last_ms, p50_ms, p99_ms;          /* tick_ms: last tick, p50 and p99 of recent ones, ms */
};

/* Asks the daemon at endpoint for status, on the REQ socket *sock: the
 * caller's, opened in ctx (borrowed) when *sock is NULL, and used by one
 * thread only. On a timeout or a bad reply the socket is closed and *sock set
 * to NULL (a REQ that got no reply cannot send again), so the next call
 * reopens it. Returns 0 with *s filled in, or -1. The caller closes a
 * non-NULL *sock when done. */
int lg_control_query(void *ctx, const char *endpoint, void **sock, struct lg_control_status *s);

#endif
