/* bench_memory.c -- the tick engine's bytes per series, by part, against its target.
 *
 *   ninja -C build && ./build/benches/bench_memory
 *   ./build/benches/bench_memory --hidden 64 --series 600000 --scaler none
 *
 * Each configuration (H, N) runs in a child process of its own, so that no
 * memory freed by an earlier one is reused and hides a cost. The child builds
 * a 2-layer GRU of H units (input 1, head 12) and a tick engine configured
 * as config/tickcast.yaml (wall clock, skip, series.max 1,000,000 or N if
 * more, ttl 3600, model.scaler ema unless --scaler none), files one reading
 * for each of N series `s0` .. `s<N-1>` and closes the tick. Per series it
 * reports:
 *
 * - allocated: what glibc has handed out, mallinfo2's uordblks (heap chunks
 *   in use) + hblkhd (chunks it mmapped), after the tick minus before the
 *   engine was created. This counts growth slack whether touched or not: the
 *   figure to size a machine by under strict overcommit, and the honest one
 *   to hold against the target.
 * - resident: the growth of the resident set (/proc/self/statm): pages
 *   actually written. Slack that was never written does not count; heap
 *   memory freed while arrays grew, and kept by glibc for reuse, does.
 * - trimmed: resident again after malloc_trim(0) gave those free heap pages
 *   back: the pages the engine's live arrays occupy.
 * - by part: tc_tick_memory's array sizes (at their capacity) over N.
 *
 * It also gives the first tick's filing time per reading (every series new:
 * registering, growing the arrays). Then, on the same engine, it times
 * lookups of all N ids (tc_registry_find, in filing order and shuffled), the
 * next tick's N readings (tc_tick_offer on known series: lookup + staging)
 * and that tick's close (gather + step), `--runs` times each, and reports
 * medians with min–max. To compare two builds, run them alternately (A, B,
 * A, B): see docs/measuring.md. */
#include <inttypes.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_tick.h"
#include "bench_util.h"
#include "config.h"
#include "error.h"
#include "model.h"
#include "openmp_env.h"
#include "registry.h"
#include "tick.h"

#define MAX_SIZES 8
#define MAX_HIDDEN 4
#define MAX_RUNS 9

static const size_t default_sizes[] = {10000, 100000, 600000, 1000000};
static const int default_hidden[] = {64, 128};

struct options {
	size_t sizes[MAX_SIZES];
	int n_sizes;
	int hidden[MAX_HIDDEN];
	int n_hidden;
	int scaler;          /* model.scaler ema (the default config) or none */
	int intervals;       /* model.intervals at 80% (the bundled config) or off */
	int runs;            /* timed repeats of each hot path */
};

/* What a child sends back. Timings sorted ascending. */
struct result {
	int ok;
	char err[TC_ERR_LEN];
	double allocated;    /* bytes, mallinfo2 growth */
	double resident;     /* bytes, RSS growth */
	double trimmed;      /* bytes, RSS growth once malloc_trim gave free heap pages back */
	struct tc_tick_memory mem;
	double first_ns;     /* per reading of the first tick: every series new */
	int runs;
	double lookup_ns[MAX_RUNS];   /* per lookup, ids in filing order */
	double shuffled_ns[MAX_RUNS]; /* per lookup, ids in a fixed random order */
	double offer_ns[MAX_RUNS];    /* per reading of a known series */
	double close_ms[MAX_RUNS];    /* per tick of N series */
};

/* ---- measuring, in the child ------------------------------------------ */

static double allocated_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();
	return (double)mi.uordblks + (double)mi.hblkhd;
}

static double resident_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2) {
			resident = 0;
		}
		fclose(f);
	}
	return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

/* Looks every id up, in order or shuffled; returns the seconds taken, or -1
 * when an id is not in the slot it was filed into. */
static double time_lookups(const struct tc_registry *reg, const struct bench_ids *ids,
	int shuffled)
{
	uint64_t sum = 0;
	double t0 = bench_now();
	for (size_t k = 0; k < ids->n; k++) {
		size_t i = shuffled ? ids->shuffled[k] : k;
		sum += (uint64_t)tc_registry_find(reg, ids->bytes + i * BENCH_ID_STRIDE, ids->len[i]);
	}
	double s = bench_now() - t0;
	return sum == (uint64_t)ids->n * (ids->n - 1) / 2 ? s : -1.0;
}

static int time_hot_paths(struct tc_tick *t, const struct bench_ids *ids, int runs,
	struct result *res, char *err)
{
	const struct tc_registry *reg = tc_tick_registry(t);
	const double n = (double)ids->n;
	res->runs = runs;
	if (time_lookups(reg, ids, 0) < 0) { /* warm-up */
		return tc_err_set(err, "an id was not found in its own slot");
	}
	for (int k = 0; k < runs; k++) {
		double in_order = time_lookups(reg, ids, 0);
		double shuffled = time_lookups(reg, ids, 1);
		if (in_order < 0 || shuffled < 0) {
			return tc_err_set(err, "an id was not found in its own slot");
		}
		double offer_s, close_s;
		if (bench_file_tick(t, ids, 1 + k, &offer_s, &close_s, err) < 0) {
			return -1;
		}
		res->lookup_ns[k] = in_order / n * 1e9;
		res->shuffled_ns[k] = shuffled / n * 1e9;
		res->offer_ns[k] = offer_s / n * 1e9;
		res->close_ms[k] = close_s * 1e3;
	}
	bench_median_sort(res->lookup_ns, runs);
	bench_median_sort(res->shuffled_ns, runs);
	bench_median_sort(res->offer_ns, runs);
	bench_median_sort(res->close_ms, runs);
	return 0;
}

static void measure(int hidden, size_t n, const struct options *opt, struct result *res)
{
	char *err = res->err;
	struct tc_config cfg;
	tc_config_init(&cfg);
	cfg.scaler.type = opt->scaler ? TC_SCALER_EMA : TC_SCALER_NONE;
	cfg.intervals.enabled = opt->intervals;
	size_t max_series = n > (size_t)cfg.series.max ? n : (size_t)cfg.series.max;
	struct bench_weights w;
	struct bench_ids ids = {0};
	struct tc_model *m = NULL;
	struct tc_tick *t = NULL;
	if (bench_weights_init(&w, hidden, err) < 0) {
		return;
	}
	m = bench_weights_model(&w, err);
	bench_weights_finish(&w);
	if (!m) {
		return;
	}
	if (bench_ids_init(&ids, n) < 0) {
		tc_err_set(err, "out of memory for %zu ids", n);
		goto out;
	}
	double allocated = allocated_bytes(), resident = resident_bytes();
	if (!(t = tc_tick_create(&cfg.tick, m, max_series, (uint64_t)cfg.series.ttl_ticks,
		&cfg.scaler, err)) || tc_tick_set_intervals(t, &cfg.intervals, NULL, err) < 0) {
		goto out;
	}
	double offer_s, close_s;
	if (bench_file_tick(t, &ids, 0, &offer_s, &close_s, err) < 0) {
		goto out;
	}
	res->first_ns = offer_s / (double)n * 1e9;
	res->allocated = allocated_bytes() - allocated;
	res->resident = resident_bytes() - resident;
	malloc_trim(0);
	res->trimmed = resident_bytes() - resident;
	tc_tick_memory(t, &res->mem);
	if (time_hot_paths(t, &ids, opt->runs, res, err) < 0) {
		goto out;
	}
	res->ok = 1;
out:
	tc_tick_destroy(&t);
	tc_model_destroy(&m);
	bench_ids_finish(&ids);
}

/* Runs measure() in a child; the parent never starts OpenMP threads, so
 * forking is safe. Returns 0, or -1 with res->err. */
static int measure_in_child(int hidden, size_t n, const struct options *opt,
	struct result *res)
{
	memset(res, 0, sizeof *res);
	int fd[2];
	if (pipe(fd) < 0) {
		return tc_err_set(res->err, "pipe failed");
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return tc_err_set(res->err, "fork failed");
	}
	if (pid == 0) {
		close(fd[0]);
		measure(hidden, n, opt, res);
		ssize_t wrote = write(fd[1], res, sizeof *res);
		_exit(wrote == (ssize_t)sizeof *res ? 0 : 1);
	}
	close(fd[1]);
	size_t got = 0;
	while (got < sizeof *res) {
		ssize_t r = read(fd[0], (char *)res + got, sizeof *res - got);
		if (r <= 0) {
			break;
		}
		got += (size_t)r;
	}
	close(fd[0]);
	int status;
	waitpid(pid, &status, 0);
	if (got != sizeof *res) {
		return tc_err_set(res->err, "the child measuring H=%d N=%zu died", hidden, n);
	}
	return res->ok ? 0 : -1;
}

/* ---- the report ------------------------------------------------------- */

static void usage(FILE *out, const char *argv0)
{
	fprintf(out,
		"usage: %s [--hidden H[,H...]] [--series N[,N...]] [--scaler ema|none] [--intervals on|off]\n"
		"          [--runs R]\n"
		"Bytes per series of the tick engine (2-layer GRU, input 1, head 12; configured\n"
		"as config/tickcast.yaml) after one reading of each of N series s0, s1, ...:\n"
		"allocated (mallinfo2), resident (RSS; and after malloc_trim), by part, against\n"
		"1.25 x the hidden-state bytes + 64; then the time of registry lookups, filing\n"
		"readings and closing a tick on that engine. Each (H, N) runs in a child process.\n"
		"  --hidden LIST  hidden sizes (default 64,128)\n"
		"  --series LIST  series counts (default 10000,100000,600000,1000000)\n"
		"  --scaler KIND  ema (default, as config/tickcast.yaml) or none\n"
		"  --intervals X  on (model.intervals at 80%%, as config/tickcast.yaml) or off (default)\n"
		"  --runs R       timed repeats of each hot path, 1..%d (default 5)\n"
		"  --help         this text\n",
		argv0, MAX_RUNS);
}

/* Parses a comma-separated list of positive integers up to max into v[]. */
static int parse_list(const char *argv0, const char *name, char *list, unsigned long long max,
	unsigned long long *v, int cap)
{
	int n = 0;
	for (char *save = NULL, *item = strtok_r(list, ",", &save); item;
		item = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long long x = strtoull(item, &end, 10);
		if (*end || x == 0 || x > max || n == cap) {
			fprintf(stderr, "%s: %s: expected at most %d numbers in 1..%llu, got '%s'\n",
				argv0, name, cap, max, item);
			return -1;
		}
		v[n++] = x;
	}
	return n;
}

static int parse_args(int argc, char **argv, struct options *opt)
{
	*opt = (struct options){.scaler = 1, .runs = 5};
	unsigned long long v[MAX_SIZES];
	for (int i = 1; i < argc; i++) {
		int n;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout, argv[0]);
			return 1;
		} else if (strcmp(argv[i], "--series") == 0 && i + 1 < argc) {
			if ((n = parse_list(argv[0], "--series", argv[++i], 100000000, v, MAX_SIZES)) < 0) {
				return -1;
			}
			for (opt->n_sizes = 0; opt->n_sizes < n; opt->n_sizes++) {
				opt->sizes[opt->n_sizes] = (size_t)v[opt->n_sizes];
			}
		} else if (strcmp(argv[i], "--hidden") == 0 && i + 1 < argc) {
			if ((n = parse_list(argv[0], "--hidden", argv[++i], 4096, v, MAX_HIDDEN)) < 0) {
				return -1;
			}
			for (opt->n_hidden = 0; opt->n_hidden < n; opt->n_hidden++) {
				opt->hidden[opt->n_hidden] = (int)v[opt->n_hidden];
			}
		} else if (strcmp(argv[i], "--scaler") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "ema") != 0 && strcmp(argv[i], "none") != 0) {
				fprintf(stderr, "%s: --scaler: expected ema or none, got '%s'\n", argv[0],
					argv[i]);
				return -1;
			}
			opt->scaler = strcmp(argv[i], "ema") == 0;
		} else if (strcmp(argv[i], "--intervals") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "on") != 0 && strcmp(argv[i], "off") != 0) {
				fprintf(stderr, "%s: --intervals: expected on or off, got '%s'\n", argv[0],
					argv[i]);
				return -1;
			}
			opt->intervals = strcmp(argv[i], "on") == 0;
		} else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			if (parse_list(argv[0], "--runs", argv[++i], MAX_RUNS, v, 1) < 0) {
				return -1;
			}
			opt->runs = (int)v[0];
		} else {
			fprintf(stderr, "%s: unknown or incomplete option '%s'\n", argv[0], argv[i]);
			usage(stderr, argv[0]);
			return -1;
		}
	}
	if (!opt->n_sizes) {
		opt->n_sizes = (int)(sizeof default_sizes / sizeof default_sizes[0]);
		memcpy(opt->sizes, default_sizes, sizeof default_sizes);
	}
	if (!opt->n_hidden) {
		opt->n_hidden = (int)(sizeof default_hidden / sizeof default_hidden[0]);
		memcpy(opt->hidden, default_hidden, sizeof default_hidden);
	}
	return 0;
}

static void print_memory_row(int hidden, size_t n, const struct result *r)
{
	const struct tc_tick_memory *m = &r->mem;
	const double per = 1.0 / (double)n;
	const double target = 1.25 * (double)(BENCH_LAYERS * hidden * (int)sizeof(float)) + 64.0;
	printf("| %d | %zu | %zu | **%.0f** | %.0f | %.0f | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f "
		"| %.1f | %.1f | %.0f | %s |\n", hidden, n, m->capacity, r->allocated * per,
		r->resident * per, r->trimmed * per, (double)m->state * per,
		(double)m->registry_table * per, (double)m->registry_ids * per,
		(double)m->staging * per, (double)m->scaler * per, (double)m->series * per,
		(double)m->batch * per, (double)m->intervals * per, target,
		r->allocated * per <= target ? "yes" : "**no**");
}

static void print_speed_row(int hidden, size_t n, const struct result *r)
{
	const int k = r->runs - 1, mid = r->runs / 2;
	printf("| %d | %zu | %.0f | %.1f (%.1f–%.1f) | %.1f (%.1f–%.1f) | %.1f (%.1f–%.1f) "
		"| %.1f (%.1f–%.1f) |\n", hidden, n, r->first_ns,
		r->lookup_ns[mid], r->lookup_ns[0], r->lookup_ns[k],
		r->shuffled_ns[mid], r->shuffled_ns[0], r->shuffled_ns[k],
		r->offer_ns[mid], r->offer_ns[0], r->offer_ns[k],
		r->close_ms[mid], r->close_ms[0], r->close_ms[k]);
}

int main(int argc, char **argv)
{
	tc_openmp_wait_passive(argv); /* as tickcastd runs */
	struct options opt;
	int rc = parse_args(argc, argv, &opt);
	if (rc != 0) {
		return rc > 0 ? 0 : 2;
	}
	bench_print_machine();
	printf("model: %d GRU layers, input %d, head %d; model.scaler %s; model.intervals %s; "
		"series ids s0, s1, ...; %d timed runs per hot path\n\n", BENCH_LAYERS, BENCH_INPUT,
		BENCH_OUTPUTS, opt.scaler ? "ema" : "none", opt.intervals ? "on" : "off", opt.runs);
	static struct result results[MAX_HIDDEN][MAX_SIZES];
	for (int h = 0; h < opt.n_hidden; h++) {
		for (int s = 0; s < opt.n_sizes; s++) {
			fprintf(stderr, "H=%d N=%zu ...\n", opt.hidden[h], opt.sizes[s]);
			if (measure_in_child(opt.hidden[h], opt.sizes[s], &opt, &results[h][s]) < 0) {
				fprintf(stderr, "%s: %s\n", argv[0], results[h][s].err);
				return 1;
			}
		}
	}
	printf("Bytes per series (parts: tc_tick_memory at capacity, over N)\n\n"
	       "| H | N | capacity | allocated | resident | trimmed | state | registry table "
	       "| registry ids | staging | scaler | series | batch | intervals | target "
	       "| allocated within |\n"
	       "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:--|\n");
	for (int h = 0; h < opt.n_hidden; h++) {
		for (int s = 0; s < opt.n_sizes; s++) {
			print_memory_row(opt.hidden[h], opt.sizes[s], &results[h][s]);
		}
	}
	printf("\nHot paths, median (min–max) of %d runs\n\n"
	       "| H | N | first tick: ns/reading, all new | lookup ns, in order "
	       "| lookup ns, shuffled | filing ns/reading | close ms (gather + step) |\n"
	       "|--:|--:|--:|--:|--:|--:|--:|\n", opt.runs);
	for (int h = 0; h < opt.n_hidden; h++) {
		for (int s = 0; s < opt.n_sizes; s++) {
			print_speed_row(opt.hidden[h], opt.sizes[s], &results[h][s]);
		}
	}
	return 0;
}
