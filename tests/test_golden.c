/* test_golden.c -- tickcast replay against PyTorch on the cases that
 * tools/gen_golden.py wrote to tests/data/golden, with every SIMD kernel
 * this CPU runs, the bf16 ones (model.precision: bf16) included. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "golden.h"
#include "model.h"
#include "replay.h"
#include "step.h"

/* bf16 products (docs/models.md, "Precision"): both factors of each
 * product are rounded to bf16 (unit roundoff u = 2^-9), so each term is off
 * by at most 2u of itself; these models' outputs are sums of terms of
 * magnitude up to about 1 (and the scaler case scales them back up), hence
 * every value within 2u + 2u * |value| of PyTorch's float64. The largest
 * difference measured is 2.2e-3 (gru1_h1, outputs up to 0.25). */
#define BF16_ABS 0x1p-8
#define BF16_REL 0x1p-8

/* Compares replay output with expected.txt line by line: same series and
 * timestamp, every value within the tolerance its first line states:
 * `# tolerance <abs>`, or `# tolerance <abs> relative <rel>` for abs + rel * |value|;
 * with bf16, within the bf16 tolerance, and further than the file's from
 * PyTorch somewhere (else the bf16 products were not taken). */
static void compare(const char *name, const char *kernel, int bf16, FILE *got, FILE *want)
{
	char wline[16384], gline[16384];
	double tol = 0, rel = 0;
	cr_assert(fgets(wline, sizeof wline, want)
		&& sscanf(wline, "# tolerance %lf relative %lf", &tol, &rel) >= 1,
		"%s: expected.txt lacks its tolerance line", name);
	const double fp32_tol = tol;
	if (bf16) {
		tol = BF16_ABS;
		rel = BF16_REL;
	}
	int lineno = 0;
	double worst = 0;
	while (fgets(wline, sizeof wline, want)) {
		lineno++;
		cr_assert(fgets(gline, sizeof gline, got), "%s [%s]: output ends before line %d",
			name, kernel, lineno);
		char *ws, *gs;
		char *wtok = strtok_r(wline, " \n", &ws);
		char *gtok = strtok_r(gline, " \n", &gs);
		for (int field = 0; wtok; field++) {
			cr_assert(gtok, "%s [%s]: line %d has too few fields", name, kernel, lineno);
			if (field < 2) {
				cr_assert_str_eq(gtok, wtok, "%s [%s]: line %d field %d", name, kernel,
					lineno, field + 1);
			} else {
				double w = strtod(wtok, NULL);
				double d = fabs(strtod(gtok, NULL) - w);
				double allowed = tol + rel * fabs(w);
				worst = d > worst ? d : worst;
				cr_assert(d <= allowed, "%s [%s]: line %d value %d: got %s, PyTorch %s (tolerance %g)",
					name, kernel, lineno, field - 1, gtok, wtok, allowed);
			}
			wtok = strtok_r(NULL, " \n", &ws);
			gtok = strtok_r(NULL, " \n", &gs);
		}
		cr_assert_null(gtok, "%s [%s]: line %d has extra fields", name, kernel, lineno);
	}
	cr_assert_null(fgets(gline, sizeof gline, got), "%s [%s]: output has extra lines",
		name, kernel);
	cr_assert(lineno > 0, "%s: no expected lines", name);
	if (bf16) {
		cr_assert_gt(worst, fp32_tol, "%s [%s]: largest difference %g is within the fp32 "
			"tolerance: were the bf16 products taken?", name, kernel, worst);
	}
}

/* Replays case `name` with `kernel` and compares with PyTorch's answers;
 * skipped, saying so, on a CPU without that kernel. */
static void run_case(const char *name, const char *kernel)
{
	int precision = tc_step_use_kernel(kernel);
	if (precision < 0) {
		cr_skip_test("this CPU has no %s kernel", kernel);
	}
	char path[512], err[TC_ERR_LEN];
	struct tc_config cfg;
	snprintf(path, sizeof path, "golden/%s/config.yaml", name);
	cr_assert_eq(tc_config_load(&cfg, test_data(path), err), 0, "%s", err);
	cfg.model.precision = (enum tc_precision)precision;
	struct tc_model *m = tc_model_load(&cfg.model, cfg.weights_path, err);
	cr_assert_not_null(m, "%s", err);
	snprintf(path, sizeof path, "golden/%s/input.txt", name);
	FILE *in = fopen(test_data(path), "r");
	snprintf(path, sizeof path, "golden/%s/expected.txt", name);
	FILE *want = fopen(test_data(path), "r");
	FILE *got = tmpfile();
	FILE *log = tmpfile();
	cr_assert(in && want && got && log);
	struct tc_replay_stats stats;
	cr_assert_eq(tc_replay_run(&cfg, m, in, got, log, NULL, NULL, &stats, err), 0, "%s",
		err);
	rewind(got);
	compare(name, kernel, precision == TC_PRECISION_BF16, got, want);
	fclose(in);
	fclose(want);
	fclose(got);
	fclose(log);
	tc_model_destroy(&m);
}

/* Each case runs once per kernel, as a test of its own, so that a kernel
 * this CPU lacks shows as a skip rather than as a pass. */
static const char *const kernels[] = {"c", "avx2", "avx512", "c_bf16", "avx512bf16"};
static int kernel_index[] = {0, 1, 2, 3, 4}; /* parameters are copied to the test process: no pointers */

#define GOLDEN(test, case_name) \
	ParameterizedTestParameters(golden, test) \
	{ \
		return cr_make_param_array(int, kernel_index, 5); \
	} \
	ParameterizedTest(int *k, golden, test) { run_case(case_name, kernels[*k]); }

GOLDEN(one_layer_of_one_unit_matches_pytorch, "gru1_h1")
GOLDEN(layers_of_different_odd_sizes_match_pytorch, "gru2_h7_h23")
GOLDEN(three_layers_of_64_with_12_outputs_match_pytorch, "gru3_h64_o12")
GOLDEN(three_inputs_per_reading_match_pytorch, "input3_h16")
GOLDEN(reset_before_variant_matches_the_cho_formula, "reset_before_h16_h9")
GOLDEN(the_articles_hand_written_gru_matches_its_own_code, "article_gru_h24")
GOLDEN(a_single_series_matches_pytorch, "one_series")
GOLDEN(eleven_hundred_series_in_many_blocks_match_pytorch, "series1100_h32")
GOLDEN(fifty_steps_stay_within_1e_4_of_pytorch, "steps50_series4")
GOLDEN(aggregate_last_takes_the_last_reading_in_file_order, "replay_agg_last")
GOLDEN(aggregate_mean_averages_a_ticks_readings, "replay_agg_mean")
GOLDEN(aggregate_min_takes_the_smallest, "replay_agg_min")
GOLDEN(aggregate_max_takes_the_largest, "replay_agg_max")
GOLDEN(aggregate_sum_adds_them_up, "replay_agg_sum")
GOLDEN(missing_skip_leaves_quiet_series_alone, "replay_missing_skip")
GOLDEN(missing_hold_repeats_the_last_input, "replay_missing_hold")
GOLDEN(missing_zero_steps_quiet_series_with_zeros, "replay_missing_zero")
GOLDEN(the_ema_scaler_standardises_inputs_and_restores_forecasts_as_in_python, "replay_scaler_ema")
GOLDEN(a_two_layer_lstm_of_different_sizes_matches_pytorch, "lstm2_h12_h9")
GOLDEN(a_relu_rnn_matches_pytorch, "rnn_relu_h10")
GOLDEN(a_two_layer_tanh_rnn_matches_pytorch, "rnn_tanh_h13_h7")
GOLDEN(gru2_then_lstm1_then_an_mlp_head_match_pytorch, "gru2_lstm1_mlp")
GOLDEN(an_lstm_of_three_inputs_with_a_layernorm_head_matches_pytorch, "lstm_input3_layernorm")
