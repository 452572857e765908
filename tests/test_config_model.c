/* test_config_model.c -- model.layers[] of every type, model.head as a list
 * of operations, and the errors each item's keys can have. */
#include "config_fixture.h"

#include "model.h"

Test(config_model, lstm_and_rnn_layers_read_with_their_modules_and_indices)
{
	struct tc_config cfg;
	expect_ok(&cfg,
		"model:\n"
		"  weights: m.safetensors\n"
		"  layers:\n"
		"    - {type: gru, hidden: 8, module: enc.gru}\n"
		"    - {type: gru, hidden: 8}\n"
		"    - {type: lstm, hidden: 6, module: lstm}\n"
		"    - {type: rnn, hidden: 4, module: rnn, index: 2, nonlinearity: relu}\n"
		"  head: {type: linear, outputs: 3}\n");
	const struct tc_model_spec *s = &cfg.model;
	cr_assert_eq(s->n_layers, 4);
	cr_assert_eq(s->type[0], TC_LAYER_GRU);
	cr_assert_eq(s->type[2], TC_LAYER_LSTM);
	cr_assert_eq(s->type[3], TC_LAYER_RNN);
	cr_assert_eq(s->relu[3], 1);
	cr_assert_eq(s->relu[2], 0);
	int index;
	cr_assert_str_eq(tc_model_spec_layer_source(s, 1, &index), "enc.gru");
	cr_assert_eq(index, 1, "the second layer continues enc.gru");
	cr_assert_str_eq(tc_model_spec_layer_source(s, 2, &index), "lstm");
	cr_assert_eq(index, 0);
	cr_assert_str_eq(tc_model_spec_layer_source(s, 3, &index), "rnn");
	cr_assert_eq(index, 2);
	cr_assert_eq(s->outputs, 3);
}

Test(config_model, todays_gru_configs_read_as_before)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL "  tensors: {gru: enc, head: out}\n");
	int index;
	cr_assert_str_eq(tc_model_spec_layer_source(&cfg.model, 0, &index), "enc");
	cr_assert_eq(index, 0);
	cr_assert_eq(cfg.model.n_head_ops, 1);
	char module[TC_MAX_PREFIX];
	tc_model_spec_head_module(&cfg.model, 0, module);
	cr_assert_str_eq(module, "out", "a head of one linear is tensors.head itself");
	cr_assert_eq(cfg.model.outputs, 1);
}

Test(config_model, a_head_list_reads_as_nn_sequential)
{
	struct tc_config cfg;
	expect_ok(&cfg,
		"model:\n"
		"  weights: m.safetensors\n"
		"  layers: [{type: lstm, hidden: 8}]\n"
		"  head:\n"
		"    - {type: linear, outputs: 16}\n"
		"    - {type: gelu, approximate: tanh}\n"
		"    - {type: layernorm, eps: 1.0e-3, affine: false}\n"
		"    - {type: dropout}\n"
		"    - {type: linear, outputs: 5, module: out}\n"
		"    - {type: sigmoid}\n"
		"  tensors: {head: mlp}\n");
	const struct tc_model_spec *s = &cfg.model;
	cr_assert_eq(s->n_head_ops, 6);
	cr_assert_eq(s->head[1].type, TC_HEAD_GELU_TANH);
	cr_assert_eq(s->head[2].type, TC_HEAD_LAYERNORM);
	cr_assert_float_eq(s->head[2].eps, 1e-3, 1e-12);
	cr_assert_eq(s->head[2].affine, 0);
	cr_assert_eq(s->head[3].type, TC_HEAD_DROPOUT);
	cr_assert_eq(s->head[5].type, TC_HEAD_SIGMOID);
	cr_assert_eq(s->outputs, 5, "the last linear's outputs");
	char module[TC_MAX_PREFIX];
	tc_model_spec_head_module(s, 0, module);
	cr_assert_str_eq(module, "mlp.0");
	tc_model_spec_head_module(s, 4, module);
	cr_assert_str_eq(module, "out");
}

Test(config_model, a_gelu_is_exact_unless_told)
{
	struct tc_config cfg;
	expect_ok(&cfg,
		"model:\n"
		"  weights: m.safetensors\n"
		"  layers: [{type: gru, hidden: 8}]\n"
		"  head: [{type: linear, outputs: 4}, {type: gelu}, {type: linear, outputs: 2}]\n");
	cr_assert_eq(cfg.model.head[1].type, TC_HEAD_GELU);
	cr_assert_float_eq(cfg.model.head[1].eps, 1e-5, 1e-12);
}

Test(config_model, a_nonlinearity_on_a_gru_layer_is_refused_at_the_layer)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  layers:\n"
		"    - {type: gru, hidden: 8, nonlinearity: relu}\n",
		"config.yaml:4:7: model.layers[0]: nonlinearity is a key of rnn layers "
		"(gru and lstm have fixed ones)");
}

Test(config_model, a_linear_without_outputs_is_refused)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  layers: [{type: gru, hidden: 8}]\n"
		"  head: [{type: linear, outputs: 4}, {type: relu}, {type: linear}]\n",
		"config.yaml:4:52: model.head[2]: a linear needs outputs: how many values it writes");
}

Test(config_model, outputs_on_an_activation_is_refused)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  layers: [{type: gru, hidden: 8}]\n"
		"  head: [{type: linear, outputs: 4}, {type: relu, outputs: 3}]\n",
		"config.yaml:4:38: model.head[1]: outputs is a key of linear operations");
}

Test(config_model, approximate_on_anything_but_gelu_is_refused)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  layers: [{type: gru, hidden: 8}]\n"
		"  head: [{type: tanh, approximate: tanh}, {type: linear, outputs: 1}]\n",
		"config.yaml:4:10: model.head[0]: approximate is a key of gelu");
}

Test(config_model, a_module_on_an_operation_without_tensors_is_refused)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  layers: [{type: gru, hidden: 8}]\n"
		"  head: [{type: linear, outputs: 4}, {type: dropout, module: drop}]\n",
		"config.yaml:4:38: model.head[1]: module names the tensors of a linear or a "
		"layernorm; this has none");
}

Test(config_model, an_unknown_head_operation_is_refused)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  layers: [{type: gru, hidden: 8}]\n"
		"  head: [{type: softmax}]\n",
		"config.yaml:4:17: model.head[0].type: expected one of linear, relu, tanh, gelu, "
		"sigmoid, layernorm, dropout, got \"softmax\"");
}

Test(config_model, a_layernorm_eps_of_zero_is_refused)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  layers: [{type: gru, hidden: 8}]\n"
		"  head: [{type: layernorm, eps: 0}, {type: linear, outputs: 1}]\n",
		"config.yaml:4:33: model.head[0].eps: 0 is out of range (0, 1]");
}
