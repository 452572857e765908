/* test_config_precision.c -- model.precision: its values, its errors, and a
 * bf16 model wherever a config's model is loaded (tickcast, the daemon's
 * start and reload). */
#include "config.h"
#include "error.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_fixture.h"
#include "golden.h"
#include "model.h"
#include "reload.h"
#include "step.h"

Test(config_precision, is_fp32_by_default_and_reads_bf16)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL);
	cr_assert_eq(cfg.model.precision, TC_PRECISION_FP32);
	expect_ok(&cfg, MODEL "  precision: bf16\n");
	cr_assert_eq(cfg.model.precision, TC_PRECISION_BF16);
	expect_ok(&cfg, MODEL "  precision: fp32\n");
	cr_assert_eq(cfg.model.precision, TC_PRECISION_FP32);
}

Test(config_precision, rejects_another_word_with_its_line_and_column)
{
	expect_error(MODEL "  precision: fp16\n",
		"config.yaml:5:14: model.precision: expected one of fp32, bf16, got \"fp16\"");
	expect_error(MODEL "  precision: BF16\n",
		"config.yaml:5:14: model.precision: expected one of fp32, bf16, got \"BF16\"");
	expect_error(MODEL "  precision: [bf16]\n",
		"config.yaml:5:14: model.precision: expected one of fp32, bf16, got a sequence");
}

Test(config_precision, is_described_with_its_values_and_default)
{
	char *text = describe_all();
	expect_described(text, "model.precision",
		(const char *[]){ "fp32 | bf16", "fp32", "bfloat16", NULL });
	free(text);
}

/* Writes a config naming a golden case's weights (absolute path) with the
 * given precision line; returns its path (static). */
static const char *write_config(const char *precision)
{
	static char path[64];
	char weights[4096];
	cr_assert_not_null(realpath(test_data("golden/gru3_h64_o12/model.safetensors"), weights));
	snprintf(path, sizeof path, "/tmp/tc_precision_XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "model:\n  weights: %s\n  %s\n  layers: [{type: gru, hidden: 64}, "
		"{type: gru, hidden: 64}, {type: gru, hidden: 64}]\n"
		"  head: {type: linear, outputs: 12}\n", weights, precision);
	fclose(f);
	return path;
}

/* tc_reload_load is what tickcastd runs at start and on every reload. */
static void expect_kernel(const char *precision_line, int bf16)
{
	const char *path = write_config(precision_line);
	struct tc_config cfg;
	char sha[65], err[TC_ERR_LEN];
	struct tc_model *m = tc_reload_load(&cfg, path, sha, err);
	cr_assert_not_null(m, "%s", err);
	const char *kernel = tc_step_model_kernel_name(m);
	int is_bf16 = strcmp(kernel, "c_bf16") == 0 || strcmp(kernel, "avx512bf16") == 0;
	cr_assert_eq(is_bf16, bf16, "%s: kernel %s", precision_line, kernel);
	cr_assert_eq(tc_model_get_spec(m)->precision,
		bf16 ? TC_PRECISION_BF16 : TC_PRECISION_FP32);
	tc_model_destroy(&m);
	unlink(path);
}

Test(config_precision, a_bf16_config_loads_and_reloads_a_model_on_a_bf16_kernel)
{
	expect_kernel("precision: bf16", 1);
	expect_kernel("precision: fp32", 0);
	expect_kernel("reset_after: true", 0);
}
