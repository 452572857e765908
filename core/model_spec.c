/* model_spec.c -- what a model is made of: the spec's defaults, bounds,
 * where each layer's and head operation's tensors are, and its shape. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

void tc_model_spec_init(struct tc_model_spec *spec)
{
	memset(spec, 0, sizeof *spec);
	spec->input_size = 1;
	spec->reset_after = 1;
	for (int k = 0; k < TC_MAX_LAYERS; k++) {
		spec->index[k] = -1;
	}
	snprintf(spec->gru_prefix, sizeof spec->gru_prefix, "gru");
	snprintf(spec->head_prefix, sizeof spec->head_prefix, "fc");
}

int tc_layer_gates(enum tc_layer_type type)
{
	switch (type) {
	case TC_LAYER_GRU:
		return 3;
	case TC_LAYER_LSTM:
		return 4;
	case TC_LAYER_RNN:
		return 1;
	}
	return 0;
}

const char *tc_layer_type_to_string(enum tc_layer_type type)
{
	static const char *const names[] = {"gru", "lstm", "rnn"};
	return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "?";
}

const char *tc_head_op_to_string(enum tc_head_op_type type)
{
	static const char *const names[] = {"linear", "relu", "tanh", "gelu", "gelu (tanh)",
		"sigmoid", "layernorm", "dropout"};
	return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "?";
}

int tc_model_spec_state_width(const struct tc_model_spec *spec, int k)
{
	return spec->type[k] == TC_LAYER_LSTM ? 2 * spec->hidden[k] : spec->hidden[k];
}

const char *tc_model_spec_layer_source(const struct tc_model_spec *spec, int k, int *index)
{
	const char *module = spec->gru_prefix;
	int at = -1;
	for (int j = 0; j <= k; j++) {
		const char *prev = module;
		if (spec->module[j][0]) {
			module = spec->module[j];
		}
		int same = j > 0 && strcmp(prev, module) == 0;
		at = spec->index[j] >= 0 ? spec->index[j] : same ? at + 1 : 0;
	}
	*index = at;
	return module;
}

struct tc_head_op_spec tc_model_spec_head_op(const struct tc_model_spec *spec, int i)
{
	if (spec->n_head_ops == 0) {
		return (struct tc_head_op_spec){.type = TC_HEAD_LINEAR, .outputs = spec->outputs};
	}
	return spec->head[i];
}

int tc_model_spec_head_count(const struct tc_model_spec *spec)
{
	return spec->n_head_ops ? spec->n_head_ops : 1;
}

void tc_model_spec_head_module(const struct tc_model_spec *spec, int i, char *buf)
{
	if (spec->n_head_ops > 0 && spec->head[i].module[0]) {
		snprintf(buf, TC_MAX_PREFIX, "%s", spec->head[i].module);
	} else if (tc_model_spec_head_count(spec) == 1) {
		snprintf(buf, TC_MAX_PREFIX, "%s", spec->head_prefix);
	} else {
		snprintf(buf, TC_MAX_PREFIX, "%.*s.%d", TC_MAX_PREFIX - 8, spec->head_prefix, i);
	}
}

int tc_model_spec_head_outputs(const struct tc_model_spec *spec)
{
	int out = 0;
	for (int i = 0; i < tc_model_spec_head_count(spec); i++) {
		struct tc_head_op_spec op = tc_model_spec_head_op(spec, i);
		out = op.type == TC_HEAD_LINEAR ? op.outputs : out;
	}
	return out;
}

static int validate_layers(const struct tc_model_spec *spec, char *err)
{
	for (int k = 0; k < spec->n_layers; k++) {
		if (spec->hidden[k] < 1 || spec->hidden[k] > TC_MAX_WIDTH) {
			return tc_err_set(err, "layer %d: hidden size %d is out of range 1..%d",
				k, spec->hidden[k], TC_MAX_WIDTH);
		}
		if (tc_layer_gates(spec->type[k]) == 0) {
			return tc_err_set(err, "layer %d: type %d is not gru, lstm or rnn",
				k, (int)spec->type[k]);
		}
		if (spec->index[k] < -1) {
			return tc_err_set(err, "layer %d: index %d is negative", k, spec->index[k]);
		}
	}
	return 0;
}

static int validate_head(const struct tc_model_spec *spec, char *err)
{
	if (spec->n_head_ops < 0 || spec->n_head_ops > TC_MAX_HEAD_OPS) {
		return tc_err_set(err, "head: %d operations is out of range 0..%d",
			spec->n_head_ops, TC_MAX_HEAD_OPS);
	}
	for (int i = 0; i < spec->n_head_ops; i++) {
		const struct tc_head_op_spec *op = &spec->head[i];
		if ((unsigned)op->type > TC_HEAD_DROPOUT) {
			return tc_err_set(err, "head[%d]: unknown operation %d", i, (int)op->type);
		}
		if (op->type == TC_HEAD_LINEAR && (op->outputs < 1 || op->outputs > TC_MAX_WIDTH)) {
			return tc_err_set(err, "head[%d]: %d outputs is out of range 1..%d",
				i, op->outputs, TC_MAX_WIDTH);
		}
		if (op->type == TC_HEAD_LAYERNORM && !(op->eps > 0 && isfinite(op->eps))) {
			return tc_err_set(err, "head[%d]: layernorm eps %g is not a positive number",
				i, op->eps);
		}
	}
	int out = tc_model_spec_head_outputs(spec);
	if (out == 0) {
		return tc_err_set(err, "head: it has no linear operation, so nothing says how many "
			"values it forecasts");
	}
	if (out != spec->outputs) {
		return tc_err_set(err, "head: its last linear writes %d values, the model's outputs "
			"are %d", out, spec->outputs);
	}
	return 0;
}

int tc_model_spec_validate(const struct tc_model_spec *spec, char *err)
{
	if (spec->input_size < 1 || spec->input_size > TC_MAX_INPUT) {
		return tc_err_set(err, "input_size %d is out of range 1..%d",
			spec->input_size, TC_MAX_INPUT);
	}
	if (spec->n_layers < 1 || spec->n_layers > TC_MAX_LAYERS) {
		return tc_err_set(err, "%d layers is out of range 1..%d",
			spec->n_layers, TC_MAX_LAYERS);
	}
	if (validate_layers(spec, err) < 0) {
		return -1;
	}
	if (spec->precision != TC_PRECISION_FP32 && spec->precision != TC_PRECISION_BF16) {
		return tc_err_set(err, "precision %d is neither fp32 nor bf16", (int)spec->precision);
	}
	if (spec->outputs < 1 || spec->outputs > TC_MAX_WIDTH) {
		return tc_err_set(err, "head: %d outputs is out of range 1..%d",
			spec->outputs, TC_MAX_WIDTH);
	}
	if (!spec->gru_prefix[0] || !spec->head_prefix[0]) {
		return tc_err_set(err, "tensor-name prefixes must not be empty");
	}
	return validate_head(spec, err);
}

int tc_model_spec_same_state(const struct tc_model_spec *a, const struct tc_model_spec *b)
{
	if (a->input_size != b->input_size || a->n_layers != b->n_layers
		|| a->outputs != b->outputs) {
		return 0;
	}
	for (int k = 0; k < a->n_layers; k++) {
		if (a->hidden[k] != b->hidden[k] || a->type[k] != b->type[k]) {
			return 0;
		}
	}
	return 1;
}

int tc_model_spec_same_shape(const struct tc_model_spec *a, const struct tc_model_spec *b)
{
	const int count = tc_model_spec_head_count(a);
	if (!tc_model_spec_same_state(a, b) || count != tc_model_spec_head_count(b)) {
		return 0;
	}
	for (int i = 0; i < count; i++) {
		struct tc_head_op_spec x = tc_model_spec_head_op(a, i), y = tc_model_spec_head_op(b, i);
		if (x.type != y.type || (x.type == TC_HEAD_LINEAR && x.outputs != y.outputs)) {
			return 0;
		}
	}
	return 1;
}
