/* gru_kernel.c -- one block of series through a GRU layer or the head.
 *
 * Compiled once per instruction set (see core/meson.build); the code is
 * written so that GCC vectorizes it for each: a register tile of series x
 * columns in the matrix product (sized per ISA below), and elementwise gate
 * loops over contiguous rows with the inline activations of activation.h. */
#include <stddef.h>

#include "activation.h"
#include "kernel.h"
#include "step.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define KFN(name) CAT(CAT(tc_kernel_, name), CAT(_, TC_KERNEL_SUFFIX))

/* The register tile: TILE_S series x (2 x VEC_N) columns of accumulators,
 * written with GCC's vector extensions so that each ISA build keeps the
 * whole tile in registers (32 zmm for AVX-512, 16 ymm for AVX2, 16 xmm for
 * the baseline). The panel's 32 columns are covered in 32 / (2 VEC_N) slices. */
#if defined(__AVX512F__)
#define VEC_N 16
#define TILE_S 8
#elif defined(__AVX2__)
#define VEC_N 8
#define TILE_S 4
#else
#define VEC_N 4
#define TILE_S 4
#endif
#define SLICE (2 * VEC_N)

typedef float vec __attribute__((vector_size(VEC_N * sizeof(float))));

static inline vec load(const float *p)
{
	vec v;
	__builtin_memcpy(&v, p, sizeof v);
	return v;
}

static inline void store(float *p, vec v)
{
	__builtin_memcpy(p, &v, sizeof v);
}

/* One tile: rows s..s+TILE_S of c, columns j..j+SLICE of the panel. */
static inline void tile(const float *panel, const float *bias, int rows, const float *a,
	int lda, float *c, int ldc)
{
	vec acc[TILE_S][2];
	const vec b0 = load(bias), b1 = load(bias + VEC_N);
#pragma GCC unroll 8
	for (int i = 0; i < TILE_S; i++) {
		acc[i][0] = b0;
		acc[i][1] = b1;
	}
	for (int k = 0; k < rows; k++) {
		const vec w0 = load(panel + (size_t)k * TC_PANEL);
		const vec w1 = load(panel + (size_t)k * TC_PANEL + VEC_N);
#pragma GCC unroll 8
		for (int i = 0; i < TILE_S; i++) {
			const float x = a[(size_t)i * lda + k];
			acc[i][0] += x * w0;
			acc[i][1] += x * w1;
		}
	}
#pragma GCC unroll 8
	for (int i = 0; i < TILE_S; i++) {
		store(c + (size_t)i * ldc, acc[i][0]);
		store(c + (size_t)i * ldc + VEC_N, acc[i][1]);
	}
}

/* c [block x w->width] = a [block x w->rows] (row stride lda) * W + bias. */
static void gemm_block(const struct tc_packed *w, const float *a, int lda, float *c)
{
	const int rows = w->rows;
	for (int p = 0; p < w->width; p += TC_PANEL) {
		const float *panel = w->w + (size_t)p * rows;
		for (int j = 0; j < TC_PANEL; j += SLICE) {
			for (int s = 0; s < TC_STEP_BLOCK; s += TILE_S) {
				tile(panel + j, w->bias + p + j, rows, a + (size_t)s * lda, lda,
					c + (size_t)s * w->width + p + j, w->width);
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
