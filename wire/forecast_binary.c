/* forecast_binary.c -- writing and reading binary forecast batches (docs/protocol.md). */
#include "forecast_binary.h"

#include <string.h>

#include "byte_order.h"
#include "error.h"

int tc_forecast_binary_detect(const void *data, size_t len)
{
	return len > 0 && *(const unsigned char *)data == 0x00;
}

size_t tc_forecast_binary_record_size(size_t id_len, int n_outputs, int has_warm,
	int has_interval)
{
	return 1 + id_len + 4 * (size_t)n_outputs * (has_interval ? 3 : 1) + (has_warm ? 1 : 0);
}

/* Writes n floats at p, bit for bit; returns the byte after them. */
static unsigned char *store_floats(unsigned char *p, const float *v, int n)
{
	for (int k = 0; k < n; k++, p += 4) {
		tc_store_f32(p, v[k]);
	}
	return p;
}

/* Reads n floats at p into v (NULL: skips them); returns the byte after them. */
static const unsigned char *load_floats(const unsigned char *p, float *v, int n)
{
	for (int k = 0; v && k < n; k++) {
		v[k] = tc_load_f32(p + 4 * (size_t)k);
	}
	return p + 4 * (size_t)n;
}

/* ---- writing ---- */

int tc_forecast_binary_writer_init(struct tc_forecast_binary_writer *w, void *buf, size_t cap,
	int n_outputs, int has_warm, int has_interval, int64_t bucket_ms)
{
	if (cap < TC_FORECAST_BINARY_HEADER_LEN || n_outputs < 1
		|| n_outputs > TC_FORECAST_BINARY_MAX_OUTPUTS) {
		return -1;
	}
	*w = (struct tc_forecast_binary_writer){
		.buf = buf,
		.cap = cap,
		.len = TC_FORECAST_BINARY_HEADER_LEN,
		.n_outputs = n_outputs,
		.has_warm = has_warm != 0,
		.has_interval = has_interval != 0,
	};
	memcpy(w->buf, TC_FORECAST_BINARY_MAGIC, TC_FORECAST_BINARY_MAGIC_LEN);
	w->buf[4] = TC_FORECAST_BINARY_VERSION;
	w->buf[5] = (unsigned char)((w->has_warm ? TC_FORECAST_BINARY_FLAG_WARM : 0)
		| (w->has_interval ? TC_FORECAST_BINARY_FLAG_INTERVAL : 0));
	tc_store_u16(w->buf + 6, (uint16_t)n_outputs);
	tc_store_u32(w->buf + 8, 0);
	tc_store_u64(w->buf + 12, (uint64_t)bucket_ms);
	return 0;
}

int tc_forecast_binary_writer_add(struct tc_forecast_binary_writer *w, const char *id,
	size_t id_len, const float *y, const float *lower, const float *upper, int warm)
{
	if (id_len < 1 || id_len > TC_ID_MAX || w->count == UINT32_MAX
		|| (w->has_interval && (!lower || !upper))) {
		return -1;
	}
	size_t size = tc_forecast_binary_record_size(id_len, w->n_outputs, w->has_warm,
		w->has_interval);
	if (size > w->cap - w->len) {
		return -1;
	}
	unsigned char *p = w->buf + w->len;
	*p++ = (unsigned char)id_len;
	memcpy(p, id, id_len);
	p += id_len;
	p = store_floats(p, y, w->n_outputs);
	if (w->has_interval) {
		p = store_floats(store_floats(p, lower, w->n_outputs), upper, w->n_outputs);
	}
	if (w->has_warm) {
		*p = warm != 0;
	}
	w->len += size;
	w->count++;
	tc_store_u32(w->buf + 8, w->count);
	return 0;
}

/* ---- reading ---- */

static int check_header(const unsigned char *p, size_t len, char *err)
{
	if (len < TC_FORECAST_BINARY_HEADER_LEN) {
		return tc_err_set(err, "binary forecast batch: header truncated (%zu bytes, needs %d)",
			len, TC_FORECAST_BINARY_HEADER_LEN);
	}
	if (memcmp(p, TC_FORECAST_BINARY_MAGIC, TC_FORECAST_BINARY_MAGIC_LEN) != 0) {
		return tc_err_set(err, "binary forecast batch: bad magic %02x %02x %02x %02x, "
			"expected 00 54 43 46 (\"\\0TCF\")", p[0], p[1], p[2], p[3]);
	}
	if (p[4] != TC_FORECAST_BINARY_VERSION) {
		return tc_err_set(err, "binary forecast batch: version %u, this reader knows version %d",
			p[4], TC_FORECAST_BINARY_VERSION);
	}
	const unsigned known = TC_FORECAST_BINARY_FLAG_WARM | TC_FORECAST_BINARY_FLAG_INTERVAL;
	if (p[5] & ~known) {
		return tc_err_set(err, "binary forecast batch: unknown flags 0x%02x (known: 0x%02x)",
			p[5], known);
	}
	unsigned o = tc_load_u16(p + 6);
	if (o < 1 || o > TC_FORECAST_BINARY_MAX_OUTPUTS) {
		return tc_err_set(err, "binary forecast batch: %u outputs per forecast, expected 1..%d",
			o, TC_FORECAST_BINARY_MAX_OUTPUTS);
	}
	return 0;
}

/* Checks record number (1-based) at p, with left bytes from p to the end;
 * returns its size, or 0 with err. */
static size_t check_record(const struct tc_forecast_binary_reader *rd, const unsigned char *p,
	size_t left, uint32_t number, char *err)
{
	if (left == 0) {
		tc_err_set(err, "binary forecast batch: ends after record %u of %u (N is too large)",
			number - 1, rd->count);
		return 0;
	}
	size_t id_len = p[0];
	size_t size = tc_forecast_binary_record_size(id_len, rd->n_outputs, rd->has_warm,
		rd->has_interval);
	/* An empty id is reported as such even in a truncated record: it reads no byte. */
	if (id_len > 0 && size > left) {
		tc_err_set(err, "binary forecast batch: record %u of %u truncated (%zu bytes, %zu left)",
			number, rd->count, size, left);
		return 0;
	}
	if (tc_series_id_check((const char *)p + 1, id_len, err) < 0) {
		tc_err_prefix(err, "binary forecast batch: record %u of %u", number, rd->count);
		return 0;
	}
	if (rd->has_warm && p[size - 1] > 1) {
		tc_err_set(err, "binary forecast batch: record %u of %u (%.*s): warm byte %u, "
			"expected 0 or 1", number, rd->count, (int)id_len, (const char *)p + 1, p[size - 1]);
		return 0;
	}
	return size;
}

int tc_forecast_binary_reader_init(struct tc_forecast_binary_reader *rd, const void *data,
	size_t len, char *err)
{
	const unsigned char *p = data;
	*rd = (struct tc_forecast_binary_reader){0};
	if (check_header(p, len, err) < 0) {
		return -1;
	}
	struct tc_forecast_binary_reader r = {
		.pos = p + TC_FORECAST_BINARY_HEADER_LEN,
		.count = tc_load_u32(p + 8),
		.n_outputs = tc_load_u16(p + 6),
		.has_warm = (p[5] & TC_FORECAST_BINARY_FLAG_WARM) != 0,
		.has_interval = (p[5] & TC_FORECAST_BINARY_FLAG_INTERVAL) != 0,
		.bucket_ms = (int64_t)tc_load_u64(p + 12),
	};
	/* The loop ends at the body's end whatever N says: a record is 5 bytes at least. */
	const unsigned char *q = r.pos, *end = p + len;
	for (uint32_t i = 0; i < r.count; i++) {
		size_t size = check_record(&r, q, (size_t)(end - q), i + 1, err);
		if (size == 0) {
			return -1;
		}
		q += size;
	}
	if (q != end) {
		size_t left = (size_t)(end - q);
		return tc_err_set(err, "binary forecast batch: %zu byte%s after the last of %u records "
			"(N is too small, or trailing bytes)", left, left == 1 ? "" : "s", r.count);
	}
	*rd = r;
	return 0;
}

int tc_forecast_binary_reader_next(struct tc_forecast_binary_reader *rd,
	struct tc_forecast_binary_record *f, float *y, float *lower, float *upper)
{
	if (rd->index >= rd->count) {
		return 0;
	}
	const unsigned char *p = rd->pos;
	f->id_len = p[0];
	f->id = (const char *)p + 1;
	p += 1 + f->id_len;
	p = load_floats(p, y, rd->n_outputs);
	if (rd->has_interval) {
		p = load_floats(load_floats(p, lower, rd->n_outputs), upper, rd->n_outputs);
	}
	f->warm = rd->has_warm ? *p++ : 1;
	rd->pos = p;
	rd->index++;
	return 1;
}
