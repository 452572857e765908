/* uint_text.h -- an unsigned integer as decimal text, without printf, for the hot writers.
 *
 * Forecast timestamps and float exponents are written a million times a
 * second; this is their one integer writer.
 *
 *     char buf[TC_UINT_TEXT_MAX];
 *     size_t n = tc_uint_text(buf, 7, 2);      // "07", n = 2, no NUL
 */
#ifndef TC_UINT_TEXT_H
#define TC_UINT_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define TC_UINT_TEXT_MAX 20 /* bytes: UINT64_MAX has 20 digits */

/* Writes v in decimal into out with at least min_digits digits (zeros in
 * front; min_digits at most TC_UINT_TEXT_MAX), no NUL, and returns the length. */
size_t tc_uint_text(char *out, uint64_t v, int min_digits);

#endif
