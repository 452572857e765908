/* parallel_copy.h -- a large memcpy split across the OpenMP threads.
 *
 * A checkpoint's snapshot copies the hidden states (hundreds of MB at a
 * million series) while the tick engine is held; one thread moves about
 * 11 GB/s, two nearly twice that (docs/benchmarks.md, "Checkpoints"). */
#ifndef TC_PARALLEL_COPY_H
#define TC_PARALLEL_COPY_H

#include <stddef.h>

/* memcpy(dst, src, bytes) by the OpenMP threads, each a contiguous part;
 * below a few MB, by the caller alone. The ranges must not overlap. */
void tc_parallel_copy(void *dst, const void *src, size_t bytes);

#endif
