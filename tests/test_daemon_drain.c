/* test_daemon_drain.c -- at SIGTERM, a subscriber that is behind still gets every
 * forecast queued for it within publish.drain_ms, and one that never reads holds the
 * exit no longer than that, which the log says. */
#include <criterion/criterion.h>

#include "daemon_harness.h"

#define SERIES 2000
#define BUCKETS 10

TestSuite(daemon_drain, .init = dh_setup, .fini = dh_teardown);

/* A daemon with the sample model and the event clock, exiting after at most
 * drain_ms of draining; a subscriber with ZeroMQ's default queue (1000
 * messages), so that what it does not read stays queued in the daemon; then
 * BUCKETS buckets of SERIES series, the last stepped at SIGTERM. */
static void *run_with_a_slow_subscriber(int drain_ms, struct dh_buf *file)
{
	dh_copy_sample("w.safetensors");
	char publish[64];
	snprintf(publish, sizeof publish, "drain_ms: %d", drain_ms);
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK,
		.publish = publish});
	dh_start();
	void *sub = dh_subscriber_hwm(1000);
	void *pub = dh_publisher();
	dh_send_buckets(pub, file, "s", SERIES, 0, BUCKETS);
	dh_signal(SIGTERM);
	return sub;
}

/* Waits for the daemon's exit, at most deadline_ms; it must exit 0.
 * Returns the milliseconds it took from `since`. */
static double wait_exit(double since, int deadline_ms)
{
	int status;
	while (waitpid(dh.pid, &status, WNOHANG) == 0) {
		cr_assert(dh_now_ms() - since < deadline_ms, "tickcastd still runs %d ms after "
			"SIGTERM; its log:\n%s", deadline_ms, dh_log_tail());
		dh_sleep_ms(5);
	}
	dh.pid = 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
	return dh_now_ms() - since;
}

Test(daemon_drain, a_subscriber_behind_at_sigterm_gets_every_forecast_queued_for_it)
{
	struct dh_buf file = {0};
	double stopped = dh_now_ms();
	void *sub = run_with_a_slow_subscriber(20000, &file);
	dh_sleep_ms(1500); /* behind: it reads only after the old 500 ms linger */
	struct dh_received got = {0};
	dh_receive(sub, &got, SERIES * BUCKETS, 500, DH_RECEIVE_MS);
	cr_assert_eq(got.lines.n, SERIES * BUCKETS, "%zu of %d forecasts arrived", got.lines.n,
		SERIES * BUCKETS);
	wait_exit(stopped, 20000);
	cr_assert_not_null(strstr(dh_log_tail(), "subscribers read the forecasts still queued"),
		"%s", dh_log_tail());
	dh_received_free(&got);
	dh_buf_free(&file);
}

Test(daemon_drain, a_subscriber_that_never_reads_holds_the_exit_only_drain_ms_and_is_reported)
{
	struct dh_buf file = {0};
	double stopped = dh_now_ms();
	run_with_a_slow_subscriber(1000, &file);
	double took = wait_exit(stopped, 8000);
	cr_assert_geq(took, 1000, "exited after %.0f ms, before drain_ms", took);
	cr_assert_not_null(strstr(dh_log_tail(), "publish.drain_ms (1000 ms) passed"), "%s",
		dh_log_tail());
	dh_buf_free(&file);
}
