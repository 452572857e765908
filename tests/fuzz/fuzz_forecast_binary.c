/* fuzz_forecast_binary.c -- libFuzzer harness: the binary forecast batch reader
 * that subscribers use (tc_forecast_binary_reader_init and _next).
 *
 * init checks the whole body, so once it accepts, next must hand out exactly
 * N records, each id valid by tc_series_id_check and inside the body, warm 0
 * or 1; then 0. The records, written again with the writer, must read back
 * the same, intervals included. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "forecast_binary.h"

static float y[TC_FORECAST_BINARY_MAX_OUTPUTS];
static float y_again[TC_FORECAST_BINARY_MAX_OUTPUTS];
static float lower[TC_FORECAST_BINARY_MAX_OUTPUTS], upper[TC_FORECAST_BINARY_MAX_OUTPUTS];
static float lower_again[TC_FORECAST_BINARY_MAX_OUTPUTS];
static float upper_again[TC_FORECAST_BINARY_MAX_OUTPUTS];

/* The body's records, written again into a batch of the same size, must be
 * read back the same: ids, outputs and bounds bit for bit, warm bytes. */
static void check_round_trip(const struct tc_forecast_binary_reader *first, const uint8_t *data,
	size_t size)
{
	unsigned char *buf = malloc(size);
	struct tc_forecast_binary_writer w;
	struct tc_forecast_binary_reader rd = *first, again;
	struct tc_forecast_binary_record f, g;
	char err[TC_ERR_LEN];
	if (!buf || tc_forecast_binary_writer_init(&w, buf, size, rd.n_outputs, rd.has_warm,
		rd.has_interval, rd.bucket_ms) < 0) {
		abort();
	}
	rd.pos = data + TC_FORECAST_BINARY_HEADER_LEN;
	rd.index = 0;
	while (tc_forecast_binary_reader_next(&rd, &f, y, lower, upper)) {
		if (tc_forecast_binary_writer_add(&w, f.id, f.id_len, y, lower, upper, f.warm) < 0) {
			abort();
		}
	}
	if (tc_forecast_binary_reader_init(&again, buf, w.len, err) < 0 || again.count != first->count
		|| again.bucket_ms != first->bucket_ms) {
		abort();
	}
	rd.pos = data + TC_FORECAST_BINARY_HEADER_LEN;
	rd.index = 0;
	size_t bytes = sizeof(float) * (size_t)rd.n_outputs;
	while (tc_forecast_binary_reader_next(&rd, &f, y, lower, upper)) {
		if (!tc_forecast_binary_reader_next(&again, &g, y_again, lower_again, upper_again)
			|| g.id_len != f.id_len || memcmp(g.id, f.id, f.id_len) != 0 || g.warm != f.warm
			|| memcmp(y, y_again, bytes) != 0 || (rd.has_interval
				&& (memcmp(lower, lower_again, bytes) != 0
					|| memcmp(upper, upper_again, bytes) != 0))) {
			abort();
		}
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tc_forecast_binary_reader rd;
	char err[TC_ERR_LEN];
	if (tc_forecast_binary_reader_init(&rd, data, size, err) < 0) {
		return 0;
	}
	struct tc_forecast_binary_reader first = rd;
	struct tc_forecast_binary_record f;
	uint32_t n = 0;
	while (tc_forecast_binary_reader_next(&rd, &f, y, lower, upper)) {
		if (++n > rd.count || (const uint8_t *)f.id < data
			|| (const uint8_t *)f.id + f.id_len > data + size
			|| tc_series_id_check(f.id, f.id_len, err) < 0 || (f.warm != 0 && f.warm != 1)) {
			abort();
		}
	}
	if (n != rd.count || tc_forecast_binary_reader_next(&rd, &f, y, lower, upper) != 0) {
		abort();
	}
	check_round_trip(&first, data, size);
	return 0;
}
