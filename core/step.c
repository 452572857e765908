/* step.c -- the batched step: blocks of series through all layers and the head, in parallel. */
#include "step.h"

#include <omp.h>
#include <stdatomic.h>
#include <string.h>

#include "error.h"
#include "head.h"
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

/* Copies `width` floats of rows idx[i] of src (stride lds) into the block's
 * rows (stride ld). */
static void gather(float *dst, size_t ld, const float *src, size_t lds, const uint32_t *idx,
	size_t count, size_t width)
{
	for (size_t i = 0; i < count; i++) {
		memcpy(dst + i * ld, src + (size_t)idx[i] * lds, width * sizeof(float));
	}
}

/* Copies each block row's width floats (stride ld) to dst rows idx[i]
 * (stride ldd). */
static void scatter(float *dst, size_t ldd, const float *src, size_t ld, const uint32_t *idx,
	size_t count, size_t width)
{
	for (size_t i = 0; i < count; i++) {
		memcpy(dst + (size_t)idx[i] * ldd, src + i * ld, width * sizeof(float));
	}
}

/* Where one block's layer k works: rows [x | h] (see layer.h), and for an
 * LSTM its cell states, contiguous rows of H_k. */
struct block_layer {
	float *xh;
	size_t ld;        /* in + hidden */
	float *c;         /* lstm; NULL otherwise */
	size_t width;     /* floats of the layer's state per series: h, then c */
};

/* Runs layer L's kernel on the block. */
static void run_layer(const struct tc_kernel *kern, const struct tc_layer *L,
	const struct block_layer *b, int count, float *work)
{
	switch (L->type) {
	case TC_LAYER_GRU:
		kern->gru(L, b->xh, count, work);
		break;
	case TC_LAYER_LSTM:
		kern->lstm(L, b->xh, b->c, count, work);
		break;
	case TC_LAYER_RNN:
		kern->rnn(L, b->xh, count, work);
		break;
	}
}

/* One block of up to TC_STEP_BLOCK series, start to finish. Layer k's x is
 * the block's input for k = 0 and layer k-1's new h otherwise. */
static void step_block(const struct tc_model *m, struct tc_state *st,
	const struct tc_kernel *kern, const uint32_t *slots, size_t count,
	const float *inputs, float *outputs, float *scratch)
{
	const struct tc_model_spec *s = &m->spec;
	const uint32_t identity[TC_STEP_BLOCK] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	struct block_layer b[TC_MAX_LAYERS];
	float *next = scratch;
	for (int k = 0; k < s->n_layers; k++) {
		const struct tc_layer *L = &m->layers[k];
		const size_t hidden = (size_t)L->hidden;
		b[k].xh = next;
		b[k].ld = (size_t)L->in + hidden;
		b[k].width = (size_t)tc_model_spec_state_width(s, k);
		next += TC_STEP_BLOCK * b[k].ld;
		b[k].c = NULL;
		gather(b[k].xh + L->in, b[k].ld, st->hidden[k], b[k].width, slots, count, hidden);
		if (L->type == TC_LAYER_LSTM) {
			b[k].c = next;
			next += TC_STEP_BLOCK * hidden;
			gather(b[k].c, hidden, st->hidden[k] + hidden, b[k].width, slots, count, hidden);
		}
	}
	const size_t head_block = (size_t)TC_STEP_BLOCK * (size_t)m->head_width;
	float *head_buf = next;
	float *work = head_buf + 2 * head_block;
	gather(b[0].xh, b[0].ld, inputs, (size_t)s->input_size, identity, count,
		(size_t)s->input_size);

	for (int k = 0; k < s->n_layers; k++) {
		const struct tc_layer *L = &m->layers[k];
		const size_t hidden = (size_t)L->hidden;
		run_layer(kern, L, &b[k], (int)count, work);
		scatter(st->hidden[k], b[k].width, b[k].xh + L->in, b[k].ld, slots, count, hidden);
		if (b[k].c) {
			scatter(st->hidden[k] + hidden, b[k].width, b[k].c, hidden, slots, count, hidden);
		}
		if (k + 1 < s->n_layers) {
			for (size_t i = 0; i < count; i++) {
				memcpy(b[k + 1].xh + i * b[k + 1].ld, b[k].xh + i * b[k].ld + L->in,
					hidden * sizeof(float));
			}
		}
	}
	const struct tc_layer *last = &m->layers[s->n_layers - 1];
	int ldy;
	const float *y = tc_head_run(m->head, m->n_head, kern, b[s->n_layers - 1].xh + last->in,
		(int)b[s->n_layers - 1].ld, (int)count, head_buf, head_block, work, &ldy);
	scatter(outputs, (size_t)s->outputs, y, (size_t)ldy, identity, count, (size_t)s->outputs);
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
