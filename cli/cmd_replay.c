/* cmd_replay.c -- `tickcast replay`: readings on stdin, forecasts on stdout, events to a file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "error.h"
#include "model.h"
#include "replay.h"

static const char usage[] =
	"Usage: tickcast replay --config FILE [--format text|json|binary] [--anomalies FILE]\n"
	"                       [--checkpoint-in FILE] [--checkpoint-out FILE]\n"
	"                       < readings > forecasts\n"
	"\n"
	"Reads reading lines `<series> <v1>[,<v2>...] <timestamp>` (timestamp in\n"
	"seconds) from standard input and writes one forecast line\n"
	"`<series> <bucket start> <y1> ... <yO>` per series per tick to standard\n"
	"output. Ticks follow the event clock whatever tick.clock says: a reading's\n"
	"bucket is floor(t * 1000 / tick.interval_ms); a reading of a later bucket\n"
	"steps the open one, the last is stepped at end of input; readings of a\n"
	"bucket already stepped are late and dropped. tick.aggregate and\n"
	"tick.missing apply as in the daemon. Bad lines are reported on standard\n"
	"error with their line number and skipped; a summary of counts ends it.\n"
	"\n"
	"--format writes exactly the bodies tickcastd would publish in that\n"
	"publish.format for the same forecasts (docs/protocol.md): text (the\n"
	"default, the lines above) and json one forecast per line, binary one batch\n"
	"per tick, each preceded by its length as a u32 little-endian. A series whose\n"
	"scaler warms up is marked so in JSON and binary, and with model.intervals\n"
	"every forecast carries its lower and upper bounds\n"
	"(`... lower <l1> ... <lO> upper <u1> ... <uO>` in text). --anomalies FILE\n"
	"writes the ticks' anomaly events (the anomaly section) there in the same\n"
	"format, after each tick's forecasts: text\n"
	"`<series> <t> <value> <expected> <lower> <upper> <score>` and json one per\n"
	"line, binary one-record batches each preceded by its length.\n"
	"\n"
	"A backtest can stop and resume: --checkpoint-out writes every series'\n"
	"state after the last tick, --checkpoint-in starts from such a file (or\n"
	"one tickcastd wrote, checkpoint.path), so that the readings after its\n"
	"last tick give exactly the forecasts an uninterrupted replay gives. A\n"
	"checkpoint must be of the same model shape, tick.interval_ms and\n"
	"model.scaler; other weights of that shape are allowed (and said).\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE          the tickcast YAML config (model and tick sections)\n"
	"      --format FORMAT        text (default), json or binary: publish.format's bodies\n"
	"      --anomalies FILE       write the anomaly events to FILE in that format\n"
	"      --checkpoint-in FILE   start from this checkpoint\n"
	"      --checkpoint-out FILE  write a checkpoint at the end of input\n"
	"  -q, --quiet                no summary line\n"
	"  -h, --help                 this text\n"
	"\n"
	"Exit status: 0 when the input was processed (bad lines included), 1 when\n"
	"the config, weights or a checkpoint are invalid or I/O failed, 2 on bad\n"
	"usage.\n";

int tc_cmd_replay(int argc, char **argv)
{
	struct tc_cmd_args args;
	struct tc_config cfg;
	struct tc_model *m = NULL;
	int status = tc_cmd_open(argc, argv, "replay", usage,
		TC_CMD_QUIET | TC_CMD_CHECKPOINTS | TC_CMD_OUTPUT, NULL, &args, &cfg, &m);
	if (status >= 0) {
		return status;
	}
	struct tc_replay_output output = {.format = (enum tc_format)args.format};
	if (args.anomalies && !(output.anomalies = fopen(args.anomalies, "wb"))) {
		fprintf(stderr, "tickcast replay: cannot open --anomalies %s: %s\n", args.anomalies,
			strerror(errno));
		tc_model_destroy(&m);
		return 1;
	}
	struct tc_replay_stats stats;
	char err[TC_ERR_LEN];
	struct tc_replay_checkpoints ck = {args.checkpoint_in, args.checkpoint_out};
	int rc = tc_replay_run(&cfg, m, stdin, stdout, stderr, &ck, &output, &stats, err);
	if (output.anomalies && fclose(output.anomalies) != 0 && rc == 0) {
		rc = tc_err_set(err, "writing --anomalies %s: %s", args.anomalies, strerror(errno));
	}
	if (rc < 0) {
		fprintf(stderr, "tickcast replay: %s\n", err);
	}
	if (!args.quiet) {
		tc_replay_print_summary(&stats, stderr);
	}
	tc_model_destroy(&m);
	return rc < 0 ? 1 : 0;
}
