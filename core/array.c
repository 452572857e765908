/* array.c -- growing a heap array of n items (see array.h). */
#include "array.h"

#include <stdint.h>
#include <stdlib.h>

int tc_array_grow(void **p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		return -1;
	}
	void *q = realloc(*p, n * size);
	if (!q) {
		return -1;
	}
	*p = q;
	return 0;
}
