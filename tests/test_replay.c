/* test_replay.c -- replay over bad input: every bad line reported with its
 * number and skipped, the good lines still forecast. */
#include <criterion/criterion.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "model.h"
#include "replay.h"
#include "st_writer.h"

/* A 1-unit GRU whose weights are all zero but the head bias, 0.5: every
 * forecast is exactly "0.5". */
static char weights[64];
static struct tc_config cfg;
static struct tc_model *model;
static char out_text[1 << 16], log_text[1 << 16];
static struct tc_replay_stats stats;

static void setup(void)
{
	static float zeros[3], half = 0.5f;
	struct st_tensor t[] = {
		{"gru.weight_ih_l0", "F32", 2, {3, 1}, zeros, 12},
		{"gru.weight_hh_l0", "F32", 2, {3, 1}, zeros, 12},
		{"gru.bias_ih_l0", "F32", 1, {3, 0}, zeros, 12},
		{"gru.bias_hh_l0", "F32", 1, {3, 0}, zeros, 12},
		{"fc.weight", "F32", 2, {1, 1}, zeros, 4},
		{"fc.bias", "F32", 1, {1, 0}, &half, 4},
	};
	cr_assert_eq(st_write(weights, t, 6), 0);
	char yaml[512], err[TC_ERR_LEN];
	int n = snprintf(yaml, sizeof yaml,
		"model:\n  weights: %s\n  layers: [{type: gru, hidden: 1}]\n"
		"  head: {type: linear, outputs: 1}\n"
		"tick: {clock: event, interval_ms: 1000}\n", weights);
	cr_assert_eq(tc_config_parse(&cfg, "test.yaml", yaml, (size_t)n, err), 0, "%s", err);
	model = tc_model_load(&cfg.model, cfg.weights_path, err);
	cr_assert_not_null(model, "%s", err);
}

static void teardown(void)
{
	tc_model_destroy(&model);
	unlink(weights);
}

static void replay(const char *input, size_t len)
{
	FILE *in = fmemopen((void *)input, len, "r");
	memset(out_text, 0, sizeof out_text);
	memset(log_text, 0, sizeof log_text);
	FILE *out = fmemopen(out_text, sizeof out_text - 1, "w");
	FILE *log = fmemopen(log_text, sizeof log_text - 1, "w");
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_replay_run(&cfg, model, in, out, log, NULL, NULL, &stats, err), 0, "%s", err);
	tc_replay_print_summary(&stats, log);
	fclose(in);
	fclose(out);
	fclose(log);
}

#define REPLAY(text) replay(text, sizeof(text) - 1)

static void expect_log(const char *want)
{
	cr_assert(strstr(log_text, want), "the log lacks \"%s\":\n%s", want, log_text);
}

TestSuite(replay, .init = setup, .fini = teardown);

Test(replay, good_lines_give_one_forecast_per_series_per_bucket)
{
	REPLAY("a 1 0.5\nb 2 0.7\na 3 1.2\n");
	cr_assert_str_eq(out_text, "a 0 0.5\nb 0 0.5\na 1 0.5\n");
	cr_assert_eq(stats.ticks, 2);
	cr_assert_eq(stats.series, 2);
}

Test(replay, a_missing_value_is_reported_with_its_line_number)
{
	REPLAY("a 1 0\nb\na 1 1\n");
	expect_log("line 2: missing value after series id");
	cr_assert_eq(stats.rejected[TC_REJECT_MALFORMED], 1);
	cr_assert_str_eq(out_text, "a 0 0.5\na 1 0.5\n");
}

Test(replay, a_non_number_is_reported_and_skipped)
{
	REPLAY("a abc 0\na 1 0\n");
	expect_log("line 1: value 1: not a number: \"abc\"");
	cr_assert_str_eq(out_text, "a 0 0.5\n");
}

Test(replay, nan_and_inf_are_reported_as_non_finite)
{
	REPLAY("a nan 0\na inf 0\na -Infinity 0\na 1e999 0\na 2 0\n");
	expect_log("line 1: value 1: not finite: \"nan\"");
	expect_log("line 2: value 1: not finite: \"inf\"");
	expect_log("line 3: value 1: not finite: \"-Infinity\"");
	expect_log("line 4: value 1: not finite: \"1e999\"");
	cr_assert_eq(stats.rejected[TC_REJECT_NONFINITE], 4);
	cr_assert_eq(stats.accepted, 1);
}

Test(replay, an_over_long_series_id_is_reported)
{
	static char input[300 + 16];
	memset(input, 'x', 300);
	memcpy(input + 300, " 1 0\nok 1 0\n", 12);
	replay(input, 312);
	expect_log("line 1: series id is 300 bytes, the limit is 255");
	cr_assert_eq(stats.rejected[TC_REJECT_ID_TOO_LONG], 1);
	cr_assert_str_eq(out_text, "ok 0 0.5\n");
}

Test(replay, a_missing_timestamp_is_reported)
{
	REPLAY("a 1\na 1 0\n");
	expect_log("line 1: missing timestamp");
	cr_assert_eq(stats.rejected[TC_REJECT_NO_TIMESTAMP], 1);
	cr_assert_str_eq(out_text, "a 0 0.5\n");
}

Test(replay, a_late_reading_is_reported_and_dropped)
{
	REPLAY("a 1 5\na 1 3\na 1 6\n");
	expect_log("line 2: late");
	cr_assert_eq(stats.rejected[TC_REJECT_LATE], 1);
	cr_assert_str_eq(out_text, "a 5 0.5\na 6 0.5\n");
}

Test(replay, blank_lines_crlf_and_a_last_line_without_newline_are_fine)
{
	REPLAY("\n  \na 1 0\r\n\r\nb 1 0.25");
	cr_assert_str_eq(log_text, "replay: 5 lines, 2 readings accepted, 0 rejected, "
		"1 ticks, 2 forecasts, 2 series\n");
	cr_assert_str_eq(out_text, "a 0 0.5\nb 0 0.5\n");
}

Test(replay, the_summary_counts_each_reason)
{
	REPLAY("a 1 0\na x 0\na 1,2 0\na 1 0 extra\nb 1\n");
	expect_log("line 3: expected 1 value, got 2");
	expect_log("line 4: unexpected 4th field \"extra\"");
	expect_log("replay: 5 lines, 1 readings accepted, 4 rejected malformed=2 "
		"wrong_width=1 no_timestamp=1, 1 ticks, 1 forecasts, 1 series");
}

Test(replay, a_megabyte_line_is_refused_without_harm)
{
	size_t len = 1 << 20;
	char *input = malloc(len + 16);
	memset(input, 'y', len);
	memcpy(input + len, " 1 0\nz 1 0\n", 11);
	replay(input, len + 11);
	expect_log("line 1: series id is 1048576 bytes");
	cr_assert_str_eq(out_text, "z 0 0.5\n");
	free(input);
}

Test(replay, fractional_bucket_starts_print_without_trailing_zeros)
{
	cfg.tick.interval_ms = 250;
	REPLAY("a 1 0.3\na 1 0.6\na 1 1.1\n");
	cr_assert_str_eq(out_text, "a 0.25 0.5\na 0.5 0.5\na 1 0.5\n");
}

/* 400,000 lines: more than one block of input and more readings than one
 * call of the tick engine files. Every 9,973rd line is malformed and every
 * 7,919th late; the log must name exactly those lines, in order. */
Test(replay, a_long_input_reports_every_bad_line_in_order)
{
	enum { LINES = 400000 };
	size_t cap = (size_t)LINES * 24, len = 0;
	char *input = malloc(cap);
	size_t want[128];
	size_t n_want = 0;
	for (size_t i = 0; i < LINES; i++) {
		double t = (double)(i / 1000);
		if (i % 9973 == 9972) {
			len += (size_t)snprintf(input + len, cap - len, "bad\n");
			want[n_want++] = i + 1;
		} else if (i % 7919 == 7918) {
			len += (size_t)snprintf(input + len, cap - len, "s%zu 1 %.0f\n", i % 1000, t - 2);
			want[n_want++] = i + 1;
		} else {
			len += (size_t)snprintf(input + len, cap - len, "s%zu %zu %.0f\n", i % 1000, i % 7, t);
		}
	}
	FILE *in = fmemopen(input, len, "r");
	FILE *out = fopen("/dev/null", "w");
	memset(log_text, 0, sizeof log_text);
	FILE *log = fmemopen(log_text, sizeof log_text - 1, "w");
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_replay_run(&cfg, model, in, out, log, NULL, NULL, &stats, err), 0, "%s", err);
	fclose(in);
	fclose(out);
	fclose(log);
	free(input);
	size_t got = 0;
	for (const char *p = log_text; (p = strstr(p, "line ")); p++) {
		size_t line = strtoul(p + 5, NULL, 10);
		cr_assert_lt(got, n_want, "more lines logged than expected: %zu", line);
		cr_assert_eq(line, want[got], "logged line %zu, expected line %zu", line, want[got]);
		got++;
	}
	cr_assert_eq(got, n_want, "%zu lines logged, expected %zu", got, n_want);
	cr_assert_eq(stats.lines, LINES);
	cr_assert_eq(stats.accepted, LINES - n_want);
	cr_assert_eq(stats.forecasts, stats.accepted, "one forecast per series per bucket");
	cr_assert_eq(stats.ticks, LINES / 1000);
}
