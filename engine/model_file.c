/* model_file.c -- weights read once, hashed with nettle's sha256, built into a model. */
#include "model_file.h"

#include <nettle/sha2.h>
#include <stdio.h>

#include "safetensors.h"

static void sha256_hex(const void *bytes, size_t len, char hex[65])
{
	struct sha256_ctx ctx;
	unsigned char digest[SHA256_DIGEST_SIZE];
	sha256_init(&ctx);
	sha256_update(&ctx, len, bytes);
	sha256_digest(&ctx, sizeof digest, digest);
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	}
}

struct tc_model *tc_model_file_load(const struct tc_model_spec *spec, const char *weights_path,
	char *err)
{
	struct tc_safetensors *st = tc_safetensors_open(weights_path, err);
	if (!st) {
		return NULL;
	}
	size_t len;
	const void *bytes = tc_safetensors_bytes(st, &len);
	char hex[65];
	sha256_hex(bytes, len, hex);
	struct tc_model *m = tc_model_load_from(spec, st, err);
	tc_safetensors_close(&st);
	if (m) {
		tc_model_set_weights_sha256(m, hex);
	}
	return m;
}
