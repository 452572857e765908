/* nats_link.c -- a NATS connection that reconnects forever and counts its troubles (see nats_link.h). */
#include "nats_link.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"

#define BACKOFF_FIRST_MS 100 /* the first wait after every server failed */
#define BACKOFF_MAX_MS 5000  /* waits double up to this */
#define CLOSE_WAIT_MS 5000   /* close waits this long for libnats' closed callback */

struct tc_nats_link {
	natsConnection *nc;
	jsCtx *js;
	tc_nats_event_fn event;
	void *ud;
	/* The lock guards what follows: libnats' threads write it, any thread reads it
	 * (tc_nats_link_status takes it through a const link, hence mutable in spirit). */
	pthread_mutex_t lock;
	pthread_cond_t closed_cond;
	int closed;       /* libnats' closed callback has run */
	int closing;      /* tc_nats_link_close has begun: a disconnect is ours */
	uint32_t seed;    /* xorshift state for the backoff's jitter */
	struct tc_nats_link_status st;
};

__attribute__((format(printf, 3, 4)))
static void say(struct tc_nats_link *l, int level, const char *fmt, ...)
{
	if (!l->event) {
		return;
	}
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	l->event(l->ud, level, line);
}

/* The server nc is on, into the status (under the lock). */
static void note_url(struct tc_nats_link *l, natsConnection *nc)
{
	char url[sizeof l->st.url];
	if (natsConnection_GetConnectedUrl(nc, url, sizeof url) != NATS_OK) {
		url[0] = '\0';
	}
	pthread_mutex_lock(&l->lock);
	memcpy(l->st.url, url, sizeof url);
	pthread_mutex_unlock(&l->lock);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	(void)nc;
	struct tc_nats_link *l = closure;
	char url[sizeof l->st.url];
	pthread_mutex_lock(&l->lock);
	int closing = l->closing;
	l->st.connected = 0;
	l->st.disconnects += !closing;
	memcpy(url, l->st.url, sizeof url);
	l->st.url[0] = '\0';
	pthread_mutex_unlock(&l->lock);
	if (!closing) { /* libnats calls this on our own close too */
		say(l, TC_NATS_WARNING, "NATS: disconnected from %s; reconnecting",
			url[0] ? url : "the server");
	}
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	struct tc_nats_link *l = closure;
	note_url(l, nc);
	pthread_mutex_lock(&l->lock);
	l->st.connected = 1;
	l->st.reconnects++;
	char url[sizeof l->st.url];
	memcpy(url, l->st.url, sizeof url);
	pthread_mutex_unlock(&l->lock);
	say(l, TC_NATS_INFO, "NATS: reconnected to %s", url);
}

static void on_closed(natsConnection *nc, void *closure)
{
	(void)nc;
	struct tc_nats_link *l = closure;
	/* Before the broadcast: once it is out, close may free l. */
	say(l, TC_NATS_INFO, "NATS: connection closed");
	pthread_mutex_lock(&l->lock);
	l->st.connected = 0;
	l->closed = 1;
	pthread_cond_broadcast(&l->closed_cond);
	pthread_mutex_unlock(&l->lock);
}

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *closure)
{
	(void)nc;
	struct tc_nats_link *l = closure;
	const char *subject = sub ? natsSubscription_GetSubject(sub) : NULL;
	pthread_mutex_lock(&l->lock);
	l->st.async_errors++;
	snprintf(l->st.last_error, sizeof l->st.last_error, "%s%s%s", natsStatus_GetText(s),
		subject ? " on " : "", subject ? subject : "");
	pthread_mutex_unlock(&l->lock);
	say(l, TC_NATS_ERROR, "NATS: %s%s%s%s", natsStatus_GetText(s), subject ? " on " : "",
		subject ? subject : "",
		s == NATS_SLOW_CONSUMER ? " (messages were dropped: the consumer falls behind)" : "");
}

/* After every server failed: 100 ms doubling to 5 s, each wait +-25% so that
 * many members do not come back in step. */
static int64_t backoff_ms(natsConnection *nc, int attempts, void *closure)
{
	(void)nc;
	struct tc_nats_link *l = closure;
	int64_t ms = BACKOFF_MAX_MS;
	if (attempts < 7) {
		ms = (int64_t)BACKOFF_FIRST_MS << (attempts > 1 ? attempts - 1 : 0);
		ms = ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
	}
	pthread_mutex_lock(&l->lock);
	uint32_t x = l->seed;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	l->seed = x;
	pthread_mutex_unlock(&l->lock);
	return ms * 3 / 4 + (int64_t)(x % (uint32_t)(ms / 2 + 1));
}

/* Splits the comma-separated urls into opts' server list. */
static int set_servers(natsOptions *o, const char *urls, char *err)
{
	char *copy = strdup(urls);
	const char *list[TC_NATS_LINK_MAX_URLS];
	int n = 0;
	if (!copy) {
		return tc_err_set(err, "out of memory");
	}
	char *save = NULL;
	for (char *u = strtok_r(copy, ", ", &save); u; u = strtok_r(NULL, ", ", &save)) {
		if (n == TC_NATS_LINK_MAX_URLS) {
			free(copy);
			return tc_err_set(err, "more than %d NATS server URLs", TC_NATS_LINK_MAX_URLS);
		}
		list[n++] = u;
	}
	natsStatus s = n ? natsOptions_SetServers(o, list, n) : NATS_INVALID_ARG;
	free(copy);
	if (s != NATS_OK) {
		return tc_err_set(err, "NATS server URLs \"%s\": %s", urls,
			n ? nats_GetLastError(NULL) : "none given (expected nats://host:port[,...])");
	}
	return 0;
}

static natsOptions *options(struct tc_nats_link *l, const char *urls, const char *name, char *err)
{
	natsOptions *o = NULL;
	if (natsOptions_Create(&o) != NATS_OK) {
		tc_err_set(err, "NATS options: %s", nats_GetLastError(NULL));
		return NULL;
	}
	if (set_servers(o, urls, err) < 0) {
		natsOptions_Destroy(o);
		return NULL;
	}
	natsStatus s = natsOptions_SetName(o, name);
	if (s == NATS_OK) {
		s = natsOptions_SetMaxReconnect(o, -1);
	}
	if (s == NATS_OK) {
		s = natsOptions_SetCustomReconnectDelay(o, backoff_ms, l);
	}
	if (s == NATS_OK) {
		s = natsOptions_SetDisconnectedCB(o, on_disconnected, l);
	}
	if (s == NATS_OK) {
		s = natsOptions_SetReconnectedCB(o, on_reconnected, l);
	}
	if (s == NATS_OK) {
		s = natsOptions_SetClosedCB(o, on_closed, l);
	}
	if (s == NATS_OK) {
		s = natsOptions_SetErrorHandler(o, on_error, l);
	}
	if (s != NATS_OK) {
		tc_err_set(err, "NATS options: %s", nats_GetLastError(NULL));
		natsOptions_Destroy(o);
		return NULL;
	}
	return o;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first connect, retried with the same backoff for connect_ms. */
static int connect_first(struct tc_nats_link *l, natsOptions *o, const char *urls, int connect_ms,
	char *err)
{
	int64_t deadline = now_ms() + connect_ms;
	for (int attempt = 1;; attempt++) {
		natsStatus s = natsConnection_Connect(&l->nc, o);
		if (s == NATS_OK) {
			return 0;
		}
		l->nc = NULL;
		int64_t wait = backoff_ms(NULL, attempt, l);
		if (now_ms() + wait > deadline) {
			return tc_err_set(err, "no NATS server of %s answered within %d ms: %s", urls,
				connect_ms, nats_GetLastError(NULL));
		}
		say(l, TC_NATS_WARNING, "NATS: connecting to %s: %s; retrying in %lld ms", urls,
			natsStatus_GetText(s), (long long)wait);
		nats_Sleep(wait);
	}
}

struct tc_nats_link *tc_nats_link_open(const char *urls, const char *name, tc_nats_event_fn event,
	void *ud, char *err)
{
	return tc_nats_link_open_within(urls, name, event, ud, TC_NATS_LINK_CONNECT_MS, err);
}

struct tc_nats_link *tc_nats_link_open_within(const char *urls, const char *name,
	tc_nats_event_fn event, void *ud, int connect_ms, char *err)
{
	struct tc_nats_link *l = calloc(1, sizeof *l);
	if (!l) {
		tc_err_set(err, "out of memory");
		return NULL;
	}
	l->event = event;
	l->ud = ud;
	l->seed = (uint32_t)now_ms() | 1u;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->closed_cond, NULL);
	natsOptions *o = options(l, urls, name, err);
	int rc = o ? connect_first(l, o, urls, connect_ms, err) : -1;
	natsOptions_Destroy(o);
	if (rc == 0 && natsConnection_JetStream(&l->js, l->nc, NULL) != NATS_OK) {
		rc = tc_err_set(err, "JetStream context: %s", nats_GetLastError(NULL));
	}
	if (rc < 0) {
		tc_nats_link_close(&l);
		return NULL;
	}
	pthread_mutex_lock(&l->lock);
	l->st.connected = 1;
	pthread_mutex_unlock(&l->lock);
	note_url(l, l->nc);
	struct tc_nats_link_status st;
	tc_nats_link_status(l, &st);
	say(l, TC_NATS_INFO, "NATS: connected to %s", st.url);
	return l;
}

void tc_nats_link_status(const struct tc_nats_link *l, struct tc_nats_link_status *out)
{
	struct tc_nats_link *m = (struct tc_nats_link *)l; /* only the lock changes */
	pthread_mutex_lock(&m->lock);
	*out = m->st;
	pthread_mutex_unlock(&m->lock);
}

natsConnection *tc_nats_link_conn(const struct tc_nats_link *l)
{
	return l->nc;
}

jsCtx *tc_nats_link_js(const struct tc_nats_link *l)
{
	return l->js;
}

void tc_nats_link_close(struct tc_nats_link **lp)
{
	struct tc_nats_link *l = *lp;
	if (!l) {
		return;
	}
	jsCtx_Destroy(l->js);
	pthread_mutex_lock(&l->lock);
	l->closing = 1;
	pthread_mutex_unlock(&l->lock);
	if (l->nc) {
		/* The closed callback runs on a libnats thread after Close returns:
		 * wait for it before freeing what it touches. */
		natsConnection_Close(l->nc);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += CLOSE_WAIT_MS / 1000;
		pthread_mutex_lock(&l->lock);
		int rc = 0;
		while (!l->closed && rc != ETIMEDOUT) {
			rc = pthread_cond_timedwait(&l->closed_cond, &l->lock, &until);
		}
		pthread_mutex_unlock(&l->lock);
		natsConnection_Destroy(l->nc);
	}
	pthread_cond_destroy(&l->closed_cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
	*lp = NULL;
}
