/* test_model_cells.c -- models of LSTM and RNN layers, mixed stacks and
 * heads of several operations: where each tensor is looked for, and a clear
 * error for every way a weights file can disagree with the config. */
#include <criterion/criterion.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "model_fixture.h"

static float values[8192];

/* A weights file under construction and the spec to load it with. */
struct fixture {
	struct st_tensor t[32];
	char names[32][64];
	size_t n;
	struct tc_model_spec spec;
};

static void add(struct fixture *f, const char *name, uint64_t rows, uint64_t cols)
{
	struct st_tensor *t = &f->t[f->n];
	snprintf(f->names[f->n], sizeof f->names[f->n], "%s", name);
	*t = (struct st_tensor){f->names[f->n], "F32", cols ? 2 : 1, {rows, cols}, values,
		rows * (cols ? cols : 1) * sizeof(float)};
	f->n++;
}

/* The four tensors of layer `index` of `module`, G gates of H over I inputs. */
static void add_layer(struct fixture *f, const char *module, int index, uint64_t gates,
	uint64_t hidden, uint64_t in)
{
	static const char *const kinds[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
	const uint64_t cols[] = {in, hidden, 0, 0};
	for (int i = 0; i < 4; i++) {
		char name[64];
		snprintf(name, sizeof name, "%s.%s_l%d", module, kinds[i], index);
		add(f, name, gates * hidden, cols[i]);
	}
}

/* nn.GRU(2, 6, num_layers=2) as `enc`, nn.LSTM(6, 5) as `lstm`, nn.RNN(5, 4,
 * nonlinearity='relu') as `rnn`, then nn.Sequential(Linear(4, 7), ReLU(),
 * LayerNorm(7), Linear(7, 3)) as `head`. */
static void make(struct fixture *f)
{
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		values[i] = 0.01f;
	}
	memset(f, 0, sizeof *f);
	struct tc_model_spec *s = &f->spec;
	tc_model_spec_init(s);
	s->input_size = 2;
	s->n_layers = 4;
	const int hidden[] = {6, 6, 5, 4};
	const enum tc_layer_type types[] = {TC_LAYER_GRU, TC_LAYER_GRU, TC_LAYER_LSTM, TC_LAYER_RNN};
	const char *const modules[] = {"enc", "", "lstm", "rnn"};
	for (int k = 0; k < 4; k++) {
		s->hidden[k] = hidden[k];
		s->type[k] = types[k];
		snprintf(s->module[k], sizeof s->module[k], "%s", modules[k]);
	}
	s->relu[3] = 1;
	s->n_head_ops = 4;
	s->head[0] = (struct tc_head_op_spec){.type = TC_HEAD_LINEAR, .outputs = 7};
	s->head[1] = (struct tc_head_op_spec){.type = TC_HEAD_RELU};
	s->head[2] = (struct tc_head_op_spec){.type = TC_HEAD_LAYERNORM, .eps = 1e-5, .affine = 1};
	s->head[3] = (struct tc_head_op_spec){.type = TC_HEAD_LINEAR, .outputs = 3};
	s->outputs = 3;
	snprintf(s->head_prefix, sizeof s->head_prefix, "head");
	add_layer(f, "enc", 0, 3, 6, 2);
	add_layer(f, "enc", 1, 3, 6, 6);
	add_layer(f, "lstm", 0, 4, 5, 6);
	add_layer(f, "rnn", 0, 1, 4, 5);
	add(f, "head.0.weight", 7, 4);
	add(f, "head.0.bias", 7, 0);
	add(f, "head.2.weight", 7, 0);
	add(f, "head.2.bias", 7, 0);
	add(f, "head.3.weight", 3, 7);
	add(f, "head.3.bias", 3, 0);
}

static struct tc_model *load(struct fixture *f, char *path, char *err)
{
	return mf_load(&f->spec, f->t, f->n, path, err);
}

static void expect_error(struct fixture *f, const char *want)
{
	mf_expect_error(&f->spec, f->t, f->n, want);
}

/* Drops the tensor called name from the file. */
static void drop(struct fixture *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->t[i].name, name) == 0) {
			f->t[i] = f->t[--f->n];
			memcpy(f->names[i], f->names[f->n], sizeof f->names[i]);
			f->t[i].name = f->names[i];
			return;
		}
	}
	cr_assert_fail("no tensor %s", name);
}

static struct st_tensor *tensor(struct fixture *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->t[i].name, name) == 0) {
			return &f->t[i];
		}
	}
	cr_assert_fail("no tensor %s", name);
	return NULL;
}

Test(model_cells, a_mixed_stack_from_three_modules_loads_and_counts_its_parts)
{
	struct fixture f;
	make(&f);
	char path[64], err[TC_ERR_LEN];
	struct tc_model *m = load(&f, path, err);
	cr_assert_not_null(m, "%s", err);
	/* As PyTorch counts them: sum(p.numel() for p in model.parameters()). */
	uint64_t want = (18 * 2 + 18 * 6 + 36) + (18 * 6 + 18 * 6 + 36) + (20 * 6 + 20 * 5 + 40)
		+ (4 * 5 + 4 * 4 + 8) + (7 * 4 + 7) + 2 * 7 + (3 * 7 + 3);
	cr_assert_eq(tc_model_param_count(m), want);
	cr_assert_eq(tc_model_state_bytes(m), 4 * (6 + 6 + 2 * 5 + 4), "an lstm keeps h and c");
	tc_model_destroy(&m);
}

Test(model_cells, layer_sources_continue_the_previous_module)
{
	struct fixture f;
	make(&f);
	int index;
	const char *module = tc_model_spec_layer_source(&f.spec, 1, &index);
	cr_assert_str_eq(module, "enc");
	cr_assert_eq(index, 1);
	module = tc_model_spec_layer_source(&f.spec, 2, &index);
	cr_assert_str_eq(module, "lstm");
	cr_assert_eq(index, 0);
	f.spec.module[0][0] = '\0';
	module = tc_model_spec_layer_source(&f.spec, 0, &index);
	cr_assert_str_eq(module, "gru", "the first layer's default is tensors.gru");
	f.spec.index[3] = 2;
	module = tc_model_spec_layer_source(&f.spec, 3, &index);
	cr_assert_eq(index, 2, "an explicit index wins");
}

Test(model_cells, a_missing_lstm_tensor_is_named_with_its_layer)
{
	struct fixture f;
	make(&f);
	drop(&f, "lstm.bias_hh_l0");
	expect_error(&f, "layer 2 (lstm: 4 gates x 5 units): lstm.bias_hh_l0: missing");
}

Test(model_cells, a_gru_where_an_lstm_belongs_shows_the_gate_count)
{
	struct fixture f;
	make(&f);
	f.n = 0;
	add_layer(&f, "enc", 0, 3, 6, 2);
	add_layer(&f, "enc", 1, 3, 6, 6);
	add_layer(&f, "lstm", 0, 3, 5, 6); /* three gates: a GRU's tensors */
	expect_error(&f, "layer 2 (lstm: 4 gates x 5 units): lstm.weight_ih_l0: expected [20, 6], "
		"file has [15, 6]");
}

Test(model_cells, an_rnn_of_the_wrong_input_width_is_refused)
{
	struct fixture f;
	make(&f);
	struct st_tensor *t = tensor(&f, "rnn.weight_ih_l0");
	t->shape[1] = 6;
	t->nbytes = 4 * 6 * sizeof(float);
	expect_error(&f, "layer 3 (rnn: 1 gates x 4 units): rnn.weight_ih_l0: expected [4, 5], "
		"file has [4, 6]");
}

Test(model_cells, a_layernorm_without_its_weight_is_refused)
{
	struct fixture f;
	make(&f);
	drop(&f, "head.2.weight");
	expect_error(&f, "head[2] (layernorm): head.2.weight: missing");
}

Test(model_cells, a_layernorm_without_affine_needs_no_tensors)
{
	struct fixture f;
	make(&f);
	drop(&f, "head.2.weight");
	drop(&f, "head.2.bias");
	f.spec.head[2].affine = 0;
	char path[64], err[TC_ERR_LEN];
	struct tc_model *m = load(&f, path, err);
	cr_assert_not_null(m, "%s", err);
	tc_model_destroy(&m);
}

Test(model_cells, a_head_linear_of_the_wrong_width_is_refused)
{
	struct fixture f;
	make(&f);
	struct st_tensor *t = tensor(&f, "head.3.weight");
	t->shape[1] = 4;
	t->nbytes = 3 * 4 * sizeof(float);
	expect_error(&f, "head[3] (linear): head.3.weight: expected [3, 7], file has [3, 4]");
}

Test(model_cells, a_head_without_a_linear_is_refused)
{
	struct fixture f;
	make(&f);
	f.spec.n_head_ops = 1;
	f.spec.head[0] = (struct tc_head_op_spec){.type = TC_HEAD_TANH};
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_model_spec_validate(&f.spec, err), -1);
	cr_assert(strstr(err, "head: it has no linear operation"), "%s", err);
}

Test(model_cells, outputs_that_disagree_with_the_last_linear_are_refused)
{
	struct fixture f;
	make(&f);
	f.spec.outputs = 4;
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_model_spec_validate(&f.spec, err), -1);
	cr_assert(strstr(err, "its last linear writes 3 values, the model's outputs are 4"), "%s", err);
}

Test(model_cells, a_head_change_is_a_change_of_shape_but_not_of_state)
{
	struct fixture f;
	make(&f);
	struct tc_model_spec other = f.spec;
	other.head[0].outputs = 8;
	cr_assert(tc_model_spec_same_state(&f.spec, &other));
	cr_assert_not(tc_model_spec_same_shape(&f.spec, &other));
	other = f.spec;
	other.type[2] = TC_LAYER_GRU;
	cr_assert_not(tc_model_spec_same_state(&f.spec, &other), "an lstm's state is not a gru's");
}
