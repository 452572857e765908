/* step.c -- the batched step: blocks of series through all layers, in parallel. */
#include "step.h"

#include <omp.h>
#include <stdatomic.h>
#include <string.h>

#include "error.h"
#include "kernel.h"
#include "model_internal.h"
#include "state_internal.h"

/* The kernel of each precision, chosen on first use or forced by name. */
static _Atomic(const struct tc_kernel *) active_kernel[2];

static const struct tc_kernel *kernel(enum tc_precision precision)
{
	const struct tc_kernel *k = atomic_load(&active_kernel[precision]);
	if (!k) {
		k = tc_kernel_best(precision);
		atomic_store(&active_kernel[precision], k);
	}
	return k;
}

const char *tc_step_kernel_name(enum tc_precision precision)
{
	return kernel(precision)->name;
}

const char *tc_step_model_kernel_name(const struct tc_model *m)
{
	return tc_step_kernel_name(m->spec.precision);
}

int tc_step_use_kernel(const char *name)
{
	const struct tc_kernel *k = tc_kernel_by_name(name);
	if (!k) {
		return -1;
	}
	atomic_store(&active_kernel[k->precision], k);
	return (int)k->precision;
}

/* Copies `count` rows of `width` floats from src rows idx[i] into the
 * block's rows (stride ld). */
static void gather(float *dst, size_t ld, const float *src, const uint32_t *idx,
	size_t count, size_t width)
{
	for (size_t i = 0; i < count; i++) {
		memcpy(dst + i * ld, src + (size_t)idx[i] * width, width * sizeof(float));
	}
}

/* Copies each block row's width floats (stride ld) to dst rows idx[i]. */
static void scatter(float *dst, const float *src, size_t ld, const uint32_t *idx,
	size_t count, size_t width)
{
	for (size_t i = 0; i < count; i++) {
		memcpy(dst + (size_t)idx[i] * width, src + i * ld, width * sizeof(float));
	}
}

/* One block of up to TC_STEP_BLOCK series, start to finish. Layer k works
 * on rows [x | h] (see layer.h): its x is the block's input for k = 0 and
 * layer k-1's new h otherwise. */
static void step_block(const struct tc_model *m, struct tc_state *st,
	const struct tc_kernel *kern, const uint32_t *slots, size_t count,
	const float *inputs, float *outputs, float *scratch)
{
	const struct tc_model_spec *s = &m->spec;
	const uint32_t identity[TC_STEP_BLOCK] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	float *xh[TC_MAX_LAYERS];
	size_t ld[TC_MAX_LAYERS];
	float *next = scratch;
	for (int k = 0; k < s->n_layers; k++) {
		const struct tc_gru_layer *L = &m->layers[k];
		xh[k] = next;
		ld[k] = (size_t)(L->in + L->hidden);
		next += TC_STEP_BLOCK * ld[k];
		gather(xh[k] + L->in, ld[k], st->hidden[k], slots, count, (size_t)L->hidden);
	}
	float *y = next;
	float *work = y + (size_t)TC_STEP_BLOCK * m->head.w.width;
	gather(xh[0], ld[0], inputs, identity, count, (size_t)s->input_size);

	for (int k = 0; k < s->n_layers; k++) {
		const struct tc_gru_layer *L = &m->layers[k];
		kern->gru(L, xh[k], (int)count, work);
		scatter(st->hidden[k], xh[k] + L->in, ld[k], slots, count, (size_t)L->hidden);
		if (k + 1 < s->n_layers) {
			for (size_t i = 0; i < count; i++) {
				memcpy(xh[k + 1] + i * ld[k + 1], xh[k] + i * ld[k] + L->in,
					(size_t)L->hidden * sizeof(float));
			}
		}
	}
	const struct tc_gru_layer *last = &m->layers[s->n_layers - 1];
	kern->linear(&m->head, xh[s->n_layers - 1] + last->in, (int)ld[s->n_layers - 1],
		(int)count, y, work);
	scatter(outputs, y, (size_t)m->head.w.width, identity, count, (size_t)s->outputs);
}

int tc_step(const struct tc_model *m, struct tc_state *st, const uint32_t *slots,
	size_t n, const float *inputs, float *outputs, char *err)
{
	if (!tc_model_spec_same_shape(&st->shape, &m->spec)) {
		return tc_err_set(err, "the state was built for a model of another shape");
	}
	const struct tc_kernel *kern = kernel(m->spec.precision);
	const size_t in = (size_t)m->spec.input_size;
	const size_t out = (size_t)m->spec.outputs;
	const long blocks = (long)((n + TC_STEP_BLOCK - 1) / TC_STEP_BLOCK);
	if (blocks == 1) { /* a handful of series: not worth waking a team */
		step_block(m, st, kern, slots, n, inputs, outputs, st->scratch[0]);
		return 0;
	}
#pragma omp parallel for schedule(static) num_threads(st->n_threads)
	for (long b = 0; b < blocks; b++) {
		size_t first = (size_t)b * TC_STEP_BLOCK;
		size_t count = n - first < TC_STEP_BLOCK ? n - first : TC_STEP_BLOCK;
		step_block(m, st, kern, slots + first, count, inputs + first * in,
			outputs + first * out, st->scratch[omp_get_thread_num()]);
	}
	return 0;
}
