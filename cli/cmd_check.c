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

/* Each layer's type, sizes and where its tensors are. */
static void describe_layers(const struct tc_model_spec *s)
{
	int in = s->input_size;
	for (int k = 0; k < s->n_layers; k++) {
		int index;
		const char *module = tc_model_spec_layer_source(s, k, &index);
		const char *variant = "";
		if (s->type[k] == TC_LAYER_GRU) {
			variant = s->reset_after ? "; reset_after: true, as nn.GRU"
				: "; reset_after: false, as Cho et al.";
		}
		printf("  layer %d: %s%s %d -> %d  (%s.*_l%d%s)\n", k, tc_layer_type_to_string(s->type[k]),
			s->type[k] == TC_LAYER_RNN ? (s->relu[k] ? " relu" : " tanh") : "", in,
			s->hidden[k], module, index, variant);
		in = s->hidden[k];
	}
}

/* The head's operations, each with its widths and (linear, layernorm) tensors. */
static void describe_head(const struct tc_model_spec *s)
{
	int in = s->hidden[s->n_layers - 1];
	const int count = tc_model_spec_head_count(s);
	char module[TC_MAX_PREFIX];
	for (int i = 0; i < count; i++) {
		struct tc_head_op_spec op = tc_model_spec_head_op(s, i);
		int out = op.type == TC_HEAD_LINEAR ? op.outputs : in;
		tc_model_spec_head_module(s, i, module);
		if (count > 1) {
			printf("  head[%d]: %s %d -> %d", i, tc_head_op_to_string(op.type), in, out);
		} else {
			printf("  head: %s %d -> %d", tc_head_op_to_string(op.type), in, out);
		}
		if (op.type == TC_HEAD_LINEAR || (op.type == TC_HEAD_LAYERNORM && op.affine)) {
			printf("  (%s.weight)", module);
		}
		printf("\n");
		in = out;
	}
}

static void describe(const struct tc_config *cfg, const struct tc_model *m)
{
	const struct tc_model_spec *s = tc_model_get_spec(m);
	printf("config: %s\nweights: %s\n", cfg->path, cfg->weights_path);
	printf("model: input %d, %d layer%s, head %d outputs\n", s->input_size,
		s->n_layers, s->n_layers == 1 ? "" : "s", s->outputs);
	describe_layers(s);
	describe_head(s);
	printf("parameters: %" PRIu64 "\n", tc_model_param_count(m));
	printf("FLOPs per series-step: %" PRIu64 "\n", tc_model_flops_per_step(m));
	printf("state bytes per series: %" PRIu64 "\n", tc_model_state_bytes(m));
	if (cfg->scaler.type == TC_SCALER_EMA) {
		printf("scaler: ema, alpha %g, warmup %d readings\n", cfg->scaler.alpha,
			cfg->scaler.warmup);
	} else {
		printf("scaler: %s\n", tc_scaler_to_string(cfg->scaler.type));
	}
	if (cfg->intervals.enabled) {
		printf("intervals: level %g of input column %d, learning rate %g, window %d steps\n",
			cfg->intervals.level, cfg->intervals.target, cfg->intervals.learning_rate,
			cfg->intervals.window);
	} else {
		printf("intervals: off\n");
	}
	if (cfg->anomaly.enabled) {
		printf("anomaly events: level %g, on %s<series>\n", cfg->anomaly.level,
			cfg->anomaly.topic_prefix);
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
