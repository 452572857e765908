/* step.c -- the batched step: blocks of series through all layers, in parallel. */
#include "step.h"

#include <omp.h>
#include <stdatomic.h>
#include <string.h>

#include "error.h"
#include "kernel.h"
#include "model_internal.h"
#include "state_internal.h"

static _Atomic(const struct tc_kernel *) active_kernel;

static const struct tc_kernel *kernel(void)
{
	const struct tc_kernel *k = atomic_load(&active_kernel);
	if (!k) {
		k = tc_kernel_best();
		atomic_store(&active_kernel, k);
	}
	return k;
}

const char *tc_step_kernel_name(void)
{
	return kernel()->name;
}

int tc_step_use_kernel(const char *name)
{
	const struct tc_kernel *k = tc_kernel_by_name(name);
	if (!k) {
		return -1;
	}
	atomic_store(&active_kernel, k);
	return 0;
}

/* Copies `count` rows of `width` floats from src rows idx[i] into dst,
 * zeroing the rest of the block so the kernels see finite numbers. */
static void gather(float *dst, const float *src, const uint32_t *idx, size_t count,
	size_t width)
{
	for (size_t i = 0; i < count; i++) {
		memcpy(dst + i * width, src + (size_t)idx[i] * width, width * sizeof(float));
	}
	memset(dst + count * width, 0, (TC_STEP_BLOCK - count) * width * sizeof(float));
}

/* One block of up to TC_STEP_BLOCK series, start to finish. */
static void step_block(const struct tc_model *m, struct tc_state *st,
	const struct tc_kernel *kern, const uint32_t *slots, size_t count,
	const float *inputs, float *outputs, float *scratch)
{
	const struct tc_model_spec *s = &m->spec;
	float *x = scratch;
	float *h[TC_MAX_LAYERS];
	float *next = x + (size_t)TC_STEP_BLOCK * s->input_size;
	memcpy(x, inputs, count * (size_t)s->input_size * sizeof(float));
	memset(x + count * s->input_size, 0,
		(TC_STEP_BLOCK - count) * (size_t)s->input_size * sizeof(float));
	for (int k = 0; k < s->n_layers; k++) {
		h[k] = next;
		next += (size_t)TC_STEP_BLOCK * s->hidden[k];
		gather(h[k], st->hidden[k], slots, count, (size_t)s->hidden[k]);
	}
	float *y = next;
	float *work = y + (size_t)TC_STEP_BLOCK * m->head.w.width;

	const float *in = x;
	int ldx = s->input_size;
	for (int k = 0; k < s->n_layers; k++) {
		kern->gru(&m->layers[k], in, ldx, h[k], work);
		in = h[k];
		ldx = s->hidden[k];
	}
	kern->linear(&m->head, in, y);

	for (int k = 0; k < s->n_layers; k++) {
		size_t hk = (size_t)s->hidden[k];
		for (size_t i = 0; i < count; i++) {
			memcpy(st->hidden[k] + (size_t)slots[i] * hk, h[k] + i * hk, hk * sizeof(float));
		}
	}
	for (size_t i = 0; i < count; i++) {
		memcpy(outputs + i * (size_t)s->outputs, y + i * (size_t)m->head.w.width,
			(size_t)s->outputs * sizeof(float));
	}
}

int tc_step(const struct tc_model *m, struct tc_state *st, const uint32_t *slots,
	size_t n, const float *inputs, float *outputs, char *err)
{
	if (!tc_model_spec_same_shape(&st->shape, &m->spec)) {
		return tc_err_set(err, "the state was built for a model of another shape");
	}
	const struct tc_kernel *kern = kernel();
	const size_t in = (size_t)m->spec.input_size;
	const size_t out = (size_t)m->spec.outputs;
	const long blocks = (long)((n + TC_STEP_BLOCK - 1) / TC_STEP_BLOCK);
#pragma omp parallel for schedule(static) num_threads(st->n_threads) if (blocks > 1)
	for (long b = 0; b < blocks; b++) {
		size_t first = (size_t)b * TC_STEP_BLOCK;
		size_t count = n - first < TC_STEP_BLOCK ? n - first : TC_STEP_BLOCK;
		step_block(m, st, kern, slots + first, count, inputs + first * in,
			outputs + first * out, st->scratch[omp_get_thread_num()]);
	}
	return 0;
}
