/* decimal.h -- a decimal number token to a double, as strtod reads it, fast.
 *
 * Text readings carry a number or two each, a million a second; glibc's
 * strtod takes ~100 ns for "0.123456789". Most tokens are plain decimals
 * ([+-]digits[.digits][e[+-]digits]) with at most 19 significant digits
 * whose integer m fits 2^53 and whose power of ten p is within 10^±22: then
 * m and 10^|p| are exact doubles and one multiplication or division rounds
 * once, which is exactly strtod's correctly rounded result (Clinger's fast
 * path). Every other token (more digits, larger exponents, inf, nan, hex,
 * anything malformed) goes to strtod itself, so what is accepted and what it
 * is worth never differ from strtod's.
 *
 *     double v;
 *     if (tc_decimal_parse("0.25", 4, &v) == 0) { ... }   // v = 0.25
 */
#ifndef TC_DECIMAL_H
#define TC_DECIMAL_H

#include <stddef.h>

#define TC_DECIMAL_MAX 63 /* longest token, bytes; longer ones are refused */

/* Reads all len bytes of s (no NUL needed) as strtod would. Returns 0 with
 * *out set, or -1 when strtod would not consume exactly the whole token (or
 * it is empty or longer than TC_DECIMAL_MAX). *out may be inf or nan, as
 * strtod gives them ("inf", "1e999"); the caller judges finiteness. */
int tc_decimal_parse(const char *s, size_t len, double *out);

#endif
