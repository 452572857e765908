/* tickcast.c -- the `tickcast` program: picks the subcommand and runs it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "commands.h"
#include "config.h"
#include "error.h"
#include "model.h"
#include "model_file.h"
#include "openmp_env.h"

static const char usage[] =
	"Usage: tickcast COMMAND [OPTIONS]\n"
	"\n"
	"The companion command of tickcastd, the streaming GRU forecaster.\n"
	"\n"
	"Commands:\n"
	"  replay --config FILE   forecast reading lines from standard input with the\n"
	"                         event clock, as the daemon would, to standard output\n"
	"                         (--checkpoint-in/--checkpoint-out to resume a run)\n"
	"  check --config FILE    validate a config and its weights, describe the model\n"
	"  inspect FILE           list the tensors of a .safetensors file, or check a\n"
	"                         checkpoint and summarise it\n"
	"  pub ENDPOINT           send reading lines from standard input to a\n"
	"                         tickcastd's ingest socket\n"
	"  sub ENDPOINT [PREFIX ...]\n"
	"                         print the forecasts a tickcastd publishes\n"
	"  status                 ask a running tickcastd for its status\n"
	"  reload                 ask a running tickcastd to reload config and weights\n"
	"  series ID              ask a running tickcastd about one series\n"
	"  checkpoint             ask a running tickcastd to write a checkpoint now\n"
	"  keygen DIR NAME        write a CURVE key pair, DIR/NAME.key and .key_secret\n"
	"\n"
	"Options:\n"
	"  -h, --help             this text; `tickcast COMMAND --help` for a command's\n"
	"  -V, --version          print the version\n";

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{"replay", tc_cmd_replay},
	{"check", tc_cmd_check},
	{"inspect", tc_cmd_inspect},
	{"pub", tc_cmd_pub},
	{"sub", tc_cmd_sub},
	{"status", tc_cmd_status},
	{"reload", tc_cmd_reload},
	{"series", tc_cmd_series},
	{"checkpoint", tc_cmd_checkpoint},
	{"keygen", tc_cmd_keygen},
};

/* --format's argument as an enum tc_format; -1 when it names none. */
static int parse_format(const char *s)
{
	for (int f = TC_FORMAT_TEXT; f <= TC_FORMAT_BINARY; f++) {
		if (strcmp(s, tc_format_to_string((enum tc_format)f)) == 0) {
			return f;
		}
	}
	return -1;
}

static int parse_config_args(int argc, char **argv, const char *name, const char *usage,
	int allowed, void (*more_help)(FILE *out), struct tc_cmd_args *args)
{
	enum { CHECKPOINT_IN = 256, CHECKPOINT_OUT, FORMAT, ANOMALIES };
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"checkpoint-in", required_argument, NULL, CHECKPOINT_IN},
		{"checkpoint-out", required_argument, NULL, CHECKPOINT_OUT},
		{"format", required_argument, NULL, FORMAT},
		{"anomalies", required_argument, NULL, ANOMALIES},
		{0},
	};
	*args = (struct tc_cmd_args){.format = TC_FORMAT_TEXT};
	const int checkpoints = (allowed & TC_CMD_CHECKPOINTS) != 0;
	const int output = (allowed & TC_CMD_OUTPUT) != 0;
	int opt;
	while ((opt = getopt_long(argc, argv, allowed & TC_CMD_QUIET ? "c:qh" : "c:h", options,
		NULL)) != -1) {
		if (opt == 'c') {
			args->config = optarg;
		} else if (opt == 'q' && (allowed & TC_CMD_QUIET)) {
			args->quiet = 1;
		} else if (opt == CHECKPOINT_IN && checkpoints) {
			args->checkpoint_in = optarg;
		} else if (opt == CHECKPOINT_OUT && checkpoints) {
			args->checkpoint_out = optarg;
		} else if (opt == FORMAT && output) {
			if ((args->format = parse_format(optarg)) < 0) {
				fprintf(stderr, "tickcast %s: --format: expected text, json or binary, got "
					"\"%s\"\n", name, optarg);
				return 2;
			}
		} else if (opt == ANOMALIES && output) {
			args->anomalies = optarg;
		} else if (opt == 'h') {
			fputs(usage, stdout);
			if (more_help) {
				more_help(stdout);
			}
			return 0;
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!args->config || optind != argc) {
		fprintf(stderr, "tickcast %s: %s\n\n%s", name,
			args->config ? "unexpected argument" : "--config FILE is required", usage);
		return 2;
	}
	return -1;
}

void *tc_cmd_zmq_context(void)
{
	void *ctx = zmq_ctx_new();
	if (ctx && zmq_ctx_set(ctx, ZMQ_IPV6, 1) != 0) {
		zmq_ctx_term(ctx);
		return NULL;
	}
	return ctx;
}

int tc_cmd_open(int argc, char **argv, const char *name, const char *usage, int allowed,
	void (*more_help)(FILE *out), struct tc_cmd_args *args, struct tc_config *cfg,
	struct tc_model **m)
{
	int status = parse_config_args(argc, argv, name, usage, allowed, more_help, args);
	if (status >= 0) {
		return status;
	}
	char err[TC_ERR_LEN];
	if (tc_config_load(cfg, args->config, err) < 0
		|| !(*m = tc_model_file_load(&cfg->model, cfg->weights_path, err))) {
		fprintf(stderr, "tickcast: %s\n", err);
		return 1;
	}
	return -1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(argv[1], "replay") == 0) {
		tc_openmp_wait_passive(argv); /* replay steps with OpenMP; the others do not */
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("tickcast %s\n", TC_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			return commands[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "tickcast: unknown command \"%s\"\n\n%s", argv[1], usage);
	return 2;
}
