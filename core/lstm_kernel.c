/* lstm_kernel.c -- one block of series through an LSTM layer (nn.LSTM).
 *
 * All four gates come from one product over [x | h] (layer.h), in
 * PyTorch's row order i, f, g, o; then, elementwise over contiguous rows,
 *   c' = f * c + i * g,  h' = o * tanh(c'). */
#include "activation.h"
#include "kernel_gemm.h"

void KFN(lstm)(const struct tc_layer *L, float *xh, float *c, int count, float *scratch)
{
	const int in = L->in, hidden = L->hidden, ld = in + hidden;
	float *gates = scratch;
	elem *buf = (elem *)(gates + (size_t)TC_STEP_BLOCK * L->gates.width);
	int ldx;
	const elem *x = operand(xh, ld, ld, count, buf, &ldx);
	gemm_block(&L->gates, x, ldx, gates, count);
	for (int s = 0; s < count; s++) {
		const float *g = gates + (size_t)s * L->gates.width;
		float *h = xh + (size_t)s * ld + in;
		float *cs = c + (size_t)s * hidden;
		for (int j = 0; j < hidden; j++) {
			float i = tc_sigmoidf(g[j]);
			float f = tc_sigmoidf(g[hidden + j]);
			float cand = tc_tanhf(g[2 * hidden + j]);
			float o = tc_sigmoidf(g[3 * hidden + j]);
			float cell = f * cs[j] + i * cand;
			cs[j] = cell;
			h[j] = o * tc_tanhf(cell);
		}
	}
}
