/* bench_compare_args.c -- bench_compare's command line. */
#include "bench_compare.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static void usage(FILE *out, const char *argv0)
{
	fprintf(out,
		"usage: %s [--cell gru|lstm|rnn] [--batch N] [--hidden H] [--runs N] [--no-dnnl] [--no-torch]\n"
		"       [--python PATH] [--quick] [--help]\n"
		"Times one step of a 2-layer GRU (input 1, head 12) in tickcast, oneDNN (LBR-GRU\n"
		"and a matmul head) and PyTorch (nn.GRU + nn.Linear, in a helper process) on the\n"
		"same weights and inputs, for B in {1024, 16384}, H in {64, 128} and 1 or 2\n"
		"threads, their timed runs alternating; checks that they agree; prints markdown\n"
		"tables of GFLOP/s, %% of the FMA peak and tickcast's speed ratios.\n"
		"  --cell TYPE    the layers: gru (default), lstm or rnn (tanh); oneDNN's\n"
		"                 dnnl_lstm / dnnl_vanilla_rnn for them, PyTorch left out\n"
		"  --batch N      time only batch size N\n"
		"  --hidden H     time only hidden size H\n"
		"  --runs N       timed runs per implementation (default 5, at most %d)\n"
		"  --no-dnnl      leave oneDNN out\n"
		"  --no-torch     leave PyTorch out\n"
		"  --python PATH  interpreter with torch and numpy (default /usr/bin/python3)\n"
		"  --quick        smoke test: 1 short run, B=1024 and H=64 unless given\n"
		"  --help         this text\n",
		argv0, MAX_RUNS);
}

/* Parses a positive integer option value in 1..max; -1 with a message on stderr. */
static long parse_count(const char *argv0, const char *name, const char *text, long max)
{
	char *end;
	long long v = strtoll(text, &end, 10);
	if (*end || v < 1 || v > max) {
		fprintf(stderr, "%s: %s: expected a whole number in 1..%ld, got '%s'\n", argv0, name,
			max, text);
		return -1;
	}
	return (long)v;
}

int bench_compare_parse_args(int argc, char **argv, struct options *opt)
{
	*opt = (struct options){.runs = 5, .run_seconds = 0.2, .warm_seconds = 0.2,
		.peak_iters = BENCH_PEAK_ITERS, .python = "/usr/bin/python3"};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const int has_value = i + 1 < argc;
		long v = 0;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout, argv[0]);
			return 1;
		} else if (strcmp(a, "--quick") == 0) {
			opt->quick = 1;
		} else if (strcmp(a, "--no-dnnl") == 0) {
			opt->skip[IMPL_DNNL] = 1;
		} else if (strcmp(a, "--no-torch") == 0) {
			opt->skip[IMPL_TORCH] = 1;
		} else if (strcmp(a, "--cell") == 0 && has_value) {
			if (bench_parse_cell(argv[++i], &opt->cell) < 0) {
				fprintf(stderr, "%s: --cell %s: expected gru, lstm or rnn\n", argv[0], argv[i]);
				return -1;
			}
		} else if (strcmp(a, "--python") == 0 && has_value) {
			opt->python = argv[++i];
		} else if (strcmp(a, "--batch") == 0 && has_value) {
			if ((v = parse_count(argv[0], a, argv[++i], UINT32_MAX)) < 0) {
				return -1;
			}
			opt->batch = (size_t)v;
		} else if (strcmp(a, "--hidden") == 0 && has_value) {
			if ((v = parse_count(argv[0], a, argv[++i], TC_MAX_WIDTH)) < 0) {
				return -1;
			}
			opt->hidden = (int)v;
		} else if (strcmp(a, "--runs") == 0 && has_value) {
			if ((v = parse_count(argv[0], a, argv[++i], MAX_RUNS)) < 0) {
				return -1;
			}
			opt->runs = (int)v;
		} else {
			fprintf(stderr, "%s: unknown or incomplete option '%s'\n", argv[0], a);
			usage(stderr, argv[0]);
			return -1;
		}
	}
	if (opt->quick) {
		opt->runs = 1;
		opt->run_seconds = 0.05;
		opt->warm_seconds = 0.02;
		opt->peak_iters = 1L << 21;
		opt->batch = opt->batch ? opt->batch : QUICK_BATCH;
		opt->hidden = opt->hidden ? opt->hidden : QUICK_HIDDEN;
	}
	return 0;
}
