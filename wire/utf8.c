/* utf8.c -- well-formed UTF-8, and invalid bytes replaced by U+FFFD (see utf8.h). */
#include "utf8.h"

#include <string.h>

static int is_continuation(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

size_t tc_utf8_sequence(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80) {
		return 1;
	}
	/* The lead byte gives the length and the range the second byte may take
	 * (RFC 3629, section 4): this rules out overlong forms and surrogates. */
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi) {
		return 0;
	}
	for (size_t i = 2; i < len; i++) {
		if (!is_continuation(s[i])) {
			return 0;
		}
	}
	return len;
}

int tc_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t n = tc_utf8_sequence(p + i, len - i);
		if (!n) {
			return 0;
		}
		i += n;
	}
	return 1;
}

size_t tc_utf8_put(char *out, const char *s, size_t n, size_t *i)
{
	size_t seq = tc_utf8_sequence((const unsigned char *)s + *i, n - *i);
	if (!seq) {
		(*i)++;
		memcpy(out, "\xef\xbf\xbd", 3); /* U+FFFD */
		return 3;
	}
	memcpy(out, s + *i, seq);
	*i += seq;
	return seq;
}

size_t tc_utf8_replace_invalid(char *out, const char *s, size_t len)
{
	size_t used = 0;
	for (size_t i = 0; i < len;) {
		used += tc_utf8_put(out + used, s, len, &i);
	}
	return used;
}
