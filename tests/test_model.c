/* test_model.c -- building models: tensor checks, sizes, and the figures check prints. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "bf16.h"
#include "error.h"
#include "model.h"
#include "model_internal.h"
#include "st_writer.h"

/* Tensors of a 2-layer H=4 (layer 1: H=3) model with I=2, O=5, all 0.01. */
#define MAX_T 10
static float values[4096];

struct fixture {
	struct st_tensor t[MAX_T];
	size_t n;
	struct tc_model_spec spec;
};

static void add(struct fixture *f, const char *name, uint64_t rows, uint64_t cols)
{
	struct st_tensor *t = &f->t[f->n++];
	t->name = name;
	t->dtype = "F32";
	t->ndim = cols ? 2 : 1;
	t->shape[0] = rows;
	t->shape[1] = cols;
	t->data = values;
	t->nbytes = rows * (cols ? cols : 1) * sizeof(float);
}

static void make(struct fixture *f)
{
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		values[i] = 0.01f;
	}
	memset(f, 0, sizeof *f);
	tc_model_spec_init(&f->spec);
	f->spec.input_size = 2;
	f->spec.n_layers = 2;
	f->spec.hidden[0] = 4;
	f->spec.hidden[1] = 3;
	f->spec.outputs = 5;
	add(f, "gru.weight_ih_l0", 12, 2);
	add(f, "gru.weight_hh_l0", 12, 4);
	add(f, "gru.bias_ih_l0", 12, 0);
	add(f, "gru.bias_hh_l0", 12, 0);
	add(f, "gru.weight_ih_l1", 9, 4);
	add(f, "gru.weight_hh_l1", 9, 3);
	add(f, "gru.bias_ih_l1", 9, 0);
	add(f, "gru.bias_hh_l1", 9, 0);
	add(f, "fc.weight", 5, 3);
	add(f, "fc.bias", 5, 0);
}

/* Writes the fixture and loads it; returns the model (or NULL with err). */
static struct tc_model *load(struct fixture *f, char *path, char *err)
{
	cr_assert_eq(st_write(path, f->t, f->n), 0);
	struct tc_model *m = tc_model_load(&f->spec, path, err);
	unlink(path);
	return m;
}

static void expect_error(struct fixture *f, const char *want)
{
	char path[64], err[TC_ERR_LEN] = "";
	struct tc_model *m = load(f, path, err);
	cr_assert_null(m, "expected an error containing \"%s\"", want);
	cr_assert(strstr(err, want), "error \"%s\" lacks \"%s\"", err, want);
	cr_assert(strstr(err, path), "error \"%s\" does not name the file", err);
}

Test(model, a_complete_file_loads)
{
	struct fixture f;
	make(&f);
	char path[64], err[TC_ERR_LEN];
	struct tc_model *m = load(&f, path, err);
	cr_assert_not_null(m, "%s", err);
	tc_model_destroy(&m);
	cr_assert_null(m);
	tc_model_destroy(&m);
}

Test(model, a_missing_bias_is_an_error_not_a_zero)
{
	struct fixture f;
	make(&f);
	f.t[7] = f.t[--f.n]; /* drop gru.bias_hh_l1 */
	expect_error(&f, "gru.bias_hh_l1: missing");
}

Test(model, a_mis_shaped_tensor_names_both_shapes)
{
	struct fixture f;
	make(&f);
	f.t[5].shape[1] = 2;
	f.t[5].nbytes = 9 * 2 * sizeof(float);
	expect_error(&f, "gru.weight_hh_l1: expected [9, 3], file has [9, 2]");
}

Test(model, a_head_of_the_wrong_width_is_refused)
{
	struct fixture f;
	make(&f);
	f.spec.outputs = 6;
	expect_error(&f, "fc.weight: expected [6, 3], file has [5, 3]");
}

Test(model, an_integer_tensor_is_refused)
{
	struct fixture f;
	make(&f);
	f.t[9].dtype = "I32";
	expect_error(&f, "fc.bias: dtype I32 is not a float type");
}

Test(model, a_nan_weight_is_refused_with_its_index)
{
	struct fixture f;
	make(&f);
	float bad[12];
	for (int i = 0; i < 12; i++) {
		bad[i] = 0.0f;
	}
	bad[7] = NAN;
	f.t[2].data = bad;
	expect_error(&f, "gru.bias_ih_l0: element 7 is NaN");
}

Test(model, other_tensor_prefixes_are_honoured)
{
	struct fixture f;
	make(&f);
	static const char *const names[MAX_T] = {
		"enc.weight_ih_l0", "enc.weight_hh_l0", "enc.bias_ih_l0", "enc.bias_hh_l0",
		"enc.weight_ih_l1", "enc.weight_hh_l1", "enc.bias_ih_l1", "enc.bias_hh_l1",
		"out.weight", "out.bias"};
	for (int i = 0; i < MAX_T; i++) {
		f.t[i].name = names[i];
	}
	char path[64], err[TC_ERR_LEN];
	struct tc_model *m = load(&f, path, err);
	cr_assert_null(m);
	cr_assert(strstr(err, "gru.weight_ih_l0: missing"), "%s", err);
	snprintf(f.spec.gru_prefix, sizeof f.spec.gru_prefix, "enc");
	snprintf(f.spec.head_prefix, sizeof f.spec.head_prefix, "out");
	m = load(&f, path, err);
	cr_assert_not_null(m, "%s", err);
	tc_model_destroy(&m);
}

Test(model, a_missing_file_is_reported)
{
	struct tc_model_spec spec;
	tc_model_spec_init(&spec);
	spec.n_layers = 1;
	spec.hidden[0] = 4;
	spec.outputs = 1;
	char err[TC_ERR_LEN];
	cr_assert_null(tc_model_load(&spec, "/nonexistent/w.safetensors", err));
	cr_assert(strstr(err, "/nonexistent/w.safetensors"), "%s", err);
}

Test(model, sizes_out_of_range_are_refused)
{
	struct tc_model_spec spec;
	char err[TC_ERR_LEN];
	tc_model_spec_init(&spec);
	spec.outputs = 1;
	cr_assert_lt(tc_model_spec_validate(&spec, err), 0);
	cr_assert(strstr(err, "0 layers is out of range"), "%s", err);
	spec.n_layers = 1;
	spec.hidden[0] = 0;
	cr_assert_lt(tc_model_spec_validate(&spec, err), 0);
	cr_assert(strstr(err, "layer 0: hidden size 0 is out of range"), "%s", err);
	spec.hidden[0] = 8;
	spec.input_size = -1;
	cr_assert_lt(tc_model_spec_validate(&spec, err), 0);
	cr_assert(strstr(err, "input_size -1"), "%s", err);
	spec.input_size = 1;
	spec.precision = (enum tc_precision)2;
	cr_assert_lt(tc_model_spec_validate(&spec, err), 0);
	cr_assert(strstr(err, "precision 2 is neither fp32 nor bf16"), "%s", err);
}

/* Head weights W[j][k] = k + 8 (j % 16), exact in bf16, over 3 rows (odd:
 * one zero pad row) and 40 columns (two panels, the second ragged): element
 * (k, j) of panel p is at (k / 2) * 2 * TC_PANEL + 2 * (j % TC_PANEL) + k % 2. */
Test(model, bf16_panels_interleave_pairs_of_rows_and_pad_with_zero)
{
	enum { H = 3, O = 40 };
	static float gru[3 * H * H], head[O * H], bias[O];
	for (int j = 0; j < O; j++) {
		for (int k = 0; k < H; k++) {
			head[j * H + k] = (float)(k + 8 * (j % 16));
		}
	}
	struct tc_model_spec spec;
	tc_model_spec_init(&spec);
	spec.n_layers = 1;
	spec.hidden[0] = H;
	spec.outputs = O;
	spec.precision = TC_PRECISION_BF16;
	struct tc_model_weights w = {.layer[0] = {gru, gru, gru, gru}, .head[0] = {head, bias}};
	char err[TC_ERR_LEN];
	struct tc_model *m = tc_model_create(&spec, &w, err);
	cr_assert_not_null(m, "%s", err);
	const struct tc_packed *p = &m->head[0].w;
	cr_assert_eq(tc_packed_rows_even(p), 4);
	for (int j = 0; j < p->width; j++) {
		const uint16_t *panel = p->wbf + (size_t)(j / TC_PANEL) * TC_PANEL * 4;
		for (int k = 0; k < 4; k++) {
			float want = j < O && k < H ? head[j * H + k] : 0.0f;
			float got = tc_bf16_to_float(panel[(k / 2) * 2 * TC_PANEL + 2 * (j % TC_PANEL) + k % 2]);
			cr_assert_eq(got, want, "(k %d, j %d): %g, want %g", k, j, got, want);
		}
	}
	tc_model_destroy(&m);
	spec.precision = TC_PRECISION_FP32;
	m = tc_model_create(&spec, &w, err);
	cr_assert_null(m->head[0].w.wbf, "an fp32 model holds no bf16 copy");
	tc_model_destroy(&m);
}

Test(model, bf16_rounds_to_nearest_even_and_flushes_subnormals)
{
	cr_assert_eq(tc_bf16_round(1.0f), 0x3f80);
	cr_assert_eq(tc_bf16_round(1.0f + 0x1p-8f), 0x3f80);          /* tie: down to even */
	cr_assert_eq(tc_bf16_round(1.0f + 3 * 0x1p-8f), 0x3f82);      /* tie: up to even */
	cr_assert_eq(tc_bf16_round(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81); /* above the tie */
	cr_assert_eq(tc_bf16_round(-2.0f), 0xc000);
	cr_assert_eq(tc_bf16_round(0x1p-130f), 0x0000);
	cr_assert_eq(tc_bf16_round(-0x1p-130f), 0x8000);
	cr_assert_eq(tc_bf16_round(FLT_MAX), 0x7f80);                /* rounds up to infinity */
	cr_assert_eq(tc_bf16_round(NAN) & 0x7fc0, 0x7fc0);
}

/* The figures docs/measuring.md states for 2 x 64 (75,648 FLOPs) and
 * PyTorch's sum(p.numel()) for nn.GRU(1, 64, 2) + nn.Linear(64, 12). */
Test(model, counts_match_the_published_figures)
{
	static float zeros[3 * 64 * 64];
	struct tc_model_spec spec;
	tc_model_spec_init(&spec);
	spec.n_layers = 2;
	spec.hidden[0] = spec.hidden[1] = 64;
	spec.outputs = 12;
	struct tc_model_weights w = {.head[0] = {zeros, zeros}};
	for (int k = 0; k < 2; k++) {
		w.layer[k] = (struct tc_layer_weights){zeros, zeros, zeros, zeros};
	}
	char err[TC_ERR_LEN];
	struct tc_model *m = tc_model_create(&spec, &w, err);
	cr_assert_not_null(m, "%s", err);
	cr_assert_eq(tc_model_flops_per_step(m), 75648);
	cr_assert_eq(tc_model_param_count(m), 38604);
	cr_assert_eq(tc_model_state_bytes(m), 512);
	spec.hidden[0] = spec.hidden[1] = 128;
	cr_assert(!tc_model_spec_same_shape(&spec, tc_model_get_spec(m)));
	tc_model_destroy(&m);
}
