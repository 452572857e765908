/* replay.c -- `tickcast replay`: a file of readings through the tick engine. */
#include "replay.h"

#include <errno.h>
#include <inttypes.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "replay_input.h"
#include "replay_output.h"
#include "tick.h"
#include "tick_checkpoint.h"

#define REPLAY_MAX_SERIES ((size_t)UINT32_MAX - 1)

/* Why the tick engine turned a parsed reading down, in words. */
static const char *tick_reject_message(enum tc_reject why)
{
	switch (why) {
	case TC_REJECT_LATE:
		return "late: its bucket was already stepped";
	case TC_REJECT_NO_TIMESTAMP:
		return "missing timestamp (replay uses the event clock, which needs one)";
	default:
		return "too many series";
	}
}

/* Restores the checkpoint at path into tick, saying so on log. */
static int restore(struct tc_tick *tick, const char *path, FILE *log, char *err)
{
	struct tc_checkpoint *c = tc_checkpoint_create();
	if (!c) {
		return tc_err_set(err, "out of memory");
	}
	int other_weights = 0;
	int rc = tc_checkpoint_load(c, path, err);
	if (rc == 0 && tc_tick_checkpoint_fits(tick, c, &other_weights, err) < 0) {
		tc_err_prefix(err, "checkpoint %s does not fit the config", path);
		rc = -1;
	}
	if (rc == 0 && tc_tick_restore(tick, c, err) < 0) {
		tc_err_prefix(err, "restoring %s", path);
		rc = -1;
	}
	if (rc == 0) {
		const struct tc_checkpoint_info *info = tc_checkpoint_get_info(c);
		int has;
		int64_t ms = tc_checkpoint_last_tick_ms(c, &has);
		fprintf(log, "replay: restored %" PRIu64 " series from %s, last tick ", info->slots
			- info->free_slots, path);
		fprintf(log, has ? "t=%.17g\n" : "(none)\n", (double)ms / 1000.0);
		if (other_weights) {
			fprintf(log, "replay: the checkpoint's states were made by other weights (sha256 "
				"%s) of the same shape\n", info->weights_sha256[0] ? info->weights_sha256 : "?");
		}
	}
	tc_checkpoint_destroy(&c);
	return rc;
}

/* Writes tick's checkpoint to path. */
static int save(struct tc_tick *tick, const char *path, char *err)
{
	struct tc_checkpoint *c = tc_checkpoint_create();
	if (!c) {
		return tc_err_set(err, "out of memory");
	}
	int rc = tc_tick_checkpoint(tick, c, err) < 0 || tc_checkpoint_save(c, path, err) < 0 ? -1 : 0;
	tc_checkpoint_destroy(&c);
	return rc;
}

/* Logs lines [lo, hi) of the block that did not parse, and those whose
 * readings the tick engine turned down (in its last call), in line order;
 * line i is number first + i. */
static void log_rejections(const struct tc_replay_input *in, const struct tc_tick *tick,
	size_t lo, size_t hi, uint64_t first, FILE *log, struct tc_replay_stats *stats)
{
	for (size_t i = lo; i < hi; i++) {
		size_t reading;
		enum tc_reject why;
		char why_text[TC_ERR_LEN];
		int state = tc_replay_input_line(in, i, &reading, &why, why_text);
		if (state < 0) {
			stats->rejected[why]++;
			fprintf(log, "line %" PRIu64 ": %s\n", first + i, why_text);
		} else if (state > 0 && tc_tick_batch_rejected(tick, reading, &why)) {
			fprintf(log, "line %" PRIu64 ": %s\n", first + i, tick_reject_message(why));
		}
	}
}

/* Files the block's readings, logging after each call the lines it went
 * over, until all are filed or a tick could not be stepped or written. */
static int offer_block(struct tc_tick *tick, const struct tc_replay_input *in, size_t n_lines,
	const struct tc_emitter *emitter, FILE *log, struct tc_replay_stats *stats, char *err)
{
	const struct tc_reading_batch *batch = tc_replay_input_batch(in);
	const uint64_t first = stats->lines + 1;
	size_t next = 0;
	size_t logged = 0;   /* lines */
	int rc = 0;
	do {
		rc = batch->n ? tc_tick_offer_batch(tick, batch, &next, emitter, err) : 0;
		size_t upto = tc_replay_input_line_of(in, next);
		log_rejections(in, tick, logged, upto, first, log, stats);
		logged = upto;
	} while (rc == 0 && next < batch->n);
	stats->lines += n_lines;
	return rc;
}

int tc_replay_run(const struct tc_config *cfg, const struct tc_model *m,
	FILE *in, FILE *out, FILE *log, const struct tc_replay_checkpoints *ck,
	const struct tc_replay_output *output, struct tc_replay_stats *stats, char *err)
{
	struct tc_tick_config tick_cfg = cfg->tick;
	tick_cfg.clock = TC_CLOCK_EVENT;
	struct tc_tick *tick = tc_tick_create(&tick_cfg, m, REPLAY_MAX_SERIES, 0, &cfg->scaler, err);
	if (!tick) {
		return -1;
	}
	if (tc_tick_set_intervals(tick, &cfg->intervals, &cfg->anomaly, err) < 0) {
		tc_tick_destroy(&tick);
		return -1;
	}
	memset(stats, 0, sizeof *stats);
	if (ck && ck->in && restore(tick, ck->in, log, err) < 0) {
		tc_tick_destroy(&tick);
		return -1;
	}
	struct tc_replay_writer *writer = tc_replay_writer_create(output ? output->format
		: TC_FORMAT_TEXT, out, output ? output->anomalies : NULL, err);
	struct tc_replay_input *input = tc_replay_input_create(tc_model_get_spec(m)->input_size,
		omp_get_max_threads());
	if (!writer || !input) {
		tc_replay_writer_destroy(&writer);
		tc_replay_input_destroy(&input);
		tc_tick_destroy(&tick);
		return tc_err_set(err, "out of memory");
	}
	struct tc_emitter emitter = {tc_replay_writer_emit, writer};
	const uint64_t restored_ticks = tc_tick_get_stats(tick)->ticks;
	long n_lines;
	int rc = 0;
	while (rc == 0 && (n_lines = tc_replay_input_next(input, in, err)) > 0) {
		rc = offer_block(tick, input, (size_t)n_lines, &emitter, log, stats, err);
	}
	if (rc == 0 && n_lines < 0) {
		rc = -1;
	}
	if (rc == 0) {
		rc = tc_tick_close(tick, &emitter, err);
	}
	if (rc == 0 && fflush(out) != 0) {
		rc = tc_err_set(err, "writing the forecasts failed: %s", strerror(errno));
	}
	if (rc == 0 && output && output->anomalies && fflush(output->anomalies) != 0) {
		rc = tc_err_set(err, "writing the anomaly events failed: %s", strerror(errno));
	}
	if (rc == 0 && ck && ck->out) {
		rc = save(tick, ck->out, err);
	}
	const struct tc_tick_stats *ts = tc_tick_get_stats(tick);
	stats->accepted = ts->accepted;
	for (int i = 0; i < TC_REJECT__COUNT; i++) {
		stats->rejected[i] += ts->rejected[i];
	}
	stats->ticks = ts->ticks - restored_ticks;
	stats->forecasts = tc_replay_writer_forecasts(writer);
	stats->anomalies = tc_replay_writer_anomalies(writer);
	stats->series = tc_registry_count(tc_tick_registry(tick));
	tc_replay_writer_destroy(&writer);
	tc_replay_input_destroy(&input);
	tc_tick_destroy(&tick);
	return rc;
}

void tc_replay_print_summary(const struct tc_replay_stats *stats, FILE *log)
{
	uint64_t rejected = 0;
	for (int i = 0; i < TC_REJECT__COUNT; i++) {
		rejected += stats->rejected[i];
	}
	fprintf(log, "replay: %" PRIu64 " lines, %" PRIu64 " readings accepted, %" PRIu64
		" rejected", stats->lines, stats->accepted, rejected);
	for (int i = 0; i < TC_REJECT__COUNT; i++) {
		if (stats->rejected[i]) {
			fprintf(log, " %s=%" PRIu64, tc_reject_to_string((enum tc_reject)i),
				stats->rejected[i]);
		}
	}
	fprintf(log, ", %" PRIu64 " ticks, %" PRIu64 " forecasts, %" PRIu64 " series",
		stats->ticks, stats->forecasts, stats->series);
	if (stats->anomalies) {
		fprintf(log, ", %" PRIu64 " anomaly events", stats->anomalies);
	}
	fputc('\n', log);
}
