/* bench_step.c -- throughput of tc_step against the fp32 FMA peak this run measures.
 *
 *   ninja -C build && ./build/benches/bench_step
 *   ./build/benches/bench_step --kernel avx512,c --batch 16384   # kernels, same run
 *   ./build/benches/bench_step --kernel avx512,avx512bf16 --batch 16384   # fp32 vs bf16
 *   ./build/benches/bench_step --cell lstm --batch 16384   # an LSTM (or rnn: tanh RNN)
 *
 * The host is shared, so the peak is measured at the start and again at the
 * end; a run whose two peaks differ by more than BENCH_PEAK_TOLERANCE is flagged and
 * its figures should not be quoted. Each configuration is warmed up, then
 * timed in runs of at least 0.2 s; the table gives the median run and the
 * spread of all runs. Kernels named together are compared in one invocation,
 * their runs alternating; a bf16 kernel (c_bf16, avx512bf16) steps a bf16
 * model of the same weights (model.precision: bf16), and the table gives
 * each kernel's speed relative to the first. The peak loop, the random weights and the
 * statistics are in bench_util.c. See docs/measuring.md. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "error.h"
#include "model.h"
#include "state.h"
#include "step.h"

#define MAX_RUNS 5
#define MAX_KERNELS 3
#define KERNEL_NAMES "c, avx2, avx512, c_bf16 or avx512bf16"

static const size_t batch_sizes[] = {1024, 16384, 131072};
static const int hidden_sizes[] = {64, 128};
#define N_BATCH (sizeof batch_sizes / sizeof batch_sizes[0])
#define N_HIDDEN (sizeof hidden_sizes / sizeof hidden_sizes[0])
#define N_THREADS BENCH_N_THREADS

struct options {
	const char *kernels[MAX_KERNELS]; /* compared in one invocation, runs alternating */
	enum tc_precision precision[MAX_KERNELS]; /* of each kernel's models */
	int n_kernels;       /* 0: only the kernel tc_step picks */
	enum tc_layer_type cell; /* every layer's type */
	int quick;           /* one run, fewer sizes, shorter timings */
	size_t batch;        /* 0: every size in batch_sizes */
	int runs;            /* timed runs per configuration */
	double run_seconds;  /* s: least duration of one timed run */
	double warm_seconds; /* s: least warm-up before the runs */
	long peak_iters;     /* iterations of the peak loop per try */
};

/* ---- the model and the step ------------------------------------------- */

struct timing {
	double steps_per_s[MAX_RUNS]; /* series-steps/s of each run */
	int runs;
};

/* Batch buffers for B series: slots 0..B-1, inputs and outputs. */
struct batch {
	size_t n;
	uint32_t *slots;
	float *inputs;  /* [n x BENCH_INPUT], uniform +-1 */
	float *outputs; /* [n x BENCH_OUTPUTS] */
};

static int batch_init(struct batch *b, size_t n)
{
	b->n = n;
	b->slots = malloc(n * sizeof *b->slots);
	b->inputs = malloc(n * BENCH_INPUT * sizeof *b->inputs);
	b->outputs = malloc(n * BENCH_OUTPUTS * sizeof *b->outputs);
	if (!b->slots || !b->inputs || !b->outputs) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		b->slots[i] = (uint32_t)i;
	}
	bench_fill_uniform(b->inputs, n * BENCH_INPUT, 1.0f);
	return 0;
}

static void batch_finish(struct batch *b)
{
	free(b->slots);
	free(b->inputs);
	free(b->outputs);
	memset(b, 0, sizeof *b);
}

/* Steps `steps` times; returns the elapsed seconds, or -1 on error. */
static double run_steps(const struct tc_model *m, struct tc_state *st, const struct batch *b,
	long steps, char *err)
{
	double t0 = bench_now();
	for (long i = 0; i < steps; i++) {
		if (tc_step(m, st, b->slots, b->n, b->inputs, b->outputs, err) < 0) {
			return -1.0;
		}
	}
	return bench_now() - t0;
}

/* Warms each kernel up and sizes its runs to last at least opt->run_seconds,
 * then times the runs, alternating the kernels (A, B, A, B) so that a change
 * in the machine hits them alike. Kernel k steps models[k] (one state fits
 * them all: same shape); t[k] receives its runs. */
static int time_step(struct tc_model *const *models, size_t n, int threads,
	const struct options *opt, struct timing *t, char *err)
{
	struct batch b;
	struct tc_state *st = NULL;
	long steps[MAX_KERNELS];
	int rc = -1;
	if (batch_init(&b, n) < 0) {
		tc_err_set(err, "out of memory for a batch of %zu series", n);
		goto out;
	}
	if (!(st = tc_state_create(models[0], n, threads, err))) {
		goto out;
	}
	for (int k = 0; k < opt->n_kernels; k++) {
		tc_step_use_kernel(opt->kernels[k]);
		long warm_steps = 0;
		double warm = 0.0;
		while (warm < opt->warm_seconds) {
			double s = run_steps(models[k], st, &b, 1, err);
			if (s < 0) {
				goto out;
			}
			warm += s;
			warm_steps++;
		}
		steps[k] = (long)ceil(opt->run_seconds / (warm / (double)warm_steps));
		steps[k] = steps[k] < 1 ? 1 : steps[k];
		t[k].runs = opt->runs;
	}
	for (int r = 0; r < opt->runs; r++) {
		for (int k = 0; k < opt->n_kernels; k++) {
			tc_step_use_kernel(opt->kernels[k]);
			double s = run_steps(models[k], st, &b, steps[k], err);
			if (s < 0) {
				goto out;
			}
			t[k].steps_per_s[r] = (double)steps[k] * (double)n / s;
		}
	}
	rc = 0;
out:
	tc_state_destroy(&st);
	batch_finish(&b);
	return rc;
}

/* ---- the report --------------------------------------------------------- */

static void usage(FILE *out, const char *argv0)
{
	fprintf(out,
		"usage: %s [--kernel c|avx2|avx512|c_bf16|avx512bf16[,...]] [--cell gru|lstm|rnn]\n"
		"       [--batch N] [--quick] [--help]\n"
		"Times tc_step on a 2-layer GRU (input 1, head 12) for B in {1024, 16384, 131072},\n"
		"H in {64, 128} and 1 or 2 threads, against the fp32 FMA peak measured at the\n"
		"start and end of the run, and prints a markdown table.\n"
		"  --kernel LIST  the step's kernel (default: the best this CPU runs); with a\n"
		"                 comma-separated list, e.g. avx512,c, compare them in this\n"
		"                 run, alternating their timed runs; c_bf16 and avx512bf16\n"
		"                 step the model with model.precision: bf16\n"
		"  --cell TYPE    the layers: gru (default), lstm or rnn (tanh)\n"
		"  --batch N      time only batch size N\n"
		"  --quick        smoke test: 1 short run, B=1024 only unless --batch is given\n"
		"  --help         this text\n",
		argv0);
}

/* Splits a comma-separated list of kernel names into opt->kernels, checking
 * that this CPU runs each. Returns 0 or -1 with a message on stderr. */
static int parse_kernels(const char *argv0, char *list, struct options *opt)
{
	opt->n_kernels = 0;
	for (char *save = NULL, *name = strtok_r(list, ",", &save); name;
		name = strtok_r(NULL, ",", &save)) {
		if (opt->n_kernels == MAX_KERNELS) {
			fprintf(stderr, "%s: --kernel: at most %d kernels\n", argv0, MAX_KERNELS);
			return -1;
		}
		int precision = tc_step_use_kernel(name);
		if (precision < 0) {
			fprintf(stderr, "%s: --kernel %s: unknown, or this CPU cannot run it "
				"(expected " KERNEL_NAMES ")\n", argv0, name);
			return -1;
		}
		opt->precision[opt->n_kernels] = (enum tc_precision)precision;
		opt->kernels[opt->n_kernels++] = name;
	}
	if (opt->n_kernels == 0) {
		fprintf(stderr, "%s: --kernel: expected " KERNEL_NAMES "\n", argv0);
		return -1;
	}
	return 0;
}

/* Returns 0, 1 when the caller should exit successfully (--help), -1 on bad usage. */
static int parse_args(int argc, char **argv, struct options *opt)
{
	*opt = (struct options){.runs = MAX_RUNS, .run_seconds = 0.2, .warm_seconds = 0.2,
		.peak_iters = BENCH_PEAK_ITERS};
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout, argv[0]);
			return 1;
		} else if (strcmp(argv[i], "--quick") == 0) {
			opt->quick = 1;
		} else if (strcmp(argv[i], "--kernel") == 0 && i + 1 < argc) {
			if (parse_kernels(argv[0], argv[++i], opt) < 0) {
				return -1;
			}
		} else if (strcmp(argv[i], "--cell") == 0 && i + 1 < argc) {
			if (bench_parse_cell(argv[++i], &opt->cell) < 0) {
				fprintf(stderr, "%s: --cell %s: expected gru, lstm or rnn\n", argv[0], argv[i]);
				return -1;
			}
		} else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
			char *end;
			unsigned long long b = strtoull(argv[++i], &end, 10);
			if (*end || b == 0 || b > UINT32_MAX) {
				fprintf(stderr, "%s: --batch: expected a series count in 1..%u, got '%s'\n",
					argv[0], UINT32_MAX, argv[i]);
				return -1;
			}
			opt->batch = (size_t)b;
		} else {
			fprintf(stderr, "%s: unknown or incomplete option '%s'\n", argv[0], argv[i]);
			usage(stderr, argv[0]);
			return -1;
		}
	}
	if (opt->n_kernels == 0) {
		opt->kernels[opt->n_kernels++] = tc_step_kernel_name(TC_PRECISION_FP32);
	}
	if (opt->quick) {
		opt->runs = 1;
		opt->run_seconds = 0.05;
		opt->warm_seconds = 0.02;
		opt->peak_iters = 1L << 21;
		if (!opt->batch) {
			opt->batch = batch_sizes[0];
		}
	}
	return 0;
}

struct row {
	size_t batch;
	int hidden;
	int thread_index;                  /* into bench_thread_counts */
	double flops;                      /* per series-step */
	struct timing timing[MAX_KERNELS]; /* per kernel; runs sorted, fastest last */
	double median[MAX_KERNELS];        /* series-steps/s, per kernel */
};

/* Times one H for every B and thread count, appending to rows[*n_rows]. */
static int bench_hidden(int h, const struct options *opt, struct row *rows, size_t *n_rows,
	char *err)
{
	struct bench_weights w;
	if (bench_weights_init_cell(&w, opt->cell, h, err) < 0) {
		return -1;
	}
	struct tc_model *models[MAX_KERNELS] = {0};
	int rc = -1;
	for (int k = 0; k < opt->n_kernels; k++) {
		if (!(models[k] = bench_weights_model_as(&w, BENCH_LAYERS, BENCH_OUTPUTS, opt->precision[k],
			err))) {
			goto out;
		}
	}
	const size_t *sizes = opt->batch ? &opt->batch : batch_sizes;
	const size_t n_sizes = opt->batch ? 1 : N_BATCH;
	for (size_t bi = 0; bi < n_sizes; bi++) {
		for (size_t ti = 0; ti < N_THREADS; ti++) {
			struct row *r = &rows[(*n_rows)++];
			*r = (struct row){.batch = sizes[bi], .hidden = h, .thread_index = (int)ti};
			r->flops = (double)tc_model_flops_per_step(models[0]);
			fprintf(stderr, "B=%zu H=%d threads=%d ...\n", r->batch, h,
				bench_thread_counts[ti]);
			if (time_step(models, r->batch, bench_thread_counts[ti], opt, r->timing,
				err) < 0) {
				goto out;
			}
			for (int k = 0; k < opt->n_kernels; k++) {
				r->median[k] = bench_median_sort(r->timing[k].steps_per_s, r->timing[k].runs);
			}
		}
	}
	rc = 0;
out:
	bench_weights_finish(&w);
	for (int k = 0; k < opt->n_kernels; k++) {
		tc_model_destroy(&models[k]);
	}
	return rc;
}

/* % of peak is taken against the higher of the start and end peaks. */
static void print_table(const struct options *opt, const struct row *rows, size_t n_rows,
	const struct bench_peak *start, const struct bench_peak *end)
{
	printf("| B | H | threads | kernel | series-steps/s | GFLOP/s | min–max | %% of peak | "
	       "× first |\n"
	       "|--:|--:|--:|:--|--:|--:|--:|--:|--:|\n");
	for (size_t i = 0; i < n_rows; i++) {
		const struct row *r = &rows[i];
		int ti = r->thread_index;
		double peak = fmax(start->gflops[ti], end->gflops[ti]);
		for (int k = 0; k < opt->n_kernels; k++) {
			const struct timing *t = &r->timing[k];
			double g = r->median[k] * r->flops * 1e-9;
			printf("| %zu | %d | %d | %s | %.0f k | %.1f | %.1f–%.1f | %.0f%% | %.2f |\n",
				r->batch, r->hidden, bench_thread_counts[ti], opt->kernels[k],
				r->median[k] * 1e-3, g, t->steps_per_s[0] * r->flops * 1e-9,
				t->steps_per_s[t->runs - 1] * r->flops * 1e-9, 100.0 * g / peak,
				r->median[k] / r->median[0]);
		}
	}
}

int main(int argc, char **argv)
{
	struct options opt;
	int rc = parse_args(argc, argv, &opt);
	if (rc != 0) {
		return rc > 0 ? 0 : 2;
	}
	char err[TC_ERR_LEN];
	const struct bench_fma_loop loop = bench_fma_loop_pick();
	struct bench_peak start, end;
	bench_print_machine();
	bench_peak_measure(&loop, opt.peak_iters, &start);
	printf("Layers: %d x %s; FMA loop: %s, %d accumulators, best of %d tries; step kernel%s:",
		BENCH_LAYERS, tc_layer_type_to_string(opt.cell), loop.name,
		BENCH_PEAK_ACCUMULATORS, BENCH_PEAK_TRIES, opt.n_kernels > 1 ? "s (runs alternate)" : "");
	for (int k = 0; k < opt.n_kernels; k++) {
		printf(" %s", opt.kernels[k]);
	}
	printf("; %d run%s of >= %.2f s each\n", opt.runs, opt.runs > 1 ? "s" : "",
		opt.run_seconds);
	bench_peak_print("start", &start);
	fflush(stdout);
	struct row rows[N_HIDDEN * N_BATCH * N_THREADS];
	size_t n_rows = 0;
	for (size_t hi = 0; hi < N_HIDDEN && !(opt.quick && hi > 0); hi++) {
		if (bench_hidden(hidden_sizes[hi], &opt, rows, &n_rows, err) < 0) {
			fprintf(stderr, "%s: %s\n", argv[0], err);
			return 1;
		}
	}
	bench_peak_measure(&loop, opt.peak_iters, &end);
	bench_peak_print("end", &end);
	int moved = bench_peak_moved(&start, &end);
	printf("\n");
	print_table(&opt, rows, n_rows, &start, &end);
	printf("\nFLOPs per series-step: sum_k 2*G*H_k*(I_k + H_k) + 2*H_L*O (G = 3 gru, 4 lstm, "
	       "1 rnn); %% of peak "
	       "against the higher of the start and end peaks for that thread count (the fp32 "
	       "FMA peak, bf16 kernels included); × first: series-steps/s over the first "
	       "kernel's.\n");
	if (moved) {
		fprintf(stderr, "%s: the FMA peak moved during the run; see the WARNING above\n",
			argv[0]);
	}
	return 0;
}
