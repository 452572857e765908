/* gru_kernel.c -- one block of series through a GRU layer (both variants).
 *
 * r and z come from one product over [x | h] (layer.h), n from its input
 * and recurrent parts; the gates are elementwise over contiguous rows. */
#include "activation.h"
#include "kernel_gemm.h"

/* nn.GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)). */
static void gates_reset_after(const struct tc_layer *L, int count, const float *grz,
	const float *gxn, const float *ghn, float *xh)
{
	const int in = L->in, hidden = L->hidden, ld = in + hidden;
	for (int s = 0; s < count; s++) {
		const float *rz = grz + (size_t)s * L->gates.width;
		const float *xn = gxn + (size_t)s * L->xn.width;
		const float *hn = ghn + (size_t)s * L->hn.width;
		float *h = xh + (size_t)s * ld + in;
		for (int j = 0; j < hidden; j++) {
			float r = tc_sigmoidf(rz[j]);
			float z = tc_sigmoidf(rz[hidden + j]);
			float n = tc_tanhf(xn[j] + r * hn[j]);
			h[j] = n + z * (h[j] - n);
		}
	}
}

/* Cho et al.: r and z first, then the candidate from W_hn (r * h). */
static void gru_reset_before(const struct tc_layer *L, int count, float *grz,
	const float *gxn, float *ghn, float *rh, float *xh, elem *buf)
{
	const int in = L->in, hidden = L->hidden, ld = in + hidden;
	for (int s = 0; s < count; s++) {
		float *rz = grz + (size_t)s * L->gates.width;
		const float *h = xh + (size_t)s * ld + in;
		float *rhs = rh + (size_t)s * hidden;
		for (int j = 0; j < hidden; j++) {
			rhs[j] = tc_sigmoidf(rz[j]) * h[j];
			rz[hidden + j] = tc_sigmoidf(rz[hidden + j]); /* z, kept for below */
		}
	}
	gemm_floats(&L->hn, rh, hidden, ghn, count, buf);
	for (int s = 0; s < count; s++) {
		const float *z = grz + (size_t)s * L->gates.width + hidden;
		const float *xn = gxn + (size_t)s * L->xn.width;
		const float *hn = ghn + (size_t)s * L->hn.width;
		float *h = xh + (size_t)s * ld + in;
		for (int j = 0; j < hidden; j++) {
			float n = tc_tanhf(xn[j] + hn[j]);
			h[j] = n + z[j] * (h[j] - n);
		}
	}
}

/* The block's [x | h] rows are one operand for r | z and for n's input part
 * (x: the first `in` values); n's recurrent part reads h from it too where
 * h starts on a step boundary, else from its own copy. */
void KFN(gru)(const struct tc_layer *L, float *xh, int count, float *scratch)
{
	const int in = L->in, ld = in + L->hidden;
	float *grz = scratch;
	float *gxn = grz + (size_t)TC_STEP_BLOCK * L->gates.width;
	float *ghn = gxn + (size_t)TC_STEP_BLOCK * L->xn.width;
	float *rh = ghn + (size_t)TC_STEP_BLOCK * L->hn.width;
	elem *buf = (elem *)(rh + (size_t)TC_STEP_BLOCK * L->hidden);
	int ldx;
	const elem *x = operand(xh, ld, ld, count, buf, &ldx);
	gemm_block(&L->gates, x, ldx, grz, count);
	gemm_block(&L->xn, x, ldx, gxn, count);
	if (L->reset_after) {
		if (in % KSTEP == 0) {
			gemm_block(&L->hn, x + in / KSTEP, ldx, ghn, count);
		} else {
			gemm_floats(&L->hn, xh + in, ld, ghn, count, buf);
		}
		gates_reset_after(L, count, grz, gxn, ghn, xh);
	} else {
		gru_reset_before(L, count, grz, gxn, ghn, rh, xh, buf);
	}
}
