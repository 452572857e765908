/* bench_checkpoint.c -- what a checkpoint costs: the engine held, the write, the restore, a tick delayed.
 *
 *   ninja -C build && OMP_NUM_THREADS=2 ./build/benches/bench_checkpoint
 *   ./build/benches/bench_checkpoint --series 1000000 --runs 7 --dir /var/lib/tickcast
 *
 * The daemon copies the tick engine's state into a preallocated, pre-touched
 * image while it holds the engine (right after a tick closes), then a writer
 * thread seals and writes the image. For a GRU of one layer of 64 units and
 * for the bundled shape (two layers of 64), input 1, head 12, model.scaler
 * ema, and N series, it builds a tick engine (wall clock, one reading of
 * every series per tick), closes a few ticks, then times, `--runs` times
 * each, interleaved run by run:
 *
 * - close: tc_tick_close of a tick where every series has a reading, alone;
 * - held: tc_tick_checkpoint into an image reserved beforehand
 *   (tc_checkpoint_reserve): the time the daemon holds the engine;
 * - cold: the same copy into a new image, which allocates and faults in
 *   every page while holding the engine: why the daemon reserves;
 * - save: tc_checkpoint_save of that image into --dir (seal, temporary file,
 *   write, fsync, rename, fsync of the folder);
 * - load and restore: tc_checkpoint_load of the file, its pages first
 *   dropped from the page cache (posix_fadvise), then tc_tick_restore into a
 *   fresh engine (created outside the timing);
 * - close during a save: the tick's close while a second thread saves the
 *   image over and over, as the daemon's writer would;
 * - fork: the alternative snapshot, fork() of the process holding the
 *   engine, and the first close in the parent while the child still holds
 *   the pages (the child only waits, then exits); timed after all of the
 *   others, whose pages it would leave write-protected.
 *
 * Medians with min–max, and the file's bytes per series. The file is
 * removed at the end. See docs/measuring.md for how to read the figures. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_tick.h"
#include "bench_util.h"
#include "checkpoint.h"
#include "config.h"
#include "error.h"
#include "model.h"
#include "registry.h"
#include "tick.h"
#include "tick_checkpoint.h"

#define MAX_SIZES 4
#define MAX_RUNS 15
#define HIDDEN 64
#define WARM_TICKS 3       /* ticks closed before anything is timed */
#define HELD_TARGET_MS 50.0

static const size_t default_sizes[] = {100000, 1000000};
static const int shape_layers[] = {1, 2}; /* GRU layers of HIDDEN units */
#define N_SHAPES 2

struct options {
	size_t sizes[MAX_SIZES];
	int n_sizes;
	int runs;
	const char *dir;     /* where the checkpoint file is written */
};

/* What is timed, ms, one value per run. */
enum timing {
	T_CLOSE, T_HELD, T_COLD, T_SAVE, T_LOAD, T_RESTORE, T_CLOSE_BUSY, T_FORK, T_CLOSE_FORK,
	T__COUNT
};

struct result {
	size_t bytes;        /* the checkpoint file */
	int saves_busy;      /* background saves completed while the busy closes ran */
	double ms[T__COUNT][MAX_RUNS]; /* sorted ascending once measured */
};

/* One engine under test and what it is checkpointed into. */
struct bench {
	struct tc_config cfg;
	size_t max_series;
	struct tc_model *m;
	struct tc_tick *t;
	struct bench_ids ids;
	int64_t bucket;              /* the next tick's */
	struct tc_checkpoint *image; /* reserved once, as the daemon does */
	char path[4096];
};

static double ms_since(double t0)
{
	return (bench_now() - t0) * 1e3;
}

/* ---- the engine ------------------------------------------------------- */

static void bench_finish(struct bench *b)
{
	tc_checkpoint_destroy(&b->image);
	tc_tick_destroy(&b->t);
	tc_model_destroy(&b->m);
	bench_ids_finish(&b->ids);
}

static int close_tick(struct bench *b, double *close_ms, char *err)
{
	double offer_s, close_s;
	if (bench_file_tick(b->t, &b->ids, b->bucket++, &offer_s, &close_s, err) < 0) {
		return -1;
	}
	*close_ms = close_s * 1e3;
	return 0;
}

/* A model of `layers` x HIDDEN, an engine of n series that has closed
 * WARM_TICKS ticks, and an image reserved for its checkpoint. */
static int bench_init(struct bench *b, int layers, size_t n, const char *dir, char *err)
{
	memset(b, 0, sizeof *b);
	tc_config_init(&b->cfg);
	b->cfg.scaler.type = TC_SCALER_EMA;
	b->max_series = n > (size_t)b->cfg.series.max ? n : (size_t)b->cfg.series.max;
	snprintf(b->path, sizeof b->path, "%s/bench_checkpoint.ckpt", dir);
	struct bench_weights w;
	if (bench_weights_init(&w, HIDDEN, err) < 0) {
		return -1;
	}
	b->m = bench_weights_model_layers(&w, layers, BENCH_OUTPUTS, err);
	bench_weights_finish(&w);
	if (!b->m) {
		return -1;
	}
	if (bench_ids_init(&b->ids, n) < 0) {
		return tc_err_set(err, "out of memory for %zu ids", n);
	}
	if (!(b->t = tc_tick_create(&b->cfg.tick, b->m, b->max_series,
		(uint64_t)b->cfg.series.ttl_ticks, &b->cfg.scaler, err))) {
		return -1;
	}
	double ms;
	for (int k = 0; k < WARM_TICKS; k++) {
		if (close_tick(b, &ms, err) < 0) {
			return -1;
		}
	}
	if (!(b->image = tc_checkpoint_create())) {
		return tc_err_set(err, "out of memory for a checkpoint image");
	}
	return tc_checkpoint_reserve(b->image, tc_tick_checkpoint_size(b->t), err);
}

/* ---- held, cold, save, load ------------------------------------------- */

static int time_copies(struct bench *b, double *held_ms, double *cold_ms, char *err)
{
	double t0 = bench_now();
	if (tc_tick_checkpoint(b->t, b->image, err) < 0) {
		return -1;
	}
	*held_ms = ms_since(t0);
	struct tc_checkpoint *cold = tc_checkpoint_create();
	if (!cold) {
		return tc_err_set(err, "out of memory for a checkpoint image");
	}
	t0 = bench_now();
	int rc = tc_tick_checkpoint(b->t, cold, err);
	*cold_ms = ms_since(t0);
	tc_checkpoint_destroy(&cold);
	return rc;
}

/* Drops the file's pages from the page cache (they are clean after the
 * save's fsync), so that the load reads the disk as after a reboot. */
static int evict(const char *path, char *err)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		return tc_err_set(err, "cannot open %s: %s", path, strerror(errno));
	}
	int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return rc == 0 ? 0 : tc_err_set(err, "posix_fadvise %s: %s", path, strerror(rc));
}

static int time_restore(struct bench *b, double *load_ms, double *restore_ms, char *err)
{
	struct tc_checkpoint *c = tc_checkpoint_create();
	struct tc_tick *t = NULL;
	int rc = -1, other_weights;
	double t0;
	if (!c) {
		return tc_err_set(err, "out of memory for a checkpoint image");
	}
	if (evict(b->path, err) < 0) {
		goto out;
	}
	t0 = bench_now();
	if (tc_checkpoint_load(c, b->path, err) < 0) {
		goto out;
	}
	*load_ms = ms_since(t0);
	if (!(t = tc_tick_create(&b->cfg.tick, b->m, b->max_series,
		(uint64_t)b->cfg.series.ttl_ticks, &b->cfg.scaler, err))) {
		goto out;
	}
	t0 = bench_now();
	if (tc_tick_checkpoint_fits(t, c, &other_weights, err) < 0
		|| tc_tick_restore(t, c, err) < 0) {
		goto out;
	}
	*restore_ms = ms_since(t0);
	rc = tc_registry_count(tc_tick_registry(t)) == b->ids.n ? 0
		: tc_err_set(err, "the restored engine holds %zu series, not %zu",
			tc_registry_count(tc_tick_registry(t)), b->ids.n);
out:
	tc_tick_destroy(&t);
	tc_checkpoint_destroy(&c);
	return rc;
}

/* ---- a tick's close during a background save --------------------------- */

struct writer {
	struct tc_checkpoint *image; /* the writer's while it runs */
	const char *path;
	atomic_int started;
	atomic_int stop;             /* checked between saves */
	int saves;                   /* completed */
	int failed;
	char err[TC_ERR_LEN];
};

static void *writer_run(void *arg)
{
	struct writer *w = arg;
	setpriority(PRIO_PROCESS, (id_t)gettid(), 19); /* as tickcastd's tc-checkpoint thread */
	atomic_store(&w->started, 1);
	do {
		if (tc_checkpoint_save(w->image, w->path, w->err) < 0) {
			w->failed = 1;
			break;
		}
		w->saves++;
	} while (!atomic_load(&w->stop));
	return NULL;
}

/* Files and closes a tick while a second thread saves the image again and
 * again; adds the saves completed to *saves. */
static int time_close_busy(struct bench *b, double *close_ms, int *saves, char *err)
{
	struct writer w = {.image = b->image, .path = b->path};
	pthread_t thread;
	if (pthread_create(&thread, NULL, writer_run, &w) != 0) {
		return tc_err_set(err, "cannot start the writer thread");
	}
	while (!atomic_load(&w.started)) {
		sched_yield();
	}
	int rc = close_tick(b, close_ms, err);
	atomic_store(&w.stop, 1);
	pthread_join(thread, NULL);
	*saves += w.saves;
	if (w.failed) {
		return tc_err_set(err, "%s", w.err);
	}
	return rc;
}

/* ---- the fork alternative --------------------------------------------- */

/* Files a tick, forks (the child holds the snapshot until the parent has
 * closed that tick; a real one would write it out), closes the tick. */
static int time_fork(struct bench *b, double *fork_ms, double *close_ms, char *err)
{
	int fd[2];
	if (bench_offer_all(b->t, &b->ids, err) < 0) {
		return -1;
	}
	if (pipe(fd) < 0) {
		return tc_err_set(err, "pipe: %s", strerror(errno));
	}
	fflush(stdout);
	double t0 = bench_now();
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[1]);
		char c;
		ssize_t got = read(fd[0], &c, 1); /* 0: the parent closed its end */
		_exit(got == 0 ? 0 : 1);
	}
	*fork_ms = ms_since(t0);
	close(fd[0]);
	if (pid < 0) {
		close(fd[1]);
		return tc_err_set(err, "fork: %s", strerror(errno));
	}
	t0 = bench_now();
	int rc = bench_close(b->t, b->bucket++, b->ids.n, err);
	*close_ms = ms_since(t0);
	close(fd[1]);
	waitpid(pid, NULL, 0);
	return rc;
}

/* ---- one configuration ------------------------------------------------- */

/* One run of every measurement but fork's, in the order the daemon would
 * meet them. */
static int run_once(struct bench *b, int k, struct result *res, char *err)
{
	double (*ms)[MAX_RUNS] = res->ms;
	if (close_tick(b, &ms[T_CLOSE][k], err) < 0
		|| time_copies(b, &ms[T_HELD][k], &ms[T_COLD][k], err) < 0) {
		return -1;
	}
	double t0 = bench_now();
	if (tc_checkpoint_save(b->image, b->path, err) < 0) {
		return -1;
	}
	ms[T_SAVE][k] = ms_since(t0);
	if (time_restore(b, &ms[T_LOAD][k], &ms[T_RESTORE][k], err) < 0
		|| time_close_busy(b, &ms[T_CLOSE_BUSY][k], &res->saves_busy, err) < 0) {
		return -1;
	}
	return 0;
}

static int measure(int layers, size_t n, const struct options *opt, struct result *res,
	char *err)
{
	struct bench b;
	memset(res, 0, sizeof *res);
	int rc = bench_init(&b, layers, n, opt->dir, err);
	for (int k = 0; k < opt->runs && rc == 0; k++) {
		rc = run_once(&b, k, res, err);
	}
	/* After the others: once a fork has shared the pages, every one written
	 * to faults again (write-protected) even after the child is gone, which
	 * would slow the copy and the close of the runs that follow. */
	for (int k = 0; k < opt->runs && rc == 0; k++) {
		rc = time_fork(&b, &res->ms[T_FORK][k], &res->ms[T_CLOSE_FORK][k], err);
	}
	if (rc == 0) {
		res->bytes = tc_checkpoint_get_info(b.image)->bytes;
		for (int i = 0; i < T__COUNT; i++) {
			bench_median_sort(res->ms[i], opt->runs);
		}
	}
	unlink(b.path);
	bench_finish(&b);
	return rc;
}

/* ---- the report ------------------------------------------------------- */

static void usage(FILE *out, const char *argv0)
{
	fprintf(out,
		"usage: %s [--series N[,N...]] [--runs R] [--dir DIR]\n"
		"What a checkpoint of the tick engine costs, for GRUs of 1 x %d and 2 x %d (input 1,\n"
		"head 12, model.scaler ema) over N series: the copy into a reserved image (the time\n"
		"the engine is held) and into a cold one, the save (seal, write, fsync, rename), the\n"
		"load and restore, the file's bytes per series, a tick's close alone and during a\n"
		"background save, and fork() with the first close after it. Medians of R runs.\n"
		"  --series LIST  series counts (default 100000,1000000)\n"
		"  --runs R       timed runs of each measurement, 5..%d (default 5)\n"
		"  --dir DIR      folder the checkpoint file is written to (default /tmp)\n"
		"  --help         this text\n",
		argv0, HIDDEN, HIDDEN, MAX_RUNS);
}

static int parse_args(int argc, char **argv, struct options *opt)
{
	*opt = (struct options){.runs = 5, .dir = "/tmp"};
	for (int i = 1; i < argc; i++) {
		char *end;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout, argv[0]);
			return 1;
		} else if (strcmp(argv[i], "--series") == 0 && i + 1 < argc) {
			char *save = NULL;
			for (char *item = strtok_r(argv[++i], ",", &save); item;
				item = strtok_r(NULL, ",", &save)) {
				unsigned long long x = strtoull(item, &end, 10);
				if (*end || x == 0 || x > 100000000 || opt->n_sizes == MAX_SIZES) {
					fprintf(stderr, "%s: --series: expected at most %d counts in 1..100000000, "
						"got '%s'\n", argv[0], MAX_SIZES, item);
					return -1;
				}
				opt->sizes[opt->n_sizes++] = (size_t)x;
			}
		} else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			long r = strtol(argv[++i], &end, 10);
			if (*end || r < 5 || r > MAX_RUNS) {
				fprintf(stderr, "%s: --runs: expected 5..%d, got '%s'\n", argv[0], MAX_RUNS,
					argv[i]);
				return -1;
			}
			opt->runs = (int)r;
		} else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			opt->dir = argv[++i];
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
	return 0;
}

/* "median (min–max)" of a sorted row. */
static void print_ms(const double *v, int runs)
{
	printf(" %.1f (%.1f–%.1f) |", v[runs / 2], v[0], v[runs - 1]);
}

static void print_held_row(int layers, size_t n, const struct result *r, int runs)
{
	printf("| %d x %d | %zu | %.1f | %.0f |", layers, HIDDEN, n, (double)r->bytes / 1e6,
		(double)r->bytes / (double)n);
	for (int i = T_HELD; i <= T_RESTORE; i++) {
		print_ms(r->ms[i], runs);
	}
	printf("\n");
}

static void print_close_row(int layers, size_t n, const struct result *r, int runs)
{
	const double alone = r->ms[T_CLOSE][runs / 2];
	printf("| %d x %d | %zu |", layers, HIDDEN, n);
	print_ms(r->ms[T_CLOSE], runs);
	print_ms(r->ms[T_CLOSE_BUSY], runs);
	printf(" %.1f | %d |", r->ms[T_CLOSE_BUSY][runs - 1] - alone, r->saves_busy);
	print_ms(r->ms[T_FORK], runs);
	print_ms(r->ms[T_CLOSE_FORK], runs);
	printf(" %.1f |\n", r->ms[T_FORK][runs / 2] + r->ms[T_CLOSE_FORK][runs / 2] - alone);
}

static void print_report(const struct options *opt, struct result res[N_SHAPES][MAX_SIZES])
{
	printf("\nThe engine held, the file, the restore: ms, median (min–max) of %d runs\n\n"
	       "| model | N | file MB | B/series | held: copy into reserved image "
	       "| copy into cold image | save: seal + write + fsync + rename "
	       "| load (page cache dropped) | restore |\n"
	       "|:--|--:|--:|--:|--:|--:|--:|--:|--:|\n", opt->runs);
	for (int s = 0; s < N_SHAPES; s++) {
		for (int i = 0; i < opt->n_sizes; i++) {
			print_held_row(shape_layers[s], opt->sizes[i], &res[s][i], opt->runs);
		}
	}
	printf("\nA tick's close (every series has a reading): ms, median (min–max) of %d runs\n\n"
	       "| model | N | close alone | close during a background save "
	       "| largest delay (max − median alone) | saves during | fork() "
	       "| first close after fork | fork + close − close alone |\n"
	       "|:--|--:|--:|--:|--:|--:|--:|--:|--:|\n", opt->runs);
	for (int s = 0; s < N_SHAPES; s++) {
		for (int i = 0; i < opt->n_sizes; i++) {
			print_close_row(shape_layers[s], opt->sizes[i], &res[s][i], opt->runs);
		}
	}
	printf("\n");
	for (int s = 0; s < N_SHAPES; s++) {
		for (int i = 0; i < opt->n_sizes; i++) {
			const double *held = res[s][i].ms[T_HELD];
			printf("%d x %d, N %zu: engine held %.1f ms (max %.1f), target %.0f ms: %s\n",
				shape_layers[s], HIDDEN, opt->sizes[i], held[opt->runs / 2],
				held[opt->runs - 1], HELD_TARGET_MS,
				held[opt->runs - 1] <= HELD_TARGET_MS ? "met" : "NOT met");
		}
	}
}

/* Page faults are most of a cold copy's and a fork's cost; huge pages change them. */
static void print_thp(void)
{
	char line[128] = "unknown\n";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (f) {
		if (!fgets(line, sizeof line, f)) {
			snprintf(line, sizeof line, "unknown\n");
		}
		fclose(f);
	}
	printf("transparent huge pages: %s", line);
}

int main(int argc, char **argv)
{
	struct options opt;
	int rc = parse_args(argc, argv, &opt);
	if (rc != 0) {
		return rc > 0 ? 0 : 2;
	}
	const char *omp = getenv("OMP_NUM_THREADS");
	printf("command: OMP_NUM_THREADS=%s", omp ? omp : "(unset)");
	for (int i = 0; i < argc; i++) {
		printf(" %s", argv[i]);
	}
	printf("\n");
	bench_print_machine();
	print_thp();
	printf("model: GRU of H=%d, input %d, head %d; model.scaler ema; wall clock; series ids "
	       "s0, s1, ...; file in %s\n", HIDDEN, BENCH_INPUT, BENCH_OUTPUTS, opt.dir);
	static struct result res[N_SHAPES][MAX_SIZES];
	for (int s = 0; s < N_SHAPES; s++) {
		for (int i = 0; i < opt.n_sizes; i++) {
			char err[TC_ERR_LEN] = "";
			fprintf(stderr, "%d x %d, N=%zu ...\n", shape_layers[s], HIDDEN, opt.sizes[i]);
			if (measure(shape_layers[s], opt.sizes[i], &opt, &res[s][i], err) < 0) {
				fprintf(stderr, "%s: %s\n", argv[0], err);
				return 1;
			}
		}
	}
	print_report(&opt, res);
	printf("1-min load average after the run %.2f\n", bench_load_average());
	return 0;
}
