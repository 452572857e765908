/* bench_util.h -- what the benches share: clock, FMA peak, random weights, run statistics.
 *
 *   struct bench_fma_loop loop = bench_fma_loop_pick();
 *   struct bench_peak start, end;
 *   bench_peak_measure(&loop, BENCH_PEAK_ITERS, &start);
 *   ...                                   // time something, alternating A, B, A, B
 *   bench_peak_measure(&loop, BENCH_PEAK_ITERS, &end);
 *   int flagged = bench_peak_moved(&start, &end);
 *
 * The shapes are those the project benchmarks: a GRU stack of BENCH_LAYERS
 * layers, BENCH_INPUT values per reading, a head of BENCH_OUTPUTS. See
 * docs/measuring.md for why the peak is measured twice. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>

#include "model.h"

struct tc_model;

#define BENCH_LAYERS 2
#define BENCH_INPUT 1
#define BENCH_OUTPUTS 12
#define BENCH_PEAK_TOLERANCE 0.10 /* relative start/end disagreement that flags a run */
#define BENCH_PEAK_ACCUMULATORS 12 /* independent FMA chains: > latency x ports on any x86 */
#define BENCH_PEAK_TRIES 5         /* the peak is the best of this many tries */
#define BENCH_PEAK_ITERS (1L << 24) /* iterations of the peak loop per try */
#define BENCH_N_THREADS 2

/* The thread counts every bench times: 1 and 2 (the development host's vCPUs). */
extern const int bench_thread_counts[BENCH_N_THREADS];

/* Monotonic clock, s. */
double bench_now(void);

/* ---- FMA peak ---- */

struct bench_fma_loop {
	const char *name;         /* "avx512", "avx2" or "scalar" */
	float (*run)(long iters); /* iters rounds of BENCH_PEAK_ACCUMULATORS FMAs */
	int lanes;                /* fp32 lanes per FMA */
};

struct bench_peak {
	double gflops[BENCH_N_THREADS]; /* GFLOP/s, best of a few tries, per thread count */
};

/* The widest FMA loop this CPU runs. */
struct bench_fma_loop bench_fma_loop_pick(void);

/* Measures the peak at every count in bench_thread_counts (OpenMP threads each
 * running the loop at once). */
void bench_peak_measure(const struct bench_fma_loop *loop, long iters, struct bench_peak *p);

/* "FMA peak (when): 1 thread x GFLOP/s, 2 threads y GFLOP/s". */
void bench_peak_print(const char *when, const struct bench_peak *p);

/* Nonzero when start and end differ by more than BENCH_PEAK_TOLERANCE at any
 * thread count; prints a WARNING line for each. */
int bench_peak_moved(const struct bench_peak *start, const struct bench_peak *end);

/* ---- random numbers and weights ---- */

/* Uniform in +-bound, from one fixed-seed stream (splitmix64), so every run of
 * a bench draws the same numbers in the same order. */
float bench_uniform(float bound);
void bench_fill_uniform(float *a, size_t n, float bound);

/* A BENCH_LAYERS-layer GRU (or LSTM, or tanh RNN) of hidden size `hidden`
 * with a BENCH_OUTPUTS head, in PyTorch's layout (see model.h), all
 * parameters uniform in +-1/sqrt(H) as PyTorch initialises nn.GRU. G below
 * is the type's gate count (tc_layer_gates). Owned by the struct. */
struct bench_weights {
	enum tc_layer_type type;        /* every layer's */
	int hidden;
	float *weight_ih[BENCH_LAYERS]; /* [G H, I_k], PyTorch's gate rows */
	float *weight_hh[BENCH_LAYERS]; /* [G H, H] */
	float *bias_ih[BENCH_LAYERS];   /* [G H] */
	float *bias_hh[BENCH_LAYERS];   /* [G H] */
	float *head_weight;             /* [O, H] */
	float *head_bias;               /* [O] */
};

/* Layer k's input size: BENCH_INPUT for the first layer, H after. */
size_t bench_weights_input(const struct bench_weights *w, int layer);

/* Draws a GRU's weights. Returns 0, or -1 with err (out of memory); on
 * failure nothing is left to free. */
int bench_weights_init(struct bench_weights *w, int hidden, char *err);

/* The same for layers of `type`. */
int bench_weights_init_cell(struct bench_weights *w, enum tc_layer_type type, int hidden,
	char *err);

/* Frees the arrays; a zeroed or finished struct is a no-op. */
void bench_weights_finish(struct bench_weights *w);

/* tickcast's model of these weights. NULL and err on failure; the caller's,
 * released with tc_model_destroy. */
struct tc_model *bench_weights_model(const struct bench_weights *w, char *err);

/* The same with only the first n_layers (1..BENCH_LAYERS) of the layers and
 * the first `outputs` (1..BENCH_OUTPUTS) of the head's. */
struct tc_model *bench_weights_model_layers(const struct bench_weights *w, int n_layers,
	int outputs, char *err);

/* The same, at a precision (model.precision). */
struct tc_model *bench_weights_model_as(const struct bench_weights *w, int n_layers,
	int outputs, enum tc_precision precision, char *err);

/* "gru", "lstm" or "rnn" (a --cell option's value) into *type: 0, or -1
 * when the name is none of them. */
int bench_parse_cell(const char *name, enum tc_layer_type *type);

/* FLOPs per series-step: sum_k 2*G*H*(I_k + H) + 2*H*O. */
double bench_weights_flops(const struct bench_weights *w);

/* ---- statistics and the report ---- */

/* Sorts v[0..n) ascending in place; returns its median. n > 0. */
double bench_median_sort(double *v, int n);

/* The 1-minute load average, or -1 when /proc/loadavg cannot be read. */
double bench_load_average(void);

/* "CPU: <model> (cpu family F), N logical CPUs, OpenMP max threads M; 1-min load average ..." */
void bench_print_machine(void);

#endif
