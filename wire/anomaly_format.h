/* anomaly_format.h -- anomaly event bodies: text, JSON and binary, written and read.
 *
 * An event (wire/anomaly.h) goes out on `<anomaly.topic_prefix><series>` in
 * the forecasts' format (publish.format), one message per event
 * (docs/protocol.md, "Anomaly events"):
 *
 *   text:    <series> <t> <value> <expected> <lower> <upper> <score>
 *   json:    {"series":"<series>","t":<t>,"value":..,"expected":..,"lower":..,
 *            "upper":..,"score":..}
 *   binary:  header  00 'T' 'C' 'A' | u8 version (1) | u8 flags (0) | u16 0 | u32 N
 *                    | i64 bucket_ms
 *            record  u8 L | L id bytes | 5 x f32 (value, expected, lower, upper, score)
 *
 * t and the floats are written as forecasts write them (forecast_format.h):
 * t the bucket start in seconds, floats as "%.9g", non-finite ones nan/inf in
 * text and null in JSON; binary little-endian, floats bit for bit. The
 * binary reader checks a whole body as the forecast one does
 * (forecast_binary.h):
 *
 *     struct tc_anomaly_binary_reader rd;
 *     struct tc_anomaly_binary_record r;
 *     if (tc_anomaly_binary_reader_init(&rd, data, len, err) < 0) { bad_message(err); }
 *     else while (tc_anomaly_binary_reader_next(&rd, &r)) {
 *         use(r.id, r.id_len, rd.bucket_ms, &r.a);   // r.a.row is 0
 *     }
 */
#ifndef TC_ANOMALY_FORMAT_H
#define TC_ANOMALY_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"
#include "config.h"

#define TC_ANOMALY_BINARY_MAGIC "\0TCA"     /* 4 bytes; 0x00 as a binary forecast batch's */
#define TC_ANOMALY_BINARY_MAGIC_LEN 4
#define TC_ANOMALY_BINARY_VERSION 1
#define TC_ANOMALY_BINARY_HEADER_LEN 20     /* bytes before the first record */
#define TC_ANOMALY_BINARY_FLOATS 5          /* value, expected, lower, upper, score */

/* ---- text and JSON ---- */

/* Bytes that always suffice for one text or JSON event, NUL included. */
size_t tc_anomaly_format_max_len(void);

/* Writes event a of series id (len bytes; a->row is not written) for the
 * bucket starting at bucket_ms as text or JSON, without a newline,
 * NUL-terminated, into buf (tc_anomaly_format_max_len bytes). Returns the
 * length written. */
size_t tc_anomaly_format(char *buf, enum tc_format format, const char *id, size_t len,
	int64_t bucket_ms, const struct tc_anomaly *a);

/* ---- binary ---- */

/* Whether a body of len bytes is a binary anomaly batch by its magic (a
 * binary body, first byte 0x00, that is not one is a forecast batch). */
int tc_anomaly_binary_detect(const void *data, size_t len);

/* Bytes one record takes: 1 + id_len + 20. */
size_t tc_anomaly_binary_record_size(size_t id_len);

struct tc_anomaly_binary_writer {
	unsigned char *buf;          /* borrowed from the caller */
	size_t cap;                  /* bytes of buf */
	size_t len;                  /* bytes of the batch so far, header included */
	uint32_t count;              /* records in it (also written in the header) */
};

/* Starts an empty batch for the tick starting at bucket_ms in buf (cap
 * bytes, the caller's). Returns 0, or -1 when cap is under the header. */
int tc_anomaly_binary_writer_init(struct tc_anomaly_binary_writer *w, void *buf, size_t cap,
	int64_t bucket_ms);

/* Appends event a of series id (id_len bytes; floats bit for bit, a->row
 * not written) and updates N. Returns 0, or -1 with w unchanged when it does
 * not fit, id_len is outside 1..TC_ID_MAX or N is at UINT32_MAX. */
int tc_anomaly_binary_writer_add(struct tc_anomaly_binary_writer *w, const char *id,
	size_t id_len, const struct tc_anomaly *a);

/* One record, as the reader hands it out. */
struct tc_anomaly_binary_record {
	const char *id;              /* into the body: id_len bytes, no NUL */
	size_t id_len;
	struct tc_anomaly a;         /* row 0: a body does not carry it */
};

struct tc_anomaly_binary_reader {
	const unsigned char *pos;    /* the next record */
	uint32_t count;              /* N, checked against the body by init */
	uint32_t index;              /* records read so far */
	int64_t bucket_ms;           /* the tick's start, ms since the epoch */
};

/* Checks a whole body of len bytes (borrowed; keep it until done): the
 * header, then exactly N records filling the rest, each id valid by
 * tc_series_id_check. Returns 0, or -1 with err (TC_ERR_LEN) saying what and
 * where; it reads every byte at most once and nothing past data + len. */
int tc_anomaly_binary_reader_init(struct tc_anomaly_binary_reader *rd, const void *data,
	size_t len, char *err);

/* Hands out the next record; 1, or 0 after the last. */
int tc_anomaly_binary_reader_next(struct tc_anomaly_binary_reader *rd,
	struct tc_anomaly_binary_record *r);

#endif
