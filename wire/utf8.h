/* utf8.h -- text from outside (series ids, file paths in error messages) made
 * fit for JSON, which must be valid UTF-8.
 *
 * Series ids are bytes: any but spaces and control characters. A reply that
 * carries one as a JSON string cannot carry bytes that are not UTF-8, so each
 * byte that does not start a well-formed UTF-8 sequence (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF) becomes U+FFFD, the
 * replacement character, and the rest is kept as it is. */
#ifndef TC_UTF8_H
#define TC_UTF8_H

#include <stddef.h>

/* Bytes of the well-formed UTF-8 sequence at s (n bytes left): 1 to 4, or 0
 * when s[0] does not start one. */
size_t tc_utf8_sequence(const unsigned char *s, size_t n);

/* Nonzero when the len bytes of s are all well-formed UTF-8. */
int tc_utf8_valid(const char *s, size_t len);

/* Copies the well-formed sequence at s[*i] (n bytes in all) to out, or
 * writes U+FFFD for a byte that does not start one; advances *i past what
 * it read. Returns the bytes written (1 to 4). */
size_t tc_utf8_put(char *out, const char *s, size_t n, size_t *i);

/* Writes s (len bytes) to out with every byte that does not start a
 * well-formed sequence replaced by U+FFFD (3 bytes): out must hold 3 * len
 * bytes. Returns the bytes written (no NUL added). */
size_t tc_utf8_replace_invalid(char *out, const char *s, size_t len);

#endif
