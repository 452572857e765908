/* reading_binary.c -- encoding and decoding binary reading batches (docs/protocol.md). */
#include "reading_binary.h"

#include <math.h>
#include <string.h>

#include "byte_order.h"
#include "error.h"

int tc_reading_binary_detect(const void *data, size_t len)
{
	return len > 0 && *(const unsigned char *)data == 0x00;
}

static size_t record_size(size_t id_len, int n_values, int has_time)
{
	return 1 + id_len + 4 * (size_t)n_values + (has_time ? 8 : 0);
}

size_t tc_reading_binary_record_size(const struct tc_reading *r)
{
	return record_size(r->id_len, r->n_values, r->has_time);
}

/* ---- encoding ---- */

int tc_reading_binary_writer_init(struct tc_reading_binary_writer *w, void *buf, size_t cap,
	int n_values, int has_time)
{
	if (cap < TC_READING_BINARY_HEADER_LEN || n_values < 1 || n_values > TC_MAX_INPUT) {
		return -1;
	}
	*w = (struct tc_reading_binary_writer){
		.buf = buf,
		.cap = cap,
		.len = TC_READING_BINARY_HEADER_LEN,
		.n_values = n_values,
		.has_time = has_time != 0,
	};
	memcpy(w->buf, TC_READING_BINARY_MAGIC, TC_READING_BINARY_MAGIC_LEN);
	w->buf[4] = TC_READING_BINARY_VERSION;
	w->buf[5] = w->has_time ? TC_READING_BINARY_FLAG_TIME : 0;
	tc_store_u16(w->buf + 6, (uint16_t)n_values);
	tc_store_u32(w->buf + 8, 0);
	return 0;
}

int tc_reading_binary_writer_add(struct tc_reading_binary_writer *w, const struct tc_reading *r)
{
	if (r->n_values != w->n_values || (r->has_time != 0) != w->has_time ||
		r->id_len > TC_ID_MAX || w->count == UINT32_MAX) {
		return -1;
	}
	size_t size = record_size(r->id_len, w->n_values, w->has_time);
	if (size > w->cap - w->len) {
		return -1;
	}
	unsigned char *p = w->buf + w->len;
	*p++ = (unsigned char)r->id_len;
	if (r->id_len > 0) {
		memcpy(p, r->id, r->id_len);
		p += r->id_len;
	}
	for (int i = 0; i < w->n_values; i++, p += 4) {
		tc_store_f32(p, r->values[i]);
	}
	if (w->has_time) {
		tc_store_f64(p, r->time);
	}
	w->len += size;
	w->count++;
	tc_store_u32(w->buf + 8, w->count);
	return 0;
}

size_t tc_reading_binary_encode(void *buf, size_t cap, const struct tc_reading *r, size_t n,
	int n_values)
{
	int has_time = n > 0 && r[0].has_time;
	if (n_values < 1 || n_values > TC_MAX_INPUT || n > UINT32_MAX) {
		return 0;
	}
	size_t total = TC_READING_BINARY_HEADER_LEN;
	for (size_t i = 0; i < n; i++) {
		if (r[i].n_values != n_values || (r[i].has_time != 0) != has_time ||
			r[i].id_len > TC_ID_MAX) {
			return 0;
		}
		total += record_size(r[i].id_len, n_values, has_time);
	}
	if (total > cap) {
		return total;
	}
	struct tc_reading_binary_writer w;
	tc_reading_binary_writer_init(&w, buf, cap, n_values, has_time);
	for (size_t i = 0; i < n; i++) {
		tc_reading_binary_writer_add(&w, &r[i]);
	}
	return w.len;
}

/* ---- decoding ---- */

int tc_reading_binary_reader_init(struct tc_reading_binary_reader *rd, const void *data,
	size_t len, int n_values, char *err)
{
	const unsigned char *p = data;
	*rd = (struct tc_reading_binary_reader){.done = 1};
	if (len < TC_READING_BINARY_HEADER_LEN) {
		return tc_err_set(err, "binary batch: header truncated (%zu bytes, needs %d)", len,
			TC_READING_BINARY_HEADER_LEN);
	}
	if (memcmp(p, TC_READING_BINARY_MAGIC, TC_READING_BINARY_MAGIC_LEN) != 0) {
		return tc_err_set(err, "binary batch: bad magic %02x %02x %02x %02x, "
			"expected 00 54 43 42 (\"\\0TCB\")", p[0], p[1], p[2], p[3]);
	}
	if (p[4] != TC_READING_BINARY_VERSION) {
		return tc_err_set(err, "binary batch: version %u, this daemon reads version %d",
			p[4], TC_READING_BINARY_VERSION);
	}
	if (p[5] & ~TC_READING_BINARY_FLAG_TIME) {
		return tc_err_set(err, "binary batch: unknown flags 0x%02x", p[5]);
	}
	unsigned v = tc_load_u16(p + 6);
	if (v < 1 || v > TC_MAX_INPUT || (int)v != n_values) {
		return tc_err_set(err, "binary batch: %u value%s per reading, expected %d", v,
			v == 1 ? "" : "s", n_values);
	}
	rd->pos = p + TC_READING_BINARY_HEADER_LEN;
	rd->end = p + len;
	rd->count = tc_load_u32(p + 8);
	rd->n_values = n_values;
	rd->has_time = (p[5] & TC_READING_BINARY_FLAG_TIME) != 0;
	rd->done = 0;
	return 0;
}

static int fail(struct tc_reading_binary_reader *rd, enum tc_reject *why)
{
	rd->done = 1;
	*why = TC_REJECT_BAD_MESSAGE;
	return -2;
}

static int reject(enum tc_reject *why, enum tc_reject reason)
{
	*why = reason;
	return -1;
}

/* Checks a record that is known to lie within the body. */
static int check_record(const struct tc_reading *r, uint32_t number, enum tc_reject *why,
	char *err)
{
	if (tc_series_id_check(r->id, r->id_len, err) < 0) {
		tc_err_prefix(err, "record %u", number);
		return reject(why, TC_REJECT_MALFORMED);
	}
	for (int i = 0; i < r->n_values; i++) {
		if (!isfinite(r->values[i])) {
			tc_err_set(err, "record %u: value %d: not finite (%g)", number, i + 1,
				(double)r->values[i]);
			return reject(why, TC_REJECT_NONFINITE);
		}
	}
	if (r->has_time && !isfinite(r->time)) {
		tc_err_set(err, "record %u: timestamp: not finite (%g)", number, r->time);
		return reject(why, TC_REJECT_NONFINITE);
	}
	if (r->has_time && tc_reading_time_check(r->time, err) < 0) {
		tc_err_prefix(err, "record %u", number);
		return reject(why, TC_REJECT_MALFORMED);
	}
	return 0;
}

int tc_reading_binary_reader_next(struct tc_reading_binary_reader *rd, struct tc_reading *r,
	enum tc_reject *why, char *err)
{
	if (rd->done) {
		return 0;
	}
	size_t left = (size_t)(rd->end - rd->pos);
	if (rd->index == rd->count) {
		if (left > 0) {
			tc_err_set(err, "binary batch: %zu byte%s after the last of %u records", left,
				left == 1 ? "" : "s", rd->count);
			return fail(rd, why);
		}
		rd->done = 1;
		return 0;
	}
	uint32_t number = rd->index + 1;
	if (left == 0) {
		tc_err_set(err, "binary batch: ends after record %u of %u", rd->index, rd->count);
		return fail(rd, why);
	}
	size_t id_len = rd->pos[0];
	size_t size = record_size(id_len, rd->n_values, rd->has_time);
	if (size > left) {
		tc_err_set(err, "binary batch: record %u of %u truncated (%zu bytes, %zu left)",
			number, rd->count, size, left);
		return fail(rd, why);
	}
	const unsigned char *p = rd->pos + 1;
	r->id = (const char *)p;
	r->id_len = id_len;
	p += id_len;
	r->n_values = rd->n_values;
	for (int i = 0; i < rd->n_values; i++, p += 4) {
		r->values[i] = tc_load_f32(p);
	}
	r->has_time = rd->has_time;
	r->time = rd->has_time ? tc_load_f64(p) : 0.0;
	rd->pos += size;
	rd->index++;
	return check_record(r, number, why, err) < 0 ? -1 : 1;
}
