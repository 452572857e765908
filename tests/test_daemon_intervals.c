/* test_daemon_intervals.c -- tickcastd with model.intervals and anomaly events: status,
 * series and what it publishes. */
#include <math.h>

#include "daemon_harness.h"

TestSuite(daemon_intervals, .init = dh_setup, .fini = dh_teardown, .timeout = 60);

#define MODEL DH_SAMPLE_MODEL ", intervals: {level: 0.8}"
#define SERIES 4
#define BUCKETS 30

static void start(const char *anomaly)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = MODEL, .tick = DH_EVENT_TICK,
		.anomaly = anomaly});
	dh_start();
}

Test(daemon_intervals, status_and_series_report_coverage_and_live_accuracy)
{
	start(NULL);
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	dh_send_buckets(pub, &file, "s-", SERIES, 0, BUCKETS);
	cr_assert_eq(dh_wait_int("ticks", BUCKETS - 1, DH_WAIT_MS), BUCKETS - 1);
	json_t *s = dh_request("status");
	cr_assert_float_eq(dh_json_real(s, "accuracy.level"), 0.8, 1e-12);
	cr_assert_eq(dh_json_int(s, "accuracy.series"), SERIES);
	/* 29 readings a series went through a closed tick. Horizon h's first
	 * error (at reading h) only starts its scale, readings h + 1 .. 28 are
	 * scored: 28 - h each, 258 over h = 1..12, for each series. */
	cr_assert_eq(dh_json_int(s, "accuracy.scored"), SERIES * 258);
	json_t *by_h = dh_json_get(s, "accuracy.coverage_by_horizon");
	cr_assert_eq(json_array_size(by_h), 12);
	double coverage = dh_json_real(s, "accuracy.coverage");
	cr_assert(coverage > 0.3 && coverage <= 1.0, "coverage %g", coverage);
	double median = dh_json_real(s, "accuracy.live_mase.median");
	double p90 = dh_json_real(s, "accuracy.live_mase.p90");
	cr_assert(median > 0 && p90 >= median, "live MASE median %g, p90 %g", median, p90);
	cr_assert_eq(dh_json_int(s, "accuracy.anomalies"), 0, "anomaly events are off");
	json_decref(s);

	json_t *r = dh_request("series s-0");
	cr_assert_eq(dh_json_int(r, "accuracy.scored"), 28);
	double mae = dh_json_real(r, "accuracy.mae"), naive = dh_json_real(r, "accuracy.naive_mae");
	cr_assert_float_eq(dh_json_real(r, "accuracy.mase"), mae / naive, 1e-6 * mae / naive);
	double c = dh_json_real(r, "accuracy.coverage");
	cr_assert(c >= 0.0 && c <= 1.0, "coverage %g", c);
	json_t *y = dh_json_get(r, "last_forecast"), *lo = dh_json_get(r, "last_lower"),
		*up = dh_json_get(r, "last_upper");
	cr_assert_eq(json_array_size(lo), 12);
	cr_assert_eq(json_array_size(up), 12);
	for (size_t k = 0; k < 12; k++) {
		double f = json_number_value(json_array_get(y, k));
		double l = json_number_value(json_array_get(lo, k));
		double u = json_number_value(json_array_get(up, k));
		cr_assert(l < f && f < u, "output %zu: %g not inside [%g, %g]", k + 1, f, l, u);
		cr_assert_float_eq(f - l, u - f, 1e-5 * (u - l), "output %zu: not centred", k + 1);
	}
	json_decref(r);
	dh_buf_free(&file);
}

Test(daemon_intervals, a_reading_far_outside_its_interval_is_counted_as_an_anomaly)
{
	start("level: 0.99");
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	dh_send_buckets(pub, &file, "s-", SERIES, 0, BUCKETS);
	cr_assert_eq(dh_wait_int("ticks", BUCKETS - 1, DH_WAIT_MS), BUCKETS - 1);
	long long before = dh_status_int("accuracy.anomalies");
	char spike[128];
	snprintf(spike, sizeof spike, "s-1 1000 %.3f\n", DH_T0 + BUCKETS);
	dh_send(pub, spike, strlen(spike));
	snprintf(spike, sizeof spike, "s-1 0 %.3f\n", DH_T0 + BUCKETS + 1);
	dh_send(pub, spike, strlen(spike));
	cr_assert_eq(dh_wait_int("ticks", BUCKETS + 1, DH_WAIT_MS), BUCKETS + 1);
	cr_assert_geq(dh_status_int("accuracy.anomalies"), before + 1);
	dh_buf_free(&file);
}

Test(daemon_intervals, anomaly_events_without_intervals_are_refused_at_start)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK,
		.anomaly = "level: 0.99"});
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "%s --config %s > %s 2>&1", getenv("TC_TICKCASTD"),
		dh_path("tickcast.yaml"), dh_path("out.txt"));
	int rc = system(cmd);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 1, "tickcastd exited %d", rc);
	size_t len;
	char *said = dh_read_file(dh_path("out.txt"), &len);
	cr_assert(strstr(said, "anomaly: needs model.intervals"), "%s", said);
	free(said);
}

/* Splits what sub received into forecast lines and anomaly event bodies
 * (topic "anomaly.<series>", which must name the event's own series). */
static void split_received(const struct dh_received *r, struct dh_lines *forecasts,
	struct dh_lines *events)
{
	for (size_t i = 0; i < r->bodies.n; i++) {
		const char *topic = r->topics.v[i], *body = r->bodies.v[i];
		if (strncmp(topic, "anomaly.", 8) == 0) {
			char want[64];
			snprintf(want, sizeof want, "{\"series\":\"%s\",", topic + 8);
			cr_assert(strncmp(body, want, strlen(want)) == 0, "topic %s, body %s", topic, body);
			dh_lines_add(events, body, strlen(body));
		} else {
			dh_lines_split(forecasts, body, strlen(body));
		}
	}
}

Test(daemon_intervals, it_publishes_the_bounds_and_events_replay_writes)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = MODEL, .tick = DH_EVENT_TICK,
		.publish = "format: json", .anomaly = "level: 0.99"});
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	dh_send_buckets(pub, &file, "s-", SERIES, 0, BUCKETS);
	size_t from = file.len;
	dh_buf_printf(&file, "s-1 1000 %.3f\ns-1 0 %.3f\n", DH_T0 + BUCKETS,
		DH_T0 + BUCKETS + 1);
	dh_send(pub, file.p + from, file.len - from);
	dh_expect_int("readings.accepted", SERIES * BUCKETS + 2);
	dh_stop(DH_STOP_MS);

	struct dh_lines want = {0}, want_events = {0};
	dh_replay_as(dh.config, file.p, file.len, TC_FORMAT_JSON, &want, &want_events);
	struct dh_received got = {0};
	dh_receive(sub, &got, want.n + want_events.n, 300, DH_RECEIVE_MS);
	struct dh_lines forecasts = {0}, events = {0};
	split_received(&got, &forecasts, &events);
	cr_assert(strstr(want.v[want.n - 1], "\"lower\":["), "%s", want.v[want.n - 1]);
	dh_expect_same_lines(&forecasts, &want, "JSON forecasts with intervals");
	int spike = 0;
	for (size_t i = 0; i < want_events.n; i++) {
		spike |= strstr(want_events.v[i], "\"series\":\"s-1\"") != NULL
			&& strstr(want_events.v[i], "\"value\":1000,") != NULL;
	}
	cr_assert(spike, "replay wrote no event for the spike");
	dh_expect_same_lines(&events, &want_events, "anomaly events");
	dh_lines_free(&want);
	dh_lines_free(&want_events);
	dh_lines_free(&forecasts);
	dh_lines_free(&events);
	dh_received_free(&got);
	dh_buf_free(&file);
}
