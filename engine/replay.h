/* replay.h -- `tickcast replay`: reading lines in, forecast lines out.
 *
 * Reads `<series> <v1>[,<v2>...] <timestamp>` lines, ticks them with the
 * event clock of the config (the same tick code the daemon runs), and writes
 * one line `<series> <bucket start, s> <y1> ... <yO>` (floats as %.9g) per
 * series stepped per bucket, series in order of first appearance; or, with
 * another format, the bodies tickcastd would publish (replay_output.h).
 * Bad lines are reported on `log` with their line number and skipped. */
#ifndef TC_REPLAY_H
#define TC_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "reading.h"

struct tc_replay_stats {
	uint64_t lines;                          /* lines read, blank ones included */
	uint64_t accepted;                       /* readings that went into a bucket */
	uint64_t rejected[TC_REJECT__COUNT];     /* by reason; late ones under LATE */
	uint64_t ticks;                          /* buckets stepped */
	uint64_t forecasts;                      /* forecasts written */
	uint64_t anomalies;                      /* anomaly events written */
	uint64_t series;                         /* distinct series seen */
};

/* Checkpoints a replay starts from and ends with (engine/checkpoint.h);
 * NULL for none. */
struct tc_replay_checkpoints {
	const char *in;      /* restored before the first line: its series, states and clock */
	const char *out;     /* written after the last tick is stepped */
};

/* How a replay writes: the format of its forecasts and events, and where
 * the events go. */
struct tc_replay_output {
	enum tc_format format;   /* the bodies publish.format would send (replay_output.h) */
	FILE *anomalies;         /* anomaly events in that format; NULL: not written */
};

/* Runs the replay of `in` through model m (built from cfg) to `out` as
 * output says (NULL: text, no events), reporting bad lines on `log`, from
 * and to the checkpoints in ck (NULL: none). Returns 0, or -1 with err on a
 * failure that stops the replay (a checkpoint that cannot be read, restored
 * or written, I/O, out of memory); bad lines do not stop it. */
int tc_replay_run(const struct tc_config *cfg, const struct tc_model *m,
	FILE *in, FILE *out, FILE *log, const struct tc_replay_checkpoints *ck,
	const struct tc_replay_output *output, struct tc_replay_stats *stats, char *err);

/* Writes the summary of stats to log, one line. */
void tc_replay_print_summary(const struct tc_replay_stats *stats, FILE *log);

#endif
