/* test_checkpoint_replay.c -- a replay stopped with --checkpoint-out and resumed with
 * --checkpoint-in prints exactly what one uninterrupted replay prints: for every
 * aggregate, missing policy, scaler and GRU variant, split at several ticks; and
 * with LSTM and RNN layers, whose states (an LSTM's cell state too) go through
 * the checkpoint as well. With the scaler the configs also have model.intervals,
 * whose bounds (text forecasts print them) resume from the checkpoint too. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "daemon_harness.h"
#include "model_file.h"
#include "replay.h"

#define BUCKETS 12
#define SERIES 30

static const int hidden[] = {8, 5};

/* The layers' type in the configs write_config writes. */
static const char *cell = "gru";

TestSuite(checkpoint_replay, .init = dh_setup, .fini = dh_teardown);

/* Readings of bucket b: each series reads in about 7 buckets of 10, one to
 * three times (so aggregates differ), around a level of its own (so the
 * scaler has work). Deterministic. */
static void add_bucket(struct dh_buf *text, unsigned b)
{
	for (unsigned s = 0; s < SERIES; s++) {
		uint32_t h = (b * 7919u + s * 104729u) * 2654435761u;
		if ((h >> 7) % 10 >= 7 && b > 0) {
			continue;
		}
		unsigned times = 1 + (h >> 13) % 3;
		for (unsigned k = 0; k < times; k++) {
			double v = 10.0 * s + (double)((h >> (k * 5)) % 1000) / 250.0 - 2.0;
			dh_buf_printf(text, "s%u %.6g %u.%u\n", s, v, b, 100 + 200 * k);
		}
	}
}

/* Replays text through the config at path, from and to the checkpoints in
 * ck; returns what it printed (the caller frees it). */
static char *replay(const char *config, const char *text, size_t len,
	const struct tc_replay_checkpoints *ck)
{
	struct tc_config *cfg = malloc(sizeof *cfg);
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_config_load(cfg, config, err), 0, "%s", err);
	struct tc_model *m = tc_model_file_load(&cfg->model, cfg->weights_path, err);
	cr_assert_not_null(m, "%s", err);
	FILE *in = fmemopen((void *)text, len, "r");
	char *printed = NULL;
	size_t printed_len = 0;
	FILE *out = open_memstream(&printed, &printed_len);
	FILE *log = fopen("/dev/null", "w");
	struct tc_replay_stats stats;
	int rc = tc_replay_run(cfg, m, in, out, log, ck, NULL, &stats, err);
	cr_assert_eq(rc, 0, "replay: %s", err);
	fclose(in);
	fclose(out);
	fclose(log);
	tc_model_destroy(&m);
	free(cfg);
	return printed;
}

/* Writes a config for the combination; returns its path. */
static const char *write_config(const char *aggregate, const char *missing, int ema,
	int reset_after)
{
	char extra[256];
	snprintf(extra, sizeof extra, "reset_after: %s%s", reset_after ? "true" : "false",
		ema ? ", scaler: {type: ema, alpha: 0.2, warmup: 3}, intervals: {level: 0.8, window: 5}"
		: "");
	struct dh_buf b = {0};
	dh_buf_printf(&b, "model: {%s}\ntick: {clock: event, interval_ms: 1000, aggregate: %s, "
		"missing: %s}\n", dh_cells_yaml("w.safetensors", cell, hidden, 2, 3, extra), aggregate,
		missing);
	dh_write_file("c.yaml", b.p, b.len);
	dh_buf_free(&b);
	return dh_path("c.yaml");
}

/* Replays buckets 0..BUCKETS-1 whole, then split after each bucket in
 * `splits`, and compares the printed lines byte for byte. */
static void expect_resumed_equal(const char *aggregate, const char *missing, int ema,
	int reset_after)
{
	struct dh_buf whole = {0};
	size_t end_of[BUCKETS];
	for (unsigned b = 0; b < BUCKETS; b++) {
		add_bucket(&whole, b);
		end_of[b] = whole.len;
	}
	char config[4096];
	snprintf(config, sizeof config, "%s", write_config(aggregate, missing, ema, reset_after));
	char *want = replay(config, whole.p, whole.len, NULL);
	static const unsigned splits[] = {0, 4, BUCKETS - 2};
	for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
		size_t cut = end_of[splits[i]];
		char ckpt[4096];
		snprintf(ckpt, sizeof ckpt, "%s", dh_path("state.ckpt"));
		char *first = replay(config, whole.p, cut, &(struct tc_replay_checkpoints){.out = ckpt});
		char *second = replay(config, whole.p + cut, whole.len - cut,
			&(struct tc_replay_checkpoints){.in = ckpt});
		struct dh_buf joined = {0};
		dh_buf_add(&joined, first, strlen(first));
		dh_buf_add(&joined, second, strlen(second) + 1);
		cr_assert_str_eq(joined.p, want, "aggregate %s, missing %s, scaler %s, reset_after %d, "
			"split after bucket %u: the resumed replay differs", aggregate, missing,
			ema ? "ema" : "none", reset_after, splits[i]);
		dh_buf_free(&joined);
		free(first);
		free(second);
	}
	free(want);
	dh_buf_free(&whole);
}

static void every_combination_with(const char *aggregate)
{
	dh_write_gru("w.safetensors", hidden, 2, 3, 7);
	static const char *missing[] = {"skip", "hold", "zero"};
	for (int m = 0; m < 3; m++) {
		for (int ema = 0; ema < 2; ema++) {
			for (int reset_after = 0; reset_after < 2; reset_after++) {
				expect_resumed_equal(aggregate, missing[m], ema, reset_after);
			}
		}
	}
}

Test(checkpoint_replay, resumed_equals_uninterrupted_with_aggregate_last)
{
	every_combination_with("last");
}

Test(checkpoint_replay, resumed_equals_uninterrupted_with_aggregate_mean)
{
	every_combination_with("mean");
}

Test(checkpoint_replay, resumed_equals_uninterrupted_with_aggregate_min)
{
	every_combination_with("min");
}

Test(checkpoint_replay, resumed_equals_uninterrupted_with_aggregate_max)
{
	every_combination_with("max");
}

Test(checkpoint_replay, resumed_equals_uninterrupted_with_aggregate_sum)
{
	every_combination_with("sum");
}

Test(checkpoint_replay, a_reading_of_a_checkpointed_tick_is_late_after_resuming)
{
	dh_write_gru("w.safetensors", hidden, 2, 3, 7);
	const char *config = write_config("last", "skip", 0, 1);
	char ckpt[4096];
	snprintf(ckpt, sizeof ckpt, "%s", dh_path("state.ckpt"));
	const char first[] = "a 1 10.5\nb 2 11.5\n";
	free(replay(config, first, sizeof first - 1, &(struct tc_replay_checkpoints){.out = ckpt}));
	/* Bucket 11 was stepped before the checkpoint: its reading is late;
	 * bucket 12's is not. */
	const char second[] = "a 3 11.9\na 4 12.1\n";
	char *printed = replay(config, second, sizeof second - 1,
		&(struct tc_replay_checkpoints){.in = ckpt});
	cr_assert_not_null(strstr(printed, "a 12 "), "%s", printed);
	cr_assert_null(strstr(printed, " 11 "), "a late bucket was stepped:\n%s", printed);
	cr_assert_null(strstr(printed, "b "), "b had no reading after the checkpoint:\n%s",
		printed);
	free(printed);
}

Test(checkpoint_replay, an_lstms_hidden_and_cell_states_both_resume)
{
	cell = "lstm";
	dh_write_cells("w.safetensors", cell, hidden, 2, 3, 7);
	expect_resumed_equal("mean", "hold", 1, 1);
	expect_resumed_equal("last", "skip", 0, 1);
}

Test(checkpoint_replay, an_rnns_state_resumes)
{
	cell = "rnn";
	dh_write_cells("w.safetensors", cell, hidden, 2, 3, 7);
	expect_resumed_equal("mean", "zero", 1, 1);
}

Test(checkpoint_replay, a_gru_checkpoint_is_refused_by_an_lstm_of_the_same_sizes)
{
	dh_write_gru("gru.safetensors", hidden, 2, 3, 7);
	dh_write_cells("w.safetensors", "lstm", hidden, 2, 3, 7);
	struct dh_buf b = {0};
	dh_buf_printf(&b, "model: {%s}\ntick: {clock: event, interval_ms: 1000}\n",
		dh_gru_yaml("gru.safetensors", hidden, 2, 3, NULL));
	dh_write_file("gru.yaml", b.p, b.len);
	dh_buf_free(&b);
	char ckpt[4096], gru_config[4096];
	snprintf(ckpt, sizeof ckpt, "%s", dh_path("state.ckpt"));
	snprintf(gru_config, sizeof gru_config, "%s", dh_path("gru.yaml"));
	const char text[] = "a 1 10.5\nb 2 11.5\n";
	free(replay(gru_config, text, sizeof text - 1, &(struct tc_replay_checkpoints){.out = ckpt}));

	cell = "lstm";
	struct tc_config *cfg = malloc(sizeof *cfg);
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_config_load(cfg, write_config("last", "skip", 0, 1), err), 0, "%s", err);
	struct tc_model *m = tc_model_file_load(&cfg->model, cfg->weights_path, err);
	cr_assert_not_null(m, "%s", err);
	FILE *in = fmemopen((void *)text, sizeof text - 1, "r");
	FILE *out = fopen("/dev/null", "w"), *log = fopen("/dev/null", "w");
	struct tc_replay_stats stats;
	cr_assert_eq(tc_replay_run(cfg, m, in, out, log, &(struct tc_replay_checkpoints){.in = ckpt},
		NULL, &stats, err), -1, "an LSTM resumed from a GRU's states");
	cr_assert(strstr(err, "layers [8, 5]") && strstr(err, "layers [lstm 8, lstm 5]"),
		"the message names both shapes: %s", err);
	fclose(in);
	fclose(out);
	fclose(log);
	tc_model_destroy(&m);
	free(cfg);
}
