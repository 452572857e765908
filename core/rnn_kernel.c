/* rnn_kernel.c -- one block of series through a plain RNN layer (nn.RNN):
 * h' = tanh(W_ih x + b_ih + W_hh h + b_hh), or relu of the same, as one
 * product over [x | h] (layer.h) and an elementwise pass. */
#include "activation.h"
#include "kernel_gemm.h"

void KFN(rnn)(const struct tc_layer *L, float *xh, int count, float *scratch)
{
	const int in = L->in, hidden = L->hidden, ld = in + hidden;
	float *pre = scratch;
	elem *buf = (elem *)(pre + (size_t)TC_STEP_BLOCK * L->gates.width);
	int ldx;
	const elem *x = operand(xh, ld, ld, count, buf, &ldx);
	gemm_block(&L->gates, x, ldx, pre, count);
	for (int s = 0; s < count; s++) {
		const float *p = pre + (size_t)s * L->gates.width;
		float *h = xh + (size_t)s * ld + in;
		if (L->relu) {
			for (int j = 0; j < hidden; j++) {
				h[j] = p[j] > 0.0f ? p[j] : 0.0f;
			}
		} else {
			for (int j = 0; j < hidden; j++) {
				h[j] = tc_tanhf(p[j]);
			}
		}
	}
}
