/* golden.h -- helpers shared by the tests that read tests/data. */
#ifndef TC_TEST_GOLDEN_H
#define TC_TEST_GOLDEN_H

#include <stdio.h>
#include <stdlib.h>

/* The path of `rel` under tests/data (TC_TEST_DATA), in a static buffer. */
static inline const char *test_data(const char *rel)
{
	static char path[4096];
	const char *root = getenv("TC_TEST_DATA");
	snprintf(path, sizeof path, "%s/%s", root ? root : "tests/data", rel);
	return path;
}

#endif
