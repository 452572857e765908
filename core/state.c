/* state.c -- the per-series states (h, and c for an LSTM) and the step's per-thread scratch. */
#include "state.h"

#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"
#include "kernel.h"
#include "layer.h"
#include "model_internal.h"
#include "state_internal.h"
#include "step.h"

/* One block's floats: each layer's [x | h] rows and an LSTM's cell
 * states, the head's two buffers, and the kernel's scratch. Sized for the
 * bf16 kernels whatever the model's precision, so that a reload to the
 * other precision fits the same state. */
static size_t scratch_floats(const struct tc_model *m)
{
	const struct tc_model_spec *s = &m->spec;
	const int head_width = m->head_width;
	size_t n = 0;
	int max_rows = head_width;
	for (int k = 0; k < s->n_layers; k++) {
		int rows = m->layers[k].in + m->layers[k].hidden;
		n += (size_t)TC_STEP_BLOCK * (size_t)(rows + tc_model_spec_state_width(s, k)
			- s->hidden[k]);
		max_rows = rows > max_rows ? rows : max_rows;
	}
	n += 2 * (size_t)TC_STEP_BLOCK * (size_t)head_width;
	return n + TC_KERNEL_SCRATCH(tc_model_max_width(m), tc_model_max_hidden(m), max_rows);
}

struct tc_state *tc_state_create(const struct tc_model *m, size_t capacity,
	int n_threads, char *err)
{
	struct tc_state *st = calloc(1, sizeof *st);
	if (!st) {
		goto err_oom;
	}
	st->shape = m->spec;
	st->n_threads = n_threads > 0 ? n_threads : omp_get_max_threads();
	st->scratch_floats = scratch_floats(m);
	st->scratch = calloc((size_t)st->n_threads, sizeof *st->scratch);
	if (!st->scratch) {
		goto err_oom;
	}
	for (int t = 0; t < st->n_threads; t++) {
		if (!(st->scratch[t] = tc_alloc_floats(st->scratch_floats))) {
			goto err_oom;
		}
	}
	if (tc_state_grow(st, capacity, err) < 0) {
		tc_state_destroy(&st);
		return NULL;
	}
	return st;

err_oom:
	tc_state_destroy(&st);
	tc_err_set(err, "out of memory for the series states");
	return NULL;
}

void tc_state_destroy(struct tc_state **stp)
{
	if (!stp || !*stp) {
		return;
	}
	struct tc_state *st = *stp;
	for (int k = 0; k < TC_MAX_LAYERS; k++) {
		free(st->hidden_block[k]);
	}
	for (int t = 0; st->scratch && t < st->n_threads; t++) {
		free(st->scratch[t]);
	}
	free(st->scratch);
	free(st);
	*stp = NULL;
}

/* n zeroed floats, TC_ALIGN-aligned, in *block (what to free); NULL when
 * out of memory. From calloc rather than tc_alloc_floats: glibc serves a
 * large calloc from a fresh mapping and does not write it (the kernel hands
 * out zero pages as they are first touched), so slots grown for series that
 * have not come yet cost address space, not resident memory. */
static float *alloc_states(size_t n, void **block)
{
	*block = NULL;
	if (n > (SIZE_MAX - TC_ALIGN) / sizeof(float)) {
		return NULL;
	}
	char *p = calloc(1, n * sizeof(float) + TC_ALIGN);
	if (!p) {
		return NULL;
	}
	*block = p;
	tc_array_advise_huge(p, n * sizeof(float) + TC_ALIGN);
	return (float *)(p + (TC_ALIGN - (uintptr_t)p % TC_ALIGN) % TC_ALIGN);
}

int tc_state_grow(struct tc_state *st, size_t capacity, char *err)
{
	if (capacity <= st->capacity) {
		return 0;
	}
	float *grown[TC_MAX_LAYERS] = {0};
	void *blocks[TC_MAX_LAYERS] = {0};
	for (int k = 0; k < st->shape.n_layers; k++) {
		size_t h = (size_t)tc_model_spec_state_width(&st->shape, k);
		if (capacity > SIZE_MAX / sizeof(float) / h
			|| !(grown[k] = alloc_states(capacity * h, &blocks[k]))) {
			for (int j = 0; j < k; j++) {
				free(blocks[j]);
			}
			return tc_err_set(err, "out of memory growing the states to %zu series", capacity);
		}
	}
	for (int k = 0; k < st->shape.n_layers; k++) {
		if (st->hidden[k]) {
			memcpy(grown[k], st->hidden[k], st->capacity
				* (size_t)tc_model_spec_state_width(&st->shape, k) * sizeof(float));
		}
		free(st->hidden_block[k]);
		st->hidden[k] = grown[k];
		st->hidden_block[k] = blocks[k];
	}
	st->capacity = capacity;
	return 0;
}

size_t tc_state_capacity(const struct tc_state *st)
{
	return st->capacity;
}

size_t tc_state_memory(const struct tc_state *st)
{
	size_t floats = 0;
	for (int k = 0; k < st->shape.n_layers; k++) {
		floats += st->capacity * (size_t)tc_model_spec_state_width(&st->shape, k);
	}
	return floats * sizeof(float);
}

int tc_state_threads(const struct tc_state *st)
{
	return st->n_threads;
}

void tc_state_clear(struct tc_state *st, size_t slot)
{
	for (int k = 0; k < st->shape.n_layers; k++) {
		size_t w = (size_t)tc_model_spec_state_width(&st->shape, k);
		memset(st->hidden[k] + slot * w, 0, w * sizeof(float));
	}
}

float *tc_state_hidden(struct tc_state *st, int layer)
{
	return st->hidden[layer];
}

int tc_state_fits(const struct tc_state *st, const struct tc_model *m)
{
	return tc_model_spec_same_shape(&st->shape, &m->spec);
}
