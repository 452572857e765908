/* control.h -- the thread that owns the REP control socket.
 *
 * Requests are one frame of text: `status`, `reload`, `checkpoint` or
 * `series <id>`;
 * each reply is one frame holding a JSON object with "ok" (and "error" when
 * it is false). See docs/protocol.md for every field. */
#ifndef TC_CONTROL_H
#define TC_CONTROL_H

#include <stdint.h>

#include "checkpointer.h"
#include "cluster_node.h"
#include "curve.h"
#include "ingest.h"
#include "publisher.h"
#include "reload.h"
#include "ticker.h"

/* What the control thread reports on and acts through; all borrowed. */
struct tc_control_deps {
	struct tc_ticker *ticker;
	struct tc_ingest *ingest;
	struct tc_publisher *publisher;
	struct tc_reloader *reloader;
	struct tc_checkpointer *checkpointer;
	int64_t started_ms;          /* tc_now_ms() at start, for the uptime */
	struct tc_curve *curve;      /* NULL: CURVE off; else its socket is a CURVE server */
	/* Cluster mode: the member (ticker, ingest, reloader and checkpointer
	 * are then NULL); NULL otherwise. */
	struct tc_cluster_node *cluster;
};

struct tc_control;

/* Creates and binds the REP socket at endpoint. NULL and err on failure. */
struct tc_control *tc_control_create(void *ctx, const char *endpoint,
	const struct tc_control_deps *deps, char *err);

int tc_control_start(struct tc_control *c, char *err);

/* Stops the thread (within ~100 ms), closes the socket, frees *c. */
void tc_control_destroy(struct tc_control **c);

/* The reply to one request, as a JSON text (the caller frees it). */
char *tc_control_answer(const struct tc_control_deps *deps, const char *request, size_t len);

#endif
