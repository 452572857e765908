/* anomaly_format.c -- writing and reading anomaly event bodies (docs/protocol.md). */
#include "anomaly_format.h"

#include <string.h>

#include "byte_order.h"
#include "error.h"
#include "float_text.h"
#include "forecast_format.h"
#include "series_id.h"

#define LITERAL(s) s, sizeof s - 1

/* The event's floats in the order every form writes them. */
static void event_floats(const struct tc_anomaly *a, float v[TC_ANOMALY_BINARY_FLOATS])
{
	v[0] = a->value;
	v[1] = a->expected;
	v[2] = a->lower;
	v[3] = a->upper;
	v[4] = a->score;
}

/* The JSON keys of event_floats' floats, each with the comma before it. */
static const char *const json_keys[TC_ANOMALY_BINARY_FLOATS] = {
	",\"value\":", ",\"expected\":", ",\"lower\":", ",\"upper\":", ",\"score\":",
};

size_t tc_anomaly_format_max_len(void)
{
	/* A JSON id (3 bytes a byte at most), t, five floats with their keys
	 * (under 16 bytes each), and the rest of the object with room to spare. */
	return 3 * TC_ID_MAX + TC_FORECAST_TIME_MAX
		+ TC_ANOMALY_BINARY_FLOATS * (TC_FLOAT_TEXT_MAX + 16) + 64;
}

static size_t append(char *buf, size_t used, const char *s, size_t len)
{
	memcpy(buf + used, s, len);
	return used + len;
}

static size_t format_text(char *buf, const char *id, size_t len, int64_t bucket_ms,
	const float *v)
{
	size_t used = append(buf, 0, id, len);
	buf[used++] = ' ';
	used += tc_forecast_format_time(buf + used, bucket_ms);
	for (int k = 0; k < TC_ANOMALY_BINARY_FLOATS; k++) {
		buf[used++] = ' ';
		used += tc_float_text(buf + used, v[k]);
	}
	return used;
}

static size_t format_json(char *buf, const char *id, size_t len, int64_t bucket_ms,
	const float *v)
{
	size_t used = append(buf, 0, LITERAL("{\"series\":"));
	used += tc_forecast_format_json_string(buf + used, id, len);
	used = append(buf, used, LITERAL(",\"t\":"));
	used += tc_forecast_format_time(buf + used, bucket_ms);
	for (int k = 0; k < TC_ANOMALY_BINARY_FLOATS; k++) {
		used = append(buf, used, json_keys[k], strlen(json_keys[k]));
		used += tc_forecast_format_json_float(buf + used, v[k]);
	}
	buf[used++] = '}';
	return used;
}

size_t tc_anomaly_format(char *buf, enum tc_format format, const char *id, size_t len,
	int64_t bucket_ms, const struct tc_anomaly *a)
{
	float v[TC_ANOMALY_BINARY_FLOATS];
	event_floats(a, v);
	size_t used = format == TC_FORMAT_JSON ? format_json(buf, id, len, bucket_ms, v)
		: format_text(buf, id, len, bucket_ms, v);
	buf[used] = '\0';
	return used;
}

/* ---- binary ---- */

int tc_anomaly_binary_detect(const void *data, size_t len)
{
	return len >= TC_ANOMALY_BINARY_MAGIC_LEN
		&& memcmp(data, TC_ANOMALY_BINARY_MAGIC, TC_ANOMALY_BINARY_MAGIC_LEN) == 0;
}

size_t tc_anomaly_binary_record_size(size_t id_len)
{
	return 1 + id_len + 4 * TC_ANOMALY_BINARY_FLOATS;
}

int tc_anomaly_binary_writer_init(struct tc_anomaly_binary_writer *w, void *buf, size_t cap,
	int64_t bucket_ms)
{
	if (cap < TC_ANOMALY_BINARY_HEADER_LEN) {
		return -1;
	}
	*w = (struct tc_anomaly_binary_writer){
		.buf = buf,
		.cap = cap,
		.len = TC_ANOMALY_BINARY_HEADER_LEN,
	};
	memcpy(w->buf, TC_ANOMALY_BINARY_MAGIC, TC_ANOMALY_BINARY_MAGIC_LEN);
	w->buf[4] = TC_ANOMALY_BINARY_VERSION;
	w->buf[5] = 0;
	tc_store_u16(w->buf + 6, 0);
	tc_store_u32(w->buf + 8, 0);
	tc_store_u64(w->buf + 12, (uint64_t)bucket_ms);
	return 0;
}

int tc_anomaly_binary_writer_add(struct tc_anomaly_binary_writer *w, const char *id,
	size_t id_len, const struct tc_anomaly *a)
{
	size_t size = tc_anomaly_binary_record_size(id_len);
	if (id_len < 1 || id_len > TC_ID_MAX || w->count == UINT32_MAX || size > w->cap - w->len) {
		return -1;
	}
	unsigned char *p = w->buf + w->len;
	*p++ = (unsigned char)id_len;
	memcpy(p, id, id_len);
	p += id_len;
	float v[TC_ANOMALY_BINARY_FLOATS];
	event_floats(a, v);
	for (int k = 0; k < TC_ANOMALY_BINARY_FLOATS; k++, p += 4) {
		tc_store_f32(p, v[k]);
	}
	w->len += size;
	w->count++;
	tc_store_u32(w->buf + 8, w->count);
	return 0;
}

static int check_header(const unsigned char *p, size_t len, char *err)
{
	if (len < TC_ANOMALY_BINARY_HEADER_LEN) {
		return tc_err_set(err, "binary anomaly batch: header truncated (%zu bytes, needs %d)",
			len, TC_ANOMALY_BINARY_HEADER_LEN);
	}
	if (memcmp(p, TC_ANOMALY_BINARY_MAGIC, TC_ANOMALY_BINARY_MAGIC_LEN) != 0) {
		return tc_err_set(err, "binary anomaly batch: bad magic %02x %02x %02x %02x, "
			"expected 00 54 43 41 (\"\\0TCA\")", p[0], p[1], p[2], p[3]);
	}
	if (p[4] != TC_ANOMALY_BINARY_VERSION) {
		return tc_err_set(err, "binary anomaly batch: version %u, this reader knows version %d",
			p[4], TC_ANOMALY_BINARY_VERSION);
	}
	if (p[5] != 0) {
		return tc_err_set(err, "binary anomaly batch: unknown flags 0x%02x (known: none)", p[5]);
	}
	if (tc_load_u16(p + 6) != 0) {
		return tc_err_set(err, "binary anomaly batch: reserved bytes 6-7 are %u, expected 0",
			tc_load_u16(p + 6));
	}
	return 0;
}

/* Checks record number (1-based) at p, with left bytes to the end of the
 * body; returns its size, or 0 with err. */
static size_t check_record(const unsigned char *p, size_t left, uint32_t number, uint32_t count,
	char *err)
{
	if (left == 0) {
		tc_err_set(err, "binary anomaly batch: ends after record %u of %u (N is too large)",
			number - 1, count);
		return 0;
	}
	size_t id_len = p[0];
	size_t size = tc_anomaly_binary_record_size(id_len);
	/* An empty id is reported as such even in a truncated record: it reads no byte. */
	if (id_len > 0 && size > left) {
		tc_err_set(err, "binary anomaly batch: record %u of %u truncated (%zu bytes, %zu left)",
			number, count, size, left);
		return 0;
	}
	if (tc_series_id_check((const char *)p + 1, id_len, err) < 0) {
		tc_err_prefix(err, "binary anomaly batch: record %u of %u", number, count);
		return 0;
	}
	return size;
}

int tc_anomaly_binary_reader_init(struct tc_anomaly_binary_reader *rd, const void *data,
	size_t len, char *err)
{
	const unsigned char *p = data;
	*rd = (struct tc_anomaly_binary_reader){0};
	if (check_header(p, len, err) < 0) {
		return -1;
	}
	struct tc_anomaly_binary_reader r = {
		.pos = p + TC_ANOMALY_BINARY_HEADER_LEN,
		.count = tc_load_u32(p + 8),
		.bucket_ms = (int64_t)tc_load_u64(p + 12),
	};
	/* The loop ends at the body's end whatever N says: a record is 22 bytes at least. */
	const unsigned char *q = r.pos, *end = p + len;
	for (uint32_t i = 0; i < r.count; i++) {
		size_t size = check_record(q, (size_t)(end - q), i + 1, r.count, err);
		if (size == 0) {
			return -1;
		}
		q += size;
	}
	if (q != end) {
		size_t left = (size_t)(end - q);
		return tc_err_set(err, "binary anomaly batch: %zu byte%s after the last of %u records "
			"(N is too small, or trailing bytes)", left, left == 1 ? "" : "s", r.count);
	}
	*rd = r;
	return 0;
}

int tc_anomaly_binary_reader_next(struct tc_anomaly_binary_reader *rd,
	struct tc_anomaly_binary_record *r)
{
	if (rd->index >= rd->count) {
		return 0;
	}
	const unsigned char *p = rd->pos;
	r->id_len = p[0];
	r->id = (const char *)p + 1;
	p += 1 + r->id_len;
	r->a = (struct tc_anomaly){
		.value = tc_load_f32(p),
		.expected = tc_load_f32(p + 4),
		.lower = tc_load_f32(p + 8),
		.upper = tc_load_f32(p + 12),
		.score = tc_load_f32(p + 16),
	};
	rd->pos = p + 4 * TC_ANOMALY_BINARY_FLOATS;
	rd->index++;
	return 1;
}
