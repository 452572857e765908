/* test_activation.c -- the vectorizable exp, sigmoid and tanh against libm. */
#include <criterion/criterion.h>
#include <math.h>

#include "activation.h"

Test(activation, exp_is_within_three_ulp_of_libm_over_its_range)
{
	double worst = 0;
	for (float x = -87.0f; x <= 88.0f; x += 0.001953125f) {
		double want = exp((double)x);
		double rel = fabs(tc_expf(x) - want) / want;
		worst = rel > worst ? rel : worst;
	}
	cr_assert_lt(worst, 3.6e-7, "largest relative error %g", worst);
}

Test(activation, sigmoid_and_tanh_are_within_2e_7_absolute)
{
	double ws = 0, wt = 0;
	for (float x = -30.0f; x <= 30.0f; x += 0.0009765625f) {
		double s = fabs(tc_sigmoidf(x) - 1.0 / (1.0 + exp(-(double)x)));
		double t = fabs(tc_tanhf(x) - tanh((double)x));
		ws = s > ws ? s : ws;
		wt = t > wt ? t : wt;
	}
	cr_assert_lt(ws, 2e-7, "sigmoid: largest error %g", ws);
	cr_assert_lt(wt, 2e-7, "tanh: largest error %g", wt);
}

Test(activation, extremes_saturate_without_overflow_or_nan)
{
	cr_assert_float_eq(tc_sigmoidf(1000.0f), 1.0f, 0);
	cr_assert_float_eq(tc_sigmoidf(-1000.0f), 0.0f, 1e-30);
	cr_assert_float_eq(tc_tanhf(1000.0f), 1.0f, 0);
	cr_assert_float_eq(tc_tanhf(-1000.0f), -1.0f, 0);
	cr_assert(isfinite(tc_expf(1e30f)) && tc_expf(-1e30f) >= 0.0f);
}
