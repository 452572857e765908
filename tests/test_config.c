/* test_config.c -- the YAML schema: values, defaults, path resolution, and every error's text and place.
 * The daemon's sections (ingest, publish, control, series, checkpoint, metrics, security,
 * log) are in test_config_daemon.c. */
#include "config.h"
#include "error.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_fixture.h"

Test(config, reads_every_key_into_its_field)
{
	struct tc_config cfg;
	expect_ok(&cfg,
		"model:\n"
		"  weights: model.safetensors\n"
		"  input_size: 3\n"
		"  reset_after: false\n"
		"  layers:\n"
		"    - {type: gru, hidden: 64}\n"
		"    - type: gru\n"
		"      hidden: 32\n"
		"  head: {type: linear, outputs: 12}\n"
		"  scaler: none\n"
		"  tensors: {gru: rnn, head: out}\n"
		"tick:\n"
		"  clock: event\n"
		"  interval_ms: 250\n"
		"  flush_ms: 5000\n"
		"  aggregate: mean\n"
		"  missing: hold\n");
	cr_assert_str_eq(cfg.path, "config.yaml");
	cr_assert_str_eq(cfg.weights_path, "./model.safetensors");
	cr_assert_eq(cfg.model.input_size, 3);
	cr_assert_eq(cfg.model.reset_after, 0);
	cr_assert_eq(cfg.model.n_layers, 2);
	cr_assert_eq(cfg.model.hidden[0], 64);
	cr_assert_eq(cfg.model.hidden[1], 32);
	cr_assert_eq(cfg.model.outputs, 12);
	cr_assert_str_eq(cfg.model.gru_prefix, "rnn");
	cr_assert_str_eq(cfg.model.head_prefix, "out");
	cr_assert_eq(cfg.scaler.type, TC_SCALER_NONE);
	cr_assert_eq(cfg.tick.clock, TC_CLOCK_EVENT);
	cr_assert_eq(cfg.tick.interval_ms, 250);
	cr_assert_eq(cfg.tick.flush_ms, 5000);
	cr_assert_eq(cfg.tick.aggregate, TC_AGGREGATE_MEAN);
	cr_assert_eq(cfg.tick.missing, TC_MISSING_HOLD);
}

Test(config, fills_omitted_keys_with_their_defaults)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL);
	cr_assert_eq(cfg.model.input_size, 1);
	cr_assert_eq(cfg.model.reset_after, 1);
	cr_assert_str_eq(cfg.model.gru_prefix, "gru");
	cr_assert_str_eq(cfg.model.head_prefix, "fc");
	cr_assert_eq(cfg.scaler.type, TC_SCALER_NONE);
	cr_assert_eq(cfg.tick.clock, TC_CLOCK_WALL);
	cr_assert_eq(cfg.tick.interval_ms, 1000);
	cr_assert_eq(cfg.tick.flush_ms, 1000);
	cr_assert_eq(cfg.tick.aggregate, TC_AGGREGATE_LAST);
	cr_assert_eq(cfg.tick.missing, TC_MISSING_SKIP);
}

Test(config, init_gives_the_same_defaults_as_an_empty_section)
{
	struct tc_config cfg;
	tc_config_init(&cfg);
	cr_assert_eq(cfg.model.n_layers, 0);
	cr_assert_eq(cfg.model.input_size, 1);
	cr_assert_eq(cfg.tick.interval_ms, 1000);
	cr_assert_str_eq(cfg.weights_path, "");
	cr_assert_str_eq(cfg.model.head_prefix, "fc");
}

Test(config, keeps_one_tensor_prefix_default_when_only_the_other_is_set)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL "  tensors: {head: linear_out}\n");
	cr_assert_str_eq(cfg.model.gru_prefix, "gru");
	cr_assert_str_eq(cfg.model.head_prefix, "linear_out");
}

Test(config, reads_layers_of_different_sizes_in_order)
{
	struct tc_config cfg;
	expect_ok(&cfg,
		"model:\n"
		"  weights: m.safetensors\n"
		"  layers:\n"
		"    - {type: gru, hidden: 128}\n"
		"    - {type: gru, hidden: 8192}\n"
		"    - {type: gru, hidden: 1}\n"
		"  head: {type: linear, outputs: 8192}\n");
	cr_assert_eq(cfg.model.n_layers, 3);
	cr_assert_eq(cfg.model.hidden[0], 128);
	cr_assert_eq(cfg.model.hidden[1], 8192);
	cr_assert_eq(cfg.model.hidden[2], 1);
	cr_assert_eq(cfg.model.outputs, 8192);
}

Test(config, accepts_as_many_layers_as_the_model_allows)
{
	char text[2048] = "model:\n  weights: m\n  head: {type: linear, outputs: 1}\n  layers:\n";
	for (int i = 0; i < TC_MAX_LAYERS; i++) {
		snprintf(text + strlen(text), sizeof text - strlen(text),
			"    - {type: gru, hidden: %d}\n", i + 1);
	}
	struct tc_config cfg;
	expect_ok(&cfg, text);
	cr_assert_eq(cfg.model.n_layers, TC_MAX_LAYERS);
	cr_assert_eq(cfg.model.hidden[TC_MAX_LAYERS - 1], TC_MAX_LAYERS);
}

Test(config, rejects_one_layer_more_than_the_model_allows)
{
	char text[2048] = "model:\n  weights: m\n  head: {type: linear, outputs: 1}\n  layers:\n";
	for (int i = 0; i <= TC_MAX_LAYERS; i++) {
		strcat(text, "    - {type: gru, hidden: 4}\n");
	}
	expect_error(text, "config.yaml:5:5: model.layers: expected 1..16 items, got 17");
}

Test(config, resolves_a_relative_weights_path_against_the_config_folder)
{
	struct tc_config cfg;
	char err[TC_ERR_LEN];
	const char *text = MODEL;
	cr_assert_eq(tc_config_parse(&cfg, "/etc/tickcast/main.yaml", text, strlen(text), err), 0);
	cr_assert_str_eq(cfg.path, "/etc/tickcast/main.yaml");
	cr_assert_str_eq(cfg.weights_path, "/etc/tickcast/m.safetensors");
	cr_assert_eq(tc_config_parse(&cfg, "conf/a.yaml", text, strlen(text), err), 0);
	cr_assert_str_eq(cfg.weights_path, "conf/m.safetensors");
	cr_assert_eq(tc_config_parse(&cfg, "/a.yaml", text, strlen(text), err), 0);
	cr_assert_str_eq(cfg.weights_path, "/m.safetensors");
}

Test(config, resolves_weights_against_dot_when_the_config_name_has_no_folder)
{
	struct tc_config cfg;
	expect_ok(&cfg,
		"model:\n"
		"  weights: ../models/m.safetensors\n"
		"  layers: [{type: gru, hidden: 8}]\n"
		"  head: {type: linear, outputs: 1}\n");
	cr_assert_str_eq(cfg.weights_path, "./../models/m.safetensors");
}

Test(config, keeps_an_absolute_weights_path_as_written)
{
	struct tc_config cfg;
	char err[TC_ERR_LEN];
	const char *text =
		"model:\n"
		"  weights: /srv/models/m.safetensors\n"
		"  layers: [{type: gru, hidden: 8}]\n"
		"  head: {type: linear, outputs: 1}\n";
	cr_assert_eq(tc_config_parse(&cfg, "/etc/tickcast.yaml", text, strlen(text), err), 0);
	cr_assert_str_eq(cfg.weights_path, "/srv/models/m.safetensors");
}

Test(config, accepts_yes_no_on_off_and_any_case_as_booleans)
{
	static const struct { const char *word; int value; } cases[] = {
		{ "true", 1 }, { "False", 0 }, { "YES", 1 }, { "no", 0 }, { "on", 1 }, { "Off", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[512];
		struct tc_config cfg;
		snprintf(text, sizeof text, MODEL "  reset_after: %s\n", cases[i].word);
		expect_ok(&cfg, text);
		cr_assert_eq(cfg.model.reset_after, cases[i].value, "%s", cases[i].word);
	}
}

Test(config, reads_a_quoted_number_by_its_text)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL "tick: {interval_ms: \"250\"}\n");
	cr_assert_eq(cfg.tick.interval_ms, 250);
}

Test(config, reads_an_empty_tick_section_as_all_defaults)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL "tick:\n");
	cr_assert_eq(cfg.tick.interval_ms, 1000);
	cr_assert_eq(cfg.tick.clock, TC_CLOCK_WALL);
}

Test(config, resolves_anchors_and_aliases)
{
	struct tc_config cfg;
	expect_ok(&cfg,
		"model:\n"
		"  weights: m\n"
		"  layers:\n"
		"    - &layer {type: gru, hidden: 48}\n"
		"    - *layer\n"
		"  head: {type: linear, outputs: 2}\n");
	cr_assert_eq(cfg.model.n_layers, 2);
	cr_assert_eq(cfg.model.hidden[1], 48);
}

Test(config, names_each_enum_value_as_the_config_spells_it)
{
	cr_assert_str_eq(tc_clock_to_string(TC_CLOCK_EVENT), "event");
	cr_assert_str_eq(tc_aggregate_to_string(TC_AGGREGATE_SUM), "sum");
	cr_assert_str_eq(tc_missing_to_string(TC_MISSING_ZERO), "zero");
	cr_assert_str_eq(tc_scaler_to_string(TC_SCALER_NONE), "none");
	cr_assert_str_eq(tc_aggregate_to_string((enum tc_aggregate)5), "?");
}

Test(config, describes_every_key_with_its_type_default_and_help)
{
	char *text = describe_all();
	expect_described(text, "model.weights",
		(const char *[]){ "path", "required", "safetensors weights file", NULL });
	expect_described(text, "model.layers",
		(const char *[]){ "list of 1..16", "required", NULL });
	expect_described(text, "model.layers[].hidden",
		(const char *[]){ "int 1..8192", "required", "units", NULL });
	expect_described(text, "model.reset_after", (const char *[]){ "bool", "true", NULL });
	expect_described(text, "model.tensors.head",
		(const char *[]){ "string 1..63 bytes", "fc", NULL });
	expect_described(text, "tick.aggregate",
		(const char *[]){ "last | mean | min | max | sum", "last", "combine", NULL });
	expect_described(text, "tick.interval_ms",
		(const char *[]){ "int 1..86400000", "1000", NULL });
	free(text);
}

Test(config, rejects_a_word_where_an_integer_belongs)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  head: {type: linear, outputs: 1}\n"
		"  layers:\n"
		"    - {type: gru, hidden: 64}\n"
		"    - type: gru\n"
		"      hidden: abc\n",
		"config.yaml:7:15: model.layers[1].hidden: expected a positive integer, got \"abc\"");
}

Test(config, rejects_fractions_hex_exponents_and_leading_zeros)
{
	static const char *const bad[] = { "1.5", "0x10", "1e3", "010", "1_000", "+", "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[512], want[256];
		snprintf(text, sizeof text, MODEL "tick:\n  flush_ms: \"%s\"\n", bad[i]);
		snprintf(want, sizeof want,
			"config.yaml:6:13: tick.flush_ms: expected a positive integer, got \"%s\"", bad[i]);
		expect_error(text, want);
	}
}

Test(config, rejects_zero_hidden_units_as_out_of_range)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  layers: [{type: gru, hidden: 0}]\n"
		"  head: {type: linear, outputs: 1}\n",
		"config.yaml:3:32: model.layers[0].hidden: 0 is out of range 1..8192");
}

Test(config, reports_an_integer_too_large_to_hold_as_out_of_range)
{
	expect_error(MODEL "  input_size: 99999999999999999999\n",
		"config.yaml:5:15: model.input_size: 99999999999999999999 is out of range 1..256");
}

Test(config, rejects_values_just_outside_their_bounds)
{
	expect_error(MODEL "  input_size: 257\n",
		"config.yaml:5:15: model.input_size: 257 is out of range 1..256");
	expect_error(MODEL "tick: {interval_ms: 86400001}\n",
		"config.yaml:5:21: tick.interval_ms: 86400001 is out of range 1..86400000");
	expect_error(MODEL "tick: {flush_ms: -5}\n",
		"config.yaml:5:18: tick.flush_ms: -5 is out of range 1..86400000");
}

Test(config, rejects_an_unknown_key_and_lists_the_known_ones)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  colour: red\n",
		"config.yaml:3:3: model.colour: unknown key (expected one of: weights, input_size, "
		"reset_after, precision, layers, head, scaler, intervals, tensors, watch, reset_state_on_change)");
}

Test(config, rejects_an_unknown_top_level_section)
{
	expect_error(MODEL "telemetry: {port: 9100}\n",
		"config.yaml:5:1: telemetry: unknown key (expected one of: model, tick, ingest, "
		"publish, control, series, checkpoint, anomaly, metrics, security, cluster, log)");
}

Test(config, reports_a_missing_required_key_at_its_section)
{
	expect_error(
		"model:\n"
		"  layers: [{type: gru, hidden: 8}]\n"
		"  head: {type: linear, outputs: 1}\n",
		"config.yaml:1:1: model.weights: required key missing");
}

Test(config, reports_a_missing_model_section_at_the_top)
{
	expect_error("tick: {clock: wall}\n", "config.yaml:1:1: model: required key missing");
}

Test(config, reports_a_layer_without_units_at_the_layer)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  head: {type: linear, outputs: 1}\n"
		"  layers:\n"
		"    - {type: gru, hidden: 4}\n"
		"    - {type: gru}\n",
		"config.yaml:6:7: model.layers[1].hidden: required key missing");
}

Test(config, requires_a_head_and_its_type)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  layers: [{type: gru, hidden: 8}]\n",
		"config.yaml:1:1: model.head: required key missing");
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  layers: [{type: gru, hidden: 8}]\n"
		"  head: {outputs: 3}\n",
		"config.yaml:4:9: model.head[0].type: required key missing");
}

Test(config, rejects_a_word_outside_an_enum_and_lists_the_choices)
{
	expect_error(MODEL "tick:\n  aggregate: median\n",
		"config.yaml:6:14: tick.aggregate: expected one of last, mean, min, max, sum, "
		"got \"median\"");
	expect_error(MODEL "tick: {clock: Wall}\n",
		"config.yaml:5:15: tick.clock: expected one of wall, event, got \"Wall\"");
}

Test(config, rejects_a_layer_type_other_than_gru_lstm_and_rnn)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  layers: [{type: transformer, hidden: 8}]\n",
		"config.yaml:3:19: model.layers[0].type: expected one of gru, lstm, rnn, got \"transformer\"");
}

Test(config, rejects_a_word_that_is_not_a_boolean)
{
	expect_error(MODEL "  reset_after: maybe\n",
		"config.yaml:5:16: model.reset_after: expected true or false, got \"maybe\"");
}

Test(config, reports_a_duplicate_key_at_its_second_place)
{
	expect_error(
		"model:\n"
		"  weights: a\n"
		"  layers: [{type: gru, hidden: 8}]\n"
		"  weights: b\n",
		"config.yaml:4:3: model.weights: duplicate key (first at 2:3)");
}

Test(config, rejects_a_sequence_where_a_mapping_belongs)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  tensors: [gru, fc]\n",
		"config.yaml:3:12: model.tensors: expected a mapping, got a sequence");
}

Test(config, rejects_a_head_item_that_is_not_a_mapping)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  head: [linear, 12]\n",
		"config.yaml:3:10: model.head[0]: expected a mapping, got \"linear\"");
}

Test(config, rejects_a_word_where_a_list_of_layers_belongs)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  layers: gru\n",
		"config.yaml:3:11: model.layers: expected a sequence of mappings or one mapping, "
		"got \"gru\"");
}

Test(config, rejects_a_layer_that_is_not_a_mapping)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  layers: [64]\n",
		"config.yaml:3:12: model.layers[0]: expected a mapping, got \"64\"");
}

Test(config, rejects_an_empty_layer_list)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		"  layers: []\n",
		"config.yaml:3:11: model.layers: expected 1..16 items, got 0");
}

Test(config, rejects_a_mapping_where_a_number_belongs)
{
	expect_error(MODEL "tick:\n  interval_ms: {ms: 5}\n",
		"config.yaml:6:16: tick.interval_ms: expected a positive integer, got a mapping");
}

Test(config, rejects_an_empty_or_null_value_where_a_scalar_belongs)
{
	expect_error(
		"model:\n"
		"  weights:\n"
		"  layers: [{type: gru, hidden: 8}]\n",
		"config.yaml:2:11: model.weights: expected a file path, got an empty value");
	expect_error(MODEL "tick: {clock: ~}\n",
		"config.yaml:5:15: tick.clock: expected one of wall, event, got null");
}

Test(config, rejects_a_tensor_prefix_that_does_not_fit)
{
	char text[512];
	snprintf(text, sizeof text, MODEL "  tensors: {gru: %0*d}\n", TC_MAX_PREFIX, 0);
	expect_error(text, "config.yaml:5:18: model.tensors.gru: is 64 bytes long, at most 63 allowed");
	expect_error(MODEL "  tensors: {head: \"\"}\n",
		"config.yaml:5:19: model.tensors.head: expected a non-empty string");
}

Test(config, rejects_a_nul_byte_inside_a_string)
{
	expect_error(MODEL "  tensors: {gru: \"a\\0b\"}\n",
		"config.yaml:5:18: model.tensors.gru: contains a NUL byte");
}

Test(config, rejects_a_weights_path_too_long_once_joined)
{
	size_t n = TC_PATH_MAX - 4;
	char *text = malloc(n + 128);
	strcpy(text, "model:\n  weights: ");
	memset(text + strlen(text), 'w', n);
	strcpy(text + 18 + n, "\n");
	struct tc_config cfg;
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_config_parse(&cfg, "dir/c.yaml", text, strlen(text), err), -1);
	cr_assert_str_eq(err, "dir/c.yaml:2:12: model.weights: is 4096 bytes long joined with "
		"the config file's folder, at most 4095 allowed");
	free(text);
}

Test(config, rejects_a_key_that_is_not_a_name)
{
	expect_error("? [a, b]\n: 1\n",
		"config.yaml:1:3: expected a key name, got a sequence");
}

Test(config, reports_a_yaml_syntax_error_with_libyaml_text_and_place)
{
	expect_error(
		"model:\n"
		"  weights: m\n"
		" layers: 3\n",
		"config.yaml:3:2: did not find expected key "
		"(while parsing a block mapping at 1:1)");
	expect_error("model: {weights: m\n",
		"config.yaml:2:1: did not find expected ',' or '}' "
		"(while parsing a flow mapping at 1:8)");
}

Test(config, reports_invalid_utf8_with_its_line_and_column)
{
	expect_error(MODEL "tick: {clock: w\xff}\n",
		"config.yaml:5:16: invalid leading UTF-8 octet");
}

Test(config, rejects_an_alias_to_an_undefined_anchor)
{
	expect_error(MODEL "tick: *nowhere\n",
		"config.yaml:5:7: found undefined alias");
}

Test(config, rejects_an_empty_file)
{
	const char *want = "config.yaml:1:1: the file is empty (expected a mapping with keys "
		"model, tick, ingest, publish, control, series, checkpoint, anomaly, metrics, security, cluster, log)";
	expect_error("", want);
	expect_error("# nothing here yet\n\n", want);
}

Test(config, rejects_a_top_level_that_is_not_a_mapping)
{
	expect_error("- model\n- tick\n",
		"config.yaml:1:1: expected a mapping at the top level, got a sequence");
	expect_error("\n  tickcast\n",
		"config.yaml:2:3: expected a mapping at the top level, got \"tickcast\"");
}

Test(config, rejects_a_second_yaml_document)
{
	expect_error(MODEL "---\ntick: {}\n",
		"config.yaml:5:1: a second YAML document; only one is allowed");
}

/* A fresh folder under /tmp, removed by the test that made it. */
static void make_dir(char *dir)
{
	strcpy(dir, "/tmp/tc-config-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

Test(config, loads_a_file_and_resolves_weights_beside_it)
{
	char dir[64], path[128], err[TC_ERR_LEN];
	make_dir(dir);
	snprintf(path, sizeof path, "%s/tickcast.yaml", dir);
	write_file(path, MODEL "tick: {clock: event}\n");
	struct tc_config cfg;
	int rc = tc_config_load(&cfg, path, err);
	unlink(path);
	rmdir(dir);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_str_eq(cfg.path, path);
	char want[160];
	snprintf(want, sizeof want, "%s/m.safetensors", dir);
	cr_assert_str_eq(cfg.weights_path, want);
	cr_assert_eq(cfg.tick.clock, TC_CLOCK_EVENT);
}

Test(config, names_the_file_in_errors_from_a_loaded_file)
{
	char dir[64], path[128], err[TC_ERR_LEN], want[256];
	make_dir(dir);
	snprintf(path, sizeof path, "%s/bad.yaml", dir);
	write_file(path, MODEL "tick: {missing: drop}\n");
	struct tc_config cfg;
	int rc = tc_config_load(&cfg, path, err);
	unlink(path);
	rmdir(dir);
	cr_assert_eq(rc, -1);
	snprintf(want, sizeof want,
		"%s:5:17: tick.missing: expected one of skip, hold, zero, got \"drop\"", path);
	cr_assert_str_eq(err, want);
}

Test(config, reports_a_missing_file_with_the_system_reason)
{
	struct tc_config cfg;
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_config_load(&cfg, "/nonexistent/tickcast.yaml", err), -1);
	cr_assert_str_eq(err, "/nonexistent/tickcast.yaml: No such file or directory");
}

Test(config, reports_a_folder_given_as_the_config_file)
{
	struct tc_config cfg;
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_config_load(&cfg, "/tmp", err), -1);
	cr_assert_str_eq(err, "/tmp: Is a directory");
}

Test(config, refuses_a_file_over_one_mebibyte)
{
	char dir[64], path[128], err[TC_ERR_LEN], want[200];
	size_t len = 1024 * 1024 + 2;
	char *text = malloc(len);
	memset(text, '#', len - 1);
	text[len - 1] = '\0';
	make_dir(dir);
	snprintf(path, sizeof path, "%s/big.yaml", dir);
	write_file(path, text);
	free(text);
	struct tc_config cfg;
	int rc = tc_config_load(&cfg, path, err);
	unlink(path);
	rmdir(dir);
	cr_assert_eq(rc, -1);
	snprintf(want, sizeof want, "%s: larger than 1 MiB, too big for a config file", path);
	cr_assert_str_eq(err, want);
}
