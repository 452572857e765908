/* dh_models.h -- weights files for the daemon tests: the sample, random GRUs, YAML, hashes. */
#ifndef TC_TEST_DH_MODELS_H
#define TC_TEST_DH_MODELS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dh_state.h"
#include "dh_util.h"
#include "error.h"
#include "model.h"
#include "reload.h"
#include "st_writer.h"

/* The bundled model (models/sample.safetensors): 2 GRU layers of 64, 12 outputs. */
#define DH_SAMPLE_MODEL "weights: w.safetensors, layers: [{type: gru, hidden: 64}, " \
	"{type: gru, hidden: 64}], head: {type: linear, outputs: 12}"

/* Copies models/sample.safetensors (TC_TEST_DATA/../../models) to dir/name. */
static inline void dh_copy_sample(const char *name)
{
	const char *data = getenv("TC_TEST_DATA");
	cr_assert_not_null(data, "TC_TEST_DATA is not set");
	char src[4096];
	snprintf(src, sizeof src, "%s/../../models/sample.safetensors", data);
	size_t len;
	char *bytes = dh_read_file(src, &len);
	dh_write_file(name, bytes, len);
	free(bytes);
}

/* Gates of a layer type's word: gru 3, lstm 4, rnn 1. */
static inline uint64_t dh_gates(const char *type)
{
	return strcmp(type, "lstm") == 0 ? 4 : strcmp(type, "rnn") == 0 ? 1 : 3;
}

/* Writes dir/name: n_layers layers of `type` (gru, lstm or rnn; hidden[k]
 * units, input 1, tensors named <type>.weight_ih_l0, ...) and a linear head
 * of `outputs`, weights uniform in [-0.5, 0.5) from seed. */
static inline void dh_write_cells(const char *name, const char *type, const int *hidden,
	int n_layers, int outputs, uint32_t seed)
{
	struct st_tensor t[4 * TC_MAX_LAYERS + 2];
	float *blocks[4 * TC_MAX_LAYERS + 2];
	char names[4 * TC_MAX_LAYERS + 2][32];
	int n = 0;
	uint32_t state = seed * 2654435761u + 12345u;
	for (int k = 0; k <= n_layers; k++) {
		int in = k == 0 ? 1 : hidden[k - 1];
		uint64_t gh = k < n_layers ? dh_gates(type) * (uint64_t)hidden[k] : 0;
		struct shape {
			const char *fmt;
			uint64_t rows, cols; /* cols 0: a vector */
		} shapes[4] = {{"%s.weight_ih_l%d", gh, (uint64_t)in},
			{"%s.weight_hh_l%d", gh, gh / dh_gates(type)}, {"%s.bias_ih_l%d", gh, 0},
			{"%s.bias_hh_l%d", gh, 0}};
		if (k == n_layers) {
			shapes[0] = (struct shape){"fc.weight", (uint64_t)outputs, (uint64_t)in};
			shapes[1] = (struct shape){"fc.bias", (uint64_t)outputs, 0};
		}
		for (int s = 0; s < (k == n_layers ? 2 : 4); s++) {
			size_t count = shapes[s].rows * (shapes[s].cols ? shapes[s].cols : 1);
			float *v = malloc(count * sizeof *v);
			cr_assert_not_null(v);
			for (size_t i = 0; i < count; i++) {
				state = state * 1664525u + 1013904223u;
				v[i] = (float)(state >> 8) / 16777216.0f - 0.5f;
			}
			if (k < n_layers) {
				snprintf(names[n], sizeof names[n], shapes[s].fmt, type, k);
			} else {
				snprintf(names[n], sizeof names[n], "%s", shapes[s].fmt);
			}
			t[n] = (struct st_tensor){names[n], "F32", shapes[s].cols ? 2 : 1,
				{shapes[s].rows, shapes[s].cols}, v, count * sizeof *v};
			blocks[n++] = v;
		}
	}
	char tmp[64];
	cr_assert_eq(st_write(tmp, t, (size_t)n), 0);
	for (int i = 0; i < n; i++) {
		free(blocks[i]);
	}
	/* st_write's file is in /tmp, like dir: rename is atomic. */
	cr_assert_eq(rename(tmp, dh_path(name)), 0, "rename: %s", strerror(errno));
}

/* Writes dh_write_cells' model with GRU layers. */
static inline void dh_write_gru(const char *name, const int *hidden, int n_layers, int outputs,
	uint32_t seed)
{
	dh_write_cells(name, "gru", hidden, n_layers, outputs, seed);
}

/* The `model:` mapping's contents for dh_write_cells' model. */
static inline const char *dh_cells_yaml(const char *weights, const char *type, const int *hidden,
	int n_layers, int outputs, const char *extra)
{
	static char yaml[1024];
	int used = snprintf(yaml, sizeof yaml, "weights: %s, layers: [", weights);
	for (int k = 0; k < n_layers; k++) {
		used += snprintf(yaml + used, sizeof yaml - (size_t)used,
			"%s{type: %s, hidden: %d, module: %s}", k ? ", " : "", type, hidden[k], type);
	}
	snprintf(yaml + used, sizeof yaml - (size_t)used, "], head: {type: linear, outputs: %d}%s%s",
		outputs, extra ? ", " : "", extra ? extra : "");
	return yaml;
}

/* The same for dh_write_gru's model. */
static inline const char *dh_gru_yaml(const char *weights, const int *hidden, int n_layers,
	int outputs, const char *extra)
{
	return dh_cells_yaml(weights, "gru", hidden, n_layers, outputs, extra);
}

/* The hex SHA-256 of dir/name, as status should report it, by coreutils'
 * sha256sum (not the daemon's own code). */
static inline const char *dh_sha256(const char *name)
{
	static char hex[65];
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "sha256sum '%s'", dh_path(name));
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p, "popen %s: %s", cmd, strerror(errno));
	int got = fscanf(p, "%64s", hex);
	cr_assert_eq(pclose(p), 0, "%s failed", cmd);
	cr_assert_eq(got, 1, "%s printed no hash", cmd);
	return hex;
}

#endif
