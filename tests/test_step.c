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
	int outputs, int reset_after, enum tc_precision precision)
{
	tc_model_spec_init(&n->spec);
	n->spec.precision = precision;
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
		w.layer[k] = (struct tc_layer_weights){n->w[k][0], n->w[k][1], n->w[k][2], n->w[k][3]};
		in = h;
	}
	n->head_w = random_floats((size_t)outputs * in, 1.0f / sqrtf((float)in));
	n->head_b = random_floats((size_t)outputs, 0.5f);
	w.head[0] = (struct tc_head_weights){n->head_w, n->head_b};
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
	struct tc_model *m = make_net(&n, input, hidden, layers, outputs, reset_after,
		TC_PRECISION_FP32);
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
	struct tc_model *m = make_net(&n, 1, hidden, 2, 4, 1, TC_PRECISION_FP32);
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
	struct tc_model *m = make_net(&n, 1, hidden, 1, 2, 1, TC_PRECISION_FP32);
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
	struct tc_model *ma = make_net(&a, 1, ha, 1, 2, 1, TC_PRECISION_FP32);
	struct tc_model *mb = make_net(&b, 1, hb, 1, 2, 1, TC_PRECISION_FP32);
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
	cr_assert_eq(tc_step_use_kernel("c"), TC_PRECISION_FP32);
	cr_assert_str_eq(tc_step_kernel_name(TC_PRECISION_FP32), "c");
	cr_assert_eq(tc_step_use_kernel("c_bf16"), TC_PRECISION_BF16);
	cr_assert_str_eq(tc_step_kernel_name(TC_PRECISION_FP32), "c", "a bf16 kernel must not serve fp32 models");
}

/* ---- bf16 ---- */

static double max_abs_diff(const float *a, const float *b, size_t n)
{
	double worst = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		worst = d > worst ? d : worst;
	}
	return worst;
}

/* One bf16 model stepped `steps` times on the same inputs by the c_bf16
 * reference and by avx512bf16 (states of their own), and an fp32 model of
 * the same weights by the best fp32 kernel: the two bf16 kernels round the
 * same numbers, so they differ only by summation order (within 2e-6); both
 * differ from fp32 by more than that and less than bf16's rounding allows. */
static void check_bf16_kernels(int input, int hidden, int reset_after, int series)
{
	if (tc_step_use_kernel("avx512bf16") < 0) {
		cr_skip_test("this CPU has no avx512bf16 kernel");
	}
	enum { STEPS = 4, OUT = 12 };
	const int sizes[] = {hidden, hidden};
	struct net n;
	srand(17);
	struct tc_model *bf = make_net(&n, input, sizes, 2, OUT, reset_after, TC_PRECISION_BF16);
	srand(17);
	struct tc_model *fp = make_net(&n, input, sizes, 2, OUT, reset_after, TC_PRECISION_FP32);
	char err[TC_ERR_LEN];
	struct tc_state *st[3];
	for (int i = 0; i < 3; i++) {
		cr_assert_not_null(st[i] = tc_state_create(bf, (size_t)series, 1, err), "%s", err);
	}
	uint32_t slots[TC_STEP_BLOCK];
	float x[TC_STEP_BLOCK * 3], y[3][TC_STEP_BLOCK * OUT];
	for (int i = 0; i < series; i++) {
		slots[i] = (uint32_t)(series - 1 - i);
	}
	double kernels_apart = 0, from_fp32 = 0;
	for (int s = 0; s < STEPS; s++) {
		for (int i = 0; i < series * input; i++) {
			x[i] = 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;
		}
		cr_assert_eq(tc_step_use_kernel("c_bf16"), TC_PRECISION_BF16);
		cr_assert_eq(tc_step(bf, st[0], slots, (size_t)series, x, y[0], err), 0, "%s", err);
		cr_assert_eq(tc_step_use_kernel("avx512bf16"), TC_PRECISION_BF16);
		cr_assert_eq(tc_step(bf, st[1], slots, (size_t)series, x, y[1], err), 0, "%s", err);
		cr_assert_eq(tc_step(fp, st[2], slots, (size_t)series, x, y[2], err), 0, "%s", err);
		size_t values = (size_t)series * OUT;
		kernels_apart = fmax(kernels_apart, max_abs_diff(y[0], y[1], values));
		from_fp32 = fmax(from_fp32, max_abs_diff(y[1], y[2], values));
	}
	cr_assert_leq(kernels_apart, 2e-6, "H %d, input %d, reset_after %d, %d series: "
		"avx512bf16 is %g from c_bf16", hidden, input, reset_after, series, kernels_apart);
	cr_assert(from_fp32 > 1e-5 && from_fp32 < 0x1p-6, "H %d, input %d, reset_after %d: "
		"bf16 is %g from fp32", hidden, input, reset_after, from_fp32);
	for (int i = 0; i < 3; i++) {
		tc_state_destroy(&st[i]);
	}
	tc_model_destroy(&bf);
	tc_model_destroy(&fp);
}

Test(step, avx512bf16_matches_the_c_bf16_reference_at_h64_and_h128)
{
	for (int reset_after = 0; reset_after < 2; reset_after++) {
		check_bf16_kernels(1, 64, reset_after, 13);
		check_bf16_kernels(3, 64, reset_after, 5);
		check_bf16_kernels(1, 128, reset_after, 9);
		check_bf16_kernels(3, 128, reset_after, 15);
	}
}

Test(step, c_bf16_stays_within_bf16_rounding_of_the_double_reference)
{
	const int hidden[] = {23, 64};
	srand(7);
	struct net n;
	struct tc_model *m = make_net(&n, 3, hidden, 2, 5, 1, TC_PRECISION_BF16);
	cr_assert_eq(tc_step_use_kernel("c_bf16"), TC_PRECISION_BF16);
	char err[TC_ERR_LEN];
	struct tc_state *st = tc_state_create(m, 37, 2, err);
	cr_assert_not_null(st, "%s", err);
	double (*h)[TC_MAX_LAYERS][256] = calloc(37, sizeof *h);
	uint32_t slots[37];
	float x[37 * 3], y[37 * 5];
	double worst = 0;
	for (int i = 0; i < 37; i++) {
		slots[i] = (uint32_t)i;
	}
	for (int s = 0; s < 3; s++) {
		for (int i = 0; i < 37 * 3; i++) {
			x[i] = 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;
		}
		cr_assert_eq(tc_step(m, st, slots, 37, x, y, err), 0, "%s", err);
		for (int i = 0; i < 37; i++) {
			double want[5];
			reference_step(&n, h[i], x + i * 3, want);
			for (int o = 0; o < 5; o++) {
				worst = fmax(worst, fabs(y[i * 5 + o] - want[o]));
			}
		}
	}
	cr_assert(worst > 1e-5 && worst < 0x1p-6, "c_bf16 is %g from the double reference", worst);
	free(h);
	tc_state_destroy(&st);
	tc_model_destroy(&m);
}
