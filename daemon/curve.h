/* curve.h -- ZeroMQ CURVE on the daemon's sockets: the server key, the ZAP thread that lets in the listed client keys, and the count of refused handshakes.
 *
 *   struct tc_curve *c = tc_curve_create(ctx, &cfg->security, err); // before any socket binds
 *   tc_curve_apply(c, socket, "ingest", err);                        // per socket, before its bind
 *   tc_curve_start(c, err);
 *   ... tc_curve_refused(c) ...
 *   tc_curve_destroy(&c);                                            // after the sockets closed
 *
 * A NULL tc_curve (security.curve.secret_key "") means CURVE is off:
 * tc_curve_apply does nothing and tc_curve_refused is 0. */
#ifndef TC_CURVE_H
#define TC_CURVE_H

#include <stdint.h>

#include "config.h"

struct tc_curve;

/* Checks that libzmq has CURVE, reads the server's secret certificate and
 * the authorized client keys, and binds the ZAP socket on ctx. NULL and err
 * on failure ("security.curve.secret_key: keys/s.key: cannot open: ..."). */
struct tc_curve *tc_curve_create(void *ctx, const struct tc_security_config *cfg, char *err);

/* Makes socket a CURVE server with the key, under ZAP domain `name` (which
 * the refusal log lines name), and watches it for failed handshakes. Call
 * before the socket binds or its thread starts. 0, or -1 with err. */
int tc_curve_apply(struct tc_curve *c, void *socket, const char *name, char *err);

/* Starts the thread that answers ZAP and counts failed handshakes. */
int tc_curve_start(struct tc_curve *c, char *err);

/* Handshakes refused so far: unlisted client keys, clients without CURVE,
 * and clients with another server key. 0 when c is NULL. */
uint64_t tc_curve_refused(const struct tc_curve *c);

/* Stops the thread, closes its sockets, frees *c (NULL is fine). */
void tc_curve_destroy(struct tc_curve **c);

#endif
