/* test_state.c -- the per-series hidden state store: layout, growth, clearing, fit. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "state.h"

/* The state only reads a model's sizes, so the models here have all-zero
 * weights; one buffer of zeros serves every tensor. */
static const float zeros[1024];

static struct tc_model *make_model(int input, int n_layers, const int *hidden, int outputs)
{
	struct tc_model_spec spec;
	tc_model_spec_init(&spec);
	spec.input_size = input;
	spec.n_layers = n_layers;
	for (int k = 0; k < n_layers; k++) {
		spec.hidden[k] = hidden[k];
	}
	spec.outputs = outputs;
	struct tc_model_weights w = {.head[0] = {zeros, zeros}};
	for (int k = 0; k < n_layers; k++) {
		w.layer[k] = (struct tc_layer_weights){zeros, zeros, zeros, zeros};
	}
	char err[TC_ERR_LEN] = "";
	struct tc_model *m = tc_model_create(&spec, &w, err);
	cr_assert_not_null(m, "model: %s", err);
	return m;
}

/* Input 2, layers of 3 and 5 units, 1 output. */
static struct tc_model *make_3_5(void)
{
	return make_model(2, 2, (const int[]){3, 5}, 1);
}

static struct tc_state *make_state(const struct tc_model *m, size_t capacity, int threads)
{
	char err[TC_ERR_LEN] = "";
	struct tc_state *st = tc_state_create(m, capacity, threads, err);
	cr_assert_not_null(st, "state: %s", err);
	return st;
}

static void assert_aligned(const float *p, const char *what)
{
	cr_assert_not_null(p, "%s is NULL", what);
	cr_assert_eq((uintptr_t)p % 64, 0, "%s at %p is not 64-byte aligned", what, (void *)p);
}

static const int H[2] = {3, 5};

/* Writes a value to every float of both layers that names its place. */
static void fill(struct tc_state *st, size_t capacity)
{
	for (int k = 0; k < 2; k++) {
		float *h = tc_state_hidden(st, k);
		for (size_t i = 0; i < capacity * (size_t)H[k]; i++) {
			h[i] = (float)(1000 * (k + 1) + i);
		}
	}
}

Test(state, holds_the_requested_capacity_and_thread_count)
{
	struct tc_model *m = make_3_5();
	struct tc_state *st = make_state(m, 10, 3);
	cr_assert_eq(tc_state_capacity(st), 10);
	cr_assert_eq(tc_state_threads(st), 3);
	tc_state_destroy(&st);
	st = make_state(m, 1, 0);
	cr_assert_geq(tc_state_threads(st), 1, "0 threads means OpenMP's default, at least 1");
	tc_state_destroy(&st);
	tc_model_destroy(&m);
}

Test(state, starts_every_layer_64_byte_aligned_and_zeroed)
{
	struct tc_model *m = make_3_5();
	struct tc_state *st = make_state(m, 10, 1);
	for (int k = 0; k < 2; k++) {
		float *h = tc_state_hidden(st, k);
		assert_aligned(h, "layer hidden array");
		for (size_t i = 0; i < 10 * (size_t)H[k]; i++) {
			cr_assert_eq(h[i], 0.0f, "layer %d float %zu is %g", k, i, (double)h[i]);
		}
	}
	tc_state_destroy(&st);
	tc_model_destroy(&m);
}

Test(state, does_not_need_the_model_after_creation)
{
	struct tc_model *m = make_3_5();
	struct tc_state *st = make_state(m, 4, 1);
	tc_model_destroy(&m);
	cr_assert_eq(tc_state_grow(st, 8, NULL), 0);
	fill(st, 8);
	tc_state_clear(st, 1);
	tc_state_destroy(&st);
}

Test(state, grow_keeps_every_existing_slot_and_zeroes_the_new_ones)
{
	struct tc_model *m = make_3_5();
	struct tc_state *st = make_state(m, 10, 1);
	fill(st, 10);
	char err[TC_ERR_LEN] = "";
	cr_assert_eq(tc_state_grow(st, 1000, err), 0, "grow: %s", err);
	cr_assert_eq(tc_state_capacity(st), 1000);
	for (int k = 0; k < 2; k++) {
		float *h = tc_state_hidden(st, k);
		assert_aligned(h, "grown hidden array");
		for (size_t i = 0; i < 1000 * (size_t)H[k]; i++) {
			float want = i < 10 * (size_t)H[k] ? (float)(1000 * (k + 1) + i) : 0.0f;
			if (h[i] != want) {
				cr_assert_fail("layer %d float %zu is %g, expected %g", k, i, (double)h[i],
					(double)want);
			}
		}
	}
	tc_state_destroy(&st);
	tc_model_destroy(&m);
}

Test(state, memory_counts_every_layers_hidden_array_at_its_capacity)
{
	struct tc_model *m = make_3_5();
	struct tc_state *st = make_state(m, 10, 2);
	cr_assert_eq(tc_state_memory(st), 10 * (3 + 5) * sizeof(float));
	cr_assert_eq(tc_state_grow(st, 1000, NULL), 0);
	cr_assert_eq(tc_state_memory(st), 1000 * (3 + 5) * sizeof(float));
	tc_state_destroy(&st);
	tc_model_destroy(&m);
}

Test(state, grows_from_zero_capacity)
{
	struct tc_model *m = make_3_5();
	struct tc_state *st = make_state(m, 0, 1);
	cr_assert_eq(tc_state_capacity(st), 0);
	cr_assert_eq(tc_state_grow(st, 3, NULL), 0);
	cr_assert_eq(tc_state_capacity(st), 3);
	for (int k = 0; k < 2; k++) {
		float *h = tc_state_hidden(st, k);
		assert_aligned(h, "hidden array");
		for (size_t i = 0; i < 3 * (size_t)H[k]; i++) {
			cr_assert_eq(h[i], 0.0f);
		}
	}
	tc_state_destroy(&st);
	tc_model_destroy(&m);
}

Test(state, grow_to_a_smaller_or_equal_capacity_changes_nothing)
{
	struct tc_model *m = make_3_5();
	struct tc_state *st = make_state(m, 10, 1);
	fill(st, 10);
	float *before[2] = {tc_state_hidden(st, 0), tc_state_hidden(st, 1)};
	cr_assert_eq(tc_state_grow(st, 4, NULL), 0);
	cr_assert_eq(tc_state_grow(st, 10, NULL), 0);
	cr_assert_eq(tc_state_capacity(st), 10);
	for (int k = 0; k < 2; k++) {
		cr_assert_eq(tc_state_hidden(st, k), before[k], "layer %d moved", k);
		cr_assert_eq(before[k][10 * H[k] - 1], (float)(1000 * (k + 1) + 10 * H[k] - 1));
	}
	tc_state_destroy(&st);
	tc_model_destroy(&m);
}

Test(state, clear_zeroes_one_slot_in_every_layer_and_nothing_else)
{
	struct tc_model *m = make_3_5();
	struct tc_state *st = make_state(m, 6, 1);
	fill(st, 6);
	tc_state_clear(st, 4);
	for (int k = 0; k < 2; k++) {
		const float *h = tc_state_hidden(st, k);
		for (size_t slot = 0; slot < 6; slot++) {
			for (size_t u = 0; u < (size_t)H[k]; u++) {
				size_t i = slot * (size_t)H[k] + u;
				float want = slot == 4 ? 0.0f : (float)(1000 * (k + 1) + i);
				cr_assert_eq(h[i], want, "layer %d slot %zu unit %zu is %g, expected %g", k,
					slot, u, (double)h[i], (double)want);
			}
		}
	}
	tc_state_destroy(&st);
	tc_model_destroy(&m);
}

Test(state, fits_a_model_of_the_same_shape_only)
{
	struct tc_model *m = make_3_5();
	struct tc_state *st = make_state(m, 2, 1);
	struct tc_model *same = make_3_5();
	struct tc_model *wider = make_model(2, 2, (const int[]){3, 6}, 1);
	struct tc_model *deeper = make_model(2, 3, (const int[]){3, 5, 5}, 1);
	struct tc_model *shallower = make_model(2, 1, (const int[]){3}, 1);
	struct tc_model *more_in = make_model(3, 2, (const int[]){3, 5}, 1);
	struct tc_model *more_out = make_model(2, 2, (const int[]){3, 5}, 2);
	cr_assert(tc_state_fits(st, m));
	cr_assert(tc_state_fits(st, same), "another model of the same shape fits");
	cr_assert_not(tc_state_fits(st, wider), "a different hidden size must not fit");
	cr_assert_not(tc_state_fits(st, deeper));
	cr_assert_not(tc_state_fits(st, shallower));
	cr_assert_not(tc_state_fits(st, more_in));
	cr_assert_not(tc_state_fits(st, more_out));
	tc_model_destroy(&same);
	tc_model_destroy(&wider);
	tc_model_destroy(&deeper);
	tc_model_destroy(&shallower);
	tc_model_destroy(&more_in);
	tc_model_destroy(&more_out);
	tc_state_destroy(&st);
	tc_model_destroy(&m);
}

Test(state, destroy_sets_the_pointer_to_null_and_accepts_null)
{
	struct tc_model *m = make_3_5();
	struct tc_state *st = make_state(m, 2, 1);
	tc_state_destroy(&st);
	cr_assert_null(st);
	tc_state_destroy(&st);
	tc_state_destroy(NULL);
	tc_model_destroy(&m);
}
