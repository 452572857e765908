/* kernel_gemm.h -- (internal) the kernels' matrix product: a block of
 * series times a packed matrix, included by every kernel source.
 *
 * Each kernel source is compiled once per instruction set (see
 * core/meson.build), and this product with it, so that GCC vectorizes it
 * for each: a register tile of series x columns (sized per ISA below). The
 * sources' elementwise gate loops run over contiguous rows with the inline
 * activations of activation.h.
 * With TC_KERNEL_BF16 the products read the bf16 panels (layer.h) and the
 * inputs rounded to bf16, a pair of rows per step, accumulating in fp32:
 * vdpbf16ps with AVX512-BF16, its plain-C equivalent otherwise (the
 * reference the instruction is tested against). Gates stay in fp32. */
#ifndef TC_KERNEL_GEMM_H
#define TC_KERNEL_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "activation.h"
#include "kernel.h"
#include "step.h"

#ifdef TC_KERNEL_BF16
#include "bf16.h"
#endif
#ifdef __AVX512BF16__
#include <immintrin.h>
#endif

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

/* What one step of the product reads: KSTEP rows of the panel (wvec: VEC_N
 * columns of them) and one `elem` per series (its input for those rows). */
#ifdef TC_KERNEL_BF16
#define KSTEP 2
typedef uint16_t weight;   /* a bf16 */
typedef uint32_t elem;     /* a pair of bf16 inputs, rows k (low half) and k + 1 */
typedef uint32_t wvec __attribute__((vector_size(VEC_N * sizeof(uint32_t))));

static inline wvec wload(const weight *p)
{
	wvec v;
	__builtin_memcpy(&v, p, sizeof v);
	return v;
}

#ifdef __AVX512BF16__
static inline vec mac(vec acc, elem x, wvec w)
{
	return (vec)_mm512_dpbf16_ps((__m512)acc, (__m512bh)_mm512_set1_epi32((int)x), (__m512bh)w);
}
#else
/* vdpbf16ps's arithmetic: both products are exact in fp32 (8-bit
 * significands), added to the accumulator odd row first, as Intel's
 * pseudocode orders them. */
static inline vec mac(vec acc, elem x, wvec w)
{
	const vec w_odd = (vec)(w & 0xffff0000u), w_even = (vec)(w << 16);
	acc += tc_bf16_to_float((uint16_t)(x >> 16)) * w_odd;
	acc += tc_bf16_to_float((uint16_t)x) * w_even;
	return acc;
}
#endif
#else
#define KSTEP 1
typedef float weight;
typedef float elem;
typedef vec wvec;

static inline wvec wload(const weight *p)
{
	return load(p);
}

static inline vec mac(vec acc, elem x, wvec w)
{
	return acc + x * w;
}
#endif

/* One tile: n series (rows of a and c) x SLICE columns of the panel, over
 * `steps` steps of KSTEP rows. n is TILE_S or 1 at every call site, so each
 * unrolls and keeps acc in registers. */
static inline __attribute__((always_inline)) void tile(int n, const weight *panel,
	const float *bias, int steps, const elem *a, int lda, float *c, int ldc)
{
	vec acc[TILE_S][2];
	const vec b0 = load(bias), b1 = load(bias + VEC_N);
#pragma GCC unroll 8
	for (int i = 0; i < n; i++) {
		acc[i][0] = b0;
		acc[i][1] = b1;
	}
	for (int k = 0; k < steps; k++) {
		const wvec w0 = wload(panel + (size_t)k * KSTEP * TC_PANEL);
		const wvec w1 = wload(panel + (size_t)k * KSTEP * TC_PANEL + KSTEP * VEC_N);
#pragma GCC unroll 8
		for (int i = 0; i < n; i++) {
			const elem x = a[(size_t)i * lda + k];
			acc[i][0] = mac(acc[i][0], x, w0);
			acc[i][1] = mac(acc[i][1], x, w1);
		}
	}
#pragma GCC unroll 8
	for (int i = 0; i < n; i++) {
		store(c + (size_t)i * ldc, acc[i][0]);
		store(c + (size_t)i * ldc + VEC_N, acc[i][1]);
	}
}

static void tile_full(const weight *panel, const float *bias, int steps, const elem *a,
	int lda, float *c, int ldc)
{
	tile(TILE_S, panel, bias, steps, a, lda, c, ldc);
}

static void tile_one(const weight *panel, const float *bias, int steps, const elem *a,
	int lda, float *c, int ldc)
{
	tile(1, panel, bias, steps, a, lda, c, ldc);
}

#ifdef TC_KERNEL_BF16
#ifdef __AVX512BF16__
/* One row of `rows` floats as bf16 pairs, the last padded with zero: 32
 * at a time, the masked-off lanes of the last load reading as zero. */
static void row_to_bf16(const float *src, int rows, elem *dst)
{
	const int even = (rows + 1) / 2 * 2;
	for (int k = 0; k < even; k += 32) {
		const int left = rows - k;
		const __mmask16 lo = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
		const __mmask16 hi = left >= 32 ? 0xffff : left <= 16 ? 0 : (__mmask16)((1u << (left - 16)) - 1);
		const int out = even - k;
		const __mmask32 keep = out >= 32 ? 0xffffffffu : (__mmask32)((1u << out) - 1);
		const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, src + k + 16),
			_mm512_maskz_loadu_ps(lo, src + k));
		_mm512_mask_storeu_epi16(dst + k / 2, keep, (__m512i)v);
	}
}
#else
static void row_to_bf16(const float *src, int rows, elem *dst)
{
	for (int k = 0; k + 1 < rows; k += 2) {
		dst[k / 2] = tc_bf16_round(src[k]) | (elem)tc_bf16_round(src[k + 1]) << 16;
	}
	if (rows % 2) {
		dst[rows / 2] = tc_bf16_round(src[rows - 1]);
	}
}
#endif

/* The products' operand: `rows` values of each of count rows of a (stride
 * lda) as bf16 pairs in buf, *ld pairs apart, the last pair of an odd count
 * padded with zero. Contiguous rows of an even count convert as one. */
static const elem *operand(const float *a, int lda, int rows, int count, elem *buf, int *ld)
{
	*ld = (rows + 1) / 2;
	if (lda == rows && rows % 2 == 0) {
		row_to_bf16(a, count * rows, buf);
		return buf;
	}
	for (int s = 0; s < count; s++) {
		row_to_bf16(a + (size_t)s * lda, rows, buf + (size_t)s * *ld);
	}
	return buf;
}

static const weight *panels(const struct tc_packed *w)
{
	return w->wbf;
}
#else
/* The products' operand: a itself. */
static const elem *operand(const float *a, int lda, int rows, int count, elem *buf, int *ld)
{
	(void)rows;
	(void)count;
	(void)buf;
	*ld = lda;
	return a;
}

static const weight *panels(const struct tc_packed *w)
{
	return w->w;
}
#endif

/* c [count x w->width] = x [count x w->rows] (row stride ld, from operand())
 * * W + bias: full tiles of TILE_S series, then the rest one series at a
 * time, so a small batch costs no more than its own series. x may hold more
 * than w->rows values per row: the first w->rows are used (in bf16, a last
 * pair's second value meets the zero pad row of an odd w->rows). */
static void gemm_block(const struct tc_packed *w, const elem *x, int ld, float *c, int count)
{
	const int steps = (w->rows + KSTEP - 1) / KSTEP;
	const int full = count / TILE_S * TILE_S;
	for (int p = 0; p < w->width; p += TC_PANEL) {
		const weight *panel = panels(w) + (size_t)p * steps * KSTEP;
		for (int j = 0; j < TC_PANEL; j += SLICE) {
			const float *bias = w->bias + p + j;
			for (int s = 0; s < full; s += TILE_S) {
				tile_full(panel + j * KSTEP, bias, steps, x + (size_t)s * ld, ld,
					c + (size_t)s * w->width + p + j, w->width);
			}
			for (int s = full; s < count; s++) {
				tile_one(panel + j * KSTEP, bias, steps, x + (size_t)s * ld, ld,
					c + (size_t)s * w->width + p + j, w->width);
			}
		}
	}
}

/* gemm_block from floats: a [count x w->rows], row stride lda; buf as for
 * operand(). Unused by the sources whose operand is the whole [x | h]. */
static __attribute__((unused)) void gemm_floats(const struct tc_packed *w, const float *a,
	int lda, float *c, int count, elem *buf)
{
	int ld;
	const elem *x = operand(a, lda, w->rows, count, buf, &ld);
	gemm_block(w, x, ld, c, count);
}

#endif
