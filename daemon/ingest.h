/* ingest.h -- the readings SUB socket's thread and the threads that parse what it receives.
 *
 * The receiving thread takes each message off the socket; ingest.threads
 * parsing threads parse messages side by side (text lines or a binary
 * batch, see message.h), count what they reject by reason with a
 * rate-limited log line, and queue the rest for the tick thread in the order
 * the messages came. Nothing waits for a step; ingest only waits when the
 * queue is full (see queue.h). */
#ifndef TC_INGEST_H
#define TC_INGEST_H

#include <stdint.h>

#include "config.h"
#include "curve.h"
#include "queue.h"
#include "reading.h"

struct tc_ingest;

/* Creates the SUB socket in ctx (a CURVE server when curve is not NULL),
 * binds and subscribes it as cfg says; readings of `width` values go to q
 * (borrowed). NULL and err on failure. */
struct tc_ingest *tc_ingest_create(void *ctx, const struct tc_ingest_config *cfg, int width,
	struct tc_queue *q, struct tc_curve *curve, char *err);

/* Starts the parsing threads and the receiving thread. Returns 0 or -1 with
 * err (tc_ingest_destroy then stops what started). */
int tc_ingest_start(struct tc_ingest *in, char *err);

/* Stops receiving (within ~100 ms), lets the parsers queue what was
 * received, closes the socket, frees *in. */
void tc_ingest_destroy(struct tc_ingest **in);

struct tc_ingest_counts {
	uint64_t messages;                   /* received */
	uint64_t queued;                     /* readings handed to the tick thread */
	uint64_t rejected[TC_REJECT__COUNT]; /* by reason */
};

/* A snapshot of the counters; safe from any thread. */
void tc_ingest_get_counts(const struct tc_ingest *in, struct tc_ingest_counts *c);

#endif
