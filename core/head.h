/* head.h -- (internal) the head's operations: built from the spec and
 * tensors with the model, run on a block of last-layer states by step.c. */
#ifndef TC_HEAD_H
#define TC_HEAD_H

#include "kernel.h"
#include "layer.h"
#include "model.h"

/* Builds ops[0 .. *n) from spec's head (dropouts are left out) on rows of
 * `in` values, with bf16 panels for bf16 models. Returns 0, or -1 when out
 * of memory (what was built is freed by tc_head_free). */
int tc_head_build(struct tc_head_op *ops, int *n, const struct tc_model_spec *spec,
	const struct tc_head_weights *w, int in);

void tc_head_free(struct tc_head_op *ops, int n);

/* Floats of one row of the head's widest operand or result (packed width). */
int tc_head_max_width(const struct tc_head_op *ops, int n);

/* Runs the ops on `count` rows of h (stride ldh, read only) and returns the
 * rows of the result, *ld apart: in buf, two blocks of `block` (at least
 * TC_STEP_BLOCK x tc_head_max_width) floats. scratch is the kernel's. */
const float *tc_head_run(const struct tc_head_op *ops, int n, const struct tc_kernel *kern,
	const float *h, int ldh, int count, float *buf, size_t block, float *scratch, int *ld);

#endif
