/* step.h -- advance a set of series one step through every layer and the head.
 *
 *   uint32_t slots[] = {0, 5, 9};
 *   float in[3 * I], out[3 * O];
 *   tc_step(model, state, slots, 3, in, out);
 *
 * The slots are split into blocks of TC_STEP_BLOCK series; OpenMP threads
 * take blocks in a static schedule and carry each block through all layers
 * and the head before the next, so its states stay in cache. No allocation,
 * lock or system call happens inside a step. */
#ifndef TC_STEP_H
#define TC_STEP_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct tc_state;

#define TC_STEP_BLOCK 16 /* series per block; a multiple of 4 */

/* For each i < n, advances slot slots[i] (< capacity, each at most once)
 * with input inputs[i*I .. i*I+I) and writes its head outputs to
 * outputs[i*O .. i*O+O). Returns 0, or -1 with err when st does not fit m. */
int tc_step(const struct tc_model *m, struct tc_state *st, const uint32_t *slots,
	size_t n, const float *inputs, float *outputs, char *err);

/* Name of the kernel tc_step uses on this CPU for models of a precision:
 * fp32 "avx512", "avx2" or "c"; bf16 "avx512bf16" where the CPU has
 * AVX512-BF16, else "c_bf16", the portable (and slow) reference. */
const char *tc_step_kernel_name(enum tc_precision precision);

/* The same for m's precision. */
const char *tc_step_model_kernel_name(const struct tc_model *m);

/* Forces the kernel by name (for tests and benches) for the models of its
 * precision: c_bf16 and avx512bf16 serve bf16 models, the others fp32 ones.
 * Returns that precision (enum tc_precision, fp32 = 0), or -1 when the name
 * is unknown or this CPU cannot run it. Not thread-safe. */
int tc_step_use_kernel(const char *name);

#endif
