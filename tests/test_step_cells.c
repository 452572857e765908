/* test_step_cells.c -- the LSTM and RNN kernels (and stacks mixing them with a GRU):
 * every kernel against the plain C build of its precision and against a
 * double-precision nn.GRU / nn.LSTM / nn.RNN written here, over several steps
 * so that the recurrence, and the LSTM's cell state, matter. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "state.h"
#include "step.h"

#define MAX_H 128   /* largest hidden size the tests use */
#define OUT 5       /* head outputs */

/* One layer of a test stack. */
struct cell {
	enum tc_layer_type type;
	int hidden;
	int relu;   /* rnn: relu instead of tanh */
};

struct net {
	struct tc_model_spec spec;
	float *w[TC_MAX_LAYERS][4]; /* PyTorch layout: ih, hh, bias_ih, bias_hh */
	float *head_w, *head_b;
};

/* One series' recurrent state in double: h, and c for an lstm layer. */
struct ref_state {
	double h[TC_MAX_LAYERS][MAX_H];
	double c[TC_MAX_LAYERS][MAX_H];
};

static float *random_floats(size_t n, float scale)
{
	float *p = malloc(n * sizeof *p);
	for (size_t i = 0; i < n; i++) {
		p[i] = scale * (2.0f * (float)rand() / (float)RAND_MAX - 1.0f);
	}
	return p;
}

static float random_input(void)
{
	return 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;
}

static struct tc_model *make_net(struct net *n, int input, const struct cell *cells, int layers,
	enum tc_precision precision)
{
	tc_model_spec_init(&n->spec);
	n->spec.precision = precision;
	n->spec.input_size = input;
	n->spec.n_layers = layers;
	n->spec.outputs = OUT;
	struct tc_model_weights w = {0};
	int in = input;
	for (int k = 0; k < layers; k++) {
		int h = n->spec.hidden[k] = cells[k].hidden;
		n->spec.type[k] = cells[k].type;
		n->spec.relu[k] = cells[k].relu;
		size_t rows = (size_t)tc_layer_gates(cells[k].type) * h;
		float scale = 1.0f / sqrtf((float)h);
		n->w[k][0] = random_floats(rows * in, scale);
		n->w[k][1] = random_floats(rows * h, scale);
		n->w[k][2] = random_floats(rows, scale);
		n->w[k][3] = random_floats(rows, scale);
		w.layer[k] = (struct tc_layer_weights){n->w[k][0], n->w[k][1], n->w[k][2], n->w[k][3]};
		in = h;
	}
	n->head_w = random_floats((size_t)OUT * in, 1.0f / sqrtf((float)in));
	n->head_b = random_floats(OUT, 0.5f);
	w.head[0] = (struct tc_head_weights){n->head_w, n->head_b};
	char err[TC_ERR_LEN];
	struct tc_model *m = tc_model_create(&n->spec, &w, err);
	cr_assert_not_null(m, "%s", err);
	return m;
}

static void free_net(struct net *n)
{
	for (int k = 0; k < n->spec.n_layers; k++) {
		for (int i = 0; i < 4; i++) {
			free(n->w[k][i]);
		}
	}
	free(n->head_w);
	free(n->head_b);
}

static double sigmoid(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

/* Layer k's gate pre-activations in PyTorch's row order, the input and the
 * recurrent parts apart (the GRU's n needs them so). */
static void layer_products(const struct net *n, int k, const double *in, int in_n,
	const double *h, double *gi, double *gh)
{
	int H = n->spec.hidden[k], rows = tc_layer_gates(n->spec.type[k]) * H;
	for (int row = 0; row < rows; row++) {
		double a = n->w[k][2][row], b = n->w[k][3][row];
		for (int i = 0; i < in_n; i++) {
			a += (double)n->w[k][0][(size_t)row * in_n + i] * in[i];
		}
		for (int i = 0; i < H; i++) {
			b += (double)n->w[k][1][(size_t)row * H + i] * h[i];
		}
		gi[row] = a;
		gh[row] = b;
	}
}

/* One step of one series through nn.GRU (reset after), nn.LSTM and nn.RNN
 * layers and the linear head, in double: st advanced, y written. */
static void reference_step(const struct net *n, struct ref_state *st, const float *x, double *y)
{
	double in[MAX_H], gi[4 * MAX_H], gh[4 * MAX_H];
	int in_n = n->spec.input_size;
	for (int i = 0; i < in_n; i++) {
		in[i] = x[i];
	}
	for (int k = 0; k < n->spec.n_layers; k++) {
		int H = n->spec.hidden[k];
		double *h = st->h[k], *c = st->c[k];
		layer_products(n, k, in, in_n, h, gi, gh);
		for (int j = 0; j < H; j++) {
			switch (n->spec.type[k]) {
			case TC_LAYER_GRU: {
				double r = sigmoid(gi[j] + gh[j]), z = sigmoid(gi[H + j] + gh[H + j]);
				double cand = tanh(gi[2 * H + j] + r * gh[2 * H + j]);
				h[j] = (1 - z) * cand + z * h[j];
				break;
			}
			case TC_LAYER_LSTM: {
				double i = sigmoid(gi[j] + gh[j]), f = sigmoid(gi[H + j] + gh[H + j]);
				double g = tanh(gi[2 * H + j] + gh[2 * H + j]);
				double o = sigmoid(gi[3 * H + j] + gh[3 * H + j]);
				c[j] = f * c[j] + i * g;
				h[j] = o * tanh(c[j]);
				break;
			}
			case TC_LAYER_RNN: {
				double a = gi[j] + gh[j];
				h[j] = n->spec.relu[k] ? fmax(a, 0.0) : tanh(a);
				break;
			}
			}
		}
		for (int j = 0; j < H; j++) {
			in[j] = h[j];
		}
		in_n = H;
	}
	for (int o = 0; o < OUT; o++) {
		double a = n->head_b[o];
		for (int i = 0; i < in_n; i++) {
			a += (double)n->head_w[o * in_n + i] * in[i];
		}
		y[o] = a;
	}
}

/* The largest differences a run found (absolute). */
struct gaps {
	double from_c;       /* outputs: kernel against the C build of its precision */
	double from_double;  /* outputs: kernel against the double reference */
	double cell;         /* lstm layers' c: kernel against the reference's c */
};

/* Largest |c - reference c| over the lstm layers of the given slots. */
static double cell_gap(const struct net *n, struct tc_state *st, const uint32_t *slots,
	int series, const struct ref_state *ref)
{
	double worst = 0;
	for (int k = 0; k < n->spec.n_layers; k++) {
		if (n->spec.type[k] != TC_LAYER_LSTM) {
			continue;
		}
		int H = n->spec.hidden[k];
		const float *rows = tc_state_hidden(st, k);
		for (int i = 0; i < series; i++) {
			const float *c = rows + (size_t)slots[i] * 2 * H + H;
			for (int j = 0; j < H; j++) {
				worst = fmax(worst, fabs(c[j] - ref[i].c[k][j]));
			}
		}
	}
	return worst;
}

/* Steps `series` series (descending slots with gaps) `steps` times with
 * `kernel` and, on a state of its own, with the C build of the same
 * precision; returns the largest differences. Skips when the CPU lacks it. */
static struct gaps run_cells(const char *kernel, int input, const struct cell *cells, int layers,
	int series, int steps, int threads)
{
	int precision = tc_step_use_kernel(kernel);
	if (precision < 0) {
		cr_skip_test("this CPU has no %s kernel", kernel);
	}
	const char *plain = precision == TC_PRECISION_BF16 ? "c_bf16" : "c";
	srand(7);
	struct net n;
	struct tc_model *m = make_net(&n, input, cells, layers, (enum tc_precision)precision);
	char err[TC_ERR_LEN];
	struct tc_state *st = tc_state_create(m, (size_t)series * 2, threads, err);
	struct tc_state *st_c = tc_state_create(m, (size_t)series * 2, threads, err);
	cr_assert(st && st_c, "%s", err);
	struct ref_state *ref = calloc((size_t)series, sizeof *ref);
	uint32_t *slots = malloc((size_t)series * sizeof *slots);
	float *x = malloc((size_t)series * input * sizeof *x);
	float *y = malloc((size_t)series * OUT * sizeof *y);
	float *y_c = malloc((size_t)series * OUT * sizeof *y_c);
	for (int i = 0; i < series; i++) {
		slots[i] = (uint32_t)(2 * series - 1 - 2 * i);
	}
	struct gaps g = {0};
	for (int s = 0; s < steps; s++) {
		for (int i = 0; i < series * input; i++) {
			x[i] = random_input();
		}
		cr_assert_eq(tc_step_use_kernel(kernel), precision);
		cr_assert_eq(tc_step(m, st, slots, (size_t)series, x, y, err), 0, "%s", err);
		cr_assert_eq(tc_step_use_kernel(plain), precision);
		cr_assert_eq(tc_step(m, st_c, slots, (size_t)series, x, y_c, err), 0, "%s", err);
		for (int i = 0; i < series; i++) {
			double want[OUT];
			reference_step(&n, &ref[i], x + i * input, want);
			for (int o = 0; o < OUT; o++) {
				g.from_c = fmax(g.from_c, fabs(y[i * OUT + o] - y_c[i * OUT + o]));
				g.from_double = fmax(g.from_double, fabs(y[i * OUT + o] - want[o]));
			}
		}
		g.cell = fmax(g.cell, cell_gap(&n, st, slots, series, ref));
	}
	free(ref);
	free(slots);
	free(x);
	free(y);
	free(y_c);
	tc_state_destroy(&st);
	tc_state_destroy(&st_c);
	tc_model_destroy(&m);
	free_net(&n);
	return g;
}

/* fp32 kernels: within summation-order rounding of the C build and of the
 * double reference (seen: 4e-7 and 7e-7). bf16 kernels: within 2e-6 of
 * c_bf16 (the same rounded numbers, summed in another order) and within
 * bf16's rounding of double, but visibly off it (else the products were not
 * bf16; seen: 2e-4 to 2e-3). */
static void check_cells(const char *kernel, int input, const struct cell *cells, int layers,
	int series, int steps, int threads)
{
	struct gaps g = run_cells(kernel, input, cells, layers, series, steps, threads);
	if (tc_step_use_kernel(kernel) == TC_PRECISION_BF16) {
		cr_assert_leq(g.from_c, 2e-6, "%s is %g from c_bf16", kernel, g.from_c);
		cr_assert(g.from_double > 1e-5 && g.from_double < 0x1p-6,
			"%s is %g from the double reference", kernel, g.from_double);
		cr_assert_lt(g.cell, 0x1p-6, "%s: lstm c is %g from the reference", kernel, g.cell);
	} else {
		cr_assert_leq(g.from_c, 2e-6, "%s is %g from c", kernel, g.from_c);
		cr_assert_lt(g.from_double, 4e-6, "%s is %g from the double reference", kernel,
			g.from_double);
		cr_assert_lt(g.cell, 4e-6, "%s: lstm c is %g from the reference", kernel, g.cell);
	}
}

/* Each check runs once per kernel, as a test of its own, so that a kernel
 * this CPU lacks shows as a skip rather than as a pass. */
static const char *const kernels[] = {"c", "avx2", "avx512", "c_bf16", "avx512bf16"};
static int kernel_index[] = {0, 1, 2, 3, 4}; /* parameters are copied: no pointers */

#define EVERY_KERNEL(test) \
	ParameterizedTestParameters(step_cells, test) \
	{ \
		return cr_make_param_array(int, kernel_index, 5); \
	} \
	ParameterizedTest(int *k, step_cells, test)

#define LSTM(h) {TC_LAYER_LSTM, (h), 0}
#define RNN(h) {TC_LAYER_RNN, (h), 0}
#define RNN_RELU(h) {TC_LAYER_RNN, (h), 1}
#define GRU(h) {TC_LAYER_GRU, (h), 0}

EVERY_KERNEL(lstm_matches_at_partial_panels)
{
	const struct cell cells[] = {LSTM(7), LSTM(33)};
	check_cells(kernels[*k], 3, cells, 2, 37, 6, 2);
}

EVERY_KERNEL(lstm_matches_at_h64_and_h128)
{
	const struct cell cells[] = {LSTM(64), LSTM(128)};
	check_cells(kernels[*k], 1, cells, 2, 21, 5, 2);
}

EVERY_KERNEL(lstm_stays_close_over_thirty_steps)
{
	const struct cell cells[] = {LSTM(33)};
	check_cells(kernels[*k], 1, cells, 1, 5, 30, 1);
}

EVERY_KERNEL(rnn_tanh_matches_at_every_size)
{
	const struct cell cells[] = {RNN(7), RNN(33), RNN(128)};
	check_cells(kernels[*k], 3, cells, 3, 43, 6, 2);
}

EVERY_KERNEL(rnn_relu_matches_at_every_size)
{
	const struct cell cells[] = {RNN_RELU(33), RNN_RELU(64), RNN_RELU(7)};
	check_cells(kernels[*k], 1, cells, 3, 29, 6, 2);
}

EVERY_KERNEL(a_gru_lstm_rnn_stack_matches)
{
	const struct cell cells[] = {GRU(23), LSTM(33), RNN(64), RNN_RELU(7)};
	check_cells(kernels[*k], 3, cells, 4, 19, 6, 2);
}

EVERY_KERNEL(a_single_series_steps_alone)
{
	const struct cell cells[] = {LSTM(64), RNN(64)};
	check_cells(kernels[*k], 1, cells, 2, 1, 4, 2);
}

/* The lstm's row of state is h then c: after a step from zero with a large
 * input, c is the reference's i * g, not h and not zero. */
Test(step_cells, an_lstm_state_row_holds_h_then_c)
{
	cr_assert_eq(tc_step_use_kernel("c"), TC_PRECISION_FP32);
	const struct cell cells[] = {LSTM(7)};
	srand(5);
	struct net n;
	struct tc_model *m = make_net(&n, 1, cells, 1, TC_PRECISION_FP32);
	char err[TC_ERR_LEN];
	struct tc_state *st = tc_state_create(m, 3, 1, err);
	cr_assert_not_null(st, "%s", err);
	cr_assert_eq(tc_model_spec_state_width(&n.spec, 0), 14);
	uint32_t slot = 2;
	float x = 3.0f, y[OUT];
	cr_assert_eq(tc_step(m, st, &slot, 1, &x, y, err), 0, "%s", err);
	struct ref_state ref = {0};
	double want[OUT];
	reference_step(&n, &ref, &x, want);
	const float *row = tc_state_hidden(st, 0) + 2 * 14;
	for (int j = 0; j < 7; j++) {
		cr_assert_float_eq(row[j], ref.h[0][j], 1e-6, "h[%d]", j);
		cr_assert_float_eq(row[7 + j], ref.c[0][j], 1e-6, "c[%d]", j);
		cr_assert_neq(row[7 + j], row[j], "c[%d] is h[%d]", j, j);
	}
	tc_state_destroy(&st);
	tc_model_destroy(&m);
	free_net(&n);
}
