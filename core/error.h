/* error.h -- the message buffer every fallible call in tickcast fills.
 *
 * A fallible function takes `char *err` pointing at TC_ERR_LEN bytes and, on
 * failure, writes one line a person can act on: what, where, what was
 * expected.  Detect once, report once: callers add context by prefixing, not
 * by writing a second message. */
#ifndef TC_ERROR_H
#define TC_ERROR_H

#include <stddef.h>

#define TC_ERR_LEN 512

/* Formats into err (TC_ERR_LEN bytes); err may be NULL. Always returns -1 so
 * that `return tc_err_set(err, ...)` reads as a failure. */
int tc_err_set(char *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to the message already in err (no-op when err is NULL). */
void tc_err_prefix(char *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
