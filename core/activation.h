/* activation.h -- vectorizable exp, sigmoid and tanh for the kernels.
 *
 * libm's expf is a call the compiler cannot vectorize; this is Cephes'
 * single-precision exp (range reduction by ln 2, degree-5 polynomial), a
 * straight-line function GCC turns into SIMD inside the kernels' loops.
 * Relative error about 2 ulp on [-87, 88]; inputs are clamped to that range,
 * so sigmoid and tanh saturate cleanly instead of overflowing. */
#ifndef TC_ACTIVATION_H
#define TC_ACTIVATION_H

#include <stdint.h>
#include <string.h>

static inline float tc_expf(float x)
{
	x = x < -87.0f ? -87.0f : x;
	x = x > 88.0f ? 88.0f : x;
	/* n = round(x / ln 2): adding and subtracting 1.5 * 2^23 rounds to an
	 * integer in the FPU's own rounding, with no branch, so it vectorizes. */
	float fn = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
	int n = (int)fn;
	float r = x - fn * 0.693359375f;
	r = r - fn * -2.12194440e-4f;
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	float y = p * r * r + r + 1.0f;
	int32_t bits = (int32_t)((uint32_t)(n + 127) << 23);
	float scale;
	memcpy(&scale, &bits, sizeof scale);
	return y * scale;
}

static inline float tc_sigmoidf(float x)
{
	return 1.0f / (1.0f + tc_expf(-x));
}

/* tanh(x) = 2 sigmoid(2x) - 1: absolute error ~1e-7, all the GRU needs. */
static inline float tc_tanhf(float x)
{
	return 2.0f / (1.0f + tc_expf(-2.0f * x)) - 1.0f;
}

#endif
