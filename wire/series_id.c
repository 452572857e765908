/* series_id.c -- checking a series id's length and bytes (see series_id.h). */
#include "series_id.h"

#include "error.h"

int tc_series_id_check(const char *id, size_t len, char *err)
{
	if (len == 0) {
		return tc_err_set(err, "empty series id");
	}
	if (len > TC_ID_MAX) {
		return tc_err_set(err, "series id is %zu bytes, the limit is %d", len, TC_ID_MAX);
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];
		if (c <= ' ' || c == 0x7f) {
			return tc_err_set(err, "series id has %s 0x%02x at byte %zu",
				c == ' ' ? "a space" : "control character", c, i + 1);
		}
	}
	return 0;
}
