/* test_config_daemon.c -- the daemon's config sections (model reload switches, ingest, publish,
 * control, series, checkpoint, metrics, security, log): defaults, lists of strings,
 * endpoints, bounds, and each error's text and place. */
#include "config.h"
#include "error.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_fixture.h"

/* Checks every daemon key of cfg against the defaults config.h and the docs promise. */
static void expect_daemon_defaults(const struct tc_config *cfg)
{
	cr_assert_eq(cfg->model_watch, 0);
	cr_assert_eq(cfg->model_reset_state_on_change, 0);
	cr_assert_eq(cfg->ingest.n_bind, 1);
	cr_assert_str_eq(cfg->ingest.bind[0], "tcp://127.0.0.1:7700");
	cr_assert_eq(cfg->ingest.n_subscribe, 1);
	cr_assert_str_eq(cfg->ingest.subscribe[0], "");
	cr_assert_eq(cfg->ingest.rcvhwm, 100000);
	cr_assert_eq(cfg->ingest.max_message_bytes, 16777216);
	cr_assert_eq(cfg->ingest.queue_readings, 4194304);
	cr_assert_eq(cfg->ingest.queue_bytes, 268435456);
	cr_assert_eq(cfg->ingest.threads, 1);
	cr_assert_eq(cfg->publish.n_bind, 1);
	cr_assert_str_eq(cfg->publish.bind[0], "tcp://127.0.0.1:7701");
	cr_assert_str_eq(cfg->publish.topic_prefix, "forecast.");
	cr_assert_eq(cfg->publish.format, TC_FORMAT_TEXT);
	cr_assert_eq(cfg->publish.sndhwm, 200000);
	cr_assert_eq(cfg->publish.batch_bytes, 0);
	cr_assert_eq(cfg->publish.threads, 2);
	cr_assert_eq(cfg->publish.drain_ms, 5000);
	cr_assert_str_eq(cfg->control.bind, "tcp://127.0.0.1:7702");
	cr_assert_eq(cfg->series.max, 1000000);
	cr_assert_eq(cfg->series.ttl_ticks, 3600);
	cr_assert_str_eq(cfg->checkpoint.path, "");
	cr_assert_eq(cfg->checkpoint.every_ticks, 60);
	cr_assert_eq(cfg->checkpoint.on_bad, TC_ON_BAD_REFUSE);
	cr_assert_str_eq(cfg->metrics.listen, "127.0.0.1:7703");
	cr_assert_str_eq(cfg->security.curve_secret_key, "");
	cr_assert_str_eq(cfg->security.curve_authorized_keys, "");
	cr_assert_eq(cfg->log_level, TC_LOG_INFO);
}

Test(config, fills_every_daemon_key_with_its_default)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL);
	expect_daemon_defaults(&cfg);
}

Test(config, init_gives_the_daemon_defaults_too)
{
	struct tc_config cfg;
	tc_config_init(&cfg);
	expect_daemon_defaults(&cfg);
}

Test(config, reads_an_empty_daemon_section_as_all_defaults)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL "ingest:\npublish: {}\ncontrol: ~\nseries:\nmetrics:\nlog:\n");
	expect_daemon_defaults(&cfg);
}

Test(config, reads_every_daemon_key_into_its_field)
{
	struct tc_config cfg;
	expect_ok(&cfg,
		"model:\n"
		"  weights: m.safetensors\n"
		"  layers: [{type: gru, hidden: 8}]\n"
		"  head: {type: linear, outputs: 1}\n"
		"  watch: true\n"
		"  reset_state_on_change: yes\n"
		"ingest:\n"
		"  bind:\n"
		"    - tcp://*:9000\n"
		"    - ipc:///run/tickcast/in.sock\n"
		"    - \"inproc://readings\"\n"
		"  subscribe: [\"sensor.\", \"\", 'plant-7/']\n"
		"  rcvhwm: 5\n"
		"  max_message_bytes: 2048\n"
		"  queue_readings: 65536\n"
		"publish:\n"
		"  bind: [\"tcp://0.0.0.0:9001\", \"ipc:///run/tickcast/out.sock\"]\n"
		"  topic_prefix: \"fc/\"\n"
		"  format: json\n"
		"  sndhwm: 123\n"
		"  batch_bytes: 65536\n"
		"control:\n"
		"  bind: \"\"\n"
		"series:\n"
		"  max: 100000000\n"
		"  ttl_ticks: 1000000000000\n"
		"log:\n"
		"  level: debug\n");
	cr_assert_eq(cfg.model_watch, 1);
	cr_assert_eq(cfg.model_reset_state_on_change, 1);
	cr_assert_eq(cfg.ingest.n_bind, 3);
	cr_assert_str_eq(cfg.ingest.bind[0], "tcp://*:9000");
	cr_assert_str_eq(cfg.ingest.bind[1], "ipc:///run/tickcast/in.sock");
	cr_assert_str_eq(cfg.ingest.bind[2], "inproc://readings");
	cr_assert_eq(cfg.ingest.n_subscribe, 3);
	cr_assert_str_eq(cfg.ingest.subscribe[0], "sensor.");
	cr_assert_str_eq(cfg.ingest.subscribe[1], "");
	cr_assert_str_eq(cfg.ingest.subscribe[2], "plant-7/");
	cr_assert_eq(cfg.ingest.rcvhwm, 5);
	cr_assert_eq(cfg.ingest.max_message_bytes, 2048);
	cr_assert_eq(cfg.ingest.queue_readings, 65536);
	cr_assert_eq(cfg.publish.n_bind, 2);
	cr_assert_str_eq(cfg.publish.bind[0], "tcp://0.0.0.0:9001");
	cr_assert_str_eq(cfg.publish.bind[1], "ipc:///run/tickcast/out.sock");
	cr_assert_str_eq(cfg.publish.topic_prefix, "fc/");
	cr_assert_eq(cfg.publish.format, TC_FORMAT_JSON);
	cr_assert_eq(cfg.publish.sndhwm, 123);
	cr_assert_eq(cfg.publish.batch_bytes, 65536);
	cr_assert_str_eq(cfg.control.bind, "");
	cr_assert_eq(cfg.series.max, 100000000);
	cr_assert_eq(cfg.series.ttl_ticks, 1000000000000LL);
	cr_assert_eq(cfg.log_level, TC_LOG_DEBUG);
	/* The model's keys are untouched by the daemon's. */
	cr_assert_eq(cfg.model.n_layers, 1);
	cr_assert_eq(cfg.tick.clock, TC_CLOCK_WALL);
}

Test(config, reads_a_single_string_as_a_list_of_one)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL
		"ingest: {bind: \"ipc:///tmp/in\", subscribe: sensor.}\n"
		"publish:\n"
		"  bind: tcp://*:7701\n");
	cr_assert_eq(cfg.ingest.n_bind, 1);
	cr_assert_str_eq(cfg.ingest.bind[0], "ipc:///tmp/in");
	cr_assert_eq(cfg.ingest.n_subscribe, 1);
	cr_assert_str_eq(cfg.ingest.subscribe[0], "sensor.");
	cr_assert_eq(cfg.publish.n_bind, 1);
	cr_assert_str_eq(cfg.publish.bind[0], "tcp://*:7701");
	/* A single "" subscribes to everything, as the default does. */
	expect_ok(&cfg, MODEL "ingest: {subscribe: \"\"}\n");
	cr_assert_eq(cfg.ingest.n_subscribe, 1);
	cr_assert_str_eq(cfg.ingest.subscribe[0], "");
}

/* MODEL, then `section: {key: [` and n items made by fmt from their index. */
static void make_list(char *text, size_t size, const char *section, const char *key,
	const char *fmt, int n)
{
	snprintf(text, size, MODEL "%s: {%s: [", section, key);
	for (int i = 0; i < n; i++) {
		size_t used = strlen(text);
		snprintf(text + used, size - used, i ? ", " : "");
		used = strlen(text);
		snprintf(text + used, size - used, fmt, i);
	}
	strncat(text, "]}\n", size - strlen(text) - 1);
}

Test(config, accepts_as_many_endpoints_and_prefixes_as_the_config_holds)
{
	char text[4096];
	struct tc_config cfg;
	make_list(text, sizeof text, "publish", "bind", "\"tcp://*:%d\"", TC_MAX_ENDPOINTS);
	expect_ok(&cfg, text);
	cr_assert_eq(cfg.publish.n_bind, TC_MAX_ENDPOINTS);
	cr_assert_str_eq(cfg.publish.bind[TC_MAX_ENDPOINTS - 1], "tcp://*:7");
	make_list(text, sizeof text, "ingest", "subscribe", "\"s%d.\"", TC_MAX_PREFIXES);
	expect_ok(&cfg, text);
	cr_assert_eq(cfg.ingest.n_subscribe, TC_MAX_PREFIXES);
	cr_assert_str_eq(cfg.ingest.subscribe[TC_MAX_PREFIXES - 1], "s15.");
}

Test(config, rejects_one_endpoint_or_prefix_more_than_the_config_holds)
{
	char text[4096];
	make_list(text, sizeof text, "ingest", "bind", "\"tcp://*:%d\"", TC_MAX_ENDPOINTS + 1);
	expect_error(text, "config.yaml:5:16: ingest.bind: expected 1..8 items, got 9");
	make_list(text, sizeof text, "ingest", "subscribe", "\"s%d.\"", TC_MAX_PREFIXES + 1);
	expect_error(text, "config.yaml:5:21: ingest.subscribe: expected 1..16 items, got 17");
}

Test(config, rejects_an_empty_endpoint_list)
{
	expect_error(MODEL "ingest: {bind: []}\n",
		"config.yaml:5:16: ingest.bind: expected 1..8 items, got 0");
	expect_error(MODEL "publish:\n  bind:\n",
		"config.yaml:6:8: publish.bind: expected 1..8 items, got 0");
	expect_error(MODEL "ingest:\n  subscribe: []\n",
		"config.yaml:6:14: ingest.subscribe: expected 1..16 items, got 0");
}

/* One integer key: its section, name and the bounds the task asks for. */
struct int_key {
	char section[16], key[24]; /* arrays, so that GCC cannot suspect a NULL in them */
	long long min, max;
};

static const struct int_key int_keys[] = {
	{ "ingest", "rcvhwm", 1, 100000000 },
	{ "ingest", "max_message_bytes", 1024, 1073741824 },
	{ "ingest", "queue_readings", 1024, 1000000000 },
	{ "ingest", "queue_bytes", 1048576, 1099511627776 },
	{ "ingest", "threads", 1, 64 },
	{ "publish", "sndhwm", 1, 100000000 },
	{ "publish", "batch_bytes", 0, 268435456 },
	{ "publish", "queue_ticks", 1, 1000 },
	{ "publish", "threads", 1, 64 },
	{ "publish", "drain_ms", 0, 600000 },
	{ "series", "max", 1, 100000000 },
	{ "series", "ttl_ticks", 0, 1000000000000LL },
	{ "checkpoint", "every_ticks", 1, 1000000000 },
};

/* The value of an integer key as its field holds it. */
static long long int_field(const struct tc_config *cfg, const struct int_key *k)
{
	static const struct { const char *section, *key; size_t offset; int wide; } fields[] = {
		{ "ingest", "rcvhwm", offsetof(struct tc_config, ingest.rcvhwm), 0 },
		{ "ingest", "max_message_bytes", offsetof(struct tc_config, ingest.max_message_bytes), 0 },
		{ "ingest", "queue_readings", offsetof(struct tc_config, ingest.queue_readings), 0 },
		{ "ingest", "queue_bytes", offsetof(struct tc_config, ingest.queue_bytes), 1 },
		{ "ingest", "threads", offsetof(struct tc_config, ingest.threads), 0 },
		{ "publish", "sndhwm", offsetof(struct tc_config, publish.sndhwm), 0 },
		{ "publish", "batch_bytes", offsetof(struct tc_config, publish.batch_bytes), 0 },
		{ "publish", "queue_ticks", offsetof(struct tc_config, publish.queue_ticks), 0 },
		{ "publish", "threads", offsetof(struct tc_config, publish.threads), 0 },
		{ "publish", "drain_ms", offsetof(struct tc_config, publish.drain_ms), 0 },
		{ "series", "max", offsetof(struct tc_config, series.max), 1 },
		{ "series", "ttl_ticks", offsetof(struct tc_config, series.ttl_ticks), 1 },
		{ "checkpoint", "every_ticks", offsetof(struct tc_config, checkpoint.every_ticks), 1 },
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		if (strcmp(fields[i].section, k->section) == 0 && strcmp(fields[i].key, k->key) == 0) {
			const char *at = (const char *)cfg + fields[i].offset;
			return fields[i].wide ? *(const int64_t *)at : *(const int *)at;
		}
	}
	cr_assert_fail("no field for %s", k->key);
	return 0;
}

Test(config, accepts_each_daemon_integer_at_both_of_its_bounds)
{
	for (size_t i = 0; i < sizeof int_keys / sizeof int_keys[0]; i++) {
		const struct int_key *k = &int_keys[i];
		long long ends[] = { k->min, k->max };
		for (int e = 0; e < 2; e++) {
			char text[1024];
			struct tc_config cfg;
			snprintf(text, sizeof text, MODEL "%s:\n  %s: %lld\n", k->section, k->key, ends[e]);
			expect_ok(&cfg, text);
			cr_assert_eq(int_field(&cfg, k), ends[e], "%s.%s", k->section, k->key);
		}
	}
}

Test(config, rejects_each_daemon_integer_just_outside_its_bounds)
{
	for (size_t i = 0; i < sizeof int_keys / sizeof int_keys[0]; i++) {
		const struct int_key *k = &int_keys[i];
		long long outside[] = { k->min - 1, k->max + 1 };
		for (int e = 0; e < 2; e++) {
			/* want is larger than an error: GCC bounds k->key by the whole table. */
			char text[1024], want[1024];
			snprintf(text, sizeof text, MODEL "%s:\n  %s: %lld\n", k->section, k->key,
				outside[e]);
			/* The value starts after "  key: ". */
			snprintf(want, sizeof want, "config.yaml:6:%zu: %s.%s: %lld is out of range %lld..%lld",
				strlen(k->key) + 5, k->section, k->key, outside[e], k->min, k->max);
			expect_error(text, want);
		}
	}
}

Test(config, reports_an_int64_too_large_to_hold_as_out_of_range)
{
	expect_error(MODEL "series: {ttl_ticks: 99999999999999999999}\n",
		"config.yaml:5:21: series.ttl_ticks: 99999999999999999999 is out of range "
		"0..1000000000000");
}

Test(config, calls_an_integer_that_may_be_zero_non_negative)
{
	expect_error(MODEL "publish: {batch_bytes: 1k}\n",
		"config.yaml:5:24: publish.batch_bytes: expected a non-negative integer, got \"1k\"");
	expect_error(MODEL "series: {max: lots}\n",
		"config.yaml:5:15: series.max: expected a positive integer, got \"lots\"");
}

Test(config, rejects_an_address_without_a_transport_at_its_place)
{
	expect_error(MODEL
		"tick:\n"
		"  clock: wall\n"
		"  interval_ms: 1000\n"
		"ingest:\n"
		"  bind: [localhost:7700]\n",
		"config.yaml:9:10: ingest.bind[0]: expected an endpoint like tcp://127.0.0.1:7700, "
		"got \"localhost:7700\"");
}

Test(config, rejects_a_transport_zeromq_does_not_bind)
{
	expect_error(MODEL "publish: {bind: [\"tcp://*:1\", \"udp://1.2.3.4:5\"]}\n",
		"config.yaml:5:31: publish.bind[1]: expected an endpoint starting with tcp://, "
		"ipc:// or inproc://, got \"udp://1.2.3.4:5\"");
	expect_error(MODEL "publish: {bind: \"TCP://*:1\"}\n",
		"config.yaml:5:17: publish.bind: expected an endpoint starting with tcp://, "
		"ipc:// or inproc://, got \"TCP://*:1\"");
}

Test(config, rejects_an_endpoint_without_an_address_or_with_spaces)
{
	expect_error(MODEL "control: {bind: \"tcp://\"}\n",
		"config.yaml:5:17: control.bind: expected an endpoint like tcp://127.0.0.1:7700, "
		"got \"tcp://\"");
	expect_error(MODEL "ingest: {bind: \"tcp://* :7700\"}\n",
		"config.yaml:5:16: ingest.bind: expected an endpoint like tcp://127.0.0.1:7700, "
		"got \"tcp://* :7700\"");
}

Test(config, rejects_an_empty_endpoint_in_a_list)
{
	expect_error(MODEL "ingest:\n  bind: [\"tcp://*:1\", \"\"]\n",
		"config.yaml:6:23: ingest.bind[1]: expected a non-empty string");
}

Test(config, takes_an_empty_control_endpoint_as_no_control_socket)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL "control: {bind: ''}\n");
	cr_assert_str_eq(cfg.control.bind, "");
	/* An empty value is not "": a commented-out endpoint must not switch the socket off. */
	expect_error(MODEL "control:\n  bind:\n",
		"config.yaml:6:8: control.bind: expected a string, got an empty value");
}

Test(config, accepts_an_empty_topic_prefix)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL "publish: {topic_prefix: \"\"}\n");
	cr_assert_str_eq(cfg.publish.topic_prefix, "");
}

/* MODEL, then `section: {key: "<len x's>"}`, with the value as an endpoint when tcp. */
static void make_long(char *text, size_t size, const char *section, const char *key,
	size_t len, int tcp)
{
	char value[TC_ENDPOINT_MAX + TC_PREFIX_MAX];
	size_t head = tcp ? strlen("tcp://") : 0;
	memcpy(value, "tcp://", head);
	memset(value + head, 'x', len - head);
	value[len] = '\0';
	snprintf(text, size, MODEL "%s: {%s: \"%s\"}\n", section, key, value);
}

Test(config, holds_strings_up_to_their_buffers_and_rejects_one_byte_more)
{
	char text[2048];
	struct tc_config cfg;
	make_long(text, sizeof text, "ingest", "bind", TC_ENDPOINT_MAX - 1, 1);
	expect_ok(&cfg, text);
	cr_assert_eq(strlen(cfg.ingest.bind[0]), TC_ENDPOINT_MAX - 1);
	make_long(text, sizeof text, "ingest", "bind", TC_ENDPOINT_MAX, 1);
	expect_error(text, "config.yaml:5:16: ingest.bind: is 256 bytes long, at most 255 allowed");
	make_long(text, sizeof text, "ingest", "subscribe", TC_PREFIX_MAX - 1, 0);
	expect_ok(&cfg, text);
	cr_assert_eq(strlen(cfg.ingest.subscribe[0]), TC_PREFIX_MAX - 1);
	make_long(text, sizeof text, "ingest", "subscribe", TC_PREFIX_MAX, 0);
	expect_error(text,
		"config.yaml:5:21: ingest.subscribe: is 256 bytes long, at most 255 allowed");
	make_long(text, sizeof text, "publish", "topic_prefix", TC_PREFIX_MAX - 1, 0);
	expect_ok(&cfg, text);
	make_long(text, sizeof text, "publish", "topic_prefix", TC_PREFIX_MAX, 0);
	expect_error(text,
		"config.yaml:5:25: publish.topic_prefix: is 256 bytes long, at most 255 allowed");
	make_long(text, sizeof text, "control", "bind", TC_ENDPOINT_MAX, 1);
	expect_error(text, "config.yaml:5:17: control.bind: is 256 bytes long, at most 255 allowed");
}

Test(config, rejects_a_mapping_where_a_list_of_strings_belongs)
{
	expect_error(MODEL "ingest:\n  bind: {tcp: 7700}\n",
		"config.yaml:6:9: ingest.bind: expected a string or a sequence of strings, "
		"got a mapping");
}

Test(config, rejects_a_number_in_a_list_of_strings_and_says_to_quote_it)
{
	struct tc_config cfg;
	expect_error(MODEL "ingest:\n  subscribe: [\"a.\", 42]\n",
		"config.yaml:6:21: ingest.subscribe[1]: expected a string, got the number 42; "
		"quote it (\"42\") to use it as text");
	expect_error(MODEL "publish: {topic_prefix: 1.50}\n",
		"config.yaml:5:25: publish.topic_prefix: expected a string, got the number 1.50; "
		"quote it (\"1.50\") to use it as text");
	expect_ok(&cfg, MODEL "ingest:\n  subscribe: [\"42\", '0123', 4a]\n");
	cr_assert_str_eq(cfg.ingest.subscribe[0], "42");
	cr_assert_str_eq(cfg.ingest.subscribe[1], "0123");
	cr_assert_str_eq(cfg.ingest.subscribe[2], "4a");
}

Test(config, rejects_every_spelling_of_a_yaml_number_where_text_belongs)
{
	static const char *const numbers[] = { "7", "-7", "+0.5", ".5", "1.", "1e3", "2E-4",
		"0123", "0x1F", "0o17" };
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
		char text[512], want[TC_ERR_LEN];
		snprintf(text, sizeof text, MODEL "ingest: {subscribe: %s}\n", numbers[i]);
		snprintf(want, sizeof want, "config.yaml:5:21: ingest.subscribe: expected a string, "
			"got the number %s; quote it (\"%s\") to use it as text", numbers[i], numbers[i]);
		expect_error(text, want);
	}
}

Test(config, names_an_endpoint_given_as_a_number_as_a_bad_endpoint)
{
	expect_error(MODEL "ingest: {bind: [7700]}\n",
		"config.yaml:5:17: ingest.bind[0]: expected an endpoint like tcp://127.0.0.1:7700, "
		"got \"7700\"");
}

Test(config, rejects_a_mapping_null_or_sequence_inside_a_list_of_strings)
{
	expect_error(MODEL "ingest: {bind: [{tcp: 1}]}\n",
		"config.yaml:5:17: ingest.bind[0]: expected a string, got a mapping");
	expect_error(MODEL "ingest: {subscribe: [a, ~]}\n",
		"config.yaml:5:25: ingest.subscribe[1]: expected a string, got null");
	expect_error(MODEL "publish:\n  bind:\n    - [tcp://*:1]\n",
		"config.yaml:7:7: publish.bind[0]: expected a string, got a sequence");
}

Test(config, rejects_a_sequence_where_a_daemon_section_belongs)
{
	expect_error(MODEL "series: [1, 2]\n",
		"config.yaml:5:9: series: expected a mapping, got a sequence");
	expect_error(MODEL "log: debug\n",
		"config.yaml:5:6: log: expected a mapping, got \"debug\"");
}

Test(config, rejects_an_unknown_key_in_each_daemon_section_at_its_place)
{
	static const struct { const char *section, *keys; } cases[] = {
		{ "ingest", "bind, subscribe, rcvhwm, max_message_bytes, queue_readings, queue_bytes, "
			"threads" },
		{ "publish", "bind, topic_prefix, format, sndhwm, batch_bytes, queue_ticks, threads, drain_ms" },
		{ "control", "bind" },
		{ "series", "max, ttl_ticks" },
		{ "checkpoint", "path, every_ticks, on_bad" },
		{ "metrics", "listen" },
		{ "security", "curve" },
		{ "log", "level" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[512], want[TC_ERR_LEN];
		snprintf(text, sizeof text, MODEL "%s:\n  # a comment\n    hwm: 5\n", cases[i].section);
		snprintf(want, sizeof want, "config.yaml:7:5: %s.hwm: unknown key (expected one of: %s)",
			cases[i].section, cases[i].keys);
		expect_error(text, want);
	}
}

Test(config, rejects_an_unknown_model_reload_key)
{
	expect_error(MODEL "  watch_interval: 5\n",
		"config.yaml:5:3: model.watch_interval: unknown key (expected one of: weights, "
		"input_size, reset_after, precision, layers, head, scaler, intervals, tensors, watch, "
		"reset_state_on_change)");
}

Test(config, reads_binary_as_a_publish_format)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL "publish: {format: binary, batch_bytes: 4096}\n");
	cr_assert_eq(cfg.publish.format, TC_FORMAT_BINARY);
	cr_assert_eq(cfg.publish.batch_bytes, 4096);
}

Test(config, rejects_a_word_outside_the_format_and_log_level_choices)
{
	expect_error(MODEL "publish: {format: xml}\n",
		"config.yaml:5:19: publish.format: expected one of text, json, binary, got \"xml\"");
	expect_error(MODEL "log:\n  level: warn\n",
		"config.yaml:6:10: log.level: expected one of error, warning, info, debug, "
		"got \"warn\"");
}

Test(config, rejects_a_word_that_is_not_a_boolean_for_watch)
{
	expect_error(MODEL "  watch: inotify\n",
		"config.yaml:5:10: model.watch: expected true or false, got \"inotify\"");
}

Test(config, names_the_format_and_log_level_as_the_config_spells_them)
{
	cr_assert_str_eq(tc_format_to_string(TC_FORMAT_TEXT), "text");
	cr_assert_str_eq(tc_format_to_string(TC_FORMAT_JSON), "json");
	cr_assert_str_eq(tc_format_to_string(TC_FORMAT_BINARY), "binary");
	cr_assert_str_eq(tc_log_level_to_string(TC_LOG_ERROR), "error");
	cr_assert_str_eq(tc_log_level_to_string(TC_LOG_WARNING), "warning");
	cr_assert_str_eq(tc_log_level_to_string(TC_LOG_INFO), "info");
	cr_assert_str_eq(tc_log_level_to_string(TC_LOG_DEBUG), "debug");
	cr_assert_str_eq(tc_format_to_string((enum tc_format)3), "?");
	cr_assert_str_eq(tc_log_level_to_string((enum tc_log_level)-1), "?");
}

#define WORDS(...) ((const char *[]){ __VA_ARGS__, NULL })

Test(config, describes_every_daemon_key_with_its_type_default_and_help)
{
	char *text = describe_all();
	expect_described(text, "model.watch", WORDS("bool", "false", "inotify"));
	expect_described(text, "model.reset_state_on_change", WORDS("bool", "false", "refused"));
	expect_described(text, "ingest", WORDS("mapping", "-", "readings"));
	expect_described(text, "ingest.bind",
		WORDS("list of 1..8 strings, 1..255 bytes", "[\"tcp://127.0.0.1:7700\"]", "SUB"));
	expect_described(text, "ingest.subscribe",
		WORDS("list of 1..16 strings, 0..255 bytes", "[\"\"]", "everything"));
	expect_described(text, "ingest.rcvhwm", WORDS("int 1..100000000", "100000", "queue"));
	expect_described(text, "ingest.max_message_bytes",
		WORDS("int 1024..1073741824", "16777216", "rejected"));
	expect_described(text, "ingest.queue_readings",
		WORDS("int 1024..1000000000", "4194304", "pushes back"));
	expect_described(text, "publish.bind",
		WORDS("list of 1..8 strings", "[\"tcp://127.0.0.1:7701\"]", "PUB"));
	expect_described(text, "publish.topic_prefix",
		WORDS("string 0..255 bytes", "forecast.", "series id"));
	expect_described(text, "publish.format",
		WORDS("text | json | binary", "text", "written", "protocol.md"));
	expect_described(text, "publish.sndhwm", WORDS("int 1..100000000", "200000", "drops"));
	expect_described(text, "publish.batch_bytes", WORDS("int 0..268435456", "0", "pack"));
	expect_described(text, "control.bind",
		WORDS("string 0..255 bytes", "tcp://127.0.0.1:7702", "REP", "none"));
	expect_described(text, "series.max", WORDS("int64 1..100000000", "1000000", "live"));
	expect_described(text, "series.ttl_ticks",
		WORDS("int64 0..1000000000000", "3600", "never"));
	expect_described(text, "log.level",
		WORDS("error | warning | info | debug", "info", "severe"));
	free(text);
}

/* The bundled config/tickcast.yaml, two folders above the test data. */
Test(config, the_bundled_config_shows_the_daemon_defaults)
{
	const char *data = getenv("TC_TEST_DATA");
	cr_assert_not_null(data, "TC_TEST_DATA is not set");
	char path[TC_PATH_MAX], err[TC_ERR_LEN];
	snprintf(path, sizeof path, "%s/../../config/tickcast.yaml", data);
	struct tc_config cfg, defaults;
	cr_assert_eq(tc_config_load(&cfg, path, err), 0, "%s", err);
	tc_config_init(&defaults);
	expect_daemon_defaults(&cfg);
	cr_assert_eq(cfg.tick.clock, TC_CLOCK_WALL);
	/* Both start zeroed, so every byte of a section matches when its values do. */
	cr_assert_eq(memcmp(&cfg.ingest, &defaults.ingest, sizeof cfg.ingest), 0);
	cr_assert_eq(cfg.publish.given, 1, "the bundled config has a publish section");
	cfg.publish.given = 0; /* the defaults' section is not given */
	cr_assert_eq(memcmp(&cfg.publish, &defaults.publish, sizeof cfg.publish), 0);
	cr_assert_eq(memcmp(&cfg.control, &defaults.control, sizeof cfg.control), 0);
	cr_assert_eq(memcmp(&cfg.series, &defaults.series, sizeof cfg.series), 0);
	cr_assert_eq(memcmp(&cfg.metrics, &defaults.metrics, sizeof cfg.metrics), 0);
}

Test(config, resolves_a_relative_checkpoint_path_and_keeps_an_empty_one_off)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL "checkpoint: {path: state/tc.ckpt, every_ticks: 5, on_bad: discard}\n");
	cr_assert_str_eq(cfg.checkpoint.path, "./state/tc.ckpt");
	cr_assert_eq(cfg.checkpoint.every_ticks, 5);
	cr_assert_eq(cfg.checkpoint.on_bad, TC_ON_BAD_DISCARD);
	expect_ok(&cfg, MODEL "checkpoint: {path: \"\"}\n");
	cr_assert_str_eq(cfg.checkpoint.path, "");
	expect_error(MODEL "checkpoint: {on_bad: ignore}\n",
		"config.yaml:5:22: checkpoint.on_bad: expected one of refuse, discard, got \"ignore\"");
}

Test(config, reads_a_metrics_listen_address_and_an_empty_one_as_off)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL "metrics: {listen: \"[::1]:9100\"}\n");
	cr_assert_str_eq(cfg.metrics.listen, "[::1]:9100");
	expect_ok(&cfg, MODEL "metrics: {listen: localhost:7703}\n");
	cr_assert_str_eq(cfg.metrics.listen, "localhost:7703");
	expect_ok(&cfg, MODEL "metrics: {listen: \"\"}\n");
	cr_assert_str_eq(cfg.metrics.listen, "");
}

Test(config, rejects_a_metrics_listen_address_without_a_valid_port_or_brackets)
{
	expect_error(MODEL "metrics: {listen: \"127.0.0.1\"}\n",
		"config.yaml:5:19: metrics.listen: expected host:port like 127.0.0.1:7703 or "
		"[::1]:7703, got \"127.0.0.1\"");
	expect_error(MODEL "metrics: {listen: \"127.0.0.1:70000\"}\n",
		"config.yaml:5:19: metrics.listen: expected a port from 1 to 65535 after the last ':' "
		"(host:port like 127.0.0.1:7703), got \"127.0.0.1:70000\"");
	expect_error(MODEL "metrics: {listen: \"::1:7703\"}\n",
		"config.yaml:5:19: metrics.listen: expected an IPv6 host in brackets, like [::1]:7703, "
		"got \"::1:7703\"");
	expect_error(MODEL "metrics: {listen: \"tcp://127.0.0.1:7703\"}\n",
		"config.yaml:5:19: metrics.listen: expected host:port like 127.0.0.1:7703 or "
		"[::1]:7703, got \"tcp://127.0.0.1:7703\"");
}

Test(config, resolves_the_curve_paths_against_the_config_and_keeps_empty_ones_off)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL "security: {curve: {secret_key: keys/server.key_secret, "
		"authorized_keys: /etc/tickcast/clients}}\n");
	cr_assert_str_eq(cfg.security.curve_secret_key, "./keys/server.key_secret");
	cr_assert_str_eq(cfg.security.curve_authorized_keys, "/etc/tickcast/clients");
	expect_ok(&cfg, MODEL "security: {curve: {secret_key: \"\"}}\n");
	cr_assert_str_eq(cfg.security.curve_secret_key, "");
	expect_error(MODEL "security:\n  curve:\n    public_key: a.key\n",
		"config.yaml:7:5: security.curve.public_key: unknown key (expected one of: "
		"secret_key, authorized_keys)");
}
