/* test_daemon_replay.c -- `tickcast replay --format` against tickcastd: the JSON
 * bodies it writes are those the daemon publishes for the same readings, and its
 * binary batches read back (with the reader) as the same numbers as its text. */
#include "byte_order.h"
#include "daemon_harness.h"
#include "forecast_binary.h"
#include "forecast_format.h"

TestSuite(daemon_replay, .init = dh_setup, .fini = dh_teardown, .timeout = 120);

enum { SERIES = 5, BUCKETS = 4 };

#define SCALED_MODEL DH_SAMPLE_MODEL ", scaler: {type: ema, alpha: 0.1, warmup: 2}"

/* The readings: SERIES series in BUCKETS event buckets, in readings.txt. */
static void write_readings(struct dh_buf *file)
{
	for (unsigned b = 0; b < BUCKETS; b++) {
		dh_add_bucket(file, "rp-", 0, SERIES, b);
	}
	dh_write_file("readings.txt", file->p, file->len);
}

/* Runs `tickcast replay -q --config <config> <args> < readings.txt > <out>`
 * in the test's dir; returns the output file's bytes (caller frees). */
static char *replay(const char *args, const char *out, size_t *len)
{
	char cmd[2048], config[256], in[256], out_path[256];
	snprintf(config, sizeof config, "%s", dh.config);
	snprintf(in, sizeof in, "%s", dh_path("readings.txt"));
	snprintf(out_path, sizeof out_path, "%s", dh_path(out));
	snprintf(cmd, sizeof cmd, "cd '%s' && '%s' replay -q --config '%s' %s < '%s' > '%s'",
		dh.dir, getenv("TC_TICKCAST"), config, args, in, out_path);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	return dh_read_file(out_path, len);
}

/* The daemon, on the event clock with a scaler (so that some forecasts are
 * "warm":false), publishing JSON: every body it sends is a line that
 * `tickcast replay --format json` writes, and the other way round. */
Test(daemon_replay, replay_format_json_writes_the_bodies_the_daemon_publishes)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = SCALED_MODEL, .tick = DH_EVENT_TICK,
		.publish = "format: json"});
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	struct dh_buf file = {0};
	write_readings(&file);
	dh_send(pub, file.p, file.len);
	dh_expect_int("readings.accepted", SERIES * BUCKETS);
	dh_stop(DH_STOP_MS); /* closes the last bucket */

	size_t len;
	char *printed = replay("--format json --anomalies events.json", "forecasts.json", &len);
	struct dh_lines want = {0};
	dh_lines_split(&want, printed, len);
	cr_assert_eq(want.n, SERIES * BUCKETS);
	size_t cold = 0;
	for (size_t i = 0; i < want.n; i++) {
		cold += strstr(want.v[i], "\"warm\":false") != NULL;
	}
	cr_assert_eq(cold, SERIES, "bucket 0's forecasts are the ones warming (warmup 2)");
	struct dh_received got = {0};
	dh_receive(sub, &got, want.n, 200, DH_RECEIVE_MS);
	dh_expect_same_lines(&got.bodies, &want, "JSON bodies against replay --format json");
	size_t events_len;
	free(dh_read_file(dh_path("events.json"), &events_len));
	cr_assert_eq(events_len, 0, "no intervals, no anomaly events");
	free(printed);
	dh_buf_free(&file);
	dh_lines_free(&want);
	dh_received_free(&got);
}

/* --format binary: one length-prefixed batch per tick; read back and
 * written as text lines, they are exactly what --format text writes. */
Test(daemon_replay, replay_format_binary_reads_back_as_the_text_forecasts)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = SCALED_MODEL, .tick = DH_EVENT_TICK});
	struct dh_buf file = {0};
	write_readings(&file);
	size_t text_len, binary_len;
	char *text = replay("", "forecasts.txt", &text_len);
	char *binary = replay("--format binary", "forecasts.bin", &binary_len);
	struct dh_lines want = {0}, decoded = {0};
	dh_lines_split(&want, text, text_len);
	cr_assert_eq(want.n, SERIES * BUCKETS);
	char line[4096];
	float y[64];
	size_t at = 0, batches = 0;
	while (at < binary_len) {
		cr_assert_leq(at + 4, binary_len, "a length prefix cut short");
		size_t len = tc_load_u32((const unsigned char *)binary + at);
		at += 4;
		cr_assert_leq(at + len, binary_len, "a batch cut short");
		struct tc_forecast_binary_reader rd;
		struct tc_forecast_binary_record f;
		char err[TC_ERR_LEN];
		cr_assert_eq(tc_forecast_binary_reader_init(&rd, binary + at, len, err), 0, "%s", err);
		cr_assert_eq(rd.count, SERIES, "one batch holds its tick's forecasts");
		cr_assert(rd.has_warm && !rd.has_interval);
		cr_assert_leq(rd.n_outputs, 64);
		while (tc_forecast_binary_reader_next(&rd, &f, y, NULL, NULL)) {
			struct tc_forecast_values v = {.y = y, .n = rd.n_outputs, .warm = f.warm};
			cr_assert_lt(tc_forecast_max_len(rd.n_outputs, 0), sizeof line);
			size_t n = tc_forecast_format(line, TC_FORMAT_TEXT, f.id, f.id_len, rd.bucket_ms,
				&v);
			dh_lines_add(&decoded, line, n);
		}
		at += len;
		batches++;
	}
	cr_assert_eq(batches, BUCKETS);
	dh_expect_same_lines(&decoded, &want, "binary batches against replay's text");
	free(text);
	free(binary);
	dh_buf_free(&file);
	dh_lines_free(&want);
	dh_lines_free(&decoded);
}
