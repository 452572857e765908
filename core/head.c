/* head.c -- the head: linear operations through the kernel's product, the
 * activations and layer norm in plain C (a few dozen values per series,
 * next to the layers' thousands of multiply-adds). */
#include "head.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"

static int build_op(struct tc_head_op *op, const struct tc_head_op_spec *s,
	const struct tc_head_weights *w, int in, enum tc_precision precision)
{
	op->type = s->type;
	op->in = in;
	op->out = s->type == TC_HEAD_LINEAR ? s->outputs : in;
	if (s->type == TC_HEAD_LINEAR) {
		const struct tc_pack_source src = {w->weight, in, w->bias};
		if (tc_pack(&op->w, src, (struct tc_pack_source){0}, 0, s->outputs) < 0) {
			return -1;
		}
		return precision == TC_PRECISION_BF16 ? tc_pack_bf16(&op->w) : 0;
	}
	if (s->type == TC_HEAD_LAYERNORM) {
		op->eps = (float)s->eps;
		if (s->affine) {
			op->gamma = tc_alloc_floats((size_t)in);
			op->beta = tc_alloc_floats((size_t)in);
			if (!op->gamma || !op->beta) {
				return -1;
			}
			memcpy(op->gamma, w->weight, (size_t)in * sizeof(float));
			memcpy(op->beta, w->bias, (size_t)in * sizeof(float));
		}
	}
	return 0;
}

int tc_head_build(struct tc_head_op *ops, int *n, const struct tc_model_spec *spec,
	const struct tc_head_weights *w, int in)
{
	*n = 0;
	for (int i = 0; i < tc_model_spec_head_count(spec); i++) {
		struct tc_head_op_spec s = tc_model_spec_head_op(spec, i);
		if (s.type == TC_HEAD_DROPOUT) {
			continue;
		}
		struct tc_head_op *op = &ops[(*n)++];
		if (build_op(op, &s, &w[i], in, spec->precision) < 0) {
			return -1;
		}
		in = op->out;
	}
	return 0;
}

void tc_head_free(struct tc_head_op *ops, int n)
{
	for (int i = 0; i < n; i++) {
		tc_packed_free(&ops[i].w);
		free(ops[i].gamma);
		free(ops[i].beta);
		memset(&ops[i], 0, sizeof ops[i]);
	}
}

int tc_head_max_width(const struct tc_head_op *ops, int n)
{
	int width = 0;
	for (int i = 0; i < n; i++) {
		int w = ops[i].type == TC_HEAD_LINEAR ? ops[i].w.width : ops[i].out;
		width = w > width ? w : width;
		width = ops[i].in > width ? ops[i].in : width;
	}
	return width;
}

static float gelu(float x)
{
	return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

static float gelu_tanh(float x)
{
	return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
}

/* PyTorch's nn.LayerNorm over one row: the biased variance. */
static void layernorm(const struct tc_head_op *op, const float *x, float *y)
{
	float mean = 0, var = 0;
	for (int j = 0; j < op->in; j++) {
		mean += x[j];
	}
	mean /= (float)op->in;
	for (int j = 0; j < op->in; j++) {
		var += (x[j] - mean) * (x[j] - mean);
	}
	const float inv = 1.0f / sqrtf(var / (float)op->in + op->eps);
	for (int j = 0; j < op->in; j++) {
		float v = (x[j] - mean) * inv;
		y[j] = op->gamma ? v * op->gamma[j] + op->beta[j] : v;
	}
}

/* One elementwise (or row-wise) operation from row x to row y. */
static void apply_row(const struct tc_head_op *op, const float *x, float *y)
{
	if (op->type == TC_HEAD_LAYERNORM) {
		layernorm(op, x, y);
		return;
	}
	for (int j = 0; j < op->in; j++) {
		float v = x[j];
		switch (op->type) {
		case TC_HEAD_RELU:
			v = v > 0.0f ? v : 0.0f;
			break;
		case TC_HEAD_TANH:
			v = tanhf(v);
			break;
		case TC_HEAD_GELU:
			v = gelu(v);
			break;
		case TC_HEAD_GELU_TANH:
			v = gelu_tanh(v);
			break;
		case TC_HEAD_SIGMOID:
			v = 1.0f / (1.0f + expf(-v));
			break;
		default:
			break;
		}
		y[j] = v;
	}
}

const float *tc_head_run(const struct tc_head_op *ops, int n, const struct tc_kernel *kern,
	const float *h, int ldh, int count, float *buf, size_t block, float *scratch, int *ld)
{
	const float *src = h;
	int lds = ldh;
	for (int i = 0; i < n; i++) {
		const struct tc_head_op *op = &ops[i];
		/* Into whichever buffer src is not: h is the state, never written. */
		float *dst = src == buf ? buf + block : buf;
		if (op->type == TC_HEAD_LINEAR) {
			kern->linear(&op->w, src, lds, count, dst, scratch);
			lds = op->w.width;
		} else {
			for (int s = 0; s < count; s++) {
				apply_row(op, src + (size_t)s * lds, dst + (size_t)s * op->in);
			}
			lds = op->in;
		}
		src = dst;
	}
	*ld = lds;
	return src;
}
