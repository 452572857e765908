/* test_nats_link.c -- the NATS connection of cluster mode against a real nats-server:
 * it connects, loses the server, comes back by itself, and counts and reports it all. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "error.h"
#include "nats_fixture.h"
#include "nats_link.h"

#define WAIT_MS 15000 /* reconnects and async errors must show within this */

/* What the link reported through its event function. */
static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;
static char events[16384];

static void on_event(void *ud, int level, const char *line)
{
	(void)ud;
	pthread_mutex_lock(&events_lock);
	size_t at = strlen(events);
	snprintf(events + at, sizeof events - at, "%d %s\n", level, line);
	pthread_mutex_unlock(&events_lock);
}

static int events_have(const char *want)
{
	pthread_mutex_lock(&events_lock);
	int found = strstr(events, want) != NULL;
	pthread_mutex_unlock(&events_lock);
	return found;
}

/* Whether want shows among the events within WAIT_MS: the link updates its
 * status, then reports the event, so an event may come just after. */
static int events_show(const char *want)
{
	double deadline = dh_now_ms() + WAIT_MS;
	while (!events_have(want) && dh_now_ms() < deadline) {
		dh_sleep_ms(10);
	}
	return events_have(want);
}

/* Waits until the status' field reaches want; the status then. */
#define WAIT_STATUS(l, st, cond) do { \
		double deadline_ = dh_now_ms() + WAIT_MS; \
		do { \
			tc_nats_link_status((l), &(st)); \
		} while (!(cond) && dh_now_ms() < deadline_ && (dh_sleep_ms(20), 1)); \
		cr_assert((cond), "%s did not become true within %d ms; events:\n%s", #cond, \
			WAIT_MS, events); \
	} while (0)

Test(nats_link, reconnects_by_itself_after_the_server_restarts_and_counts_it)
{
	struct nf_cluster c;
	cr_assert_eq(nf_start(&c, 1), 0);
	char err[TC_ERR_LEN] = "";
	struct tc_nats_link *l = tc_nats_link_open(c.urls, "test-link", on_event, NULL, err);
	cr_assert_not_null(l, "%s", err);
	struct tc_nats_link_status st;
	tc_nats_link_status(l, &st);
	cr_assert_eq(st.connected, 1);
	cr_assert_eq(st.disconnects, 0);
	cr_assert_str_eq(st.url, c.urls);
	cr_assert(events_have("2 NATS: connected to nats://127.0.0.1:"), "events:\n%s", events);
	cr_assert_not_null(tc_nats_link_js(l));

	nf_kill(&c, 0, SIGKILL);
	WAIT_STATUS(l, st, st.disconnects == 1 && !st.connected);
	cr_assert(events_show("1 NATS: disconnected from nats://127.0.0.1:"), "events:\n%s", events);
	cr_assert_eq(nf_restart(&c, 0), 0);
	WAIT_STATUS(l, st, st.reconnects == 1 && st.connected);
	cr_assert_str_eq(st.url, c.urls);
	cr_assert(events_show("2 NATS: reconnected to"), "events:\n%s", events);
	cr_assert_eq(natsConnection_PublishString(tc_nats_link_conn(l), "x", "y"), NATS_OK);
	cr_assert_eq(natsConnection_FlushTimeout(tc_nats_link_conn(l), 2000), NATS_OK);

	tc_nats_link_close(&l);
	cr_assert_null(l);
	cr_assert(events_have("2 NATS: connection closed"), "events:\n%s", events);
	nf_stop(&c);
}

Test(nats_link, counts_and_reports_a_slow_consumer)
{
	struct nf_cluster c;
	cr_assert_eq(nf_start(&c, 1), 0);
	char err[TC_ERR_LEN];
	struct tc_nats_link *l = tc_nats_link_open(c.urls, "test-link", on_event, NULL, err);
	cr_assert_not_null(l, "%s", err);
	natsConnection *nc = tc_nats_link_conn(l);
	natsSubscription *sub = NULL;
	cr_assert_eq(natsConnection_SubscribeSync(&sub, nc, "slow"), NATS_OK);
	cr_assert_eq(natsSubscription_SetPendingLimits(sub, 2, 1 << 20), NATS_OK);
	for (int i = 0; i < 50; i++) {
		cr_assert_eq(natsConnection_PublishString(nc, "slow", "x"), NATS_OK);
	}
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
	struct tc_nats_link_status st;
	WAIT_STATUS(l, st, st.async_errors >= 1);
	cr_assert(strstr(st.last_error, "on slow"), "last_error: %s", st.last_error);
	cr_assert(events_show("0 NATS: "), "events:\n%s", events);
	cr_assert(events_show("messages were dropped"), "events:\n%s", events);
	natsSubscription_Destroy(sub);
	tc_nats_link_close(&l);
	nf_stop(&c);
}

Test(nats_link, gives_up_a_first_connect_when_no_server_answers_in_time)
{
	int port;
	cr_assert_eq(nf_free_ports(&port, 1), 0);
	char urls[64], err[TC_ERR_LEN] = "";
	snprintf(urls, sizeof urls, "nats://127.0.0.1:%d", port);
	double start = dh_now_ms();
	struct tc_nats_link *l = tc_nats_link_open_within(urls, "t", on_event, NULL, 500, err);
	cr_assert_null(l);
	cr_assert(dh_now_ms() - start < 3000, "took %.0f ms", dh_now_ms() - start);
	cr_assert(strstr(err, "no NATS server of nats://127.0.0.1:"), "err: %s", err);
	cr_assert(events_have("1 NATS: connecting to"), "no retry was reported:\n%s", events);
}

Test(nats_link, refuses_an_empty_url_list)
{
	char err[TC_ERR_LEN] = "";
	cr_assert_null(tc_nats_link_open(" , ", "t", NULL, NULL, err));
	cr_assert(strstr(err, "none given"), "err: %s", err);
}
