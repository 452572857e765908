/* test_scaler.c -- the EMA scaler against tools/scaler.py's vectors, and its slots. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "golden.h"
#include "scaler.h"

#define MAX_VALUES 64 /* widths and output counts in vectors.txt are far smaller */

/* One line: its first word, a sequence's name, and the numbers after them. */
struct line {
	char kind[32];
	char name[64];
	double v[4 * MAX_VALUES + 8];
	int n;
};

/* Reads the next line that is not a comment into l; 0 at the end. */
static int read_line(FILE *f, struct line *l, int *lineno)
{
	char buf[16384];
	while (fgets(buf, sizeof buf, f)) {
		(*lineno)++;
		if (buf[0] == '#' || buf[0] == '\n') {
			continue;
		}
		char *save;
		char *tok = strtok_r(buf, " \n", &save);
		snprintf(l->kind, sizeof l->kind, "%s", tok);
		l->n = 0;
		l->name[0] = '\0';
		if (strcmp(l->kind, "sequence") == 0) {
			snprintf(l->name, sizeof l->name, "%s", strtok_r(NULL, " \n", &save));
		}
		while ((tok = strtok_r(NULL, " \n", &save))) {
			cr_assert_lt(l->n, (int)(sizeof l->v / sizeof l->v[0]), "line %d: too long",
				*lineno);
			char *end;
			l->v[l->n++] = strtod(tok, &end);
			cr_assert_eq(*end, '\0', "line %d: not a number: %s", *lineno, tok);
		}
		return 1;
	}
	return 0;
}

/* |got - want| <= rel * |want|, or <= abs_floor when want is near 0. */
static void expect_close(double got, double want, double rel, double abs_floor,
	const char *what, const char *seq, int lineno, int i)
{
	double tol = fmax(rel * fabs(want), abs_floor);
	cr_assert(fabs(got - want) <= tol, "%s line %d: %s[%d] = %.17g, Python %.17g (tol %g)",
		seq, lineno, what, i, got, want, tol);
}

Test(scaler, matches_the_python_rule_on_every_shared_vector)
{
	FILE *f = fopen(test_data("scaler/vectors.txt"), "r");
	cr_assert_not_null(f, "tests/data/scaler/vectors.txt is missing; run tools/gen_scaler_vectors.py");
	struct line *l = malloc(sizeof *l);
	char err[TC_ERR_LEN];
	struct tc_scaler *sc = NULL;
	char seq[64] = "";
	int width = 0, n_out = 0, lineno = 0, sequences = 0, steps = 0;
	float ys[MAX_VALUES];
	const size_t slot = 3; /* not slot 0, so the slot arithmetic counts */
	while (read_line(f, l, &lineno)) {
		if (strcmp(l->kind, "sequence") == 0) {
			tc_scaler_destroy(&sc);
			width = (int)l->v[0];
			n_out = (int)l->v[3];
			cr_assert(width <= MAX_VALUES && n_out <= MAX_VALUES && l->n == 4 + n_out);
			sc = tc_scaler_create(width, l->v[1], (uint32_t)l->v[2], slot + 1, err);
			cr_assert_not_null(sc, "%s", err);
			for (int k = 0; k < n_out; k++) {
				ys[k] = (float)l->v[4 + k];
				cr_assert_eq((double)ys[k], l->v[4 + k], "outputs must be float32 values");
			}
			snprintf(seq, sizeof seq, "%s", l->name);
			sequences++;
			continue;
		}
		cr_assert_not_null(sc, "line %d: a step before any sequence", lineno);
		cr_assert_eq(l->n, 4 * width + 2 + n_out, "line %d: %d numbers", lineno, l->n);
		const double *x = l->v;
		double n = x[width];
		const double *m = x + width + 1, *v = m + width, *z = v + width;
		int warm = (int)z[width];
		const double *r = z + width + 1;
		float xf[MAX_VALUES], zf[MAX_VALUES], yf[MAX_VALUES];
		for (int i = 0; i < width; i++) {
			xf[i] = (float)x[i];
			cr_assert_eq((double)xf[i], x[i], "inputs must be float32 values");
		}
		if (strcmp(l->kind, "read") == 0) {
			tc_scaler_update(sc, slot, xf);
		} else {
			cr_assert_str_eq(l->kind, "hold", "line %d", lineno);
		}
		tc_scaler_standardise(sc, slot, xf, zf);
		memcpy(yf, ys, (size_t)n_out * sizeof *yf);
		tc_scaler_restore(sc, slot, yf, n_out);
		cr_assert_eq((double)tc_scaler_readings(sc, slot), n, "%s line %d: n", seq, lineno);
		cr_assert_eq(tc_scaler_is_warm(sc, slot), warm, "%s line %d: warm", seq, lineno);
		const double *cm = tc_scaler_mean(sc, slot), *cv = tc_scaler_variance(sc, slot);
		for (int i = 0; i < width; i++) {
			expect_close(cm[i], m[i], 1e-12, 0, "m", seq, lineno, i);
			expect_close(cv[i], v[i], 1e-12, 0, "v", seq, lineno, i);
			expect_close(zf[i], z[i], 1e-6, 1e-6, "z", seq, lineno, i);
		}
		for (int k = 0; k < n_out; k++) {
			expect_close(yf[k], r[k], 1e-6, 1e-6, "restored", seq, lineno, k);
		}
		steps++;
	}
	tc_scaler_destroy(&sc);
	free(l);
	fclose(f);
	cr_assert_geq(sequences, 8, "only %d sequences", sequences);
	cr_assert_geq(steps, 200, "only %d steps", steps);
}

Test(scaler, a_first_reading_sets_the_mean_and_standardises_to_zero)
{
	char err[TC_ERR_LEN];
	struct tc_scaler *sc = tc_scaler_create(2, 0.5, 2, 4, err);
	cr_assert_not_null(sc, "%s", err);
	const float x[2] = {10.0f, -3.0f};
	float z[2];
	cr_assert_eq(tc_scaler_update(sc, 1, x), 0, "one reading of two: not warm yet");
	tc_scaler_standardise(sc, 1, x, z);
	cr_assert_eq(z[0], 0.0f);
	cr_assert_eq(z[1], 0.0f);
	cr_assert_eq(tc_scaler_mean(sc, 1)[0], 10.0);
	cr_assert_eq(tc_scaler_variance(sc, 1)[1], 0.0);
	/* d = 2, m = 11, v = 0.5 * (0 + 0.5 * 4) = 1, z = (12 - 11) / 1 */
	const float x2[2] = {12.0f, -3.0f};
	cr_assert_eq(tc_scaler_update(sc, 1, x2), 1, "the second reading makes it warm");
	tc_scaler_standardise(sc, 1, x2, z);
	cr_assert_float_eq(z[0], 1.0f, 1e-6f);
	cr_assert_eq(tc_scaler_mean(sc, 1)[0], 11.0);
	cr_assert_eq(tc_scaler_variance(sc, 1)[0], 1.0);
	cr_assert(tc_scaler_is_warm(sc, 1));
	cr_assert_eq(tc_scaler_update(sc, 1, x2), 0, "it became warm only once");
	tc_scaler_destroy(&sc);
	cr_assert_null(sc);
}

Test(scaler, restores_output_k_with_input_value_k_mod_width)
{
	char err[TC_ERR_LEN];
	struct tc_scaler *sc = tc_scaler_create(2, 0.5, 0, 1, err);
	cr_assert_not_null(sc, "%s", err);
	tc_scaler_update(sc, 0, (const float[]){100.0f, -7.0f});
	tc_scaler_update(sc, 0, (const float[]){104.0f, -7.0f});
	/* value 0: m = 102, v = 0.5 * 0.5 * 16 = 4, s = 2; value 1: m = -7, s = 1e-6 */
	float y[5] = {1.0f, 1.0f, -0.5f, 2.0f, 0.0f};
	tc_scaler_restore(sc, 0, y, 5);
	cr_assert_float_eq(y[0], 104.0f, 1e-4f);
	cr_assert_float_eq(y[1], -7.0f, 1e-4f);
	cr_assert_float_eq(y[2], 101.0f, 1e-4f);
	cr_assert_float_eq(y[3], -7.0f, 1e-4f);
	cr_assert_float_eq(y[4], 102.0f, 1e-4f);
	tc_scaler_destroy(&sc);
}

Test(scaler, slots_are_independent_and_clear_starts_one_afresh)
{
	char err[TC_ERR_LEN];
	struct tc_scaler *sc = tc_scaler_create(1, 0.1, 3, 2, err);
	cr_assert_not_null(sc, "%s", err);
	for (int i = 0; i < 3; i++) {
		tc_scaler_update(sc, 0, (const float[]){(float)i});
	}
	tc_scaler_update(sc, 1, (const float[]){50.0f});
	cr_assert(tc_scaler_is_warm(sc, 0));
	cr_assert_not(tc_scaler_is_warm(sc, 1));
	cr_assert_eq(tc_scaler_mean(sc, 1)[0], 50.0);
	tc_scaler_clear(sc, 0);
	cr_assert_eq(tc_scaler_readings(sc, 0), 0);
	cr_assert_not(tc_scaler_is_warm(sc, 0));
	tc_scaler_update(sc, 0, (const float[]){-4.0f});
	cr_assert_eq(tc_scaler_mean(sc, 0)[0], -4.0, "the first reading after a clear sets m");
	cr_assert_eq(tc_scaler_variance(sc, 0)[0], 0.0);
	cr_assert_eq(tc_scaler_mean(sc, 1)[0], 50.0, "the other slot is untouched");
	tc_scaler_destroy(&sc);
}

Test(scaler, growing_keeps_every_slot_and_clears_the_new_ones)
{
	char err[TC_ERR_LEN];
	struct tc_scaler *sc = tc_scaler_create(3, 0.2, 1, 2, err);
	cr_assert_not_null(sc, "%s", err);
	tc_scaler_update(sc, 1, (const float[]){1.0f, 2.0f, 3.0f});
	tc_scaler_update(sc, 1, (const float[]){2.0f, 2.0f, 5.0f});
	double m[3], v[3];
	memcpy(m, tc_scaler_mean(sc, 1), sizeof m);
	memcpy(v, tc_scaler_variance(sc, 1), sizeof v);
	cr_assert_eq(tc_scaler_grow(sc, 5000, err), 0, "%s", err);
	cr_assert_geq(tc_scaler_capacity(sc), 5000);
	cr_assert_eq(tc_scaler_grow(sc, 10, err), 0, "shrinking is a no-op");
	cr_assert_geq(tc_scaler_capacity(sc), 5000);
	cr_assert_arr_eq(tc_scaler_mean(sc, 1), m, sizeof m);
	cr_assert_arr_eq(tc_scaler_variance(sc, 1), v, sizeof v);
	cr_assert_eq(tc_scaler_readings(sc, 1), 2);
	cr_assert_eq(tc_scaler_readings(sc, 4999), 0);
	cr_assert_not(tc_scaler_is_warm(sc, 4999));
	cr_assert_eq(tc_scaler_memory(sc), tc_scaler_capacity(sc) * (2 * 3 * sizeof(double) + 4),
		"per slot: m and v of each of the 3 values, and the count");
	tc_scaler_destroy(&sc);
}

Test(scaler, a_warmup_of_zero_is_warm_from_the_start)
{
	char err[TC_ERR_LEN];
	struct tc_scaler *sc = tc_scaler_create(1, 0.05, 0, 1, err);
	cr_assert_not_null(sc, "%s", err);
	cr_assert(tc_scaler_is_warm(sc, 0));
	cr_assert_eq(tc_scaler_update(sc, 0, (const float[]){1.0f}), 0);
	tc_scaler_destroy(&sc);
}

Test(scaler, refuses_an_alpha_outside_zero_to_one_and_a_bad_width)
{
	char err[TC_ERR_LEN];
	static const double bad[] = {0.0, -0.1, 1.0000001, NAN};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		cr_assert_null(tc_scaler_create(1, bad[i], 1, 0, err), "alpha %g accepted", bad[i]);
		cr_assert(strstr(err, "not in (0, 1]"), "%s", err);
	}
	cr_assert_null(tc_scaler_create(0, 0.5, 1, 0, err));
	cr_assert(strstr(err, "width 0"), "%s", err);
	struct tc_scaler *sc = tc_scaler_create(1, 1.0, 1, 0, err);
	cr_assert_not_null(sc, "alpha 1 is allowed: %s", err);
	tc_scaler_destroy(&sc);
	tc_scaler_destroy(&sc);
	tc_scaler_destroy(NULL);
}
