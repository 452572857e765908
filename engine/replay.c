/* replay.c -- `tickcast replay`: a file of readings through the tick engine. */
#include "replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "forecast_format.h"
#include "tick.h"
#include "tick_checkpoint.h"

#define REPLAY_MAX_SERIES ((size_t)UINT32_MAX - 1)

struct printer {
	FILE *out;
	char *line;          /* tc_forecast_max_len bytes */
	uint64_t lines;
};

static int print_forecasts(void *ud, const struct tc_forecasts *f)
{
	struct printer *p = ud;
	for (size_t i = 0; i < f->n; i++) {
		size_t id_len;
		const char *id = tc_forecasts_id(f, i, &id_len);
		size_t len = tc_forecast_format(p->line, TC_FORMAT_TEXT, id, id_len, f->bucket_ms,
			f->outputs + i * (size_t)f->n_outputs, f->n_outputs, 1);
		p->line[len++] = '\n';
		if (fwrite(p->line, 1, len, p->out) != len) {
			return -1;
		}
	}
	p->lines += f->n;
	return 0;
}

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

int tc_replay_run(const struct tc_config *cfg, const struct tc_model *m,
	FILE *in, FILE *out, FILE *log, const struct tc_replay_checkpoints *ck,
	struct tc_replay_stats *stats, char *err)
{
	struct tc_tick_config tick_cfg = cfg->tick;
	tick_cfg.clock = TC_CLOCK_EVENT;
	struct tc_tick *tick = tc_tick_create(&tick_cfg, m, REPLAY_MAX_SERIES, 0, &cfg->scaler, err);
	if (!tick) {
		return -1;
	}
	memset(stats, 0, sizeof *stats);
	if (ck && ck->in && restore(tick, ck->in, log, err) < 0) {
		tc_tick_destroy(&tick);
		return -1;
	}
	struct printer printer = {.out = out};
	printer.line = malloc(tc_forecast_max_len(tc_model_get_spec(m)->outputs));
	if (!printer.line) {
		tc_tick_destroy(&tick);
		return tc_err_set(err, "out of memory");
	}
	struct tc_emitter emitter = {print_forecasts, &printer};
	const uint64_t restored_ticks = tc_tick_get_stats(tick)->ticks;
	const int width = tc_model_get_spec(m)->input_size;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;
	char why_text[TC_ERR_LEN];
	while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
		stats->lines++;
		if (tc_reading_is_blank(line, (size_t)len)) {
			continue;
		}
		struct tc_reading r;
		enum tc_reject why;
		if (tc_reading_parse(&r, line, (size_t)len, width, &why, why_text) < 0) {
			stats->rejected[why]++;
			fprintf(log, "line %" PRIu64 ": %s\n", stats->lines, why_text);
			continue;
		}
		int offered = tc_tick_offer(tick, &r, &emitter, &why, err);
		if (offered > 0) {
			fprintf(log, "line %" PRIu64 ": %s\n", stats->lines, tick_reject_message(why));
		}
		rc = offered < 0 ? -1 : 0;
	}
	if (rc == 0 && ferror(in)) {
		rc = tc_err_set(err, "reading the input failed: %s", strerror(errno));
	}
	if (rc == 0) {
		rc = tc_tick_close(tick, &emitter, err);
	}
	if (rc == 0 && fflush(out) != 0) {
		rc = tc_err_set(err, "writing the forecasts failed: %s", strerror(errno));
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
	stats->forecasts = printer.lines;
	stats->series = tc_registry_count(tc_tick_registry(tick));
	free(line);
	free(printer.line);
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
	fprintf(log, ", %" PRIu64 " ticks, %" PRIu64 " forecasts, %" PRIu64 " series\n",
		stats->ticks, stats->forecasts, stats->series);
}
