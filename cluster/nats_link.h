/* nats_link.h -- one NATS connection for a cluster member or a producer, which never
 * gives up: it reconnects forever with capped exponential backoff and says what happened.
 *
 * Disconnects, reconnects, the connection closing and asynchronous errors (a slow
 * consumer dropping messages above all) are counted and reported through the
 * caller's event function, which runs on libnats' threads.
 *
 *     char err[TC_ERR_LEN];
 *     struct tc_nats_link *l = tc_nats_link_open("nats://a:4222,nats://b:4222",
 *             "tickcastd-0", on_event, log, err);
 *     jsCtx *js = tc_nats_link_js(l);
 *     ...
 *     tc_nats_link_close(&l);
 */
#ifndef TC_NATS_LINK_H
#define TC_NATS_LINK_H

#include <nats/nats.h>
#include <stdint.h>

/* Event levels, as a log's. */
#define TC_NATS_ERROR 0
#define TC_NATS_WARNING 1
#define TC_NATS_INFO 2

#define TC_NATS_LINK_CONNECT_MS 15000 /* a first connect is retried this long */
#define TC_NATS_LINK_MAX_URLS 32      /* servers in one URL list */

/* Called on libnats' threads (and the opener's): level is TC_NATS_*, line
 * one line without a newline. Must not call back into the link. */
typedef void (*tc_nats_event_fn)(void *ud, int level, const char *line);

struct tc_nats_link_status {
	int connected;          /* 1 while connected to a server */
	uint64_t disconnects;   /* times the connection was lost */
	uint64_t reconnects;    /* times it was regained */
	uint64_t async_errors;  /* asynchronous errors (slow consumers, permissions) */
	char last_error[256];   /* the latest of those, "" if none */
	char url[256];          /* the server connected to, "" while disconnected */
};

struct tc_nats_link;

/* Connects to one of urls (comma-separated nats:// URLs), retrying for up to
 * TC_NATS_LINK_CONNECT_MS; name is the connection's name the server shows.
 * event (may be NULL) hears what happens from then on. NULL with err set
 * if no server answered in time or urls is malformed. */
struct tc_nats_link *tc_nats_link_open(const char *urls, const char *name, tc_nats_event_fn event,
	void *ud, char *err);

/* tc_nats_link_open with the first connect retried for connect_ms instead. */
struct tc_nats_link *tc_nats_link_open_within(const char *urls, const char *name,
	tc_nats_event_fn event, void *ud, int connect_ms, char *err);

/* A consistent copy of the link's state and counters. */
void tc_nats_link_status(const struct tc_nats_link *l, struct tc_nats_link_status *out);

/* The connection and its JetStream context (default options); both
 * belong to the link. */
natsConnection *tc_nats_link_conn(const struct tc_nats_link *l);
jsCtx *tc_nats_link_js(const struct tc_nats_link *l);

/* Closes the connection, waits for libnats' last callback, frees; *l = NULL. */
void tc_nats_link_close(struct tc_nats_link **l);

#endif
