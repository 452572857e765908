/* layer.h -- (internal) the packed weight layout the kernels stream.
 *
 * A weight matrix applied as c = a * W + bias, with a: [series x rows] and
 * c: [series x cols], is stored transposed relative to PyTorch and cut into
 * panels of TC_PANEL output columns: panel p is a contiguous [rows x TC_PANEL]
 * block, so the micro-kernel reads one 32-float row of it per input value and
 * applies it to four series at once. Columns past `cols` are zero in both the
 * weights and the bias, so kernels never test for a ragged edge.
 *
 * A model of precision bf16 also holds every matrix as bfloat16 in the
 * layout vdpbf16ps wants: in panel p, rows k and k+1 (k even) interleave, so
 * element (k, j) is at [(k / 2) * 2 * TC_PANEL + 2 * j + k % 2] and one
 * 32-bit lane holds the pair of weights that one pair of inputs multiplies.
 * An odd row count is padded with a zero row. */
#ifndef TC_LAYER_H
#define TC_LAYER_H

#include <stdint.h>

#include "model.h"

#define TC_PANEL 32   /* output columns per panel */
#define TC_ALIGN 64   /* bytes; alignment of every packed array and state row block */

struct tc_packed {
	int rows;         /* inputs (the k dimension) */
	int cols;         /* outputs actually used */
	int width;        /* cols rounded up to TC_PANEL */
	float *w;         /* width / TC_PANEL panels of [rows x TC_PANEL] */
	float *bias;      /* [width], zero past cols */
	uint16_t *wbf;    /* bf16 models: width / TC_PANEL panels of [rows_even x TC_PANEL],
	                     pairs of rows interleaved; NULL otherwise */
};

/* Rows of the bf16 panels: rows rounded up to even. */
static inline int tc_packed_rows_even(const struct tc_packed *p)
{
	return (p->rows + 1) / 2 * 2;
}

/* One recurrent layer, packed for a block whose rows hold [x | h] side by
 * side. Every gate that only needs W_i x + b_i + W_h h + b_h is one product
 * over [x | h] with the two biases summed: `gates` holds them all, in
 * PyTorch's row order (gru: r | z; lstm: i | f | g | o; rnn: the one
 * pre-activation). The GRU's candidate n keeps its two parts apart, since
 * the reset gate multiplies the recurrent one: `hn` is applied to h
 * (nn.GRU, r * (W_hn h + b_hn)) or to r * h (Cho et al.). */
struct tc_layer {
	enum tc_layer_type type;
	int in;           /* I_k: input width */
	int hidden;       /* H_k */
	int reset_after;  /* gru: nn.GRU's variant */
	int relu;         /* rnn: relu instead of tanh */
	struct tc_packed gates; /* [x | h] -> the gates above, biases summed */
	struct tc_packed xn;    /* gru: x -> n's input part, bias b_in */
	struct tc_packed hn;    /* gru: h or r * h -> n's recurrent part, bias b_hn */
};

/* One operation of the head, on rows of `in` values, writing `out`. */
struct tc_head_op {
	enum tc_head_op_type type;
	int in, out;      /* widths; equal except for linear */
	struct tc_packed w;   /* linear: W in -> out, bias b */
	float *gamma, *beta;  /* layernorm: [in], NULL when not affine */
	float eps;            /* layernorm */
};

#include <stdlib.h>
#include <string.h>

/* n zeroed floats, TC_ALIGN-aligned; free with free(). NULL when out of memory. */
static inline float *tc_alloc_floats(size_t n)
{
	size_t bytes = (n * sizeof(float) + TC_ALIGN - 1) / TC_ALIGN * TC_ALIGN;
	float *p = aligned_alloc(TC_ALIGN, bytes ? bytes : TC_ALIGN);
	if (p) {
		memset(p, 0, bytes ? bytes : TC_ALIGN);
	}
	return p;
}

#endif
