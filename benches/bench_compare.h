/* bench_compare.h -- (bench_compare only) one configuration's results, shared by the
 * run (bench_compare.c) and its report (bench_compare_report.c). */
#ifndef BENCH_COMPARE_H
#define BENCH_COMPARE_H

#include <stddef.h>

#include "bench_util.h"
#include "model.h"

#define AGREE_TOLERANCE 1e-4 /* largest max-abs difference that counts as agreement */
#define MAX_RUNS 9

#define QUICK_BATCH 1024     /* --quick's batch and hidden size, the first of each timed */
#define QUICK_HIDDEN 64

enum impl { IMPL_TICKCAST, IMPL_DNNL, IMPL_TORCH, N_IMPL };

struct options {
	int quick;           /* one short run, B=1024 and H=64 only */
	enum tc_layer_type cell; /* every layer's type; PyTorch only steps gru */
	size_t batch;        /* 0: every size in batch_sizes */
	int hidden;          /* 0: every size in hidden_sizes */
	int runs;            /* timed runs per implementation and configuration */
	double run_seconds;  /* s: least duration of one timed run */
	double warm_seconds; /* s: least warm-up before the runs */
	long peak_iters;     /* iterations of the peak loop per try */
	int skip[N_IMPL];    /* --no-dnnl, --no-torch */
	const char *python;  /* interpreter for bench_torch.py */
};

/* Returns 0, 1 when the caller should exit successfully (--help), -1 on bad usage. */
int bench_compare_parse_args(int argc, char **argv, struct options *opt);

/* One B x H x threads configuration's results. */
struct row {
	size_t batch;
	int hidden;
	int thread_index;              /* into bench_thread_counts */
	double flops;                  /* per series-step */
	double gflops[N_IMPL][MAX_RUNS]; /* per run; sorted ascending once done */
	double median[N_IMPL];         /* GFLOP/s; 0 when not run */
	double diff_out[N_IMPL];       /* max |y - y_tickcast| over the check steps */
	double diff_hidden[N_IMPL];    /* max |h - h_tickcast| after them, every layer */
};

/* GFLOP/s medians with the spread of the runs; % of peak against the higher of
 * the start and end peaks for that thread count; ratios of medians. */
void bench_compare_print_table(const struct row *rows, size_t n_rows, int runs,
	const struct bench_peak *start, const struct bench_peak *end);

/* Each row's differences from tickcast; returns the number of rows where an
 * implementation disagreed. */
int bench_compare_print_agreement(const struct row *rows, size_t n_rows);

#endif
