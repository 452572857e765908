/* fuzz_safetensors.c -- libFuzzer harness: the .safetensors reader (tc_safetensors_open).
 *
 * The input is the file (through a memfd, fuzz_file.h). When open accepts
 * it, safetensors.h promises every tensor validated: each one's bytes lie
 * inside the file, its byte count is the shape's product times the dtype's
 * size, and a float tensor converts; all of that is walked here so that
 * AddressSanitizer sees any read outside the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzz_file.h"
#include "safetensors.h"

static void check_tensor(const struct tc_tensor *t, const unsigned char *bytes, size_t len)
{
	const unsigned char *d = t->data;
	if (!t->name || t->ndim < 0 || t->ndim > TC_TENSOR_MAX_DIMS
		|| (t->nbytes > 0 && (d < bytes || d + t->nbytes > bytes + len))) {
		abort();
	}
	size_t numel = tc_tensor_numel(t);
	if (!tc_dtype_is_float(t->dtype) || numel == 0) {
		return;
	}
	float *out = malloc(numel * sizeof *out);
	if (!out || tc_tensor_to_f32(t, out) < 0) {
		abort();
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[TC_ERR_LEN];
	struct tc_safetensors *st = tc_safetensors_open(fuzz_file_path(data, size), err);
	if (!st) {
		return 0;
	}
	size_t len;
	const unsigned char *bytes = tc_safetensors_bytes(st, &len);
	if (len != size) {
		abort();
	}
	for (size_t i = 0; i < tc_safetensors_count(st); i++) {
		const struct tc_tensor *t = tc_safetensors_at(st, i);
		if (tc_safetensors_find(st, t->name) != t) {
			abort();
		}
		check_tensor(t, bytes, len);
	}
	tc_safetensors_close(&st);
	return 0;
}
