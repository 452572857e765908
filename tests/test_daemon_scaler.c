/* test_daemon_scaler.c -- tickcastd end to end with model.scaler ema: JSON forecasts say
 * "warm":false while a series warms up, status counts the series warming, `series <id>`
 * reports the series' own units, and the numbers are what `tickcast replay` prints. */
#include <math.h>

#include "daemon_harness.h"

TestSuite(daemon_scaler, .init = dh_setup, .fini = dh_teardown, .timeout = 120);

enum { SERIES = 6, LATE = 5, BUCKETS = 4, WARMUP = 3 };

/* Series i's reading in bucket b: even ones around 1000, odd ones around 0. */
static double value(unsigned i, unsigned b)
{
	return (i % 2 ? 0.0 : 1000.0) + (i % 2 ? 1.0 : 50.0) * (double)dh_value(i, b);
}

/* Series LATE reads from bucket 2 on, so it is still warming when the others are warm. */
static void add_bucket(struct dh_buf *file, unsigned b)
{
	for (unsigned i = 0; i < SERIES; i++) {
		if (i != LATE || b >= 2) {
			dh_buf_printf(file, "scaled-%u %.9g %.3f\n", i, (double)(float)value(i, b),
				DH_T0 + b + (double)i / 100.0);
		}
	}
}

static unsigned readings_until(unsigned b)
{
	unsigned n = 0;
	for (unsigned k = 0; k <= b; k++) {
		n += k >= 2 ? SERIES : SERIES - 1;
	}
	return n;
}

/* Readings a series has had once bucket b is stepped; it is warm at WARMUP. */
static unsigned readings_of(unsigned i, unsigned b)
{
	return i == LATE ? (b >= 2 ? b - 1 : 0) : b + 1;
}

static const char *line_of(const struct dh_lines *lines, const char *id, double t)
{
	size_t len = strlen(id);
	for (size_t i = 0; i < lines->n; i++) {
		if (strncmp(lines->v[i], id, len) == 0 && lines->v[i][len] == ' '
			&& dh_line_time(lines->v[i]) == t) {
			return lines->v[i];
		}
	}
	return NULL;
}

/* The forecast numbers of a text line: what follows "<id> <t> ". */
static const char *numbers_of(const char *line)
{
	const char *p = strchr(strchr(line, ' ') + 1, ' ');
	cr_assert_not_null(p);
	return p + 1;
}

Test(daemon_scaler, json_says_warm_false_until_warmup_and_status_counts_the_warming)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){
		.model = DH_SAMPLE_MODEL ", scaler: {type: ema, alpha: 0.1, warmup: 3}",
		.tick = DH_EVENT_TICK, .publish = "format: json"});
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	/* warming after each bucket's readings arrive (the bucket before is stepped) */
	static const long long warming[BUCKETS] = {SERIES - 1, SERIES - 1, SERIES, 1};
	for (unsigned b = 0; b < BUCKETS; b++) {
		size_t from = file.len;
		add_bucket(&file, b);
		dh_send(pub, file.p + from, file.len - from);
		dh_expect_int("readings.accepted", readings_until(b));
		dh_expect_int("ticks", b);
		cr_assert_eq(dh_status_int("series_warming"), warming[b], "after bucket %u", b);
	}
	struct dh_lines want = {0};
	dh_replay(dh.config, file.p, file.len, &want);

	/* `series` answers in the series' own units: bucket 2 is the last stepped. */
	json_t *s = dh_request("series scaled-0");
	json_t *input = dh_json_get(s, "last_input"), *forecast = dh_json_get(s, "last_forecast");
	cr_assert_eq((float)json_number_value(json_array_get(input, 0)), (float)value(0, 2));
	const char *line = line_of(&want, "scaled-0", DH_T0 + 2);
	cr_assert_not_null(line);
	char *p = (char *)numbers_of(line);
	for (size_t k = 0; k < json_array_size(forecast); k++) {
		float text_value = strtof(p, &p);
		cr_assert_eq((float)json_number_value(json_array_get(forecast, k)), text_value);
		cr_assert(fabsf(text_value - 1000.0f) < 500.0f, "forecast %.9g is not around 1000",
			(double)text_value);
	}
	json_decref(s);

	dh_stop(DH_STOP_MS);
	cr_assert_eq(want.n, readings_until(BUCKETS - 1));
	struct dh_received got = {0};
	dh_receive(sub, &got, want.n, 200, DH_RECEIVE_MS);
	cr_assert_eq(got.bodies.n, want.n, "one message per forecast");
	size_t cold = 0;
	for (size_t m = 0; m < got.bodies.n; m++) {
		json_error_t error;
		json_t *j = json_loads(got.bodies.v[m], 0, &error);
		cr_assert(json_is_object(j), "not a JSON object (%s): %s", error.text, got.bodies.v[m]);
		const char *series = dh_json_str(j, "series");
		double t = json_number_value(json_object_get(j, "t"));
		unsigned i = (unsigned)atoi(series + strlen("scaled-"));
		unsigned b = (unsigned)(t - DH_T0);
		json_t *warm = json_object_get(j, "warm");
		if (readings_of(i, b) < WARMUP) {
			cr_assert(json_is_false(warm), "%s: expected \"warm\":false", got.bodies.v[m]);
			cr_assert_eq(json_object_size(j), 4, "%s", got.bodies.v[m]);
			cold++;
		} else {
			cr_assert_null(warm, "%s: a warm series has no warm key", got.bodies.v[m]);
			cr_assert_eq(json_object_size(j), 3, "%s", got.bodies.v[m]);
		}
		line = line_of(&want, series, t);
		cr_assert_not_null(line, "no replay line for %s", got.bodies.v[m]);
		p = (char *)numbers_of(line);
		json_t *f = json_object_get(j, "forecast");
		for (size_t k = 0; k < json_array_size(f); k++) {
			cr_assert_eq((float)json_number_value(json_array_get(f, k)), strtof(p, &p),
				"%s: forecast[%zu] differs from replay's %s", got.bodies.v[m], k, line);
		}
		json_decref(j);
	}
	/* buckets 0 and 1: the five early series; buckets 2 and 3: the late one */
	cr_assert_eq(cold, 2 * (SERIES - 1) + 2);
	dh_buf_free(&file);
	dh_lines_free(&want);
	dh_received_free(&got);
}

Test(daemon_scaler, status_reports_no_series_warming_without_a_scaler)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK});
	dh_start();
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	add_bucket(&file, 0);
	add_bucket(&file, 1);
	dh_send(pub, file.p, file.len);
	dh_expect_int("readings.accepted", readings_until(1));
	dh_expect_int("ticks", 1);
	cr_assert_eq(dh_status_int("series_warming"), 0);
	dh_stop(DH_STOP_MS);
	dh_buf_free(&file);
}

/* Buckets close 250 ms after their last reading, so a reload's swap (at a
 * tick boundary) does not wait for the next bucket. */
#define FLUSHING_TICK "clock: event, interval_ms: 1000, flush_ms: 250"

/* A reload that changes the scaler applies the model section's weights as
 * ever, but the scaler keeps its settings until a restart, and says so. */
Test(daemon_scaler, a_reload_keeps_the_scaler_it_started_with_and_logs_so)
{
	dh_copy_sample("w.safetensors");
	const struct dh_config first = {
		.model = DH_SAMPLE_MODEL ", scaler: {type: ema, alpha: 0.1, warmup: 3}",
		.tick = FLUSHING_TICK};
	dh_write_config(&first);
	dh_write_config_as("first.yaml", &first);
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	add_bucket(&file, 0);
	add_bucket(&file, 1);
	dh_send(pub, file.p, file.len);
	dh_expect_int("readings.accepted", readings_until(1));
	dh_expect_int("ticks", 2);
	dh_write_config(&(struct dh_config){
		.model = DH_SAMPLE_MODEL ", scaler: {type: ema, alpha: 0.9, warmup: 1}",
		.tick = FLUSHING_TICK});
	json_t *r = dh_request("reload");
	cr_assert(json_is_true(json_object_get(r, "ok")), "reload refused: %s", dh_log_tail());
	json_decref(r);
	size_t from = file.len;
	add_bucket(&file, 2);
	add_bucket(&file, 3);
	dh_send(pub, file.p + from, file.len - from);
	dh_expect_int("readings.accepted", readings_until(3));
	dh_expect_int("ticks", 4);
	cr_assert_eq(dh_status_int("series_warming"), 1, "warmup is still 3: the late series warms");
	dh_stop_and_expect_replay(sub, dh_path("first.yaml"), file.p, file.len,
		"forecasts across a reload that changes the scaler");
	cr_assert(strstr(dh_log_tail(), "model.scaler section changed; it takes effect on restart"),
		"no warning in the log:\n%s", dh_log_tail());
	dh_buf_free(&file);
}
