/* decimal.c -- decimal tokens to doubles: Clinger's fast path, else strtod. */
#include "decimal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXACT_POW10 22            /* 10^22 is the largest exact power of ten in a double */
#define MANTISSA_LIMIT (1ull << 53)

static const double POW10[EXACT_POW10 + 1] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads the digits at *p (up to end) into *m, counting them in *count and
 * those that did not fit 19 significant digits in *dropped. */
static void read_digits(const char **p, const char *end, uint64_t *m, int *count, int *dropped)
{
	for (; *p < end && is_digit(**p); (*p)++) {
		(*count)++;
		if (*m < 1000000000000000000ull) {     /* 19 digits at most: no overflow */
			*m = *m * 10 + (uint64_t)(**p - '0');
		} else {
			(*dropped)++;
		}
	}
}

/* The fast path: 0 with *out when s is a plain decimal that it can round
 * exactly, -1 to leave it to strtod. */
static int parse_fast(const char *s, const char *end, double *out)
{
	const char *p = s;
	int negative = 0;
	if (p < end && (*p == '+' || *p == '-')) {
		negative = *p++ == '-';
	}
	uint64_t m = 0;
	int int_digits = 0, frac_digits = 0, dropped = 0;
	read_digits(&p, end, &m, &int_digits, &dropped);
	int frac_dropped = 0;
	if (p < end && *p == '.') {
		p++;
		read_digits(&p, end, &m, &frac_digits, &frac_dropped);
	}
	if (int_digits + frac_digits == 0 || dropped || frac_dropped) {
		return -1;
	}
	int exp10 = -frac_digits;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		int exp_negative = 0;
		if (p < end && (*p == '+' || *p == '-')) {
			exp_negative = *p++ == '-';
		}
		int e = 0, e_digits = 0;
		for (; p < end && is_digit(*p) && e_digits < 4; p++, e_digits++) {
			e = e * 10 + (*p - '0');
		}
		if (e_digits == 0) {
			return -1;
		}
		exp10 += exp_negative ? -e : e;
	}
	if (p != end || m > MANTISSA_LIMIT || exp10 < -EXACT_POW10 || exp10 > EXACT_POW10) {
		return -1;
	}
	double v = (double)m;
	v = exp10 >= 0 ? v * POW10[exp10] : v / POW10[-exp10];
	*out = negative ? -v : v;
	return 0;
}

int tc_decimal_parse(const char *s, size_t len, double *out)
{
	if (len == 0 || len > TC_DECIMAL_MAX) {
		return -1;
	}
	if (parse_fast(s, s + len, out) == 0) {
		return 0;
	}
	char buf[TC_DECIMAL_MAX + 1];
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *stop;
	*out = strtod(buf, &stop);
	return stop == buf + len ? 0 : -1;
}
