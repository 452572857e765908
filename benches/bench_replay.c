/* bench_replay.c -- `tickcast replay`'s all-in rate (parse, file, step, print) against its step alone.
 *
 *   ninja -C build && ./build/benches/bench_replay
 *   ./build/benches/bench_replay --series 16384 --ticks 20 --runs 5
 *
 * The model is bench_util's 2-layer GRU (H = 64, input 1) with one output.
 * The input is N series x T ticks of text readings `s<i> <value> <t>`, one
 * line per reading, ticks in order, made once in memory. A run of replay
 * reads it from memory (fmemopen) and writes the forecasts to /dev/null, so
 * what is measured is replay's own work: reading lines, parsing them,
 * filing them, stepping, formatting and writing the forecasts. The step
 * alone is tc_step over the same N series, T times, from its inputs in
 * place. Runs alternate (replay, step, replay, ...); the table gives the
 * medians and the ratio of the two rates in series-steps per second, which
 * the target puts at >= 0.6. It runs with OMP_WAIT_POLICY=passive unless
 * that is set, as `tickcast replay` does (core/openmp_env.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "config.h"
#include "error.h"
#include "model.h"
#include "openmp_env.h"
#include "replay.h"
#include "state.h"
#include "step.h"

#define MAX_RUNS 15

struct options {
	size_t series;
	int ticks;
	int runs;
	int hidden;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	*o = (struct options){.series = 16384, .ticks = 20, .runs = 5, .hidden = 64};
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--series") && v) {
			o->series = strtoul(v, NULL, 10);
		} else if (!strcmp(argv[i], "--ticks") && v) {
			o->ticks = atoi(v);
		} else if (!strcmp(argv[i], "--runs") && v) {
			o->runs = atoi(v);
		} else if (!strcmp(argv[i], "--hidden") && v) {
			o->hidden = atoi(v);
		} else {
			fprintf(stderr, "usage: bench_replay [--series N] [--ticks T] [--runs R (1..%d)] "
				"[--hidden H]\n", MAX_RUNS);
			return -1;
		}
		i++;
	}
	if (o->series == 0 || o->ticks <= 0 || o->runs < 1 || o->runs > MAX_RUNS || o->hidden <= 0) {
		fprintf(stderr, "bench_replay: every option must be positive, runs at most %d\n",
			MAX_RUNS);
		return -1;
	}
	return 0;
}

/* The readings, tick by tick: "s<i> <value> <tick>\n". */
static char *make_input(const struct options *o, size_t *len)
{
	size_t cap = o->series * (size_t)o->ticks * 40;
	char *text = malloc(cap);
	if (!text) {
		return NULL;
	}
	size_t n = 0;
	for (int t = 0; t < o->ticks; t++) {
		for (size_t i = 0; i < o->series; i++) {
			n += (size_t)snprintf(text + n, cap - n, "s%zu %.4f %d\n", i,
				(double)bench_uniform(2.0f), t);
		}
	}
	*len = n;
	return text;
}

static double time_replay(const struct tc_config *cfg, const struct tc_model *m,
	const char *input, size_t len, char *err)
{
	FILE *in = fmemopen((void *)input, len, "r");
	FILE *out = fopen("/dev/null", "w");
	FILE *log = fopen("/dev/null", "w");
	struct tc_replay_stats stats;
	double t0 = bench_now();
	int rc = in && out && log ? tc_replay_run(cfg, m, in, out, log, NULL, NULL, &stats, err)
		: tc_err_set(err, "cannot open the streams");
	double t1 = bench_now();
	if (in) {
		fclose(in);
	}
	if (out) {
		fclose(out);
	}
	if (log) {
		fclose(log);
	}
	return rc < 0 ? -1 : t1 - t0;
}

static double time_steps(const struct tc_model *m, const struct options *o, char *err)
{
	struct tc_state *st = tc_state_create(m, o->series, 0, err);
	uint32_t *slots = malloc(o->series * sizeof *slots);
	float *in = malloc(o->series * sizeof *in);
	float *out = malloc(o->series * sizeof *out);
	double seconds = -1;
	if (st && slots && in && out) {
		for (size_t i = 0; i < o->series; i++) {
			slots[i] = (uint32_t)i;
		}
		bench_fill_uniform(in, o->series, 2.0f);
		double t0 = bench_now();
		int rc = 0;
		for (int t = 0; t < o->ticks && rc == 0; t++) {
			rc = tc_step(m, st, slots, o->series, in, out, err);
		}
		seconds = rc < 0 ? -1 : bench_now() - t0;
	}
	tc_state_destroy(&st);
	free(slots);
	free(in);
	free(out);
	return seconds;
}

int main(int argc, char **argv)
{
	tc_openmp_wait_passive(argv); /* as tickcast replay runs */
	struct options o;
	if (parse_options(argc, argv, &o) < 0) {
		return 2;
	}
	char err[TC_ERR_LEN];
	struct bench_weights w;
	struct tc_config cfg;
	tc_config_init(&cfg);
	cfg.tick.interval_ms = 1000;
	if (bench_weights_init(&w, o.hidden, err) < 0) {
		fprintf(stderr, "bench_replay: %s\n", err);
		return 1;
	}
	struct tc_model *m = bench_weights_model_layers(&w, BENCH_LAYERS, 1, err);
	size_t len = 0;
	char *input = m ? make_input(&o, &len) : NULL;
	if (!input) {
		fprintf(stderr, "bench_replay: %s\n", m ? "out of memory" : err);
		return 1;
	}
	bench_print_machine();
	printf("model: %d GRU layers of H=%d, input 1, one output; %zu series x %d ticks "
		"(%.1f MB of text); kernel %s\n\n", BENCH_LAYERS, o.hidden, o.series, o.ticks,
		(double)len / 1e6, tc_step_model_kernel_name(m));
	double replay_s[MAX_RUNS], step_s[MAX_RUNS];
	for (int r = -1; r < o.runs; r++) { /* run -1 warms up */
		double a = time_replay(&cfg, m, input, len, err);
		double b = a < 0 ? -1 : time_steps(m, &o, err);
		if (a < 0 || b < 0) {
			fprintf(stderr, "bench_replay: %s\n", err);
			return 1;
		}
		if (r >= 0) {
			replay_s[r] = a;
			step_s[r] = b;
		}
	}
	double steps = (double)o.series * o.ticks;
	double replay_med = bench_median_sort(replay_s, o.runs);
	double step_med = bench_median_sort(step_s, o.runs);
	printf("| what | median s | min-max s | series-steps/s | of the step alone |\n");
	printf("|:--|--:|--:|--:|--:|\n");
	printf("| replay, all in | %.4f | %.4f-%.4f | %.3g | **%.2f** |\n", replay_med, replay_s[0],
		replay_s[o.runs - 1], steps / replay_med, step_med / replay_med);
	printf("| tc_step alone | %.4f | %.4f-%.4f | %.3g | 1 |\n", step_med, step_s[0],
		step_s[o.runs - 1], steps / step_med);
	printf("\n1-min load average after: %.2f\n", bench_load_average());
	free(input);
	tc_model_destroy(&m);
	bench_weights_finish(&w);
	return 0;
}
