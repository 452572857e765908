/* kernel.h -- (internal) the block kernels and the choice among their builds.
 *
 * The kernel sources (gru_kernel.c, lstm_kernel.c, rnn_kernel.c,
 * linear_kernel.c, all built on kernel_gemm.h's product) are compiled once
 * per instruction set (plain C, AVX2, AVX-512) with TC_KERNEL_SUFFIX naming
 * their functions; the plain C build is the reference the others are tested
 * against. With TC_KERNEL_BF16 they are compiled twice more, as the kernels
 * of bf16 models: c_bf16 (plain C, the reference) and avx512bf16. Each
 * function works on the first `count` (at most TC_STEP_BLOCK) rows of one
 * block. */
#ifndef TC_KERNEL_H
#define TC_KERNEL_H

#include "layer.h"
#include "model.h"

/* Scratch floats one block needs for layers no wider than max_width columns
 * (packed width), max_hidden units and max_rows inputs ([x | h]): the gate
 * products, r * h, and the bf16 kernels' copy of the inputs (a pair of
 * bf16 in each float's room). */
#define TC_KERNEL_SCRATCH(max_width, max_hidden, max_rows) \
	(3 * TC_STEP_BLOCK * (size_t)(max_width) + TC_STEP_BLOCK * (size_t)(max_hidden) \
		+ TC_STEP_BLOCK * ((size_t)(max_rows) + 1) / 2)

struct tc_kernel {
	const char *name;
	enum tc_precision precision; /* the models it serves */
	/* xh [block x (in + hidden)] holds each series' input then its hidden
	 * state; the hidden state is advanced in place. */
	void (*gru)(const struct tc_layer *layer, float *xh, int count, float *scratch);
	void (*rnn)(const struct tc_layer *layer, float *xh, int count, float *scratch);
	/* The same, and c [block x hidden] (contiguous rows) the cell state,
	 * also advanced in place. */
	void (*lstm)(const struct tc_layer *layer, float *xh, float *c, int count, float *scratch);
	/* y [block x w->width] = h [block x w->rows] (row stride ldh) * W + b. */
	void (*linear)(const struct tc_packed *w, const float *h, int ldh, int count,
		float *y, float *scratch);
};

#define TC_KERNEL_DECLARE(suffix) \
	void tc_kernel_gru_##suffix(const struct tc_layer *layer, float *xh, int count, \
		float *scratch); \
	void tc_kernel_rnn_##suffix(const struct tc_layer *layer, float *xh, int count, \
		float *scratch); \
	void tc_kernel_lstm_##suffix(const struct tc_layer *layer, float *xh, float *c, \
		int count, float *scratch); \
	void tc_kernel_linear_##suffix(const struct tc_packed *w, \
		const float *h, int ldh, int count, float *y, float *scratch);

TC_KERNEL_DECLARE(c)
TC_KERNEL_DECLARE(avx2)
TC_KERNEL_DECLARE(avx512)
TC_KERNEL_DECLARE(c_bf16)
TC_KERNEL_DECLARE(avx512bf16)

/* The best kernel this CPU runs for models of that precision, or the one
 * forced by name (NULL when the name is unknown or the CPU lacks it). */
const struct tc_kernel *tc_kernel_best(enum tc_precision precision);
const struct tc_kernel *tc_kernel_by_name(const char *name);

#endif
