/* test_step.c -- the batched step: every kernel against a plain double-precision
 * GRU written here from docs/design.md, "The model", threads, slot handling. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "state.h"
#include "step.h"

struct net {
	struct tc_model_spec spec;
	float *w[TC_MAX_LAYERS][4]; /* PyTorch layout: ih, hh, bias_ih, bias_hh */
	float *head_w, *head_b;
};

static float *random_floats(size_t n, float scale)
{
	float *p = malloc(n * sizeof *p);
	for (size_t i = 0; i < n; i++) {
		p[i] = scale * (2.0f * (float)rand() / (float)RAND_MAX - 1.0f);
	}
	return p;
}

static struct tc_model *make_net(struct net *n, int input, const int *hidden, int layers,
	int outputs, int reset_after)
{
	tc_model_spec_init(&n->spec);
	n->spec.input_size = input;
	n->spec.n_layers = layers;
	n->spec.outputs = outputs;
	n->spec.reset_after = reset_after;
	struct tc_model_weights w = {0};
	int in = input;
	for (int k = 0; k < layers; k++) {
		int h = n->spec.hidden[k] = hidden[k];
		float scale = 1.0f / sqrtf((float)h);
		n->w[k][0] = random_floats((size_t)3 * h * in, scale);
		n->w[k][1] = random_floats((size_t)3 * h * h, scale);
		n->w[k][2] = random_floats((size_t)3 * h, scale);
		n->w[k][3] = random_floats((size_t)3 * h, scale);
		w.layer[k] = (struct tc_gru_weights){n->w[k][0], n->w[k][1], n->w[k][2], n->w[k][3]};
		in = h;
	}
	n->head_w = random_floats((size_t)outputs * in, 1.0f / sqrtf((float)in));
	n->head_b = random_floats((size_t)outputs, 0.5f);
	w.head_weight = n->head_w;
	w.head_bias = n->head_b;
	char err[TC_ERR_LEN];
	struct tc_model *m = tc_model_create(&n->spec, &w, err);
	cr_assert_not_null(m, "%s", err);
	return m;
}

static double sigmoid(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

/* One step of one series in double: h[k] updated in place, y written. */
static void reference_step(const struct net *n, double h[][256], const float *x, double *y)
{
	double in[256];
	int in_n = n->spec.input_size;
	for (int i = 0; i < in_n; i++) {
		in[i] = x[i];
	}
	for (int k = 0; k < n->spec.n_layers; k++) {
		int H = n->spec.hidden[k];
		double g[3][256], r[256], z[256], hn[256];
		for (int row = 0; row < 3 * H; row++) {
			double a = n->w[k][2][row];
			for (int i = 0; i < in_n; i++) {
				a += n->w[k][0][row * in_n + i] * in[i];
			}
			g[row / H][row % H] = a;
		}
		for (int j = 0; j < H; j++) {
			double ar = n->w[k][3][j], az = n->w[k][3][H + j];
			for (int i = 0; i < H; i++) {
				ar += n->w[k][1][j * H + i] * h[k][i];
				az += n->w[k][1][(H + j) * H + i] * h[k][i];
			}
			r[j] = sigmoid(g[0][j] + ar);
			z[j] = sigmoid(g[1][j] + az);
		}
		for (int j = 0; j < H; j++) {
			double a = n->w[k][3][2 * H + j];
			for (int i = 0; i < H; i++) {
				double hi = n->spec.reset_after ? h[k][i] : r[i] * h[k][i];
				a += n->w[k][1][(2 * H + j) * H + i] * hi;
			}
			hn[j] = tanh(g[2][j] + (n->spec.reset_after ? r[j] * a : a));
		}
		for (int j = 0; j < H; j++) {
			h[k][j] = (1 - z[j]) * hn[j] + z[j] * h[k][j];
			in[j] = h[k][j];
		}
		in_n = H;
	}
	for (int o = 0; o < n->spec.outputs; o++) {
		double a = n->head_b[o];
		for (int i = 0; i < in_n; i++) {
			a += n->head_w[o * in_n + i] * in[i];
		}
		y[o] = a;
	}
}

/* Steps `series` series (permuted slots, a ragged last block) for `steps`
 * steps with `kernel` and compares each output with the reference. */
static void check_against_reference(const char *kernel, int input, const int *hidden,
	int layers, int outputs, int reset_after, int series, int steps, int threads)
{
	if (tc_step_use_kernel(kernel) < 0) {
		cr_skip_test("this CPU has no %s kernel", kernel);
	}
	srand(7);
	struct net n;
	struct tc_model *m = make_net(&n, input, hidden, layers, outputs, reset_after);
	char err[TC_ERR_LEN];
	struct tc_state *st = tc_state_create(m, (size_t)series * 2, threads, err);
	cr_assert_not_null(st, "%s", err);
	double (*h)[TC_MAX_LAYERS][256] = calloc((size_t)series, sizeof *h);
	uint32_t *slots = malloc((size_t)series * sizeof *slots);
	for (int i = 0; i < series; i++) {
		slots[i] = (uint32_t)(2 * series - 1 - 2 * i); /* descending, gaps */
	}
	float *x = malloc((size_t)series * input * sizeof *x);
	float *y = malloc((size_t)series * outputs * sizeof *y);
	double worst = 0;
	for (int s = 0; s < steps; s++) {
		for (int i = 0; i < series * input; i++) {
			x[i] = 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;
		}
		cr_assert_eq(tc_step(m, st, slots, (size_t)series, x, y, err), 0, "%s", err);
		for (int i = 0; i < series; i++) {
			double want[TC_MAX_WIDTH > 256 ? 256 : TC_MAX_WIDTH];
			reference_step(&n, h[i], x + i * input, want);
			for (int o = 0; o < outputs; o++) {
				double d = fabs(y[i * outputs + o] - want[o]);
				worst = d > worst ? d : worst;
			}
		}
	}
	cr_assert_lt(worst, steps > 5 ? 1e-4 : 1e-5,
		"kernel %s: largest difference %g from the reference", kernel, worst);
	free(h);
	free(slots);
	free(x);
	free(y);
	tc_state_destroy(&st);
	tc_model_destroy(&m);
}

/* Each check runs once per kernel, as a test of its own, so that a kernel
 * this CPU lacks shows as a skip rather than as a pass. */
static const char *const kernels[] = {"c", "avx2", "avx512"};
static int kernel_index[] = {0, 1, 2}; /* parameters are copied to the test process: no pointers */

#define EVERY_KERNEL(test) \
	ParameterizedTestParameters(step, test) \
	{ \
		return cr_make_param_array(int, kernel_index, 3); \
	} \
	ParameterizedTest(int *k, step, test)

EVERY_KERNEL(every_kernel_matches_the_reference_at_odd_sizes)
{
	const int hidden[] = {1, 7, 23};
	check_against_reference(kernels[*k], 3, hidden, 3, 5, 1, 37, 3, 2);
}

EVERY_KERNEL(every_kernel_matches_the_reference_without_reset_after)
{
	const int hidden[] = {23, 33};
	check_against_reference(kernels[*k], 1, hidden, 2, 12, 0, 21, 3, 2);
}

EVERY_KERNEL(every_kernel_stays_close_over_fifty_steps)
{
	const int hidden[] = {64, 64};
	check_against_reference(kernels[*k], 1, hidden, 2, 12, 1, 5, 50, 1);
}

EVERY_KERNEL(a_single_series_steps_alone)
{
	const int hidden[] = {64, 64};
	check_against_reference(kernels[*k], 1, hidden, 2, 12, 1, 1, 3, 2);
}

/* Same inputs through 1 and 2 threads: identical bits, since blocks are
 * independent and each block's arithmetic does not depend on the thread. */
Test(step, two_threads_give_the_same_bits_as_one)
{
	srand(11);
	struct net n;
	const int hidden[] = {32, 16};
	struct tc_model *m = make_net(&n, 1, hidden, 2, 4, 1);
	char err[TC_ERR_LEN];
	enum { N = 1000 };
	struct tc_state *one = tc_state_create(m, N, 1, err);
	struct tc_state *two = tc_state_create(m, N, 2, err);
	cr_assert(one && two);
	static uint32_t slots[N];
	static float x[N], y1[N * 4], y2[N * 4];
	for (int i = 0; i < N; i++) {
		slots[i] = (uint32_t)i;
		x[i] = (float)i / N - 0.5f;
	}
	for (int s = 0; s < 3; s++) {
		cr_assert_eq(tc_step(m, one, slots, N, x, y1, err), 0);
		cr_assert_eq(tc_step(m, two, slots, N, x, y2, err), 0);
		cr_assert_eq(memcmp(y1, y2, sizeof y1), 0, "outputs differ at step %d", s);
	}
	tc_state_destroy(&one);
	tc_state_destroy(&two);
	tc_model_destroy(&m);
}

Test(step, only_the_given_slots_change)
{
	srand(3);
	struct net n;
	const int hidden[] = {8};
	struct tc_model *m = make_net(&n, 1, hidden, 1, 2, 1);
	char err[TC_ERR_LEN];
	struct tc_state *st = tc_state_create(m, 10, 1, err);
	uint32_t slots[] = {4};
	float x[] = {1.0f}, y[2];
	cr_assert_eq(tc_step(m, st, slots, 1, x, y, err), 0);
	const float *h = tc_state_hidden(st, 0);
	for (int s = 0; s < 10; s++) {
		float norm = 0;
		for (int j = 0; j < 8; j++) {
			norm += fabsf(h[s * 8 + j]);
		}
		cr_assert(s == 4 ? norm > 0 : norm == 0, "slot %d: |h| = %g", s, norm);
	}
	tc_state_destroy(&st);
	tc_model_destroy(&m);
}

Test(step, a_state_of_another_shape_is_refused)
{
	struct net a, b;
	const int ha[] = {8}, hb[] = {9};
	struct tc_model *ma = make_net(&a, 1, ha, 1, 2, 1);
	struct tc_model *mb = make_net(&b, 1, hb, 1, 2, 1);
	char err[TC_ERR_LEN];
	struct tc_state *st = tc_state_create(ma, 4, 1, err);
	uint32_t slots[] = {0};
	float x[] = {1.0f}, y[2];
	cr_assert_lt(tc_step(mb, st, slots, 1, x, y, err), 0);
	cr_assert(strstr(err, "another shape"), "%s", err);
	tc_state_destroy(&st);
	tc_model_destroy(&ma);
	tc_model_destroy(&mb);
}

Test(step, an_unknown_kernel_name_is_refused)
{
	cr_assert_lt(tc_step_use_kernel("neon9000"), 0);
	cr_assert_eq(tc_step_use_kernel("c"), 0);
	cr_assert_str_eq(tc_step_kernel_name(), "c");
}
