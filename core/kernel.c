/* kernel.c -- picks the fastest build of the block kernels this CPU runs. */
#include <stddef.h>
#include <string.h>

#include "kernel.h"

#define KERNEL(suffix) \
	tc_kernel_gru_##suffix, tc_kernel_rnn_##suffix, tc_kernel_lstm_##suffix, \
		tc_kernel_linear_##suffix

/* Fastest first within each precision. */
static const struct tc_kernel kernels[] = {
#ifdef TC_X86_KERNELS
	{"avx512", TC_PRECISION_FP32, KERNEL(avx512)},
	{"avx2", TC_PRECISION_FP32, KERNEL(avx2)},
#endif
	{"c", TC_PRECISION_FP32, KERNEL(c)},
#ifdef TC_X86_KERNELS
	{"avx512bf16", TC_PRECISION_BF16, KERNEL(avx512bf16)},
#endif
	{"c_bf16", TC_PRECISION_BF16, KERNEL(c_bf16)},
};

#define N_KERNELS (sizeof kernels / sizeof kernels[0])

static int cpu_runs(const char *name)
{
#ifdef TC_X86_KERNELS
	__builtin_cpu_init();
	int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
		&& __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
	if (strcmp(name, "avx512") == 0) {
		return avx512;
	}
	if (strcmp(name, "avx512bf16") == 0) {
		return avx512 && __builtin_cpu_supports("avx512bw")
			&& __builtin_cpu_supports("avx512bf16");
	}
	if (strcmp(name, "avx2") == 0) {
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	}
#endif
	return strcmp(name, "c") == 0 || strcmp(name, "c_bf16") == 0;
}

const struct tc_kernel *tc_kernel_by_name(const char *name)
{
	for (size_t i = 0; i < N_KERNELS; i++) {
		if (strcmp(kernels[i].name, name) == 0) {
			return cpu_runs(name) ? &kernels[i] : NULL;
		}
	}
	return NULL;
}

/* The plain C builds run everywhere, so the loop always finds one. */
const struct tc_kernel *tc_kernel_best(enum tc_precision precision)
{
	const struct tc_kernel *found = NULL;
	for (size_t i = 0; i < N_KERNELS && !found; i++) {
		if (kernels[i].precision == precision && cpu_runs(kernels[i].name)) {
			found = &kernels[i];
		}
	}
	return found;
}
