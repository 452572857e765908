/* array.c -- growing a heap array of n items (see array.h). */
#include "array.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((uintptr_t)2 << 20) /* bytes: x86-64's transparent huge page */

void tc_array_advise_huge(void *p, size_t bytes)
{
	uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	uintptr_t end = ((uintptr_t)p + bytes) & ~(HUGE_PAGE - 1);
	if (end > start) {
		madvise((void *)start, end - start, MADV_HUGEPAGE); /* a hint: failure changes nothing */
	}
}

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
	tc_array_advise_huge(q, n * size);
	return 0;
}
