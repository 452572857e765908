/* test_config_scaler.c -- model.scaler: a word or a mapping, its float alpha and its warmup,
 * and every error's text and place. */
#include "config.h"
#include "error.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_fixture.h"

static void expect_scaler(const char *text, enum tc_scaler_type type, double alpha, int warmup)
{
	struct tc_config cfg;
	expect_ok(&cfg, text);
	cr_assert_eq(cfg.scaler.type, type, "%s", text);
	cr_assert_eq(cfg.scaler.alpha, alpha, "%s: alpha %.17g", text, cfg.scaler.alpha);
	cr_assert_eq(cfg.scaler.warmup, warmup, "%s: warmup %d", text, cfg.scaler.warmup);
}

Test(config_scaler, is_none_by_default_with_alpha_and_warmup_defaults_ready)
{
	expect_scaler(MODEL, TC_SCALER_NONE, 0.05, 24);
	struct tc_config cfg;
	tc_config_init(&cfg);
	cr_assert_eq(cfg.scaler.type, TC_SCALER_NONE);
	cr_assert_eq(cfg.scaler.alpha, 0.05);
	cr_assert_eq(cfg.scaler.warmup, 24);
}

Test(config_scaler, takes_a_word_alone_with_the_defaults)
{
	expect_scaler(MODEL "  scaler: none\n", TC_SCALER_NONE, 0.05, 24);
	expect_scaler(MODEL "  scaler: ema\n", TC_SCALER_EMA, 0.05, 24);
}

Test(config_scaler, reads_a_mapping_in_flow_and_block_style)
{
	expect_scaler(MODEL "  scaler: {type: ema, alpha: 0.2, warmup: 3}\n", TC_SCALER_EMA, 0.2, 3);
	expect_scaler(MODEL
		"  scaler:\n"
		"    type: ema\n"
		"    warmup: 1000000\n"
		"    alpha: 1\n",
		TC_SCALER_EMA, 1.0, 1000000);
	expect_scaler(MODEL "  scaler: {type: ema}\n", TC_SCALER_EMA, 0.05, 24);
	expect_scaler(MODEL "  scaler: {type: none}\n", TC_SCALER_NONE, 0.05, 24);
	expect_scaler(MODEL "  scaler: {warmup: 0, type: ema}\n", TC_SCALER_EMA, 0.05, 0);
}

Test(config_scaler, reads_alpha_in_every_decimal_spelling)
{
	static const struct {
		const char *text;
		double value;
	} ok[] = {
		{ "0.05", 0.05 }, { "5e-2", 0.05 }, { "5E-2", 0.05 }, { ".5", 0.5 }, { "1.", 1.0 },
		{ "+0.25", 0.25 }, { "1e-300", 1e-300 }, { "\"0.125\"", 0.125 }, { "1", 1.0 },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char text[512];
		snprintf(text, sizeof text, MODEL "  scaler: {type: ema, alpha: %s}\n", ok[i].text);
		expect_scaler(text, TC_SCALER_EMA, ok[i].value, 24);
	}
}

Test(config_scaler, rejects_an_alpha_outside_zero_to_one_at_its_place)
{
	expect_error(MODEL "  scaler: {type: ema, alpha: 0}\n",
		"config.yaml:5:30: model.scaler.alpha: 0 is out of range (0, 1]");
	expect_error(MODEL "  scaler: {type: ema, alpha: -0.1}\n",
		"config.yaml:5:30: model.scaler.alpha: -0.1 is out of range (0, 1]");
	expect_error(MODEL "  scaler: {type: ema, alpha: 1.0000001}\n",
		"config.yaml:5:30: model.scaler.alpha: 1.0000001 is out of range (0, 1]");
	expect_error(MODEL "  scaler: {type: ema, alpha: 1e999}\n",
		"config.yaml:5:30: model.scaler.alpha: 1e999 is out of range (0, 1]");
}

Test(config_scaler, rejects_an_alpha_that_is_not_a_decimal_number)
{
	static const char *const bad[] = { "abc", "0x1", ".inf", ".nan", "1_0", "00.5", "1e",
		"e5", ".", "-", "0.5.1", "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[512], want[256];
		snprintf(text, sizeof text, MODEL "  scaler:\n    type: ema\n    alpha: \"%s\"\n", bad[i]);
		snprintf(want, sizeof want,
			"config.yaml:7:12: model.scaler.alpha: expected a number, got \"%s\"", bad[i]);
		expect_error(text, want);
	}
	expect_error(MODEL "  scaler: {type: ema, alpha: ~}\n",
		"config.yaml:5:30: model.scaler.alpha: expected a number, got null");
	expect_error(MODEL "  scaler: {type: ema, alpha: [0.1]}\n",
		"config.yaml:5:30: model.scaler.alpha: expected a number, got a sequence");
}

Test(config_scaler, rejects_a_warmup_outside_its_bounds_or_not_an_integer)
{
	expect_error(MODEL "  scaler: {type: ema, warmup: -1}\n",
		"config.yaml:5:31: model.scaler.warmup: -1 is out of range 0..1000000");
	expect_error(MODEL "  scaler: {type: ema, warmup: 1000001}\n",
		"config.yaml:5:31: model.scaler.warmup: 1000001 is out of range 0..1000000");
	expect_error(MODEL "  scaler: {type: ema, warmup: 2.5}\n",
		"config.yaml:5:31: model.scaler.warmup: expected a non-negative integer, got \"2.5\"");
}

Test(config_scaler, rejects_another_word_and_lists_the_choices)
{
	expect_error(MODEL "  scaler: minmax\n",
		"config.yaml:5:11: model.scaler: expected one of none, ema or a mapping, "
		"got \"minmax\"");
	expect_error(MODEL "  scaler: EMA\n",
		"config.yaml:5:11: model.scaler: expected one of none, ema or a mapping, got \"EMA\"");
	expect_error(MODEL "  scaler: {type: minmax}\n",
		"config.yaml:5:18: model.scaler.type: expected one of none, ema, got \"minmax\"");
}

Test(config_scaler, rejects_a_sequence_or_null_where_the_scaler_belongs)
{
	expect_error(MODEL "  scaler: [ema]\n",
		"config.yaml:5:11: model.scaler: expected one of none, ema or a mapping, got a sequence");
	expect_error(MODEL "  scaler: ~\n",
		"config.yaml:5:11: model.scaler: expected one of none, ema or a mapping, got null");
	expect_error(MODEL "  scaler:\n",
		"config.yaml:5:10: model.scaler: expected one of none, ema or a mapping, "
		"got an empty value");
}

Test(config_scaler, requires_the_type_in_a_mapping)
{
	expect_error(MODEL "  scaler: {alpha: 0.1}\n",
		"config.yaml:5:3: model.scaler.type: required key missing");
	expect_error(MODEL "  scaler: {}\n",
		"config.yaml:5:3: model.scaler.type: required key missing");
}

Test(config_scaler, rejects_an_unknown_or_duplicate_key_in_the_mapping)
{
	expect_error(MODEL "  scaler: {type: ema, beta: 0.1}\n",
		"config.yaml:5:23: model.scaler.beta: unknown key (expected one of: type, alpha, warmup)");
	expect_error(MODEL "  scaler: {type: ema, alpha: 0.1, alpha: 0.2}\n",
		"config.yaml:5:35: model.scaler.alpha: duplicate key (first at 5:23)");
}

Test(config_scaler, names_each_scaler_as_the_config_spells_it)
{
	cr_assert_str_eq(tc_scaler_to_string(TC_SCALER_NONE), "none");
	cr_assert_str_eq(tc_scaler_to_string(TC_SCALER_EMA), "ema");
	cr_assert_str_eq(tc_scaler_to_string((enum tc_scaler_type)2), "?");
}

Test(config_scaler, describes_the_scaler_and_its_keys)
{
	char *text = describe_all();
	expect_described(text, "model.scaler",
		(const char *[]){ "none | ema | mapping", "none", "scaling", NULL });
	expect_described(text, "model.scaler.type",
		(const char *[]){ "none | ema", "required", NULL });
	expect_described(text, "model.scaler.alpha",
		(const char *[]){ "float (0, 1]", "0.05", "newest reading", NULL });
	expect_described(text, "model.scaler.warmup",
		(const char *[]){ "int 0..1000000", "24", "readings", NULL });
	free(text);
}
