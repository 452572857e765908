/* config_model.c -- model.layers[], model.head[] and model.tensors: their
 * keys, the checks of each item, and the spec they make.
 *
 * Items are read into cfg->model_layers and cfg->model_head as written,
 * then tc_config_model_finish turns them into the spec: layer types,
 * modules and indices; head operations (gelu with approximate: tanh is its
 * own operation in the spec) and the model's output count, the last
 * linear's. Whether the head has a linear at all is the spec's check
 * (tc_model_spec_validate), made when the model is loaded. */
#include "config_model.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define CFG(member) offsetof(struct tc_config, member)
#define CFG_SIZE(member) sizeof(((struct tc_config *)0)->member)

_Static_assert(sizeof(enum tc_layer_type) == sizeof(int), "enum size");

/* enum tc_layer_type's order. */
static const char *const layer_type_names[] = { "gru", "lstm", "rnn", NULL };
static const char *const nonlinearity_names[] = { "tanh", "relu", NULL };
static const char *const approximate_names[] = { "none", "tanh", NULL };

/* The head's words, and the operation each is (gelu: unless approximate: tanh). */
static const char *const head_type_names[] = {
	"linear", "relu", "tanh", "gelu", "sigmoid", "layernorm", "dropout", NULL,
};
static const enum tc_head_op_type head_types[] = {
	TC_HEAD_LINEAR, TC_HEAD_RELU, TC_HEAD_TANH, TC_HEAD_GELU, TC_HEAD_SIGMOID,
	TC_HEAD_LAYERNORM, TC_HEAD_DROPOUT,
};
enum { HEAD_WORD_LINEAR = 0, HEAD_WORD_GELU = 3, HEAD_WORD_LAYERNORM = 5 };

const struct tc_option tc_config_layer_options[] = {
	{ .name = "type", .type = TC_OPTION_ENUM, .offset = CFG(model_layers[0].type), .required = 1,
		.names = layer_type_names,
		.help = "gru (nn.GRU), lstm (nn.LSTM: h and a cell state c) or rnn (nn.RNN)" },
	{ .name = "hidden", .type = TC_OPTION_INT, .offset = CFG(model_layers[0].hidden),
		.required = 1, .min = 1, .max = TC_MAX_WIDTH, .help = "units of this layer" },
	{ .name = "nonlinearity", .type = TC_OPTION_ENUM, .offset = CFG(model_layers[0].relu),
		.def = 0, .names = nonlinearity_names, .help = "rnn: tanh or relu, as nn.RNN's" },
	{ .name = "module", .type = TC_OPTION_STRING, .offset = CFG(model_layers[0].module),
		.size = CFG_SIZE(model_layers[0].module), .def_str = "", .may_be_empty = 1,
		.help = "tensor-name prefix of the PyTorch module it comes from; \"\": the "
			"previous layer's (the first layer's: tensors.gru)" },
	{ .name = "index", .type = TC_OPTION_INT, .offset = CFG(model_layers[0].index), .def = -1,
		.min = -1, .max = 1000,
		.help = "its layer number in that module (the l<index> of the tensor names); "
			"-1: one more than the previous layer's in the same module, else 0" },
	{ 0 },
};

const struct tc_option tc_config_head_options[] = {
	{ .name = "type", .type = TC_OPTION_ENUM, .offset = CFG(model_head[0].type), .required = 1,
		.names = head_type_names,
		.help = "linear, relu, tanh, gelu, sigmoid, layernorm or dropout (nothing at inference)" },
	{ .name = "outputs", .type = TC_OPTION_INT, .offset = CFG(model_head[0].outputs), .def = 0,
		.min = 0, .max = TC_MAX_WIDTH,
		.help = "linear: values it writes; the last linear's are the forecast (horizon x "
			"input_size, step-major)" },
	{ .name = "eps", .type = TC_OPTION_FLOAT, .offset = CFG(model_head[0].eps), .def_float = 1e-5,
		.min_float = 0, .min_open = 1, .max_float = 1, .help = "layernorm: nn.LayerNorm's eps" },
	{ .name = "affine", .type = TC_OPTION_BOOL, .offset = CFG(model_head[0].affine), .def = 1,
		.help = "layernorm: has weight and bias (nn.LayerNorm's elementwise_affine)" },
	{ .name = "approximate", .type = TC_OPTION_ENUM,
		.offset = CFG(model_head[0].approximate_tanh), .def = 0, .names = approximate_names,
		.help = "gelu: none (exact) or tanh, as nn.GELU's" },
	{ .name = "module", .type = TC_OPTION_STRING, .offset = CFG(model_head[0].module),
		.size = CFG_SIZE(model_head[0].module), .def_str = "", .may_be_empty = 1,
		.help = "linear, layernorm: tensor-name prefix; \"\": tensors.head for a head of one "
			"operation, else <tensors.head>.<position> (nn.Sequential's names)" },
	{ 0 },
};

const struct tc_option tc_config_tensor_options[] = {
	{ .name = "gru", .type = TC_OPTION_STRING, .offset = CFG(model.gru_prefix),
		.size = CFG_SIZE(model.gru_prefix), .def_str = "gru",
		.help = "module of the first layer when it names none (<gru>.weight_ih_l0, ...)" },
	{ .name = "head", .type = TC_OPTION_STRING, .offset = CFG(model.head_prefix),
		.size = CFG_SIZE(model.head_prefix), .def_str = "fc",
		.help = "tensor-name prefix of the head (<head>.weight, or <head>.<i>.weight)" },
	{ 0 },
};

/* item is the base a list item's fields are at: the config shifted by i items. */
const char *tc_config_check_layer(const char *item)
{
	const struct tc_config_layer *l = (const void *)(item + CFG(model_layers[0]));
	if (l->relu && l->type != TC_LAYER_RNN) {
		return "nonlinearity is a key of rnn layers (gru and lstm have fixed ones)";
	}
	return NULL;
}

const char *tc_config_check_head_op(const char *item)
{
	const struct tc_config_head_op *op = (const void *)(item + CFG(model_head[0]));
	if (op->type == HEAD_WORD_LINEAR && op->outputs == 0) {
		return "a linear needs outputs: how many values it writes";
	}
	if (op->type != HEAD_WORD_LINEAR && op->outputs != 0) {
		return "outputs is a key of linear operations";
	}
	if (op->type != HEAD_WORD_GELU && op->approximate_tanh) {
		return "approximate is a key of gelu";
	}
	if (op->module[0] && op->type != HEAD_WORD_LINEAR && op->type != HEAD_WORD_LAYERNORM) {
		return "module names the tensors of a linear or a layernorm; this has none";
	}
	return NULL;
}

void tc_config_model_finish(struct tc_config *cfg)
{
	struct tc_model_spec *m = &cfg->model;
	for (int k = 0; k < m->n_layers; k++) {
		const struct tc_config_layer *l = &cfg->model_layers[k];
		m->type[k] = (enum tc_layer_type)l->type;
		m->hidden[k] = l->hidden;
		m->relu[k] = l->relu;
		m->index[k] = l->index;
		memcpy(m->module[k], l->module, sizeof m->module[k]);
	}
	for (int i = 0; i < m->n_head_ops; i++) {
		const struct tc_config_head_op *c = &cfg->model_head[i];
		struct tc_head_op_spec *op = &m->head[i];
		op->type = c->type == HEAD_WORD_GELU && c->approximate_tanh ? TC_HEAD_GELU_TANH
			: head_types[c->type];
		op->outputs = c->outputs;
		op->affine = c->affine;
		op->eps = c->eps;
		memcpy(op->module, c->module, sizeof op->module);
	}
	m->outputs = tc_model_spec_head_outputs(m);
}
