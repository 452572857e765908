/* test_cli.c -- the `tickcast` program as a user runs it: exit codes,
 * help, and the error text of bad arguments and files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli_run.h"
#include "golden.h"

/* Writes text to a new temp file whose name goes to path (>= 32 bytes). */
static void write_temp(char *path, const char *text)
{
	strcpy(path, "/tmp/tc_cli_XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	size_t len = strlen(text);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

Test(cli, help_lists_every_command)
{
	cr_assert_eq(run("--help"), 0);
	expect_output("replay --config FILE");
	expect_output("check --config FILE");
	expect_output("inspect FILE");
}

Test(cli, each_command_has_its_own_help)
{
	cr_assert_eq(run("replay --help"), 0);
	expect_output("event clock");
	cr_assert_eq(run("check --help"), 0);
	expect_output("tick.aggregate");
	cr_assert_eq(run("inspect --help"), 0);
	expect_output("Usage: tickcast inspect");
}

Test(cli, an_unknown_command_is_bad_usage)
{
	cr_assert_eq(run("frobnicate"), 2);
	expect_output("unknown command \"frobnicate\"");
	cr_assert_eq(run(""), 2);
}

Test(cli, replay_without_a_config_is_bad_usage)
{
	cr_assert_eq(run("replay < /dev/null"), 2);
	expect_output("--config FILE is required");
	cr_assert_eq(run("replay --config a.yaml extra < /dev/null"), 2);
	expect_output("unexpected argument");
}

Test(cli, check_describes_the_model_with_pytorchs_parameter_count)
{
	char args[8192];
	snprintf(args, sizeof args, "check --config %s", test_data("golden/gru2_h7_h23/config.yaml"));
	cr_assert_eq(run(args), 0, "%s", output);
	expect_output("layer 0: gru 1 -> 7");
	expect_output("layer 1: gru 7 -> 23");
	expect_output("head: linear 23 -> 5");
	expect_output("parameters: 2538");          /* sum(p.numel()) in PyTorch */
	expect_output("FLOPs per series-step: 4706"); /* 2*3*7*8 + 2*3*23*30 + 2*23*5 */
	expect_output("state bytes per series: 120");
}

Test(cli, check_shows_the_scaler)
{
	char args[8192];
	snprintf(args, sizeof args, "check --config %s",
		test_data("golden/replay_scaler_ema/config.yaml"));
	cr_assert_eq(run(args), 0, "%s", output);
	expect_output("scaler: ema, alpha 0.3, warmup 3 readings\n");
	snprintf(args, sizeof args, "check --config %s", test_data("golden/gru1_h1/config.yaml"));
	cr_assert_eq(run(args), 0, "%s", output);
	expect_output("scaler: none\n");
}

Test(cli, check_names_the_kernel_of_the_configs_precision)
{
	char weights[4096], text[8192], path[32], args[8192];
	cr_assert_not_null(realpath(test_data("golden/gru1_h1/model.safetensors"), weights));
	snprintf(text, sizeof text, "model:\n  weights: %s\n  precision: bf16\n"
		"  layers: [{type: gru, hidden: 1}]\n  head: {type: linear, outputs: 1}\n", weights);
	write_temp(path, text);
	snprintf(args, sizeof args, "check --config %s", path);
	cr_assert_eq(run(args), 0, "%s", output);
	cr_assert(strstr(output, "kernel: avx512bf16 (precision bf16)\n")
		|| strstr(output, "kernel: c_bf16 (precision bf16)\n"), "%s", output);
	unlink(path);
	snprintf(args, sizeof args, "check --config %s", test_data("golden/gru1_h1/config.yaml"));
	cr_assert_eq(run(args), 0, "%s", output);
	expect_output("(precision fp32)\n");
}

Test(cli, check_reports_a_bad_config_with_its_line_and_column)
{
	char path[32];
	write_temp(path, "model:\n  weights: w.safetensors\n  layers:\n    - {type: gru, hidden: abc}\n");
	char args[256];
	snprintf(args, sizeof args, "check --config %s", path);
	cr_assert_eq(run(args), 1);
	char want[256];
	snprintf(want, sizeof want, "%s:4:27: model.layers[0].hidden:", path);
	expect_output(want);
	unlink(path);
}

Test(cli, check_reports_missing_weights)
{
	char path[32];
	write_temp(path, "model:\n  weights: /nonexistent/w.safetensors\n"
		"  layers: [{type: gru, hidden: 4}]\n  head: {type: linear, outputs: 1}\n");
	char args[256];
	snprintf(args, sizeof args, "check --config %s", path);
	cr_assert_eq(run(args), 1);
	expect_output("/nonexistent/w.safetensors");
	unlink(path);
}

Test(cli, inspect_lists_tensors_with_dtype_and_shape)
{
	char args[8192];
	snprintf(args, sizeof args, "inspect %s", test_data("golden/gru2_h7_h23/model.safetensors"));
	cr_assert_eq(run(args), 0, "%s", output);
	expect_output("10 tensors");
	expect_output("gru.weight_hh_l1");
	expect_output("[69, 23]");
	expect_output("F32");
}

Test(cli, inspect_of_a_file_that_is_not_safetensors_fails)
{
	char args[8192];
	snprintf(args, sizeof args, "inspect %s", test_data("golden/gru2_h7_h23/config.yaml"));
	cr_assert_eq(run(args), 1);
	expect_output("config.yaml");
}

Test(cli, replay_processes_good_lines_around_bad_ones)
{
	char input[32];
	write_temp(input, "sensor-0 0.5 10\nsensor-0 nope 11\nsensor-0 0.25 12\n");
	char args[8192];
	snprintf(args, sizeof args, "replay --config %s < %s",
		test_data("golden/one_series/config.yaml"), input);
	int status = run(args);
	unlink(input);
	cr_assert_eq(status, 0, "%s", output);
	expect_output("line 2: value 1: not a number: \"nope\"");
	expect_output("sensor-0 10 ");
	expect_output("sensor-0 12 ");
	expect_output("2 readings accepted, 1 rejected malformed=1");
}
