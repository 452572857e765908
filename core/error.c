/* error.c -- formatting of the one-line error messages (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int tc_err_set(char *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, TC_ERR_LEN, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void tc_err_prefix(char *err, const char *fmt, ...)
{
	if (!err) {
		return;
	}
	char prefix[TC_ERR_LEN];
	char old[TC_ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err, TC_ERR_LEN);
	old[TC_ERR_LEN - 1] = '\0';
	int used = snprintf(err, TC_ERR_LEN, "%s: ", prefix);
	if (used >= 0 && used < TC_ERR_LEN) {
		snprintf(err + used, (size_t)(TC_ERR_LEN - used), "%s", old);
	}
}
