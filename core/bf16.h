/* bf16.h -- (internal) float32 to bfloat16 exactly as AVX512-BF16's
 * vcvtne2ps2bf16 rounds it, so that the packing, the plain-C bf16 kernel and
 * the AVX512-BF16 kernel all see the same bf16 numbers. */
#ifndef TC_BF16_H
#define TC_BF16_H

#include <stdint.h>
#include <string.h>

/* Round to nearest even; zero and subnormal inputs become a signed zero
 * (the instruction's DAZ), NaN stays a (quiet) NaN. Branch-free ternaries,
 * so that GCC vectorizes loops over it. */
static inline uint16_t tc_bf16_round(float x)
{
	uint32_t u;
	memcpy(&u, &x, sizeof u);
	uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
	uint32_t out = (u & 0x7f800000u) == 0 ? (u >> 16) & 0x8000u : rounded;
	out = (u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40u : out;
	return (uint16_t)out;
}

/* The float a bf16 stands for: its 16 bits are float32's upper half. */
static inline float tc_bf16_to_float(uint16_t b)
{
	uint32_t u = (uint32_t)b << 16;
	float x;
	memcpy(&x, &u, sizeof x);
	return x;
}

#endif
