/* gru_kernel.c -- one block of series through a GRU layer or the head.
 *
 * Compiled once per instruction set (see core/meson.build); the code is
 * written so that GCC vectorizes it for each: a 4-series x 32-column
 * register tile in the matrix product, and elementwise gate loops over
 * contiguous rows with the inline activations of activation.h. */
#include <stddef.h>

#include "activation.h"
#include "kernel.h"
#include "step.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define KFN(name) CAT(CAT(tc_kernel_, name), CAT(_, TC_KERNEL_SUFFIX))

/* c [block x w->width] = a [block x w->rows] (row stride lda) * W + bias. */
static void gemm_block(const struct tc_packed *w, const float *a, int lda, float *c)
{
	const int rows = w->rows;
	for (int p = 0; p < w->width; p += TC_PANEL) {
		const float *panel = w->w + (size_t)p * rows;
		for (int s = 0; s < TC_STEP_BLOCK; s += 4) {
			float acc[4][TC_PANEL];
			for (int i = 0; i < 4; i++) {
				for (int j = 0; j < TC_PANEL; j++) {
					acc[i][j] = w->bias[p + j];
				}
			}
			const float *a0 = a + (size_t)s * lda;
			for (int k = 0; k < rows; k++) {
				const float *wk = panel + (size_t)k * TC_PANEL;
				const float v0 = a0[k];
				const float v1 = a0[lda + k];
				const float v2 = a0[2 * lda + k];
				const float v3 = a0[3 * lda + k];
				for (int j = 0; j < TC_PANEL; j++) {
					acc[0][j] += v0 * wk[j];
					acc[1][j] += v1 * wk[j];
					acc[2][j] += v2 * wk[j];
					acc[3][j] += v3 * wk[j];
				}
			}
			for (int i = 0; i < 4; i++) {
				float *ci = c + (size_t)(s + i) * w->width + p;
				for (int j = 0; j < TC_PANEL; j++) {
					ci[j] = acc[i][j];
				}
			}
		}
	}
}

/* nn.GRU: n = tanh(gx_n + r * gh_n), with gh holding all three gates. */
static void gates_reset_after(int hidden, const float *gx, int ldgx,
	const float *gh, int ldgh, float *h)
{
	for (int s = 0; s < TC_STEP_BLOCK; s++) {
		const float *xs = gx + (size_t)s * ldgx;
		const float *hs = gh + (size_t)s * ldgh;
		float *out = h + (size_t)s * hidden;
		for (int j = 0; j < hidden; j++) {
			float r = tc_sigmoidf(xs[j] + hs[j]);
			float z = tc_sigmoidf(xs[hidden + j] + hs[hidden + j]);
			float n = tc_tanhf(xs[2 * hidden + j] + r * hs[2 * hidden + j]);
			out[j] = n + z * (out[j] - n);
		}
	}
}

/* Cho et al.: r and z first, then the candidate from W_hn (r * h). */
static void gru_reset_before(const struct tc_gru_layer *L, const float *gx,
	float *gh, float *rh, float *h)
{
	const int hidden = L->hidden;
	for (int s = 0; s < TC_STEP_BLOCK; s++) {
		const float *xs = gx + (size_t)s * L->x.width;
		float *hs = gh + (size_t)s * L->h.width;
		const float *hprev = h + (size_t)s * hidden;
		float *rhs = rh + (size_t)s * hidden;
		for (int j = 0; j < hidden; j++) {
			float r = tc_sigmoidf(xs[j] + hs[j]);
			hs[hidden + j] = tc_sigmoidf(xs[hidden + j] + hs[hidden + j]);
			rhs[j] = r * hprev[j];
		}
	}
	float *ghn = rh + (size_t)TC_STEP_BLOCK * hidden;
	gemm_block(&L->hn, rh, hidden, ghn);
	for (int s = 0; s < TC_STEP_BLOCK; s++) {
		const float *xs = gx + (size_t)s * L->x.width;
		const float *ns = ghn + (size_t)s * L->hn.width;
		const float *zs = gh + (size_t)s * L->h.width + hidden;
		float *out = h + (size_t)s * hidden;
		for (int j = 0; j < hidden; j++) {
			float n = tc_tanhf(xs[2 * hidden + j] + ns[j]);
			out[j] = n + zs[j] * (out[j] - n);
		}
	}
}

void KFN(gru)(const struct tc_gru_layer *L, const float *x, int ldx, float *h,
	float *scratch)
{
	float *gx = scratch;
	float *gh = gx + (size_t)TC_STEP_BLOCK * L->x.width;
	gemm_block(&L->x, x, ldx, gx);
	gemm_block(&L->h, h, L->hidden, gh);
	if (L->reset_after) {
		gates_reset_after(L->hidden, gx, L->x.width, gh, L->h.width, h);
	} else {
		float *rh = gh + (size_t)TC_STEP_BLOCK * L->h.width;
		gru_reset_before(L, gx, gh, rh, h);
	}
}

void KFN(linear)(const struct tc_linear_layer *L, const float *h, float *y)
{
	gemm_block(&L->w, h, L->w.rows, y);
}
