/* forecast_binary.h -- the binary forecast batch: writer for the publisher, reader for subscribers.
 *
 * The format is specified in docs/protocol.md ("Forecasts, binary"). In short,
 * little-endian, with no alignment anywhere:
 *
 *     header  00 'T' 'C' 'F' | u8 version (1) | u8 flags | u16 O | u32 N | i64 bucket_ms
 *     record  u8 L | L id bytes | O x f32 forecasts
 *             | O x f32 lower, O x f32 upper (if flags & 2) | u8 warm (if flags & 1)
 *
 * All records of a batch belong to one tick (bucket_ms); flag bit 0 says the
 * model has a scaler, and then each record says whether its series is warm;
 * flag bit 1 says forecasts come with intervals (model.intervals).
 *
 * Writing a batch:
 *
 *     unsigned char buf[65536];
 *     struct tc_forecast_binary_writer w;
 *     tc_forecast_binary_writer_init(&w, buf, sizeof buf, n_outputs, has_warm, has_interval,
 *         bucket_ms);
 *     while (have_forecast(&id, &id_len, y, lower, upper, &warm)
 *            && tc_forecast_binary_writer_add(&w, id, id_len, y, lower, upper, warm) == 0) {
 *     }
 *     send(buf, w.len);          // buf holds a complete batch after every add
 *
 * Reading one (init checks the whole body, so next cannot fail):
 *
 *     struct tc_forecast_binary_reader rd;
 *     struct tc_forecast_binary_record f;
 *     float y[MAX], lower[MAX], upper[MAX];    // MAX: TC_FORECAST_BINARY_MAX_OUTPUTS
 *     if (tc_forecast_binary_reader_init(&rd, data, len, err) < 0) { bad_message(err); }
 *     else while (tc_forecast_binary_reader_next(&rd, &f, y, lower, upper)) {
 *         use(f.id, f.id_len, rd.bucket_ms, y, rd.n_outputs, f.warm,
 *             rd.has_interval ? lower : NULL, rd.has_interval ? upper : NULL);
 *     }
 */
#ifndef TC_FORECAST_BINARY_H
#define TC_FORECAST_BINARY_H

#include <stddef.h>
#include <stdint.h>

#include "series_id.h"

#define TC_FORECAST_BINARY_MAGIC "\0TCF"    /* 4 bytes; the 0x00 can begin no text forecast */
#define TC_FORECAST_BINARY_MAGIC_LEN 4
#define TC_FORECAST_BINARY_VERSION 1
#define TC_FORECAST_BINARY_FLAG_WARM 0x01   /* every record ends with a warm byte */
#define TC_FORECAST_BINARY_FLAG_INTERVAL 0x02 /* every record has lower and upper bounds */
#define TC_FORECAST_BINARY_HEADER_LEN 20    /* bytes before the first record */
#define TC_FORECAST_BINARY_MAX_OUTPUTS 8192 /* O at most: model.head.outputs' bound */

/* Whether a message body of len bytes is meant as a binary batch: its first
 * byte is 0x00 (no text or JSON forecast can start so). Such a body is binary
 * even when the rest of the magic is wrong; the reader then rejects it. */
int tc_forecast_binary_detect(const void *data, size_t len);

/* Bytes one record takes: 1 + id_len + 4 * n_outputs (3 times that with an
 * interval), + 1 with a warm byte. */
size_t tc_forecast_binary_record_size(size_t id_len, int n_outputs, int has_warm,
	int has_interval);

/* ---- writing ---- */

struct tc_forecast_binary_writer {
	unsigned char *buf;          /* borrowed from the caller */
	size_t cap;                  /* bytes of buf */
	size_t len;                  /* bytes of the batch so far, header included */
	uint32_t count;              /* records in it (also written in the header) */
	int n_outputs;               /* O */
	int has_warm;                /* whether records carry a warm byte */
	int has_interval;            /* whether records carry lower and upper bounds */
};

/* Starts an empty batch (header, N = 0) for the tick starting at bucket_ms
 * (ms since the epoch) in buf, which the caller owns and must keep until
 * done with w. Returns 0, or -1 when cap is under
 * TC_FORECAST_BINARY_HEADER_LEN or n_outputs is outside
 * 1..TC_FORECAST_BINARY_MAX_OUTPUTS. Calling it again starts a new batch. */
int tc_forecast_binary_writer_init(struct tc_forecast_binary_writer *w, void *buf, size_t cap,
	int n_outputs, int has_warm, int has_interval, int64_t bucket_ms);

/* Appends the forecast y (w->n_outputs floats, written bit for bit, NaN and
 * infinities included) of series id (id_len bytes) and updates N, so that
 * buf[0..w->len) is a complete batch after every call; lower and upper
 * (w->n_outputs floats each) are written only when the batch has intervals
 * (NULL otherwise), warm (0 or not) only when it has warm bytes. Returns 0,
 * or -1 with w unchanged when the record does not fit in cap, id_len is
 * outside 1..TC_ID_MAX, N is at UINT32_MAX, or the batch has intervals and
 * lower or upper is NULL. The id's bytes are
 * not checked (the daemon's ids were checked when they came in): one with a
 * space or control character makes a batch that readers refuse. */
int tc_forecast_binary_writer_add(struct tc_forecast_binary_writer *w, const char *id,
	size_t id_len, const float *y, const float *lower, const float *upper, int warm);

/* ---- reading ---- */

/* One record, as the reader hands it out. */
struct tc_forecast_binary_record {
	const char *id;              /* into the body: id_len bytes, no NUL */
	size_t id_len;
	int warm;                    /* 0 while the series' scaler warms up; 1 when warm or no warm byte */
};

struct tc_forecast_binary_reader {
	const unsigned char *pos;    /* the next record */
	uint32_t count;              /* N, checked against the body by init */
	uint32_t index;              /* records read so far */
	int n_outputs;               /* O */
	int has_warm;                /* whether records carry a warm byte */
	int has_interval;            /* whether records carry lower and upper bounds */
	int64_t bucket_ms;           /* the tick's start, ms since the epoch */
};

/* Checks a whole body of len bytes (borrowed; keep it until done): the
 * header, then that exactly N well-formed records fill the rest (each id
 * valid by tc_series_id_check, each warm byte 0 or 1).
 * Returns 0, or -1 with err (TC_ERR_LEN bytes) saying what and where; then
 * rd holds no record. It reads every byte at most once and nothing past
 * data + len, whatever N says. */
int tc_forecast_binary_reader_init(struct tc_forecast_binary_reader *rd, const void *data,
	size_t len, char *err);

/* Hands out the next record in f and its outputs in y (rd->n_outputs
 * floats, bit for bit); with rd->has_interval, its bounds in lower and upper
 * (as many floats each; either may be NULL to skip them), which are left
 * alone otherwise. Returns 1, or 0 after the last record. */
int tc_forecast_binary_reader_next(struct tc_forecast_binary_reader *rd,
	struct tc_forecast_binary_record *f, float *y, float *lower, float *upper);

#endif
