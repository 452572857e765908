/* test_config_intervals.c -- model.intervals and anomaly: a section turns its feature on,
 * its keys' defaults and bounds, and what they need of the rest of the config. */
#include <criterion/criterion.h>

#include "config_fixture.h"

Test(config_intervals, are_off_until_their_section_is_given)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL);
	cr_assert_eq(cfg.intervals.enabled, 0);
	cr_assert_eq(cfg.anomaly.enabled, 0);
	expect_ok(&cfg, MODEL "  intervals: {}\n");
	cr_assert_eq(cfg.intervals.enabled, 1);
	cr_assert_eq(cfg.intervals.level, 0.8);
	cr_assert_eq(cfg.intervals.target, 0);
	cr_assert_eq(cfg.intervals.learning_rate, 0.05);
	cr_assert_eq(cfg.intervals.window, 50);
	expect_ok(&cfg, MODEL "  intervals:\n");
	cr_assert_eq(cfg.intervals.enabled, 1, "an empty section is given too");
	expect_ok(&cfg, MODEL "  intervals: {enabled: false, level: 0.9}\n");
	cr_assert_eq(cfg.intervals.enabled, 0, "enabled: false inside the section turns it off");
	cr_assert_eq(cfg.intervals.level, 0.9);
}

Test(config_intervals, anomaly_events_take_their_level_and_topic)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL "  intervals: {level: 0.9, window: 100, learning_rate: 0.01}\n"
		"anomaly: {level: 0.995, topic_prefix: \"alerts.\"}\n");
	cr_assert_eq(cfg.intervals.level, 0.9);
	cr_assert_eq(cfg.intervals.window, 100);
	cr_assert_eq(cfg.intervals.learning_rate, 0.01);
	cr_assert_eq(cfg.anomaly.enabled, 1);
	cr_assert_eq(cfg.anomaly.level, 0.995);
	cr_assert_str_eq(cfg.anomaly.topic_prefix, "alerts.");
	expect_ok(&cfg, MODEL "  intervals: {}\nanomaly: {}\n");
	cr_assert_eq(cfg.anomaly.level, 0.99);
	cr_assert_str_eq(cfg.anomaly.topic_prefix, "anomaly.");
}

Test(config_intervals, levels_and_rates_outside_their_range_are_refused_at_their_place)
{
	expect_error(MODEL "  intervals: {level: 1}\n",
		"config.yaml:5:22: model.intervals.level: 1 is out of range (0, 0.999]");
	expect_error(MODEL "  intervals: {level: 0}\n",
		"config.yaml:5:22: model.intervals.level: 0 is out of range (0, 0.999]");
	expect_error(MODEL "  intervals: {learning_rate: 0}\n",
		"config.yaml:5:30: model.intervals.learning_rate: 0 is out of range (0, 1]");
	expect_error(MODEL "  intervals: {window: 0}\n",
		"config.yaml:5:23: model.intervals.window: 0 is out of range 1..1000000");
	expect_error(MODEL "  intervals: {}\nanomaly: {level: 1.5}\n",
		"config.yaml:6:18: anomaly.level: 1.5 is out of range (0, 0.9999]");
}

Test(config_intervals, what_they_need_of_the_model_is_checked_once_all_is_read)
{
	expect_error(MODEL "anomaly: {level: 0.99}\n", "config.yaml: anomaly: needs "
		"model.intervals (an event is a reading outside the interval forecast for it)");
	expect_error(MODEL "  intervals: {target: 1}\n", "config.yaml: model.intervals.target: "
		"column 1, but readings have 1 value (model.input_size; columns count from 0)");
	struct tc_config cfg;
	expect_ok(&cfg, MODEL "  input_size: 2\n  intervals: {target: 1}\n");
	expect_error("model:\n  weights: m.safetensors\n  layers: [{type: gru, hidden: 8}]\n"
		"  head: {type: linear, outputs: 65}\n  intervals: {}\n",
		"config.yaml: model.intervals: the head has 65 outputs; intervals take at most 64 "
		"(each series keeps outputs x outputs forecasts)");
}
