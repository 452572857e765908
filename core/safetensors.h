/* safetensors.h -- read-only, fully validated view of a .safetensors file.
 *
 *   char err[TC_ERR_LEN];
 *   struct tc_safetensors *st = tc_safetensors_open("model.safetensors", err);
 *   if (!st) { fprintf(stderr, "%s\n", err); return 1; }
 *   const struct tc_tensor *w = tc_safetensors_find(st, "gru.weight_ih_l0");
 *   float *buf = malloc(tc_tensor_numel(w) * sizeof *buf);
 *   tc_tensor_to_f32(w, buf);
 *   tc_safetensors_close(&st);
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON mapping each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
 * relative to the data that follows the header), optional "__metadata__"
 * (string to string), then the data.  Open validates everything before it
 * returns: header length within the file and under TC_SAFETENSORS_MAX_HEADER,
 * the JSON well formed with no duplicate names, every dtype known, shape
 * product times dtype size equal to the byte range, ranges inside the data,
 * and together covering it with no holes and no overlaps.  Every error names
 * the file, the tensor where there is one, and what is wrong. */
#ifndef TC_SAFETENSORS_H
#define TC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define TC_SAFETENSORS_MAX_HEADER (100u << 20) /* bytes, as the reference reader */
#define TC_TENSOR_MAX_DIMS 8

enum tc_dtype {
	TC_DTYPE_BOOL,
	TC_DTYPE_U8,
	TC_DTYPE_I8,
	TC_DTYPE_I16,
	TC_DTYPE_U16,
	TC_DTYPE_F16,
	TC_DTYPE_BF16,
	TC_DTYPE_I32,
	TC_DTYPE_U32,
	TC_DTYPE_F32,
	TC_DTYPE_I64,
	TC_DTYPE_U64,
	TC_DTYPE_F64,
};

struct tc_tensor {
	const char *name;    /* borrowed from the tc_safetensors, NUL-terminated */
	enum tc_dtype dtype;
	int ndim;
	uint64_t shape[TC_TENSOR_MAX_DIMS];
	size_t nbytes;       /* bytes of data */
	const void *data;    /* inside the file's bytes in memory; may be unaligned */
};

struct tc_safetensors;

/* Reads path into memory and validates it. Returns NULL and fills err on any problem. The
 * result is the caller's; release it with tc_safetensors_close. */
struct tc_safetensors *tc_safetensors_open(const char *path, char *err);

/* Frees *st, sets *st to NULL; NULL or *st == NULL is a no-op. */
void tc_safetensors_close(struct tc_safetensors **st);

/* Number of tensors (without __metadata__), and the i-th in file-header
 * order. The returned pointers are borrowed and live as long as st. */
size_t tc_safetensors_count(const struct tc_safetensors *st);
const struct tc_tensor *tc_safetensors_at(const struct tc_safetensors *st, size_t i);

/* The tensor called name, or NULL when the file has none. Borrowed. */
const struct tc_tensor *tc_safetensors_find(const struct tc_safetensors *st,
	const char *name);

/* The file's bytes as they were read (*len of them): what every tensor was
 * parsed from, for a caller that fingerprints the weights it serves. Borrowed. */
const void *tc_safetensors_bytes(const struct tc_safetensors *st, size_t *len);

/* The path st was opened from. Borrowed. */
const char *tc_safetensors_path(const struct tc_safetensors *st);

/* Product of the shape (1 for a scalar). */
size_t tc_tensor_numel(const struct tc_tensor *t);

/* "F32", "BF16", ... as the safetensors header spells it. */
const char *tc_dtype_to_string(enum tc_dtype dtype);

/* Nonzero for the floating dtypes that convert to float32: F32, F16, BF16, F64. */
int tc_dtype_is_float(enum tc_dtype dtype);

/* Converts a float tensor (tc_dtype_is_float) into out, tc_tensor_numel(t)
 * floats, from little-endian data. Returns 0, or -1 for a non-float dtype. */
int tc_tensor_to_f32(const struct tc_tensor *t, float *out);

#endif
