/* safetensors.c -- reads a .safetensors file into memory and checks its whole header before use.
 *
 * Read, not mapped: a file truncated or rewritten in place while a mapping of
 * it is read raises SIGBUS, and weights are replaced under a running daemon.
 * A copy in memory cannot change under the reader, and the bytes the model is
 * built from are the bytes the caller can hash (tc_safetensors_bytes). */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

/* Tensor data is little-endian and is memcpy'd straight into host numbers. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	"safetensors data is little-endian: this host needs byte swapping added");

/* A hostile header can hold names of any length; quote only this much of one
 * so the rest of the message still fits in TC_ERR_LEN. */
#define NAME_SHOWN 200

struct tc_safetensors {
	char *path;
	unsigned char *bytes;      /* the whole file as read */
	size_t len;                /* bytes */
	const unsigned char *data; /* the data section, after the header */
	size_t data_len;           /* bytes */
	struct tc_tensor *tensors; /* in header order */
	size_t count;
	char *names;               /* every tensor name, NUL-separated */
};

static const struct {
	const char *name;
	size_t size; /* bytes per element */
} dtypes[] = {
	[TC_DTYPE_BOOL] = {"BOOL", 1},
	[TC_DTYPE_U8] = {"U8", 1},
	[TC_DTYPE_I8] = {"I8", 1},
	[TC_DTYPE_I16] = {"I16", 2},
	[TC_DTYPE_U16] = {"U16", 2},
	[TC_DTYPE_F16] = {"F16", 2},
	[TC_DTYPE_BF16] = {"BF16", 2},
	[TC_DTYPE_I32] = {"I32", 4},
	[TC_DTYPE_U32] = {"U32", 4},
	[TC_DTYPE_F32] = {"F32", 4},
	[TC_DTYPE_I64] = {"I64", 8},
	[TC_DTYPE_U64] = {"U64", 8},
	[TC_DTYPE_F64] = {"F64", 8},
};

#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	default:
		return "null";
	}
}

/* Reads the rest of fd into buf (cap bytes, grown as needed); returns the
 * bytes read, or -1 with err. The file may be longer or shorter than its
 * size said: what counts is what read() returns up to end of file. */
static ssize_t read_all(int fd, unsigned char **buf, size_t cap, char *err)
{
	size_t used = 0;
	for (;;) {
		if (used == cap) {
			size_t grown_cap = cap ? cap * 2 : 4096;
			unsigned char *grown = realloc(*buf, grown_cap);
			if (!grown) {
				tc_err_set(err, "out of memory for %zu bytes", grown_cap);
				return -1;
			}
			*buf = grown;
			cap = grown_cap;
		}
		ssize_t n = read(fd, *buf + used, cap - used);
		if (n == 0) {
			return (ssize_t)used;
		}
		if (n < 0 && errno != EINTR) {
			tc_err_set(err, "cannot read: %s", strerror(errno));
			return -1;
		}
		used += n > 0 ? (size_t)n : 0;
	}
}

/* Error text (without the path) goes to err; st->bytes is set only on success. */
static int read_file(struct tc_safetensors *st, char *err)
{
	int fd = open(st->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return tc_err_set(err, "cannot open: %s", strerror(errno));
	}
	struct stat sb;
	unsigned char *buf = NULL;
	ssize_t len = -1;
	if (fstat(fd, &sb) < 0) {
		tc_err_set(err, "cannot stat: %s", strerror(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		tc_err_set(err, "not a regular file");
	} else {
		/* One byte more than the size, so that a file as long as it said
		 * ends with one read of 0 bytes rather than a doubling. */
		size_t cap = (size_t)sb.st_size + 1;
		if (!(buf = malloc(cap))) {
			tc_err_set(err, "out of memory for %zu bytes", cap);
		} else {
			len = read_all(fd, &buf, cap, err);
		}
	}
	close(fd);
	if (len >= 0 && len < 8) {
		tc_err_set(err, "file is %zd bytes, too short for a safetensors header", len);
		len = -1;
	}
	if (len < 0) {
		free(buf);
		return -1;
	}
	st->bytes = buf;
	st->len = (size_t)len;
	return 0;
}

static uint64_t read_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) {
		v = v << 8 | p[i];
	}
	return v;
}

/* Checks the 8-byte header length and sets st->data / st->data_len. */
static int locate_data(struct tc_safetensors *st, size_t *header_len, char *err)
{
	uint64_t n = read_le64(st->bytes);
	size_t room = st->len - 8;
	if (n == 0) {
		return tc_err_set(err, "header length is 0");
	}
	if (n > TC_SAFETENSORS_MAX_HEADER) {
		return tc_err_set(err, "header length %llu is over the limit of %u bytes",
			(unsigned long long)n, TC_SAFETENSORS_MAX_HEADER);
	}
	if (n > room) {
		return tc_err_set(err, "header length %llu runs past the end of the file "
			"(%zu bytes follow the length)", (unsigned long long)n, room);
	}
	*header_len = (size_t)n;
	st->data = st->bytes + 8 + n;
	st->data_len = room - (size_t)n;
	return 0;
}

static int check_metadata(const json_t *meta, char *err)
{
	if (!json_is_object(meta)) {
		return tc_err_set(err, "__metadata__ is %s, must be an object of strings",
			json_kind(meta));
	}
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)meta, key, v) {
		if (!json_is_string(v)) {
			return tc_err_set(err, "__metadata__: \"%.*s\" is %s, values must be "
				"strings", NAME_SHOWN, key, json_kind(v));
		}
	}
	return 0;
}

static int parse_dtype(const json_t *v, enum tc_dtype *out, char *err)
{
	if (!json_is_string(v)) {
		return tc_err_set(err, "dtype is %s, must be a string", json_kind(v));
	}
	const char *s = json_string_value(v);
	for (size_t i = 0; i < N_DTYPES; i++) {
		if (strcmp(s, dtypes[i].name) == 0) {
			*out = (enum tc_dtype)i;
			return 0;
		}
	}
	return tc_err_set(err, "unknown dtype \"%.*s\"", NAME_SHOWN, s);
}

/* One element of shape or data_offsets: field[i] must be an integer >= 0. */
static int parse_count(const json_t *v, const char *field, size_t i, uint64_t *out,
	char *err)
{
	if (!json_is_integer(v)) {
		return tc_err_set(err, "%s[%zu] is %s, must be a non-negative integer",
			field, i, json_kind(v));
	}
	json_int_t n = json_integer_value(v);
	if (n < 0) {
		return tc_err_set(err, "%s[%zu] is %lld, must be a non-negative integer",
			field, i, (long long)n);
	}
	*out = (uint64_t)n;
	return 0;
}

static int parse_shape(const json_t *v, struct tc_tensor *t, char *err)
{
	if (!json_is_array(v)) {
		return tc_err_set(err, "shape is %s, must be an array", json_kind(v));
	}
	size_t n = json_array_size(v);
	if (n > TC_TENSOR_MAX_DIMS) {
		return tc_err_set(err, "shape has %zu dimensions, at most %d are supported",
			n, TC_TENSOR_MAX_DIMS);
	}
	for (size_t i = 0; i < n; i++) {
		if (parse_count(json_array_get(v, i), "shape", i, &t->shape[i], err) < 0) {
			return -1;
		}
	}
	t->ndim = (int)n;
	return 0;
}

static int parse_offsets(const json_t *v, size_t data_len, uint64_t off[2], char *err)
{
	if (!json_is_array(v)) {
		return tc_err_set(err, "data_offsets is %s, must be an array [begin, end]",
			json_kind(v));
	}
	if (json_array_size(v) != 2) {
		return tc_err_set(err, "data_offsets has %zu elements, must be [begin, end]",
			json_array_size(v));
	}
	for (size_t i = 0; i < 2; i++) {
		if (parse_count(json_array_get(v, i), "data_offsets", i, &off[i], err) < 0) {
			return -1;
		}
	}
	if (off[0] > off[1]) {
		return tc_err_set(err, "data_offsets [%llu, %llu] begin after they end",
			(unsigned long long)off[0], (unsigned long long)off[1]);
	}
	if (off[1] > data_len) {
		return tc_err_set(err, "data_offsets [%llu, %llu] reach past the %zu bytes of data",
			(unsigned long long)off[0], (unsigned long long)off[1], data_len);
	}
	return 0;
}

static void format_shape(const struct tc_tensor *t, char *buf, size_t len)
{
	size_t used = (size_t)snprintf(buf, len, "[");
	for (int i = 0; i < t->ndim && used < len; i++) {
		used += (size_t)snprintf(buf + used, len - used, "%s%llu", i ? ", " : "",
			(unsigned long long)t->shape[i]);
	}
	if (used < len) {
		snprintf(buf + used, len - used, "]");
	}
}

/* Shape times element size must be exactly the byte range, computed without
 * overflow: a header could claim 2^40 x 2^40 elements. */
static int check_size(const struct tc_tensor *t, uint64_t range, char *err)
{
	char shape[256];
	format_shape(t, shape, sizeof shape);
	uint64_t bytes = dtypes[t->dtype].size;
	for (int i = 0; i < t->ndim; i++) {
		if (__builtin_mul_overflow(bytes, t->shape[i], &bytes)) {
			return tc_err_set(err, "shape %s of %s is more than 2^64 bytes",
				shape, dtypes[t->dtype].name);
		}
	}
	if (bytes != range) {
		return tc_err_set(err, "shape %s needs %llu bytes of %s, data_offsets give %llu",
			shape, (unsigned long long)bytes, dtypes[t->dtype].name,
			(unsigned long long)range);
	}
	return 0;
}

static int check_keys(const json_t *entry, char *err)
{
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)entry, key, v) {
		if (strcmp(key, "dtype") != 0 && strcmp(key, "shape") != 0
			&& strcmp(key, "data_offsets") != 0) {
			return tc_err_set(err, "unknown key \"%.*s\" (expected dtype, shape, "
				"data_offsets)", NAME_SHOWN, key);
		}
	}
	static const char *const required[] = {"dtype", "shape", "data_offsets"};
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
		if (!json_object_get(entry, required[i])) {
			return tc_err_set(err, "missing \"%s\"", required[i]);
		}
	}
	return 0;
}

static int parse_entry(const struct tc_safetensors *st, const json_t *entry,
	struct tc_tensor *t, char *err)
{
	if (!json_is_object(entry)) {
		return tc_err_set(err, "entry is %s, must be an object with dtype, shape "
			"and data_offsets", json_kind(entry));
	}
	uint64_t off[2];
	if (check_keys(entry, err) < 0
		|| parse_dtype(json_object_get(entry, "dtype"), &t->dtype, err) < 0
		|| parse_shape(json_object_get(entry, "shape"), t, err) < 0
		|| parse_offsets(json_object_get(entry, "data_offsets"), st->data_len, off,
			err) < 0
		|| check_size(t, off[1] - off[0], err) < 0) {
		return -1;
	}
	t->nbytes = (size_t)(off[1] - off[0]);
	t->data = st->data + off[0];
	return 0;
}

/* One block for all the names, so they live and die with st. */
static int alloc_tensors(struct tc_safetensors *st, const json_t *root, char *err)
{
	size_t n = 0;
	size_t name_bytes = 0;
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)root, key, v) {
		if (strcmp(key, "__metadata__") != 0) {
			n++;
			name_bytes += strlen(key) + 1;
		}
	}
	st->tensors = calloc(n ? n : 1, sizeof *st->tensors);
	st->names = malloc(name_bytes ? name_bytes : 1);
	if (!st->tensors || !st->names) {
		return tc_err_set(err, "out of memory for %zu tensors", n);
	}
	return 0;
}

/* jansson (>= 2.8, here 2.14) iterates objects in insertion order, so the
 * tensors come out in header order; the tests check it. */
static int load_tensors(struct tc_safetensors *st, const json_t *root, char *err)
{
	if (alloc_tensors(st, root, err) < 0) {
		return -1;
	}
	char *name = st->names;
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)root, key, v) {
		if (strcmp(key, "__metadata__") == 0) {
			if (check_metadata(v, err) < 0) {
				return -1;
			}
			continue;
		}
		struct tc_tensor *t = &st->tensors[st->count];
		if (parse_entry(st, v, t, err) < 0) {
			tc_err_prefix(err, "%.*s", NAME_SHOWN, key);
			return -1;
		}
		size_t len = strlen(key) + 1;
		memcpy(name, key, len);
		t->name = name;
		name += len;
		st->count++;
	}
	return 0;
}

static int load_header(struct tc_safetensors *st, char *err)
{
	size_t header_len = 0;
	if (locate_data(st, &header_len, err) < 0) {
		return -1;
	}
	json_error_t jerr;
	json_t *root = json_loadb((const char *)st->bytes + 8, header_len,
		JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		return tc_err_set(err, "header JSON: %s (line %d, column %d, byte %d)",
			jerr.text, jerr.line, jerr.column, jerr.position);
	}
	int rc = 0;
	if (!json_is_object(root)) {
		rc = tc_err_set(err, "header is %s, must be a JSON object", json_kind(root));
	} else {
		rc = load_tensors(st, root, err);
	}
	json_decref(root);
	return rc;
}

static size_t begin_of(const struct tc_safetensors *st, const struct tc_tensor *t)
{
	return (size_t)((const unsigned char *)t->data - st->data);
}

static int by_range(const void *a, const void *b)
{
	const struct tc_tensor *x = *(const struct tc_tensor *const *)a;
	const struct tc_tensor *y = *(const struct tc_tensor *const *)b;
	/* Both point into the same buffer, so comparing them is defined. */
	if (x->data != y->data) {
		return (const unsigned char *)x->data < (const unsigned char *)y->data ? -1 : 1;
	}
	return (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
}

static int report_overlap(const struct tc_safetensors *st, const struct tc_tensor *a,
	const struct tc_tensor *b, char *err)
{
	size_t ab = begin_of(st, a);
	size_t bb = begin_of(st, b);
	return tc_err_set(err, "tensors \"%.*s\" [%zu, %zu) and \"%.*s\" [%zu, %zu) overlap",
		NAME_SHOWN, a->name, ab, ab + a->nbytes, NAME_SHOWN, b->name, bb, bb + b->nbytes);
}

/* Sorted by (begin, end), every range must start where the one before ended,
 * as in the reference reader: no holes, no overlaps, and a zero-sized tensor
 * only at a boundary between others. */
static int walk_ranges(const struct tc_safetensors *st, const struct tc_tensor **sorted,
	char *err)
{
	size_t pos = 0;
	for (size_t i = 0; i < st->count; i++) {
		const struct tc_tensor *t = sorted[i];
		size_t begin = begin_of(st, t);
		if (begin < pos) {
			return report_overlap(st, sorted[i - 1], t, err);
		}
		if (begin > pos) {
			return tc_err_set(err, "bytes [%zu, %zu) of the data belong to no tensor "
				"(before \"%.*s\")", pos, begin, NAME_SHOWN, t->name);
		}
		pos = begin + t->nbytes;
	}
	if (pos < st->data_len) {
		return tc_err_set(err, "bytes [%zu, %zu) of the data belong to no tensor "
			"(after the last)", pos, st->data_len);
	}
	return 0;
}

static int check_coverage(const struct tc_safetensors *st, char *err)
{
	const struct tc_tensor **sorted = malloc((st->count ? st->count : 1) * sizeof *sorted);
	if (!sorted) {
		return tc_err_set(err, "out of memory sorting %zu tensors", st->count);
	}
	for (size_t i = 0; i < st->count; i++) {
		sorted[i] = &st->tensors[i];
	}
	qsort(sorted, st->count, sizeof *sorted, by_range);
	int rc = walk_ranges(st, sorted, err);
	free(sorted);
	return rc;
}

struct tc_safetensors *tc_safetensors_open(const char *path, char *err)
{
	struct tc_safetensors *st = calloc(1, sizeof *st);
	if (!st || !(st->path = strdup(path))) {
		free(st);
		tc_err_set(err, "%s: out of memory", path);
		return NULL;
	}
	if (read_file(st, err) < 0 || load_header(st, err) < 0
		|| check_coverage(st, err) < 0) {
		tc_err_prefix(err, "%s", path);
		tc_safetensors_close(&st);
		return NULL;
	}
	return st;
}

void tc_safetensors_close(struct tc_safetensors **st)
{
	if (!st || !*st) {
		return;
	}
	struct tc_safetensors *s = *st;
	free(s->bytes);
	free(s->names);
	free(s->tensors);
	free(s->path);
	free(s);
	*st = NULL;
}

size_t tc_safetensors_count(const struct tc_safetensors *st)
{
	return st->count;
}

const struct tc_tensor *tc_safetensors_at(const struct tc_safetensors *st, size_t i)
{
	return i < st->count ? &st->tensors[i] : NULL;
}

/* A model has tens of tensors and looks each up once at load: a linear scan
 * is enough. */
const struct tc_tensor *tc_safetensors_find(const struct tc_safetensors *st,
	const char *name)
{
	for (size_t i = 0; i < st->count; i++) {
		if (strcmp(st->tensors[i].name, name) == 0) {
			return &st->tensors[i];
		}
	}
	return NULL;
}

const void *tc_safetensors_bytes(const struct tc_safetensors *st, size_t *len)
{
	*len = st->len;
	return st->bytes;
}

const char *tc_safetensors_path(const struct tc_safetensors *st)
{
	return st->path;
}

size_t tc_tensor_numel(const struct tc_tensor *t)
{
	size_t n = 1;
	for (int i = 0; i < t->ndim; i++) {
		n *= (size_t)t->shape[i];
	}
	return n;
}

const char *tc_dtype_to_string(enum tc_dtype dtype)
{
	return (size_t)dtype < N_DTYPES ? dtypes[dtype].name : "?";
}

int tc_dtype_is_float(enum tc_dtype dtype)
{
	return dtype == TC_DTYPE_F32 || dtype == TC_DTYPE_F16 || dtype == TC_DTYPE_BF16
		|| dtype == TC_DTYPE_F64;
}

static float half_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t mant = h & 0x3ff;
	if (exp == 0) {
		/* Zero or subnormal: mant * 2^-24, exact in a float. */
		float f = ldexpf((float)mant, -24);
		return sign ? -f : f;
	}
	uint32_t bits;
	if (exp == 0x1f) {
		bits = sign | 0x7f800000u | mant << 13; /* inf, or nan keeping its payload */
	} else {
		bits = sign | (exp - 15 + 127) << 23 | mant << 13;
	}
	float f;
	memcpy(&f, &bits, sizeof f);
	return f;
}

/* The data may be unaligned inside the buffer: every element is memcpy'd. */
int tc_tensor_to_f32(const struct tc_tensor *t, float *out)
{
	if (!tc_dtype_is_float(t->dtype)) {
		return -1;
	}
	const unsigned char *p = t->data;
	size_t n = tc_tensor_numel(t);
	for (size_t i = 0; i < n; i++) {
		uint16_t h;
		uint32_t bits;
		double d;
		switch (t->dtype) {
		case TC_DTYPE_F16:
			memcpy(&h, p + 2 * i, sizeof h);
			out[i] = half_to_f32(h);
			break;
		case TC_DTYPE_BF16:
			memcpy(&h, p + 2 * i, sizeof h);
			bits = (uint32_t)h << 16;
			memcpy(&out[i], &bits, sizeof bits);
			break;
		case TC_DTYPE_F64:
			/* IEEE (Annex F) conversion: rounds to nearest, too large gives inf. */
			memcpy(&d, p + 8 * i, sizeof d);
			out[i] = (float)d;
			break;
		default: /* F32, the one float dtype left */
			memcpy(&out[i], p + 4 * i, sizeof out[i]);
			break;
		}
	}
	return 0;
}
