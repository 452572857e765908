/* fuzz_anomaly_binary.c -- libFuzzer harness: the binary anomaly event reader
 * that subscribers use (tc_anomaly_binary_reader_init and _next).
 *
 * init checks the whole body, so once it accepts, next must hand out exactly
 * N records, each id valid by tc_series_id_check and inside the body; then
 * 0. The records, written again with the writer, must read back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly_format.h"
#include "error.h"
#include "series_id.h"

/* The floats of an event as bits, for a comparison that NaNs pass. */
static int same_event(const struct tc_anomaly *a, const struct tc_anomaly *b)
{
	const float x[] = {a->value, a->expected, a->lower, a->upper, a->score};
	const float y[] = {b->value, b->expected, b->lower, b->upper, b->score};
	return memcmp(x, y, sizeof x) == 0;
}

/* The body's records, written again into a batch of the same size, must be
 * read back the same: ids and floats bit for bit. */
static void check_round_trip(const uint8_t *data, size_t size)
{
	unsigned char *buf = malloc(size);
	struct tc_anomaly_binary_reader rd, again;
	struct tc_anomaly_binary_record r, g;
	struct tc_anomaly_binary_writer w;
	char err[TC_ERR_LEN];
	if (!buf || tc_anomaly_binary_reader_init(&rd, data, size, err) < 0
		|| tc_anomaly_binary_writer_init(&w, buf, size, rd.bucket_ms) < 0) {
		abort();
	}
	while (tc_anomaly_binary_reader_next(&rd, &r)) {
		if (tc_anomaly_binary_writer_add(&w, r.id, r.id_len, &r.a) < 0) {
			abort();
		}
	}
	if (w.len != size || memcmp(buf, data, size) != 0
		|| tc_anomaly_binary_reader_init(&again, buf, w.len, err) < 0
		|| tc_anomaly_binary_reader_init(&rd, data, size, err) < 0) {
		abort();
	}
	while (tc_anomaly_binary_reader_next(&rd, &r)) {
		if (!tc_anomaly_binary_reader_next(&again, &g) || g.id_len != r.id_len
			|| memcmp(g.id, r.id, r.id_len) != 0 || !same_event(&g.a, &r.a)) {
			abort();
		}
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tc_anomaly_binary_reader rd;
	struct tc_anomaly_binary_record r;
	char err[TC_ERR_LEN];
	if (tc_anomaly_binary_reader_init(&rd, data, size, err) < 0) {
		return 0;
	}
	uint32_t n = 0;
	while (tc_anomaly_binary_reader_next(&rd, &r)) {
		if (++n > rd.count || (const uint8_t *)r.id < data
			|| (const uint8_t *)r.id + r.id_len > data + size
			|| tc_series_id_check(r.id, r.id_len, err) < 0) {
			abort();
		}
	}
	if (n != rd.count || tc_anomaly_binary_reader_next(&rd, &r) != 0) {
		abort();
	}
	check_round_trip(data, size);
	return 0;
}
