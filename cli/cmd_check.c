/* cmd_check.c -- `tickcast check`: validate a config and weights, describe the model. */
#include <inttypes.h>
#include <stdio.h>

#include "commands.h"
#include "config.h"
#include "model.h"
#include "step.h"

static const char usage[] =
	"Usage: tickcast check --config FILE\n"
	"\n"
	"Validates the config and every tensor of its weights file, then prints the\n"
	"model: its layers, parameter count, FLOPs and bytes of hidden state per\n"
	"series-step, the scaler, the tick settings and the kernel this CPU will use.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE   the tickcast YAML config\n"
	"  -h, --help          this text\n"
	"\n"
	"Exit status: 0 valid, 1 invalid (the first problem is printed), 2 bad usage.\n"
	"\n"
	"Config keys:\n";

static void describe(const struct tc_config *cfg, const struct tc_model *m)
{
	const struct tc_model_spec *s = tc_model_get_spec(m);
	printf("config: %s\nweights: %s\n", cfg->path, cfg->weights_path);
	printf("model: input %d, %d GRU layer%s (%s), head %d outputs\n", s->input_size,
		s->n_layers, s->n_layers == 1 ? "" : "s",
		s->reset_after ? "reset_after: true, as nn.GRU" : "reset_after: false, as Cho et al.",
		s->outputs);
	int in = s->input_size;
	for (int k = 0; k < s->n_layers; k++) {
		printf("  layer %d: gru %d -> %d\n", k, in, s->hidden[k]);
		in = s->hidden[k];
	}
	printf("  head: linear %d -> %d\n", in, s->outputs);
	printf("parameters: %" PRIu64 "\n", tc_model_param_count(m));
	printf("FLOPs per series-step: %" PRIu64 "\n", tc_model_flops_per_step(m));
	printf("state bytes per series: %" PRIu64 "\n", tc_model_state_bytes(m));
	if (cfg->scaler.type == TC_SCALER_EMA) {
		printf("scaler: ema, alpha %g, warmup %d readings\n", cfg->scaler.alpha,
			cfg->scaler.warmup);
	} else {
		printf("scaler: %s\n", tc_scaler_to_string(cfg->scaler.type));
	}
	printf("tick: clock %s, interval %d ms, flush %d ms, aggregate %s, missing %s\n",
		tc_clock_to_string(cfg->tick.clock), cfg->tick.interval_ms, cfg->tick.flush_ms,
		tc_aggregate_to_string(cfg->tick.aggregate), tc_missing_to_string(cfg->tick.missing));
	printf("kernel: %s (precision %s)\n", tc_step_model_kernel_name(m),
		s->precision == TC_PRECISION_BF16 ? "bf16" : "fp32");
}

int tc_cmd_check(int argc, char **argv)
{
	struct tc_cmd_args args;
	struct tc_config cfg;
	struct tc_model *m = NULL;
	int status = tc_cmd_open(argc, argv, "check", usage, 0, tc_config_describe, &args, &cfg, &m);
	if (status >= 0) {
		return status;
	}
	describe(&cfg, m);
	tc_model_destroy(&m);
	return 0;
}
