/* test_golden.c -- tickcast replay against PyTorch on the cases that
 * tools/gen_golden.py wrote to tests/data/golden, with every SIMD kernel
 * this CPU runs. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "golden.h"
#include "model.h"
#include "replay.h"
#include "step.h"

/* Compares replay output with expected.txt line by line: same series and
 * timestamp, every value within the tolerance its first line states:
 * `# tolerance <abs>`, or `# tolerance <abs> relative <rel>` for abs + rel * |value|. */
static void compare(const char *name, const char *kernel, FILE *got, FILE *want)
{
	char wline[16384], gline[16384];
	double tol = 0, rel = 0;
	cr_assert(fgets(wline, sizeof wline, want)
		&& sscanf(wline, "# tolerance %lf relative %lf", &tol, &rel) >= 1,
		"%s: expected.txt lacks its tolerance line", name);
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
}

static void run_case(const char *name)
{
	static const char *const kernels[] = {"c", "avx2", "avx512"};
	char path[512], err[TC_ERR_LEN];
	struct tc_config cfg;
	snprintf(path, sizeof path, "golden/%s/config.yaml", name);
	cr_assert_eq(tc_config_load(&cfg, test_data(path), err), 0, "%s", err);
	struct tc_model *m = tc_model_load(&cfg.model, cfg.weights_path, err);
	cr_assert_not_null(m, "%s", err);
	for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
		if (tc_step_use_kernel(kernels[k]) < 0) {
			continue; /* this CPU lacks it */
		}
		snprintf(path, sizeof path, "golden/%s/input.txt", name);
		FILE *in = fopen(test_data(path), "r");
		snprintf(path, sizeof path, "golden/%s/expected.txt", name);
		FILE *want = fopen(test_data(path), "r");
		FILE *got = tmpfile();
		FILE *log = tmpfile();
		cr_assert(in && want && got && log);
		struct tc_replay_stats stats;
		cr_assert_eq(tc_replay_run(&cfg, m, in, got, log, &stats, err), 0, "%s", err);
		rewind(got);
		compare(name, kernels[k], got, want);
		fclose(in);
		fclose(want);
		fclose(got);
		fclose(log);
	}
	tc_step_use_kernel(tc_step_kernel_name());
	tc_model_destroy(&m);
}

Test(golden, one_layer_of_one_unit_matches_pytorch) { run_case("gru1_h1"); }
Test(golden, layers_of_different_odd_sizes_match_pytorch) { run_case("gru2_h7_h23"); }
Test(golden, three_layers_of_64_with_12_outputs_match_pytorch) { run_case("gru3_h64_o12"); }
Test(golden, three_inputs_per_reading_match_pytorch) { run_case("input3_h16"); }
Test(golden, reset_before_variant_matches_the_cho_formula) { run_case("reset_before_h16_h9"); }
Test(golden, the_articles_hand_written_gru_matches_its_own_code) { run_case("article_gru_h24"); }
Test(golden, a_single_series_matches_pytorch) { run_case("one_series"); }
Test(golden, eleven_hundred_series_in_many_blocks_match_pytorch) { run_case("series1100_h32"); }
Test(golden, fifty_steps_stay_within_1e_4_of_pytorch) { run_case("steps50_series4"); }
Test(golden, aggregate_last_takes_the_last_reading_in_file_order) { run_case("replay_agg_last"); }
Test(golden, aggregate_mean_averages_a_ticks_readings) { run_case("replay_agg_mean"); }
Test(golden, aggregate_min_takes_the_smallest) { run_case("replay_agg_min"); }
Test(golden, aggregate_max_takes_the_largest) { run_case("replay_agg_max"); }
Test(golden, aggregate_sum_adds_them_up) { run_case("replay_agg_sum"); }
Test(golden, missing_skip_leaves_quiet_series_alone) { run_case("replay_missing_skip"); }
Test(golden, missing_hold_repeats_the_last_input) { run_case("replay_missing_hold"); }
Test(golden, missing_zero_steps_quiet_series_with_zeros) { run_case("replay_missing_zero"); }
Test(golden, the_ema_scaler_standardises_inputs_and_restores_forecasts_as_in_python)
{
	run_case("replay_scaler_ema");
}
