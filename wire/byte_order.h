/* byte_order.h -- little-endian loads and stores at any alignment, for the binary formats.
 *
 * Every multi-byte field of a binary batch may sit at any offset: copy, then
 * fix the byte order; never cast a pointer into the buffer. */
#ifndef TC_BYTE_ORDER_H
#define TC_BYTE_ORDER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t tc_load_u16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t tc_load_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint64_t tc_load_u64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline float tc_load_f32(const unsigned char *p)
{
	uint32_t u = tc_load_u32(p);
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static inline double tc_load_f64(const unsigned char *p)
{
	uint64_t u = tc_load_u64(p);
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

static inline void tc_store_u16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void tc_store_u32(unsigned char *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	memcpy(p, &v, sizeof v);
}

static inline void tc_store_u64(unsigned char *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, sizeof v);
}

static inline void tc_store_f32(unsigned char *p, float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	tc_store_u32(p, u);
}

static inline void tc_store_f64(unsigned char *p, double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	tc_store_u64(p, u);
}

/* Bulk copies of n 4- or 8-byte values between host arrays and
 * little-endian bytes (a checkpoint's arrays): one memcpy on a
 * little-endian host. */
static inline void tc_store_array(unsigned char *p, const void *host, size_t n, size_t size)
{
	memcpy(p, host, n * size);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	for (size_t i = 0; i < n; i++) {
		if (size == 4) {
			tc_store_u32(p + 4 * i, ((const uint32_t *)host)[i]);
		} else {
			tc_store_u64(p + 8 * i, ((const uint64_t *)host)[i]);
		}
	}
#endif
}

static inline void tc_load_array(void *host, const unsigned char *p, size_t n, size_t size)
{
	memcpy(host, p, n * size);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	for (size_t i = 0; i < n; i++) {
		if (size == 4) {
			((uint32_t *)host)[i] = tc_load_u32(p + 4 * i);
		} else {
			((uint64_t *)host)[i] = tc_load_u64(p + 8 * i);
		}
	}
#endif
}

#endif
