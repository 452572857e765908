/* bench_compare.c -- tickcast, oneDNN's LBR-GRU and PyTorch's nn.GRU on the same weights and inputs, in one run.
 *
 *   ninja -C build && ./build/benches/bench_compare
 *   ./build/benches/bench_compare --quick            # smoke test, a few seconds
 *
 * For H in {64, 128}, B in {1024, 16384} and 1 or 2 threads, one step of a
 * 2-layer GRU (input 1) and its 12-output head, the hidden state carried from
 * step to step, is timed three ways: tc_step; oneDNN's dnnl_lbr_gru (one
 * primitive per layer) and a dnnl_matmul for the head, timed together
 * (bench_dnnl.c); PyTorch's nn.GRU + nn.Linear in a helper process that stays
 * up for the whole run (bench_torch.py, bench_torch_client.c). All three get
 * the same random weights (PyTorch's layout, converted for oneDNN) and inputs.
 * With --cell lstm or rnn the layers are LSTMs or tanh RNNs, oneDNN's
 * dnnl_lstm or dnnl_vanilla_rnn, and PyTorch is left out.
 *
 * Per configuration: each implementation steps CHECK_STEPS times from a zero
 * state on fresh inputs and its outputs and hidden states are compared with
 * tickcast's; then each is warmed up (primitive creation, first calls and
 * allocation are outside every timing) and sized to runs of at least
 * run_seconds; then the timed runs alternate A, B, C, A, B, C, each after a
 * short pause (settle() says why). The FMA peak is
 * measured at the start and the end, as in bench_step. An implementation that
 * is missing (oneDNN not found at configure time, no PyTorch for --python) is
 * reported as such and the others are still compared. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_compare.h"
#include "bench_dnnl.h"
#include "bench_torch_client.h"
#include "bench_util.h"
#include "error.h"
#include "model.h"
#include "state.h"
#include "step.h"

#ifndef BENCH_TORCH_SCRIPT
#define BENCH_TORCH_SCRIPT "benches/bench_torch.py"
#endif

#define CHECK_STEPS 3        /* steps from a zero state compared across implementations */
#define SETTLE_SECONDS 0.03  /* pause before each run: see settle() */
#define PATH_LEN 512

static const char *const impl_names[N_IMPL] = {"tickcast", "oneDNN", "PyTorch"};

static const size_t batch_sizes[] = {QUICK_BATCH, 16384};
static const int hidden_sizes[] = {QUICK_HIDDEN, 128};
#define N_BATCH (sizeof batch_sizes / sizeof batch_sizes[0])
#define N_HIDDEN (sizeof hidden_sizes / sizeof hidden_sizes[0])


/* What one H shares across its rows. */
struct setup {
	struct bench_weights w;
	struct tc_model *model;
	size_t max_batch;
	float *inputs;       /* [max_batch x I], used for every timed step */
	float *check_inputs; /* [CHECK_STEPS x max_batch x I] */
};

/* The three implementations of one row. */
struct contest {
	const struct setup *s;
	size_t batch;
	int threads;
	int on[N_IMPL];
	struct tc_state *st;
	uint32_t *slots;
	float *tc_outputs; /* [batch x O] */
	struct bench_dnnl *dnnl;
	struct bench_torch *torch;
};

/* ---- one row ------------------------------------------------------------ */

static int step_local(struct contest *c, enum impl i, const float *inputs, char *err)
{
	if (i == IMPL_TICKCAST) {
		return tc_step(c->s->model, c->st, c->slots, c->batch, inputs, c->tc_outputs, err);
	}
	return bench_dnnl_step(c->dnnl, inputs, err);
}

static int run_steps(struct contest *c, enum impl i, long steps, double *elapsed, char *err)
{
	if (i == IMPL_TORCH) {
		return bench_torch_run(c->torch, steps, elapsed, err);
	}
	double t0 = bench_now();
	for (long k = 0; k < steps; k++) {
		if (step_local(c, i, c->s->inputs, err) < 0) {
			return -1;
		}
	}
	*elapsed = bench_now() - t0;
	return 0;
}

static int warm_up(struct contest *c, enum impl i, double seconds, long *steps,
	double *elapsed, char *err)
{
	if (i == IMPL_TORCH) {
		return bench_torch_warm(c->torch, seconds, steps, elapsed, err);
	}
	double t0 = bench_now();
	*steps = 0;
	do {
		if (step_local(c, i, c->s->inputs, err) < 0) {
			return -1;
		}
		++*steps;
		*elapsed = bench_now() - t0;
	} while (*elapsed < seconds);
	return 0;
}

/* After a parallel region, libgomp's idle workers spin before they sleep:
 * about 10 ms of CPU, measured here for PyTorch's. The implementations run in
 * two processes, so without a pause the last run's spinning workers would
 * share the vCPUs with the next implementation's first milliseconds. */
static void settle(void)
{
	struct timespec ts = {0, (long)(SETTLE_SECONDS * 1e9)};
	nanosleep(&ts, NULL);
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
	double m = 0.0;
	for (size_t k = 0; k < n; k++) {
		double d = fabs((double)a[k] - (double)b[k]);
		m = d > m || isnan(d) ? d : m;
	}
	return m;
}

/* Steps each implementation CHECK_STEPS times from a zero state on the check
 * inputs and records its largest differences from tickcast in r. Leaves
 * tickcast's and oneDNN's states as they were stepped; the caller resets. */
static int check_row(struct contest *c, struct row *r, const char *scratch_path, char *err)
{
	const size_t b = c->batch, h = (size_t)c->s->w.hidden;
	const size_t n_out = CHECK_STEPS * b * BENCH_OUTPUTS, n_h = BENCH_LAYERS * b * h;
	float *ref = malloc((n_out + n_h) * sizeof *ref);
	float *got = malloc((n_out + n_h) * sizeof *got);
	int rc = -1;
	if (!ref || !got) {
		tc_err_set(err, "out of memory for the agreement check (B=%zu, H=%zu)", b, h);
		goto out;
	}
	for (int s = 0; s < CHECK_STEPS; s++) {
		const float *in = c->s->check_inputs + (size_t)s * c->s->max_batch * BENCH_INPUT;
		if (step_local(c, IMPL_TICKCAST, in, err) < 0) {
			goto out;
		}
		memcpy(ref + (size_t)s * b * BENCH_OUTPUTS, c->tc_outputs,
			b * BENCH_OUTPUTS * sizeof *ref);
	}
	for (int k = 0; k < BENCH_LAYERS; k++) {
		/* h is the first H of each row (an lstm's row is h then c) */
		const size_t width = (size_t)tc_model_spec_state_width(tc_model_get_spec(c->s->model), k);
		for (size_t i = 0; i < b; i++) {
			memcpy(ref + n_out + ((size_t)k * b + i) * h, tc_state_hidden(c->st, k) + i * width,
				h * sizeof *ref);
		}
	}
	if (c->on[IMPL_DNNL]) {
		bench_dnnl_reset(c->dnnl);
		for (int s = 0; s < CHECK_STEPS; s++) {
			const float *in = c->s->check_inputs + (size_t)s * c->s->max_batch * BENCH_INPUT;
			if (bench_dnnl_step(c->dnnl, in, err) < 0) {
				goto out;
			}
			memcpy(got + (size_t)s * b * BENCH_OUTPUTS, bench_dnnl_outputs(c->dnnl),
				b * BENCH_OUTPUTS * sizeof *got);
		}
		for (int k = 0; k < BENCH_LAYERS; k++) {
			memcpy(got + n_out + (size_t)k * b * h, bench_dnnl_hidden(c->dnnl, k),
				b * h * sizeof *got);
		}
		r->diff_out[IMPL_DNNL] = max_abs_diff(ref, got, n_out);
		r->diff_hidden[IMPL_DNNL] = max_abs_diff(ref + n_out, got + n_out, n_h);
	}
	if (c->on[IMPL_TORCH]) {
		if (bench_torch_check(c->torch, b, scratch_path, err) < 0) {
			goto out;
		}
		FILE *f = fopen(scratch_path, "rb");
		size_t n = f ? fread(got, sizeof *got, n_out + n_h, f) : 0;
		if (f) {
			fclose(f);
		}
		if (n != n_out + n_h) {
			tc_err_set(err, "%s: PyTorch's check output has %zu floats, expected %zu",
				scratch_path, n, n_out + n_h);
			goto out;
		}
		r->diff_out[IMPL_TORCH] = max_abs_diff(ref, got, n_out);
		r->diff_hidden[IMPL_TORCH] = max_abs_diff(ref + n_out, got + n_out, n_h);
	}
	rc = 0;
out:
	free(ref);
	free(got);
	return rc;
}

/* Builds every implementation for the row; those that cannot be built are
 * switched off with a note on stderr. */
static int contest_init(struct contest *c, const struct setup *s, size_t batch, int threads,
	const int *on, struct bench_torch *torch, char *err)
{
	*c = (struct contest){.s = s, .batch = batch, .threads = threads, .torch = torch};
	memcpy(c->on, on, sizeof c->on);
	c->slots = malloc(batch * sizeof *c->slots);
	c->tc_outputs = malloc(batch * BENCH_OUTPUTS * sizeof *c->tc_outputs);
	if (!c->slots || !c->tc_outputs) {
		return tc_err_set(err, "out of memory for a batch of %zu series", batch);
	}
	for (size_t i = 0; i < batch; i++) {
		c->slots[i] = (uint32_t)i;
	}
	if (!(c->st = tc_state_create(s->model, batch, threads, err))) {
		return -1;
	}
	char why[TC_ERR_LEN];
	if (c->on[IMPL_DNNL] && !(c->dnnl = bench_dnnl_create(&s->w, batch, threads, why))) {
		fprintf(stderr, "oneDNN left out of B=%zu H=%d threads=%d: %s\n", batch,
			s->w.hidden, threads, why);
		c->on[IMPL_DNNL] = 0;
	}
	if (c->on[IMPL_TORCH] && bench_torch_prepare(torch, batch, threads, err) < 0) {
		return -1;
	}
	return 0;
}

static void contest_finish(struct contest *c)
{
	bench_dnnl_destroy(&c->dnnl);
	tc_state_destroy(&c->st);
	free(c->slots);
	free(c->tc_outputs);
}

/* Zero states for the timed runs; tickcast's by a fresh state. */
static int contest_reset(struct contest *c, char *err)
{
	tc_state_destroy(&c->st);
	if (!(c->st = tc_state_create(c->s->model, c->batch, c->threads, err))) {
		return -1;
	}
	if (c->on[IMPL_DNNL]) {
		bench_dnnl_reset(c->dnnl);
	}
	return c->on[IMPL_TORCH] ? bench_torch_prepare(c->torch, c->batch, c->threads, err) : 0;
}

static int bench_row(const struct setup *s, struct row *r, const struct options *opt,
	const int *on, struct bench_torch *torch, const char *scratch_path, char *err)
{
	struct contest c;
	long steps[N_IMPL] = {0};
	int rc = -1;
	if (contest_init(&c, s, r->batch, bench_thread_counts[r->thread_index], on, torch,
			err) < 0
		|| check_row(&c, r, scratch_path, err) < 0 || contest_reset(&c, err) < 0) {
		goto out;
	}
	for (int i = 0; i < N_IMPL; i++) {
		double elapsed;
		if (c.on[i]) {
			settle();
			if (warm_up(&c, (enum impl)i, opt->warm_seconds, &steps[i], &elapsed, err) < 0) {
				tc_err_prefix(err, "%s, warm-up", impl_names[i]);
				goto out;
			}
			steps[i] = (long)ceil(opt->run_seconds / (elapsed / (double)steps[i]));
			steps[i] = steps[i] < 1 ? 1 : steps[i];
		}
	}
	for (int run = 0; run < opt->runs; run++) {
		for (int i = 0; i < N_IMPL; i++) {
			double elapsed;
			if (c.on[i]) {
				settle();
				if (run_steps(&c, (enum impl)i, steps[i], &elapsed, err) < 0) {
					tc_err_prefix(err, "%s, run %d", impl_names[i], run + 1);
					goto out;
				}
				r->gflops[i][run] = (double)steps[i] * (double)r->batch * r->flops / elapsed
					* 1e-9;
			}
		}
	}
	for (int i = 0; i < N_IMPL; i++) {
		r->median[i] = c.on[i] ? bench_median_sort(r->gflops[i], opt->runs) : 0.0;
	}
	rc = 0;
out:
	contest_finish(&c);
	return rc;
}

/* ---- one hidden size -------------------------------------------------- */

static void setup_finish(struct setup *s)
{
	tc_model_destroy(&s->model);
	bench_weights_finish(&s->w);
	free(s->inputs);
	free(s->check_inputs);
	memset(s, 0, sizeof *s);
}

static int setup_init(struct setup *s, enum tc_layer_type cell, int hidden, size_t max_batch,
	char *err)
{
	memset(s, 0, sizeof *s);
	s->max_batch = max_batch;
	if (bench_weights_init_cell(&s->w, cell, hidden, err) < 0) {
		return -1;
	}
	if (!(s->model = bench_weights_model(&s->w, err))) {
		goto err_setup;
	}
	s->inputs = malloc(max_batch * BENCH_INPUT * sizeof *s->inputs);
	s->check_inputs = malloc(CHECK_STEPS * max_batch * BENCH_INPUT * sizeof *s->check_inputs);
	if (!s->inputs || !s->check_inputs) {
		tc_err_set(err, "out of memory for the inputs of %zu series", max_batch);
		goto err_setup;
	}
	bench_fill_uniform(s->inputs, max_batch * BENCH_INPUT, 1.0f);
	bench_fill_uniform(s->check_inputs, CHECK_STEPS * max_batch * BENCH_INPUT, 1.0f);
	return 0;

err_setup:
	setup_finish(s);
	return -1;
}

static int write_floats(FILE *f, const float *a, size_t n)
{
	return fwrite(a, sizeof *a, n, f) == n ? 0 : -1;
}

/* Writes the weights and inputs in the order bench_torch.py reads them. */
static int setup_write(const struct setup *s, const char *path, char *err)
{
	const struct bench_weights *w = &s->w;
	const size_t h = (size_t)w->hidden;
	FILE *f = fopen(path, "wb");
	if (!f) {
		return tc_err_set(err, "%s: cannot create: %m", path);
	}
	int bad = 0;
	for (int k = 0; k < BENCH_LAYERS; k++) {
		bad |= write_floats(f, w->weight_ih[k], 3 * h * bench_weights_input(w, k));
		bad |= write_floats(f, w->weight_hh[k], 3 * h * h);
		bad |= write_floats(f, w->bias_ih[k], 3 * h);
		bad |= write_floats(f, w->bias_hh[k], 3 * h);
	}
	bad |= write_floats(f, w->head_weight, BENCH_OUTPUTS * h);
	bad |= write_floats(f, w->head_bias, BENCH_OUTPUTS);
	bad |= write_floats(f, s->inputs, s->max_batch * BENCH_INPUT);
	bad |= write_floats(f, s->check_inputs, CHECK_STEPS * s->max_batch * BENCH_INPUT);
	if (fclose(f) != 0 || bad) {
		return tc_err_set(err, "%s: cannot write the weights: %m", path);
	}
	return 0;
}

/* Times one H for every B and thread count, appending to rows[*n_rows]. */
static int bench_hidden(int hidden, const struct options *opt, const int *on,
	struct bench_torch *torch, const char *dir, struct row *rows, size_t *n_rows, char *err)
{
	const size_t *sizes = opt->batch ? &opt->batch : batch_sizes;
	const size_t n_sizes = opt->batch ? 1 : N_BATCH;
	size_t max_batch = 0;
	for (size_t bi = 0; bi < n_sizes; bi++) {
		max_batch = sizes[bi] > max_batch ? sizes[bi] : max_batch;
	}
	char weights_path[PATH_LEN], check_path[PATH_LEN];
	snprintf(weights_path, sizeof weights_path, "%s/weights-h%d.bin", dir, hidden);
	snprintf(check_path, sizeof check_path, "%s/torch-check.bin", dir);
	struct setup s;
	if (setup_init(&s, opt->cell, hidden, max_batch, err) < 0) {
		return -1;
	}
	int rc = -1;
	if (on[IMPL_TORCH] && (setup_write(&s, weights_path, err) < 0
			|| bench_torch_load(torch, weights_path, hidden, max_batch, CHECK_STEPS, err) < 0)) {
		goto out;
	}
	for (size_t bi = 0; bi < n_sizes; bi++) {
		for (int ti = 0; ti < BENCH_N_THREADS; ti++) {
			struct row *r = &rows[(*n_rows)++];
			*r = (struct row){.batch = sizes[bi], .hidden = hidden, .thread_index = ti,
				.flops = bench_weights_flops(&s.w)};
			fprintf(stderr, "B=%zu H=%d threads=%d ...\n", r->batch, hidden,
				bench_thread_counts[ti]);
			if (bench_row(&s, r, opt, on, torch, check_path, err) < 0) {
				goto out;
			}
		}
	}
	rc = 0;
out:
	unlink(weights_path);
	unlink(check_path);
	setup_finish(&s);
	return rc;
}

/* ---- arguments and main ------------------------------------------------ */

/* Decides which implementations run and says why any does not. */
static void pick_contestants(const struct options *opt, int *on, struct bench_torch **torch)
{
	char why[TC_ERR_LEN];
	const char *about;
	on[IMPL_TICKCAST] = 1;
	printf("tickcast: step kernel %s\n", tc_step_kernel_name(TC_PRECISION_FP32));
	on[IMPL_DNNL] = 0;
	if (opt->skip[IMPL_DNNL]) {
		printf("oneDNN: left out (--no-dnnl)\n");
	} else if (!(about = bench_dnnl_version(why))) {
		printf("oneDNN: %s\n", why);
	} else {
		printf("oneDNN: %s; %s per layer + matmul head, timed together\n", about,
			opt->cell == TC_LAYER_LSTM ? "LSTM" : opt->cell == TC_LAYER_RNN ? "tanh RNN"
			: "LBR-GRU");
		on[IMPL_DNNL] = 1;
	}
	on[IMPL_TORCH] = 0;
	*torch = NULL;
	if (opt->skip[IMPL_TORCH]) {
		printf("PyTorch: left out (--no-torch)\n");
	} else if (opt->cell != TC_LAYER_GRU) {
		printf("PyTorch: left out (its helper steps nn.GRU only)\n");
	} else if (!(*torch = bench_torch_start(opt->python, BENCH_TORCH_SCRIPT, why))) {
		printf("PyTorch: not available: %s\n", why);
	} else {
		about = bench_torch_about(*torch);
		printf("PyTorch: %s (%s); nn.GRU + nn.Linear under inference_mode\n", about,
			opt->python);
		if (!strstr(about, "openblas")) {
			printf("WARNING: PyTorch is not on OpenBLAS (apt-get install libopenblas0-openmp); "
			       "docs/measuring.md: the reference BLAS is 15-30x slower\n");
		}
		on[IMPL_TORCH] = 1;
	}
}

int main(int argc, char **argv)
{
	struct options opt;
	int rc = bench_compare_parse_args(argc, argv, &opt);
	if (rc != 0) {
		return rc > 0 ? 0 : 2;
	}
	char err[TC_ERR_LEN];
	char dir[] = "/tmp/tickcast-compare.XXXXXX";
	if (!mkdtemp(dir)) {
		fprintf(stderr, "%s: cannot make a temporary folder %s: %m\n", argv[0], dir);
		return 1;
	}
	int on[N_IMPL];
	struct bench_torch *torch = NULL;
	const struct bench_fma_loop loop = bench_fma_loop_pick();
	struct bench_peak start, end;
	bench_print_machine();
	pick_contestants(&opt, on, &torch); /* before the peak: PyTorch's import is slow */
	bench_peak_measure(&loop, opt.peak_iters, &start);
	printf("FMA loop: %s, %d accumulators, best of %d tries; %d run%s of >= %.2f s each per "
	       "implementation, alternating\n", loop.name, BENCH_PEAK_ACCUMULATORS,
		BENCH_PEAK_TRIES, opt.runs, opt.runs > 1 ? "s" : "", opt.run_seconds);
	bench_peak_print("start", &start);
	fflush(stdout);
	struct row rows[N_HIDDEN * N_BATCH * BENCH_N_THREADS];
	size_t n_rows = 0;
	rc = 0;
	for (size_t hi = 0; hi < N_HIDDEN && rc == 0; hi++) {
		int h = opt.hidden ? opt.hidden : hidden_sizes[hi];
		if (bench_hidden(h, &opt, on, torch, dir, rows, &n_rows, err) < 0) {
			fprintf(stderr, "%s: %s\n", argv[0], err);
			rc = 1;
		}
		if (opt.hidden) {
			break;
		}
	}
	bench_torch_stop(&torch);
	rmdir(dir);
	if (rc != 0) {
		return rc;
	}
	bench_peak_measure(&loop, opt.peak_iters, &end);
	bench_peak_print("end", &end);
	int moved = bench_peak_moved(&start, &end);
	printf("\n");
	bench_compare_print_table(rows, n_rows, opt.runs, &start, &end);
	printf("\nFLOPs per series-step: sum_k 2*G*H_k*(I_k + H_k) + 2*H_L*O (G = 3 gru, 4 lstm, "
	       "1 rnn); %% of peak against "
	       "the higher of the start and end peaks for that thread count; ratios are of "
	       "medians (> 1: tickcast faster).\n\nAgreement with tickcast, max |difference| "
	       "over %d steps from a zero state (outputs of every step; hidden states of every "
	       "layer after the last), tolerance %.0e:\n\n", CHECK_STEPS, AGREE_TOLERANCE);
	int bad = bench_compare_print_agreement(rows, n_rows);
	if (moved) {
		fprintf(stderr, "%s: the FMA peak moved during the run; see the WARNING above\n",
			argv[0]);
	}
	if (bad) {
		fprintf(stderr, "%s: %d configuration%s disagreed with tickcast by more than %.0e\n",
			argv[0], bad, bad > 1 ? "s" : "", AGREE_TOLERANCE);
		return 1;
	}
	return 0;
}
