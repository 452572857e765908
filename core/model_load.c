/* model_load.c -- a model from a safetensors file: every tensor checked by
 * name, dtype, shape and finiteness before it is packed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "safetensors.h"

/* The float32 copies of every tensor the spec names. */
struct loaded {
	float *layer[TC_MAX_LAYERS][4];  /* weight_ih, weight_hh, bias_ih, bias_hh */
	float *head[TC_MAX_HEAD_OPS][2]; /* weight, bias */
};

static void format_shape(char *buf, size_t len, const uint64_t *shape, int ndim)
{
	size_t used = (size_t)snprintf(buf, len, "[");
	for (int i = 0; i < ndim && used < len; i++) {
		used += (size_t)snprintf(buf + used, len - used, "%s%llu", i ? ", " : "",
			(unsigned long long)shape[i]);
	}
	if (used < len) {
		snprintf(buf + used, len - used, "]");
	}
}

/* Finds `name`, checks it is a finite float tensor of the given shape
 * (cols == 0: a vector of `rows`), and returns a float32 copy. */
static float *read_tensor(const struct tc_safetensors *st, const char *name,
	uint64_t rows, uint64_t cols, char *err)
{
	const struct tc_tensor *t = tc_safetensors_find(st, name);
	if (!t) {
		tc_err_set(err, "%s: missing (the model needs it; a missing bias is an error, not a zero)", name);
		return NULL;
	}
	if (!tc_dtype_is_float(t->dtype)) {
		tc_err_set(err, "%s: dtype %s is not a float type (F32, F16, BF16, F64)",
			name, tc_dtype_to_string(t->dtype));
		return NULL;
	}
	uint64_t want[2] = {rows, cols};
	int want_ndim = cols ? 2 : 1;
	int same = t->ndim == want_ndim;
	for (int i = 0; same && i < want_ndim; i++) {
		same = t->shape[i] == want[i];
	}
	if (!same) {
		char a[64], b[160];
		format_shape(a, sizeof a, want, want_ndim);
		format_shape(b, sizeof b, t->shape, t->ndim);
		tc_err_set(err, "%s: expected %s, file has %s", name, a, b);
		return NULL;
	}
	size_t n = tc_tensor_numel(t);
	float *out = malloc(n * sizeof *out);
	if (!out) {
		tc_err_set(err, "%s: out of memory", name);
		return NULL;
	}
	tc_tensor_to_f32(t, out);
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(out[i])) {
			tc_err_set(err, "%s: element %zu is %s", name, i,
				isnan(out[i]) ? "NaN" : "infinite");
			free(out);
			return NULL;
		}
	}
	return out;
}

static void loaded_finish(struct loaded *l)
{
	for (int k = 0; k < TC_MAX_LAYERS; k++) {
		for (int i = 0; i < 4; i++) {
			free(l->layer[k][i]);
		}
	}
	for (int i = 0; i < TC_MAX_HEAD_OPS; i++) {
		free(l->head[i][0]);
		free(l->head[i][1]);
	}
}

/* Layer k's four tensors: G_k H_k rows from its module and index. */
static int read_layer(const struct tc_model_spec *spec, int k, const struct tc_safetensors *st,
	float *out[4], char *err)
{
	static const char *const kinds[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
	char name[TC_MAX_PREFIX + 32];
	int index;
	const char *module = tc_model_spec_layer_source(spec, k, &index);
	uint64_t rows = (uint64_t)tc_layer_gates(spec->type[k]) * (uint64_t)spec->hidden[k];
	uint64_t in = (uint64_t)(k == 0 ? spec->input_size : spec->hidden[k - 1]);
	uint64_t cols[4] = {in, (uint64_t)spec->hidden[k], 0, 0};
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "%s.%s_l%d", module, kinds[i], index);
		if (!(out[i] = read_tensor(st, name, rows, cols[i], err))) {
			tc_err_prefix(err, "layer %d (%s: %d gates x %d units)", k,
				tc_layer_type_to_string(spec->type[k]), tc_layer_gates(spec->type[k]),
				spec->hidden[k]);
			return -1;
		}
	}
	return 0;
}

/* Head operation i's tensors, if it has any: a linear's weight [out x in]
 * and bias [out], an affine layer norm's weight and bias [in]. */
static int read_head_op(const struct tc_model_spec *spec, int i, uint64_t in,
	const struct tc_safetensors *st, float *out[2], char *err)
{
	struct tc_head_op_spec op = tc_model_spec_head_op(spec, i);
	int linear = op.type == TC_HEAD_LINEAR;
	if (!linear && !(op.type == TC_HEAD_LAYERNORM && op.affine)) {
		return 0;
	}
	char module[TC_MAX_PREFIX], name[TC_MAX_PREFIX + 16];
	tc_model_spec_head_module(spec, i, module);
	uint64_t rows = linear ? (uint64_t)op.outputs : in;
	snprintf(name, sizeof name, "%s.weight", module);
	if ((out[0] = read_tensor(st, name, rows, linear ? in : 0, err))) {
		snprintf(name, sizeof name, "%s.bias", module);
		out[1] = read_tensor(st, name, rows, 0, err);
	}
	if (!out[0] || !out[1]) {
		if (tc_model_spec_head_count(spec) > 1) {
			tc_err_prefix(err, "head[%d] (%s)", i, tc_head_op_to_string(op.type));
		}
		return -1;
	}
	return 0;
}

/* The head's tensors, each operation's from the width before it. */
static int read_head(const struct tc_model_spec *spec, const struct tc_safetensors *st,
	struct loaded *l, char *err)
{
	uint64_t in = (uint64_t)spec->hidden[spec->n_layers - 1];
	for (int i = 0; i < tc_model_spec_head_count(spec); i++) {
		if (read_head_op(spec, i, in, st, l->head[i], err) < 0) {
			return -1;
		}
		struct tc_head_op_spec op = tc_model_spec_head_op(spec, i);
		in = op.type == TC_HEAD_LINEAR ? (uint64_t)op.outputs : in;
	}
	return 0;
}

static int read_all(const struct tc_model_spec *spec, const struct tc_safetensors *st,
	struct loaded *l, char *err)
{
	for (int k = 0; k < spec->n_layers; k++) {
		if (read_layer(spec, k, st, l->layer[k], err) < 0) {
			return -1;
		}
	}
	return read_head(spec, st, l, err);
}

/* tc_model_load_from for a spec already validated. */
static struct tc_model *build(const struct tc_model_spec *spec, const struct tc_safetensors *st,
	char *err)
{
	struct loaded l = {0};
	struct tc_model *m = NULL;
	if (read_all(spec, st, &l, err) < 0) {
		tc_err_prefix(err, "%s", tc_safetensors_path(st));
		goto out;
	}
	struct tc_model_weights w;
	for (int k = 0; k < TC_MAX_LAYERS; k++) {
		w.layer[k] = (struct tc_layer_weights){l.layer[k][0], l.layer[k][1], l.layer[k][2],
			l.layer[k][3]};
	}
	for (int i = 0; i < TC_MAX_HEAD_OPS; i++) {
		w.head[i] = (struct tc_head_weights){l.head[i][0], l.head[i][1]};
	}
	m = tc_model_create(spec, &w, err);
out:
	loaded_finish(&l);
	return m;
}

struct tc_model *tc_model_load_from(const struct tc_model_spec *spec,
	const struct tc_safetensors *st, char *err)
{
	return tc_model_spec_validate(spec, err) < 0 ? NULL : build(spec, st, err);
}

struct tc_model *tc_model_load(const struct tc_model_spec *spec,
	const char *weights_path, char *err)
{
	if (tc_model_spec_validate(spec, err) < 0) {
		return NULL;
	}
	struct tc_safetensors *st = tc_safetensors_open(weights_path, err);
	if (!st) {
		return NULL;
	}
	struct tc_model *m = build(spec, st, err);
	tc_safetensors_close(&st);
	return m;
}
