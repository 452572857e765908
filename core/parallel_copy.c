/* parallel_copy.c -- memcpy in one contiguous part per OpenMP thread. */
#include "parallel_copy.h"

#include <omp.h>
#include <string.h>

#define SERIAL_BYTES ((size_t)4 << 20)  /* below this a thread team costs more than it saves */
#define PART_ALIGN 4096                 /* parts start on page boundaries */

void tc_parallel_copy(void *dst, const void *src, size_t bytes)
{
	if (bytes < SERIAL_BYTES) {
		memcpy(dst, src, bytes);
		return;
	}
#pragma omp parallel
	{
		size_t threads = (size_t)omp_get_num_threads();
		size_t part = (bytes / threads + PART_ALIGN - 1) / PART_ALIGN * PART_ALIGN;
		size_t lo = part * (size_t)omp_get_thread_num();
		size_t hi = lo + part < bytes ? lo + part : bytes;
		if (lo < hi) {
			memcpy((char *)dst + lo, (const char *)src + lo, hi - lo);
		}
	}
}
