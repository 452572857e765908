/* memory_limit.h -- runs part of a test with little address space left, so
 * that out-of-memory paths run for real (RLIMIT_AS: malloc returns NULL).
 * Not under AddressSanitizer, whose shadow memory needs terabytes of
 * address space: those tests skip there, saying so. */
#ifndef TC_TEST_MEMORY_LIMIT_H
#define TC_TEST_MEMORY_LIMIT_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <sys/resource.h>

/* Skips the test under AddressSanitizer. */
static inline void memory_limit_skip_under_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("RLIMIT_AS cannot be lowered under AddressSanitizer");
#endif
}

/* This process's address space now, bytes (VmSize). */
static inline long long memory_limit_vm_size(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	cr_assert_not_null(f);
	char line[256];
	long long kb = -1;
	while (fgets(line, sizeof line, f) && sscanf(line, "VmSize: %lld kB", &kb) != 1) {
	}
	fclose(f);
	cr_assert_gt(kb, 0);
	return kb * 1024;
}

/* Allows `headroom` bytes of address space beyond what is used now; returns
 * the limit it replaced, for memory_limit_restore. */
static inline struct rlimit memory_limit_set(long long headroom)
{
	struct rlimit old;
	cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
	struct rlimit lim = old;
	lim.rlim_cur = (rlim_t)(memory_limit_vm_size() + headroom);
	cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0);
	return old;
}

static inline void memory_limit_restore(struct rlimit old)
{
	cr_assert_eq(setrlimit(RLIMIT_AS, &old), 0);
}

#endif
