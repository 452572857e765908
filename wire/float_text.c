/* float_text.c -- float32 to "%.9g" text with integer digit arithmetic. */
#include "float_text.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "uint_text.h"

#define DIGITS 9

/* 10^0 .. 10^53: exact up to 10^22, correctly rounded beyond. A float's
 * decimal exponent lies in -45..38, so scaling it to nine digits takes
 * 10^(8 - e) with 8 - e in -30..53. */
static const double POW10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
	1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27,
	1e28, 1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38, 1e39, 1e40,
	1e41, 1e42, 1e43, 1e44, 1e45, 1e46, 1e47, 1e48, 1e49, 1e50, 1e51, 1e52, 1e53,
};

/* x * 10^k: one rounding while 10^|k| is exact (|k| <= 22), two beyond, so
 * within 2^-52 of the exact product either way. */
static double scale(double x, int k)
{
	return k >= 0 ? x * POW10[k] : x / POW10[-k];
}

/* floor(log2(v)) for a finite v > 0, from its bits. */
static int binary_exponent(float v)
{
	uint32_t bits;
	memcpy(&bits, &v, sizeof bits);
	int biased = (int)(bits >> 23);
	if (biased == 0) {
		/* subnormal: v = m * 2^-149 */
		return -149 + 31 - __builtin_clz(bits);
	}
	return biased - 127;
}

/* floor(e2 * log10(2)): the decimal exponent of v or one less, for v in
 * [2^e2, 2^(e2+1)). 78913 / 2^18 is log10(2) to 2e-7, exact enough for
 * |e2| < 1000. */
static int decimal_exponent_estimate(int e2)
{
	int t = e2 * 78913;
	return t >= 0 ? t >> 18 : -((-t + (1 << 18) - 1) >> 18);
}

/* Whether s, within 2^-52 relative of an exact x * 10^k below 1e9, may
 * round the other way than the exact value does: its fraction is this near
 * one half (the error is under 2.3e-7). */
static int near_tie(double s)
{
	return fabs(s - (double)(uint64_t)s - 0.5) < 1e-6;
}

/* The nine significant digits of a finite v > 0 as an integer in
 * [1e8, 1e9), and the decimal exponent of the first; -1 when a near-tie
 * makes the double arithmetic unsure of the last digit. */
static int significant_digits(float v, uint64_t *digits, int *exp10)
{
	double x = v;
	int e = decimal_exponent_estimate(binary_exponent(v));
	double s = scale(x, DIGITS - 1 - e);
	if (!near_tie(s) && s >= 999999999.5) {
		/* Either the estimate was one low or x rounds up to 10^(e+1). */
		e++;
		s = scale(x, DIGITS - 1 - e);
	}
	if (near_tie(s)) {
		return -1;
	}
	*digits = (uint64_t)(s + 0.5); /* not a tie, so no rounding rule to keep */
	*exp10 = e;
	return 0;
}

/* "00" .. "99" */
static const char PAIRS[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Writes n < 10^9 as exactly nine digits, two at a time. */
static void write_nine_digits(char *d, uint32_t n)
{
	uint32_t low = n % 100000000;
	d[0] = (char)('0' + n / 100000000);
	memcpy(d + 1, PAIRS + 2 * (low / 1000000), 2);
	memcpy(d + 3, PAIRS + 2 * (low / 10000 % 100), 2);
	memcpy(d + 5, PAIRS + 2 * (low / 100 % 100), 2);
	memcpy(d + 7, PAIRS + 2 * (low % 100), 2);
}

/* d[0..nd) are the significant digits (no trailing zero), exp10 the first's. */
static size_t write_fixed(char *out, const char *d, int nd, int exp10)
{
	size_t n = 0;
	if (exp10 < 0) {
		out[n++] = '0';
		out[n++] = '.';
		for (int i = 0; i < -exp10 - 1; i++) {
			out[n++] = '0';
		}
		memcpy(out + n, d, (size_t)nd);
		return n + (size_t)nd;
	}
	for (int i = 0; i <= exp10; i++) {
		out[n++] = i < nd ? d[i] : '0';
	}
	if (nd > exp10 + 1) {
		out[n++] = '.';
		memcpy(out + n, d + exp10 + 1, (size_t)(nd - exp10 - 1));
		n += (size_t)(nd - exp10 - 1);
	}
	return n;
}

static size_t write_exponential(char *out, const char *d, int nd, int exp10)
{
	size_t n = 0;
	out[n++] = d[0];
	if (nd > 1) {
		out[n++] = '.';
		memcpy(out + n, d + 1, (size_t)nd - 1);
		n += (size_t)nd - 1;
	}
	out[n++] = 'e';
	out[n++] = exp10 < 0 ? '-' : '+';
	unsigned e = (unsigned)(exp10 < 0 ? -exp10 : exp10);
	return n + tc_uint_text(out + n, e, 2);
}

size_t tc_float_text(char *out, float v)
{
	size_t n = 0;
	if (signbit(v)) {
		out[n++] = '-';
		v = -v;
	}
	if (isnan(v) || isinf(v)) {
		memcpy(out + n, isnan(v) ? "nan" : "inf", 3);
		return n + 3;
	}
	if (v == 0) {
		out[n++] = '0';
		return n;
	}
	int exp10;
	uint64_t digits;
	if (significant_digits(v, &digits, &exp10) < 0) {
		/* about 1 float in 500,000: glibc rounds the exact value */
		char buf[TC_FLOAT_TEXT_MAX + 1];
		int len = snprintf(buf, sizeof buf, "%.9g", (double)v);
		memcpy(out + n, buf, (size_t)len);
		return n + (size_t)len;
	}
	char d[DIGITS];
	write_nine_digits(d, (uint32_t)digits);
	int nd = DIGITS;
	while (nd > 1 && d[nd - 1] == '0') {
		nd--;
	}
	if (exp10 < -4 || exp10 >= DIGITS) {
		return n + write_exponential(out + n, d, nd, exp10);
	}
	return n + write_fixed(out + n, d, nd, exp10);
}
