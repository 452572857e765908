/* bench_step.c -- throughput of tc_step against the fp32 FMA peak this run measures.
 *
 *   ninja -C build && ./build/benches/bench_step
 *   ./build/benches/bench_step --kernel avx512,c --batch 16384   # kernels, same run
 *
 * The host is shared, so the peak is measured at the start and again at the
 * end; a run whose two peaks differ by more than PEAK_TOLERANCE is flagged and
 * its figures should not be quoted. Each configuration is warmed up, then
 * timed in runs of at least 0.2 s; the table gives the median run and the
 * spread of all runs. Kernels named together are compared in one invocation,
 * their runs alternating. OpenMP appears here, outside core/, only to load
 * every vCPU with the peak loop. See /work/shared/BENCHMARKING.md. */
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
#include "state.h"
#include "step.h"

#define N_LAYERS 2
#define INPUT_SIZE 1
#define OUTPUTS 12
#define MAX_RUNS 5
#define PEAK_TOLERANCE 0.10 /* relative start/end disagreement that flags a run */
#define PEAK_ACCUMULATORS 12 /* independent FMA chains: > latency x ports on any x86 */
#define PEAK_TRIES 5         /* the peak is the best of this many tries */
#define MAX_KERNELS 3

static const size_t batch_sizes[] = {1024, 16384, 131072};
static const int hidden_sizes[] = {64, 128};
static const int thread_counts[] = {1, 2};
#define N_BATCH (sizeof batch_sizes / sizeof batch_sizes[0])
#define N_HIDDEN (sizeof hidden_sizes / sizeof hidden_sizes[0])
#define N_THREADS (sizeof thread_counts / sizeof thread_counts[0])

struct options {
	const char *kernels[MAX_KERNELS]; /* compared in one invocation, runs alternating */
	int n_kernels;       /* 0: only the kernel tc_step picks */
	int quick;           /* one run, fewer sizes, shorter timings */
	size_t batch;        /* 0: every size in batch_sizes */
	int runs;            /* timed runs per configuration */
	double run_seconds;  /* s: least duration of one timed run */
	double warm_seconds; /* s: least warm-up before the runs */
	long peak_iters;     /* iterations of the peak loop per try */
};

struct peak {
	double gflops[N_THREADS]; /* GFLOP/s, best of a few tries, per thread count */
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- FMA peak ---------------------------------------------------------- */

/* Each loop runs `iters` rounds of PEAK_ACCUMULATORS independent FMAs and
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
	__m512 a[PEAK_ACCUMULATORS];
	for (int i = 0; i < PEAK_ACCUMULATORS; i++) {
		a[i] = _mm512_set1_ps((float)i);
	}
	const __m512 m = _mm512_set1_ps(0.999999f);
	const __m512 c = _mm512_set1_ps(1e-6f);
	for (long it = 0; it < iters; it++) {
		FMA12(_mm512_fmadd_ps, a, m, c);
	}
	float sum = 0.0f;
	for (int i = 0; i < PEAK_ACCUMULATORS; i++) {
		sum += _mm512_reduce_add_ps(a[i]);
	}
	return sum;
}

__attribute__((target("avx2,fma"))) static float fma_loop_avx2(long iters)
{
	__m256 a[PEAK_ACCUMULATORS];
	for (int i = 0; i < PEAK_ACCUMULATORS; i++) {
		a[i] = _mm256_set1_ps((float)i);
	}
	const __m256 m = _mm256_set1_ps(0.999999f);
	const __m256 c = _mm256_set1_ps(1e-6f);
	for (long it = 0; it < iters; it++) {
		FMA12(_mm256_fmadd_ps, a, m, c);
	}
	float lanes[8];
	float sum = 0.0f;
	for (int i = 0; i < PEAK_ACCUMULATORS; i++) {
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
	float a[PEAK_ACCUMULATORS];
	for (int i = 0; i < PEAK_ACCUMULATORS; i++) {
		a[i] = (float)i;
	}
	for (long it = 0; it < iters; it++) {
		for (int i = 0; i < PEAK_ACCUMULATORS; i++) {
			a[i] = fmaf(a[i], 0.999999f, 1e-6f);
		}
	}
	float sum = 0.0f;
	for (int i = 0; i < PEAK_ACCUMULATORS; i++) {
		sum += a[i];
	}
	return sum;
}

struct fma_loop {
	const char *name;
	float (*run)(long iters);
	int lanes; /* fp32 lanes per FMA */
};

static struct fma_loop pick_fma_loop(void)
{
#ifdef HAVE_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f")) {
		return (struct fma_loop){"avx512", fma_loop_avx512, 16};
	}
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		return (struct fma_loop){"avx2", fma_loop_avx2, 8};
	}
#endif
	return (struct fma_loop){"scalar", fma_loop_scalar, 1};
}

/* Keeps the loops' results alive without printing them. */
static volatile float peak_sink;

/* GFLOP/s of `threads` threads each running the loop at once; best of PEAK_TRIES. */
static double measure_peak(const struct fma_loop *loop, int threads, long iters)
{
	double best = 0.0;
	for (int attempt = 0; attempt < PEAK_TRIES; attempt++) {
		double t0 = 0.0, t1 = 0.0;
#pragma omp parallel num_threads(threads)
		{
#pragma omp barrier
#pragma omp master
			t0 = now_seconds();
			float s = loop->run(iters);
#pragma omp atomic
			peak_sink += s;
#pragma omp barrier
#pragma omp master
			t1 = now_seconds();
		}
		double flops = 2.0 * loop->lanes * PEAK_ACCUMULATORS * (double)iters * threads;
		double g = flops / (t1 - t0) * 1e-9;
		best = g > best ? g : best;
	}
	return best;
}

static void measure_peaks(const struct fma_loop *loop, long iters, struct peak *p)
{
	for (size_t t = 0; t < N_THREADS; t++) {
		p->gflops[t] = measure_peak(loop, thread_counts[t], iters);
	}
}

/* ---- the model and the step ------------------------------------------- */

/* splitmix64: fixed seed, so every run steps the same weights. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static float uniform(float bound)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	z ^= z >> 31;
	double u = (double)(z >> 11) * 0x1.0p-53; /* [0, 1) */
	return (float)((2.0 * u - 1.0) * bound);
}

static void fill_uniform(float *a, size_t n, float bound)
{
	for (size_t i = 0; i < n; i++) {
		a[i] = uniform(bound);
	}
}

/* A 2-layer GRU of hidden size h with a 12-output head, all parameters
 * uniform in +-1/sqrt(h) as PyTorch initialises nn.GRU. NULL and err on failure. */
static struct tc_model *random_model(int h, char *err)
{
	struct tc_model_spec spec;
	tc_model_spec_init(&spec);
	spec.input_size = INPUT_SIZE;
	spec.n_layers = N_LAYERS;
	spec.outputs = OUTPUTS;
	for (int k = 0; k < N_LAYERS; k++) {
		spec.hidden[k] = h;
	}
	const size_t hs = (size_t)h;
	const float bound = 1.0f / sqrtf((float)h);
	float *buf[N_LAYERS * 4 + 2] = {0};
	struct tc_model_weights w;
	memset(&w, 0, sizeof w);
	struct tc_model *m = NULL;
	for (int k = 0; k < N_LAYERS; k++) {
		size_t in = k == 0 ? INPUT_SIZE : hs;
		size_t sizes[4] = {3 * hs * in, 3 * hs * hs, 3 * hs, 3 * hs};
		for (int j = 0; j < 4; j++) {
			if (!(buf[4 * k + j] = malloc(sizes[j] * sizeof(float)))) {
				goto err_oom;
			}
			fill_uniform(buf[4 * k + j], sizes[j], bound);
		}
		w.layer[k] = (struct tc_gru_weights){buf[4 * k], buf[4 * k + 1], buf[4 * k + 2],
			buf[4 * k + 3]};
	}
	float **head = &buf[N_LAYERS * 4];
	if (!(head[0] = malloc(OUTPUTS * hs * sizeof(float)))
		|| !(head[1] = malloc(OUTPUTS * sizeof(float)))) {
		goto err_oom;
	}
	fill_uniform(head[0], OUTPUTS * hs, bound);
	fill_uniform(head[1], OUTPUTS, bound);
	w.head_weight = head[0];
	w.head_bias = head[1];
	m = tc_model_create(&spec, &w, err);
	goto out;

err_oom:
	tc_err_set(err, "out of memory for the weights of an H=%d model", h);
out:
	for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++) {
		free(buf[i]);
	}
	return m;
}

struct timing {
	double steps_per_s[MAX_RUNS]; /* series-steps/s of each run */
	int runs;
};

/* Batch buffers for B series: slots 0..B-1, inputs and outputs. */
struct batch {
	size_t n;
	uint32_t *slots;
	float *inputs;  /* [n x INPUT_SIZE], uniform +-1 */
	float *outputs; /* [n x OUTPUTS] */
};

static int batch_init(struct batch *b, size_t n)
{
	b->n = n;
	b->slots = malloc(n * sizeof *b->slots);
	b->inputs = malloc(n * INPUT_SIZE * sizeof *b->inputs);
	b->outputs = malloc(n * OUTPUTS * sizeof *b->outputs);
	if (!b->slots || !b->inputs || !b->outputs) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		b->slots[i] = (uint32_t)i;
	}
	fill_uniform(b->inputs, n * INPUT_SIZE, 1.0f);
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
	double t0 = now_seconds();
	for (long i = 0; i < steps; i++) {
		if (tc_step(m, st, b->slots, b->n, b->inputs, b->outputs, err) < 0) {
			return -1.0;
		}
	}
	return now_seconds() - t0;
}

/* Warms each kernel up and sizes its runs to last at least opt->run_seconds,
 * then times the runs, alternating the kernels (A, B, A, B) so that a change
 * in the machine hits them alike. t[k] receives kernel k's runs. */
static int time_step(const struct tc_model *m, size_t n, int threads,
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
	if (!(st = tc_state_create(m, n, threads, err))) {
		goto out;
	}
	for (int k = 0; k < opt->n_kernels; k++) {
		tc_step_use_kernel(opt->kernels[k]);
		long warm_steps = 0;
		double warm = 0.0;
		while (warm < opt->warm_seconds) {
			double s = run_steps(m, st, &b, 1, err);
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
			double s = run_steps(m, st, &b, steps[k], err);
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sorts t's runs in place; returns the median. */
static double median_sorted(struct timing *t)
{
	qsort(t->steps_per_s, (size_t)t->runs, sizeof t->steps_per_s[0], cmp_double);
	int h = t->runs / 2;
	return t->runs % 2 ? t->steps_per_s[h] : 0.5 * (t->steps_per_s[h - 1] + t->steps_per_s[h]);
}

/* ---- the report --------------------------------------------------------- */

/* Other processes on our vCPUs are the usual cause of a flagged run. */
static double load_average(void)
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

static void print_machine(void)
{
	char line[256];
	int cpus = 0;
	char model[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "model name", 10) == 0) {
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
	printf("CPU: %s, %d logical CPUs, OpenMP max threads %d; 1-min load average "
	       "before the run %.2f\n", model, cpus, omp_get_max_threads(), load_average());
}

static void print_peaks(const char *when, const struct peak *p)
{
	printf("FMA peak (%s):", when);
	for (size_t t = 0; t < N_THREADS; t++) {
		printf(" %d thread%s %.1f GFLOP/s%s", thread_counts[t], thread_counts[t] > 1 ? "s" : "",
			p->gflops[t], t + 1 < N_THREADS ? "," : "\n");
	}
}

/* Nonzero when start and end disagree by more than PEAK_TOLERANCE at any thread count. */
static int peaks_disagree(const struct peak *a, const struct peak *b)
{
	int bad = 0;
	for (size_t t = 0; t < N_THREADS; t++) {
		double hi = fmax(a->gflops[t], b->gflops[t]);
		double lo = fmin(a->gflops[t], b->gflops[t]);
		if (hi > 0 && (hi - lo) / hi > PEAK_TOLERANCE) {
			printf("WARNING: %d-thread peak moved by %.0f%% between start and end; the "
			       "machine changed under the run, do not quote these figures\n",
				thread_counts[t], 100.0 * (hi - lo) / hi);
			bad = 1;
		}
	}
	return bad;
}

static void usage(FILE *out, const char *argv0)
{
	fprintf(out,
		"usage: %s [--kernel c|avx2|avx512[,...]] [--batch N] [--quick] [--help]\n"
		"Times tc_step on a 2-layer GRU (input 1, head 12) for B in {1024, 16384, 131072},\n"
		"H in {64, 128} and 1 or 2 threads, against the fp32 FMA peak measured at the\n"
		"start and end of the run, and prints a markdown table.\n"
		"  --kernel LIST  the step's kernel (default: the best this CPU runs); with a\n"
		"                 comma-separated list, e.g. avx512,c, compare them in this\n"
		"                 run, alternating their timed runs\n"
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
		if (tc_step_use_kernel(name) < 0) {
			fprintf(stderr, "%s: --kernel %s: unknown, or this CPU cannot run it "
				"(expected c, avx2 or avx512)\n", argv0, name);
			return -1;
		}
		opt->kernels[opt->n_kernels++] = name;
	}
	if (opt->n_kernels == 0) {
		fprintf(stderr, "%s: --kernel: expected c, avx2 or avx512\n", argv0);
		return -1;
	}
	return 0;
}

/* Returns 0, 1 when the caller should exit successfully (--help), -1 on bad usage. */
static int parse_args(int argc, char **argv, struct options *opt)
{
	*opt = (struct options){.runs = MAX_RUNS, .run_seconds = 0.2, .warm_seconds = 0.2,
		.peak_iters = 1L << 24};
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
		opt->kernels[opt->n_kernels++] = tc_step_kernel_name();
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
	int thread_index;                  /* into thread_counts */
	double flops;                      /* per series-step */
	struct timing timing[MAX_KERNELS]; /* per kernel; runs sorted, fastest last */
	double median[MAX_KERNELS];        /* series-steps/s, per kernel */
};

/* Times one H for every B and thread count, appending to rows[*n_rows]. */
static int bench_hidden(int h, const struct options *opt, struct row *rows, size_t *n_rows,
	char *err)
{
	struct tc_model *m = random_model(h, err);
	if (!m) {
		return -1;
	}
	const size_t *sizes = opt->batch ? &opt->batch : batch_sizes;
	const size_t n_sizes = opt->batch ? 1 : N_BATCH;
	for (size_t bi = 0; bi < n_sizes; bi++) {
		for (size_t ti = 0; ti < N_THREADS; ti++) {
			struct row *r = &rows[(*n_rows)++];
			*r = (struct row){.batch = sizes[bi], .hidden = h, .thread_index = (int)ti};
			r->flops = (double)tc_model_flops_per_step(m);
			fprintf(stderr, "B=%zu H=%d threads=%d ...\n", r->batch, h, thread_counts[ti]);
			if (time_step(m, r->batch, thread_counts[ti], opt, r->timing, err) < 0) {
				tc_model_destroy(&m);
				return -1;
			}
			for (int k = 0; k < opt->n_kernels; k++) {
				r->median[k] = median_sorted(&r->timing[k]);
			}
		}
	}
	tc_model_destroy(&m);
	return 0;
}

/* % of peak is taken against the higher of the start and end peaks. */
static void print_table(const struct options *opt, const struct row *rows, size_t n_rows,
	const struct peak *start, const struct peak *end)
{
	printf("| B | H | threads | kernel | series-steps/s | GFLOP/s | min–max | %% of peak |\n"
	       "|--:|--:|--:|:--|--:|--:|--:|--:|\n");
	for (size_t i = 0; i < n_rows; i++) {
		const struct row *r = &rows[i];
		int ti = r->thread_index;
		double peak = fmax(start->gflops[ti], end->gflops[ti]);
		for (int k = 0; k < opt->n_kernels; k++) {
			const struct timing *t = &r->timing[k];
			double g = r->median[k] * r->flops * 1e-9;
			printf("| %zu | %d | %d | %s | %.0f k | %.1f | %.1f–%.1f | %.0f%% |\n",
				r->batch, r->hidden, thread_counts[ti], opt->kernels[k],
				r->median[k] * 1e-3, g, t->steps_per_s[0] * r->flops * 1e-9,
				t->steps_per_s[t->runs - 1] * r->flops * 1e-9, 100.0 * g / peak);
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
	const struct fma_loop loop = pick_fma_loop();
	struct peak start, end;
	print_machine();
	measure_peaks(&loop, opt.peak_iters, &start);
	printf("FMA loop: %s, %d accumulators, best of %d tries; step kernel%s:", loop.name,
		PEAK_ACCUMULATORS, PEAK_TRIES, opt.n_kernels > 1 ? "s (runs alternate)" : "");
	for (int k = 0; k < opt.n_kernels; k++) {
		printf(" %s", opt.kernels[k]);
	}
	printf("; %d run%s of >= %.2f s each\n", opt.runs, opt.runs > 1 ? "s" : "",
		opt.run_seconds);
	print_peaks("start", &start);
	fflush(stdout);
	struct row rows[N_HIDDEN * N_BATCH * N_THREADS];
	size_t n_rows = 0;
	for (size_t hi = 0; hi < N_HIDDEN && !(opt.quick && hi > 0); hi++) {
		if (bench_hidden(hidden_sizes[hi], &opt, rows, &n_rows, err) < 0) {
			fprintf(stderr, "%s: %s\n", argv[0], err);
			return 1;
		}
	}
	measure_peaks(&loop, opt.peak_iters, &end);
	print_peaks("end", &end);
	int moved = peaks_disagree(&start, &end);
	printf("\n");
	print_table(&opt, rows, n_rows, &start, &end);
	printf("\nFLOPs per series-step: sum_k 2*3*H_k*(I_k + H_k) + 2*H_L*O; %% of peak "
	       "against the higher of the start and end peaks for that thread count.\n");
	if (moved) {
		fprintf(stderr, "%s: the FMA peak moved during the run; see the WARNING above\n",
			argv[0]);
	}
	return 0;
}
