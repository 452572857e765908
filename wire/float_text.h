/* float_text.h -- a float32 as decimal text, fast, for forecasts.
 *
 * Forecast lines hold a dozen floats each and a daemon writes a million of
 * them a second; snprintf("%.9g") costs ~200 ns a float, tc_float_text ~20.
 * It writes exactly what "%.9g" writes: nine significant digits with
 * trailing zeros dropped, fixed notation for decimal exponents -4..8 and
 * d.ddde+XX outside, "nan", "-nan", "inf", "-inf", "-0"; nine digits read
 * back (strtof) as the same float. The digits come from one double
 * multiplication by a power of ten; the rare value whose ninth digit sits
 * so near a tie that the double's error could tip it (about 1 in 500,000)
 * goes to snprintf, which rounds the exact value.
 *
 *     char buf[TC_FLOAT_TEXT_MAX];
 *     size_t n = tc_float_text(buf, 0.1f);      // "0.100000001", n = 11, no NUL
 */
#ifndef TC_FLOAT_TEXT_H
#define TC_FLOAT_TEXT_H

#include <stddef.h>

#define TC_FLOAT_TEXT_MAX 16  /* "-1.23456789e-38" is 15 */

/* Writes v into out (TC_FLOAT_TEXT_MAX bytes; no NUL) and returns the length. */
size_t tc_float_text(char *out, float v);

#endif
