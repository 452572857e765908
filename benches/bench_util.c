/* bench_util.c -- clock, FMA peak, random weights and run statistics shared by the benches.
 *
 * OpenMP appears here, outside core/, only to load every vCPU with the peak
 * loop. */
#include "bench_util.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

#include "error.h"
#include "model.h"

const int bench_thread_counts[BENCH_N_THREADS] = {1, 2};

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- FMA peak ---------------------------------------------------------- */

/* Each loop runs `iters` rounds of BENCH_PEAK_ACCUMULATORS independent FMAs and
 * returns a sum of the accumulators so that none of it is dead code. The
 * multiplier is just under 1, so the values settle instead of overflowing. */
#ifdef HAVE_X86
#define FMA12(fma, a, m, c) \
	do { \
		a[0] = fma(a[0], m, c); a[1] = fma(a[1], m, c); a[2] = fma(a[2], m, c); \
		a[3] = fma(a[3], m, c); a[4] = fma(a[4], m, c); a[5] = fma(a[5], m, c); \
		a[6] = fma(a[6], m, c); a[7] = fma(a[7], m, c); a[8] = fma(a[8], m, c); \
		a[9] = fma(a[9], m, c); a[10] = fma(a[10], m, c); a[11] = fma(a[11], m, c); \
	} while (0)

__attribute__((target("avx512f,fma"))) static float fma_loop_avx512(long iters)
{
	__m512 a[BENCH_PEAK_ACCUMULATORS];
	for (int i = 0; i < BENCH_PEAK_ACCUMULATORS; i++) {
		a[i] = _mm512_set1_ps((float)i);
	}
	const __m512 m = _mm512_set1_ps(0.999999f);
	const __m512 c = _mm512_set1_ps(1e-6f);
	for (long it = 0; it < iters; it++) {
		FMA12(_mm512_fmadd_ps, a, m, c);
	}
	float sum = 0.0f;
	for (int i = 0; i < BENCH_PEAK_ACCUMULATORS; i++) {
		sum += _mm512_reduce_add_ps(a[i]);
	}
	return sum;
}

__attribute__((target("avx2,fma"))) static float fma_loop_avx2(long iters)
{
	__m256 a[BENCH_PEAK_ACCUMULATORS];
	for (int i = 0; i < BENCH_PEAK_ACCUMULATORS; i++) {
		a[i] = _mm256_set1_ps((float)i);
	}
	const __m256 m = _mm256_set1_ps(0.999999f);
	const __m256 c = _mm256_set1_ps(1e-6f);
	for (long it = 0; it < iters; it++) {
		FMA12(_mm256_fmadd_ps, a, m, c);
	}
	float lanes[8];
	float sum = 0.0f;
	for (int i = 0; i < BENCH_PEAK_ACCUMULATORS; i++) {
		_mm256_storeu_ps(lanes, a[i]);
		for (int j = 0; j < 8; j++) {
			sum += lanes[j];
		}
	}
	return sum;
}
#endif

/* Fallback for CPUs without AVX2: scalar, so far below any real peak. */
static float fma_loop_scalar(long iters)
{
	float a[BENCH_PEAK_ACCUMULATORS];
	for (int i = 0; i < BENCH_PEAK_ACCUMULATORS; i++) {
		a[i] = (float)i;
	}
	for (long it = 0; it < iters; it++) {
		for (int i = 0; i < BENCH_PEAK_ACCUMULATORS; i++) {
			a[i] = fmaf(a[i], 0.999999f, 1e-6f);
		}
	}
	float sum = 0.0f;
	for (int i = 0; i < BENCH_PEAK_ACCUMULATORS; i++) {
		sum += a[i];
	}
	return sum;
}

struct bench_fma_loop bench_fma_loop_pick(void)
{
#ifdef HAVE_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f")) {
		return (struct bench_fma_loop){"avx512", fma_loop_avx512, 16};
	}
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		return (struct bench_fma_loop){"avx2", fma_loop_avx2, 8};
	}
#endif
	return (struct bench_fma_loop){"scalar", fma_loop_scalar, 1};
}

/* Keeps the loops' results alive without printing them. */
static volatile float peak_sink;

/* GFLOP/s of `threads` threads each running the loop at once; best of BENCH_PEAK_TRIES. */
static double measure_peak(const struct bench_fma_loop *loop, int threads, long iters)
{
	double best = 0.0;
	for (int attempt = 0; attempt < BENCH_PEAK_TRIES; attempt++) {
		double t0 = 0.0, t1 = 0.0;
#pragma omp parallel num_threads(threads)
		{
#pragma omp barrier
#pragma omp master
			t0 = bench_now();
			float s = loop->run(iters);
#pragma omp atomic
			peak_sink += s;
#pragma omp barrier
#pragma omp master
			t1 = bench_now();
		}
		double flops = 2.0 * loop->lanes * BENCH_PEAK_ACCUMULATORS * (double)iters * threads;
		double g = flops / (t1 - t0) * 1e-9;
		best = g > best ? g : best;
	}
	return best;
}

void bench_peak_measure(const struct bench_fma_loop *loop, long iters, struct bench_peak *p)
{
	for (int t = 0; t < BENCH_N_THREADS; t++) {
		p->gflops[t] = measure_peak(loop, bench_thread_counts[t], iters);
	}
}

void bench_peak_print(const char *when, const struct bench_peak *p)
{
	printf("FMA peak (%s):", when);
	for (int t = 0; t < BENCH_N_THREADS; t++) {
		printf(" %d thread%s %.1f GFLOP/s%s", bench_thread_counts[t],
			bench_thread_counts[t] > 1 ? "s" : "", p->gflops[t],
			t + 1 < BENCH_N_THREADS ? "," : "\n");
	}
}

int bench_peak_moved(const struct bench_peak *start, const struct bench_peak *end)
{
	int moved = 0;
	for (int t = 0; t < BENCH_N_THREADS; t++) {
		double hi = fmax(start->gflops[t], end->gflops[t]);
		double lo = fmin(start->gflops[t], end->gflops[t]);
		if (hi > 0 && (hi - lo) / hi > BENCH_PEAK_TOLERANCE) {
			printf("WARNING: %d-thread peak moved by %.0f%% between start and end; the "
			       "machine changed under the run, do not quote these figures\n",
				bench_thread_counts[t], 100.0 * (hi - lo) / hi);
			moved = 1;
		}
	}
	return moved;
}

/* ---- random numbers and weights ---------------------------------------- */

/* splitmix64: fixed seed, so every run steps the same weights. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

float bench_uniform(float bound)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	z ^= z >> 31;
	double u = (double)(z >> 11) * 0x1.0p-53; /* [0, 1) */
	return (float)((2.0 * u - 1.0) * bound);
}

void bench_fill_uniform(float *a, size_t n, float bound)
{
	for (size_t i = 0; i < n; i++) {
		a[i] = bench_uniform(bound);
	}
}

size_t bench_weights_input(const struct bench_weights *w, int layer)
{
	return layer == 0 ? BENCH_INPUT : (size_t)w->hidden;
}

/* malloc'd and filled, or NULL. */
static float *uniform_array(size_t n, float bound)
{
	float *a = malloc(n * sizeof *a);
	if (a) {
		bench_fill_uniform(a, n, bound);
	}
	return a;
}

int bench_weights_init(struct bench_weights *w, int hidden, char *err)
{
	return bench_weights_init_cell(w, TC_LAYER_GRU, hidden, err);
}

int bench_weights_init_cell(struct bench_weights *w, enum tc_layer_type type, int hidden,
	char *err)
{
	memset(w, 0, sizeof *w);
	w->type = type;
	w->hidden = hidden;
	const size_t h = (size_t)hidden, g = (size_t)tc_layer_gates(type);
	const float bound = 1.0f / sqrtf((float)hidden);
	for (int k = 0; k < BENCH_LAYERS; k++) {
		size_t in = bench_weights_input(w, k);
		if (!(w->weight_ih[k] = uniform_array(g * h * in, bound))
			|| !(w->weight_hh[k] = uniform_array(g * h * h, bound))
			|| !(w->bias_ih[k] = uniform_array(g * h, bound))
			|| !(w->bias_hh[k] = uniform_array(g * h, bound))) {
			goto err_oom;
		}
	}
	if (!(w->head_weight = uniform_array(BENCH_OUTPUTS * h, bound))
		|| !(w->head_bias = uniform_array(BENCH_OUTPUTS, bound))) {
		goto err_oom;
	}
	return 0;

err_oom:
	bench_weights_finish(w);
	return tc_err_set(err, "out of memory for the weights of an H=%d model", hidden);
}

void bench_weights_finish(struct bench_weights *w)
{
	for (int k = 0; k < BENCH_LAYERS; k++) {
		free(w->weight_ih[k]);
		free(w->weight_hh[k]);
		free(w->bias_ih[k]);
		free(w->bias_hh[k]);
	}
	free(w->head_weight);
	free(w->head_bias);
	memset(w, 0, sizeof *w);
}

struct tc_model *bench_weights_model(const struct bench_weights *w, char *err)
{
	return bench_weights_model_layers(w, BENCH_LAYERS, BENCH_OUTPUTS, err);
}

struct tc_model *bench_weights_model_layers(const struct bench_weights *w, int n_layers,
	int outputs, char *err)
{
	return bench_weights_model_as(w, n_layers, outputs, TC_PRECISION_FP32, err);
}

struct tc_model *bench_weights_model_as(const struct bench_weights *w, int n_layers,
	int outputs, enum tc_precision precision, char *err)
{
	struct tc_model_spec spec;
	tc_model_spec_init(&spec);
	spec.precision = precision;
	spec.input_size = BENCH_INPUT;
	spec.n_layers = n_layers;
	spec.outputs = outputs;
	struct tc_model_weights mw;
	memset(&mw, 0, sizeof mw);
	for (int k = 0; k < n_layers; k++) {
		spec.hidden[k] = w->hidden;
		spec.type[k] = w->type;
		mw.layer[k] = (struct tc_layer_weights){w->weight_ih[k], w->weight_hh[k],
			w->bias_ih[k], w->bias_hh[k]};
	}
	mw.head[0] = (struct tc_head_weights){w->head_weight, w->head_bias};
	return tc_model_create(&spec, &mw, err);
}

int bench_parse_cell(const char *name, enum tc_layer_type *type)
{
	static const enum tc_layer_type types[] = {TC_LAYER_GRU, TC_LAYER_LSTM, TC_LAYER_RNN};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		if (strcmp(name, tc_layer_type_to_string(types[i])) == 0) {
			*type = types[i];
			return 0;
		}
	}
	return -1;
}

double bench_weights_flops(const struct bench_weights *w)
{
	const double h = w->hidden;
	double flops = 2.0 * h * BENCH_OUTPUTS;
	for (int k = 0; k < BENCH_LAYERS; k++) {
		flops += 2.0 * tc_layer_gates(w->type) * h * ((double)bench_weights_input(w, k) + h);
	}
	return flops;
}

/* ---- statistics and the report ----------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_median_sort(double *v, int n)
{
	qsort(v, (size_t)n, sizeof v[0], cmp_double);
	int h = n / 2;
	return n % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

/* Other processes on our vCPUs are the usual cause of a flagged run. */
double bench_load_average(void)
{
	double load = -1.0;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &load) != 1) {
			load = -1.0;
		}
		fclose(f);
	}
	return load;
}

void bench_print_machine(void)
{
	char line[256];
	int cpus = 0;
	char model[256] = "unknown";
	int family = -1;
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof line, f)) {
		if (family < 0 && strncmp(line, "cpu family", 10) == 0) {
			const char *colon = strchr(line, ':');
			family = colon ? atoi(colon + 1) : -1;
		} else if (strncmp(line, "model name", 10) == 0) {
			const char *colon = strchr(line, ':');
			if (colon && cpus++ == 0) {
				snprintf(model, sizeof model, "%s", colon + 2);
				model[strcspn(model, "\n")] = '\0';
			}
		}
	}
	if (f) {
		fclose(f);
	}
	printf("CPU: %s (cpu family %d: 25 Zen 4, 26 Zen 5), %d logical CPUs, OpenMP max threads "
	       "%d; 1-min load average before the run %.2f\n", model, family, cpus,
		omp_get_max_threads(), bench_load_average());
}
