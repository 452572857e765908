/* linear_kernel.c -- one block of series through a linear map (the head's
 * linear operations): the product of kernel_gemm.h, nothing more. */
#include "kernel_gemm.h"

void KFN(linear)(const struct tc_packed *w, const float *h, int ldh, int count, float *y,
	float *scratch)
{
	gemm_floats(w, h, ldh, y, count, (elem *)scratch);
}
