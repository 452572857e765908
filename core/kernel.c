/* kernel.c -- picks the fastest build of the block kernels this CPU runs. */
#include <stddef.h>
#include <string.h>

#include "kernel.h"

static const struct tc_kernel kernels[] = {
#ifdef TC_X86_KERNELS
	{"avx512", tc_kernel_gru_avx512, tc_kernel_linear_avx512},
	{"avx2", tc_kernel_gru_avx2, tc_kernel_linear_avx2},
#endif
	{"c", tc_kernel_gru_c, tc_kernel_linear_c},
};

static int cpu_runs(const char *name)
{
#ifdef TC_X86_KERNELS
	__builtin_cpu_init();
	if (strcmp(name, "avx512") == 0) {
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
			&& __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
	}
	if (strcmp(name, "avx2") == 0) {
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	}
#endif
	return strcmp(name, "c") == 0;
}

const struct tc_kernel *tc_kernel_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
		if (strcmp(kernels[i].name, name) == 0) {
			return cpu_runs(name) ? &kernels[i] : NULL;
		}
	}
	return NULL;
}

const struct tc_kernel *tc_kernel_best(void)
{
	for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
		if (cpu_runs(kernels[i].name)) {
			return &kernels[i];
		}
	}
	return &kernels[sizeof kernels / sizeof kernels[0] - 1];
}
