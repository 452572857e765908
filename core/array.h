/* array.h -- growing a heap array of n items: the one realloc wrapper of per-series arrays.
 *
 * The tick engine, the staging buffer, the scalers and the daemon's queue
 * each keep arrays of one item per series (or per reading) that grow when
 * more arrive; they all grow them here, so the overflow check and the
 * keep-the-old-array-on-failure rule are written once. */
#ifndef TC_ARRAY_H
#define TC_ARRAY_H

#include <stddef.h>

/* Reallocates *p (NULL for none yet) to n items of size bytes each. Returns
 * 0 with *p the new array, or -1 with *p unchanged (still valid, still the
 * caller's) when n * size overflows or memory ran out. Items past the old
 * size are uninitialised. */
int tc_array_grow(void **p, size_t n, size_t size);

/* Asks the kernel to back the whole 2 MB pages inside [p, p + bytes) with
 * huge pages, where transparent huge pages are `madvise`: a million series'
 * arrays then fault in 2 MB at a time instead of 4 KB, which is most of what
 * registering them costs (docs/benchmarks.md, "Memory per series"). A hint;
 * nothing changes where it is not taken. */
void tc_array_advise_huge(void *p, size_t bytes);

#endif
