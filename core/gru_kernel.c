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

/* One tile: n series (rows of a and c) x SLICE columns of the panel. n is
 * TILE_S or 1 at every call site, so each unrolls and keeps acc in registers. */
static inline __attribute__((always_inline)) void tile(int n, const float *panel,
	const float *bias, int rows, const float *a, int lda, float *c, int ldc)
{
	vec acc[TILE_S][2];
	const vec b0 = load(bias), b1 = load(bias + VEC_N);
#pragma GCC unroll 8
	for (int i = 0; i < n; i++) {
		acc[i][0] = b0;
		acc[i][1] = b1;
	}
	for (int k = 0; k < rows; k++) {
		const vec w0 = load(panel + (size_t)k * TC_PANEL);
		const vec w1 = load(panel + (size_t)k * TC_PANEL + VEC_N);
#pragma GCC unroll 8
		for (int i = 0; i < n; i++) {
			const float x = a[(size_t)i * lda + k];
			acc[i][0] += x * w0;
			acc[i][1] += x * w1;
		}
	}
#pragma GCC unroll 8
	for (int i = 0; i < n; i++) {
		store(c + (size_t)i * ldc, acc[i][0]);
		store(c + (size_t)i * ldc + VEC_N, acc[i][1]);
	}
}

static void tile_full(const float *panel, const float *bias, int rows, const float *a,
	int lda, float *c, int ldc)
{
	tile(TILE_S, panel, bias, rows, a, lda, c, ldc);
}

static void tile_one(const float *panel, const float *bias, int rows, const float *a,
	int lda, float *c, int ldc)
{
	tile(1, panel, bias, rows, a, lda, c, ldc);
}

/* c [count x w->width] = a [count x w->rows] (row stride lda) * W + bias:
 * full tiles of TILE_S series, then the rest one series at a time, so a
 * small batch costs no more than its own series. */
static void gemm_block(const struct tc_packed *w, const float *a, int lda, float *c, int count)
{
	const int rows = w->rows;
	const int full = count / TILE_S * TILE_S;
	for (int p = 0; p < w->width; p += TC_PANEL) {
		const float *panel = w->w + (size_t)p * rows;
		for (int j = 0; j < TC_PANEL; j += SLICE) {
			const float *bias = w->bias + p + j;
			for (int s = 0; s < full; s += TILE_S) {
				tile_full(panel + j, bias, rows, a + (size_t)s * lda, lda,
					c + (size_t)s * w->width + p + j, w->width);
			}
			for (int s = full; s < count; s++) {
				tile_one(panel + j, bias, rows, a + (size_t)s * lda, lda,
					c + (size_t)s * w->width + p + j, w->width);
			}
		}
	}
}

/* nn.GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)). */
static void gates_reset_after(const struct tc_gru_layer *L, int count, const float *grz,
	const float *gxn, const float *ghn, float *xh)
{
	const int in = L->in, hidden = L->hidden, ld = in + hidden;
	for (int s = 0; s < count; s++) {
		const float *rz = grz + (size_t)s * L->rz.width;
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
static void gru_reset_before(const struct tc_gru_layer *L, int count, float *grz,
	const float *gxn, float *ghn, float *rh, float *xh)
{
	const int in = L->in, hidden = L->hidden, ld = in + hidden;
	for (int s = 0; s < count; s++) {
		float *rz = grz + (size_t)s * L->rz.width;
		const float *h = xh + (size_t)s * ld + in;
		float *rhs = rh + (size_t)s * hidden;
		for (int j = 0; j < hidden; j++) {
			rhs[j] = tc_sigmoidf(rz[j]) * h[j];
			rz[hidden + j] = tc_sigmoidf(rz[hidden + j]); /* z, kept for below */
		}
	}
	gemm_block(&L->hn, rh, hidden, ghn, count);
	for (int s = 0; s < count; s++) {
		const float *z = grz + (size_t)s * L->rz.width + hidden;
		const float *xn = gxn + (size_t)s * L->xn.width;
		const float *hn = ghn + (size_t)s * L->hn.width;
		float *h = xh + (size_t)s * ld + in;
		for (int j = 0; j < hidden; j++) {
			float n = tc_tanhf(xn[j] + hn[j]);
			h[j] = n + z[j] * (h[j] - n);
		}
	}
}

void KFN(gru)(const struct tc_gru_layer *L, float *xh, int count, float *scratch)
{
	const int ld = L->in + L->hidden;
	float *grz = scratch;
	float *gxn = grz + (size_t)TC_STEP_BLOCK * L->rz.width;
	float *ghn = gxn + (size_t)TC_STEP_BLOCK * L->xn.width;
	gemm_block(&L->rz, xh, ld, grz, count);
	gemm_block(&L->xn, xh, ld, gxn, count);
	if (L->reset_after) {
		gemm_block(&L->hn, xh + L->in, ld, ghn, count);
		gates_reset_after(L, count, grz, gxn, ghn, xh);
	} else {
		float *rh = ghn + (size_t)TC_STEP_BLOCK * L->hn.width;
		gru_reset_before(L, count, grz, gxn, ghn, rh, xh);
	}
}

void KFN(linear)(const struct tc_linear_layer *L, const float *h, int ldh, int count, float *y)
{
	gemm_block(&L->w, h, ldh, y, count);
}
