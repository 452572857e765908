/* loadgen.c -- end-to-end load for tickcastd: options, the run's timeline, the summary and its verdict.
 *
 * Producer threads (loadgen_producer.c) each own a range of series, ids
 * `s<index>`, and once per tick interval send one reading for each of them,
 * in batches of --batch readings a message, spread over the first --spread
 * of the interval. Rounds are aligned to the daemon's wall-clock buckets, so
 * round r's readings all belong to one bucket. A subscriber thread
 * (loadgen_sub.c) counts the forecasts of each bucket, text or binary. The
 * main thread, here, polls the control socket's `status` (loadgen_control.c)
 * to see each tick's duration, takes CPU snapshots (proc_cpu.c), waits for
 * the last tick's forecasts, and prints a summary ending in a verdict:
 *
 *     HOLDS  every reading sent was accepted, nothing was rejected, every
 *            series' forecast arrived for every measured tick, each tick's
 *            last forecast within --lag-limit-ms of the tick's close (one
 *            interval by default: out before the next tick closes, so that
 *            no backlog builds up), and the tick duration's p99 over the
 *            measured ticks is under the interval.
 *
 * The first --warmup rounds create the series; they must be accepted but
 * their ticks are not measured. Forecasts must be in publish.format
 * --forecast-format (text or binary); a message in another format, or a
 * malformed binary batch, is counted as unreadable and fails the run. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zmq.h>

#include "loadgen.h"
#include "loadgen_control.h"
#include "loadgen_producer.h"
#include "loadgen_sub.h"
#include "proc_cpu.h"
#include "model.h"

/* ---- options ---- */

static const char usage[] =
	"Usage: loadgen [OPTIONS]\n"
	"\n"
	"Loads a running tickcastd (wall clock, publish.format text or binary) end to end:\n"
	"T producer threads send one reading a tick for each of N series, a subscriber\n"
	"counts the forecasts of every tick, and the control socket's status gives tick\n"
	"durations.\n"
	"Prints a summary and `verdict HOLDS` or `verdict FAILS (why)`; exit status 0 when\n"
	"it holds, 1 when it fails, 2 on bad usage or when the daemon cannot be reached.\n"
	"\n"
	"Options:\n"
	"  --ingest ENDPOINT     the daemon's ingest.bind (default tcp://127.0.0.1:7700)\n"
	"  --forecasts ENDPOINT  its publish.bind (default tcp://127.0.0.1:7701)\n"
	"  --control ENDPOINT    its control.bind (default tcp://127.0.0.1:7702)\n"
	"  --series N            series, ids s0 .. s<N-1> (default 10000)\n"
	"  --threads T           producer threads (default 2)\n"
	"  --format text|binary  reading format (default text)\n"
	"  --forecast-format text|binary\n"
	"                        the daemon's publish.format (default text); a forecast\n"
	"                        message in another format fails the run\n"
	"  --batch LINES         readings per message (default 1000)\n"
	"  --seconds S           measured ticks, at least 2 (default 10)\n"
	"  --warmup W            ticks before them that create the series (default 1)\n"
	"  --interval-ms MS      must equal the daemon's tick.interval_ms (default 1000)\n"
	"  --spread F            a tick's readings go out over the first F of it (default 0.5)\n"
	"  --grace-ms MS         how long the last tick's forecasts may take (default 2 intervals)\n"
	"  --lag-limit-ms MS     a tick's forecasts must all arrive within MS of its close\n"
	"                        for HOLDS (default 1 interval)\n"
	"  --width V             values per reading, the model's input_size (default 1)\n"
	"  --daemon-pid PID      report the daemon's CPU use, thread by thread\n"
	"  -h, --help            this text\n";

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_options(int argc, char **argv, struct lg_options *o)
{
	static const struct option longs[] = {
		{"ingest", required_argument, NULL, 'i'}, {"forecasts", required_argument, NULL, 'f'},
		{"control", required_argument, NULL, 'c'}, {"series", required_argument, NULL, 'n'},
		{"threads", required_argument, NULL, 't'}, {"format", required_argument, NULL, 'F'},
		{"forecast-format", required_argument, NULL, 'P'},
		{"batch", required_argument, NULL, 'b'}, {"seconds", required_argument, NULL, 's'},
		{"warmup", required_argument, NULL, 'w'}, {"interval-ms", required_argument, NULL, 'I'},
		{"spread", required_argument, NULL, 'S'}, {"grace-ms", required_argument, NULL, 'g'},
		{"lag-limit-ms", required_argument, NULL, 'L'},
		{"width", required_argument, NULL, 'W'}, {"daemon-pid", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'}, {0},
	};
	*o = (struct lg_options){
		.ingest = "tcp://127.0.0.1:7700", .forecasts = "tcp://127.0.0.1:7701",
		.control = "tcp://127.0.0.1:7702", .series = 10000, .threads = 2, .batch = 1000,
		.seconds = 10, .warmup = 1, .interval_ms = 1000, .spread = 0.5, .grace_ms = -1,
		.lag_limit_ms = -1, .width = 1,
	};
	int opt;
	long v = 0;
	while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		int bad = 0;
		switch (opt) {
		case 'i': o->ingest = optarg; break;
		case 'f': o->forecasts = optarg; break;
		case 'c': o->control = optarg; break;
		case 'n': bad = parse_long(optarg, 1, 100000000, &o->series); break;
		case 't': bad = parse_long(optarg, 1, 64, &v); o->threads = (int)v; break;
		case 'F':
			bad = strcmp(optarg, "text") && strcmp(optarg, "binary");
			o->binary = !strcmp(optarg, "binary");
			break;
		case 'P':
			bad = strcmp(optarg, "text") && strcmp(optarg, "binary");
			o->forecast_binary = !strcmp(optarg, "binary");
			break;
		case 'b': bad = parse_long(optarg, 1, 1000000, &v); o->batch = (int)v; break;
		case 's': bad = parse_long(optarg, 2, 100000, &v); o->seconds = (int)v; break;
		case 'w': bad = parse_long(optarg, 0, 1000, &v); o->warmup = (int)v; break;
		case 'I': bad = parse_long(optarg, 10, 3600000, &v); o->interval_ms = (int)v; break;
		case 'S': o->spread = strtod(optarg, NULL); bad = !(o->spread >= 0 && o->spread <= 1); break;
		case 'g': bad = parse_long(optarg, 0, 3600000, &v); o->grace_ms = (int)v; break;
		case 'L': bad = parse_long(optarg, 0, 3600000, &v); o->lag_limit_ms = (int)v; break;
		case 'W': bad = parse_long(optarg, 1, TC_MAX_INPUT, &v); o->width = (int)v; break;
		case 'p': bad = parse_long(optarg, 1, 1L << 30, &o->daemon_pid); break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
		if (bad) {
			const struct option *l = longs;
			while (l->name && l->val != opt) {
				l++;
			}
			fprintf(stderr, "loadgen: bad value for --%s: \"%s\"\n", l->name, optarg);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "loadgen: unexpected argument \"%s\"\n\n%s", argv[optind], usage);
		return 2;
	}
	o->threads = o->series < o->threads ? (int)o->series : o->threads;
	o->grace_ms = o->grace_ms < 0 ? 2 * o->interval_ms : o->grace_ms;
	o->lag_limit_ms = o->lag_limit_ms < 0 ? o->interval_ms : o->lag_limit_ms;
	return -1;
}

/* ---- the run ---- */

static int query_status(const struct lg_run *rn, void **control, struct lg_control_status *s)
{
	return lg_control_query(rn->ctx, rn->o.control, control, s);
}

struct tick_record {
	int64_t bucket;
	double ms;               /* status tick_ms.last right after it closed */
};

/* What the main thread saw while the rounds went out. */
struct watch {
	struct lg_control_status before, after;
	struct tick_record *ticks;
	int n_ticks;
	struct lg_cpu_snapshot daemon[2], self[2];
	unsigned long long busy[2], total[2];
	int64_t cpu_ms[2];       /* real ms of the two snapshots */
	int cpu_taken;
};

static void take_cpu(const struct lg_run *rn, struct watch *w, int i)
{
	if (rn->o.daemon_pid) {
		lg_cpu_snapshot_take(rn->o.daemon_pid, &w->daemon[i]);
	}
	lg_cpu_snapshot_take((long)getpid(), &w->self[i]);
	lg_cpu_machine(&w->busy[i], &w->total[i]);
	w->cpu_ms[i] = lg_real_ms();
	w->cpu_taken = i + 1;
}

static int wait_ready(struct lg_run *rn, int want)
{
	int64_t give_up = lg_real_ms() + LG_SUBSCRIBE_WAIT_MS + 2000;
	while (atomic_load(&rn->ready) < want && !atomic_load(&rn->failed) && lg_real_ms() < give_up) {
		usleep(10000);
	}
	return atomic_load(&rn->ready) == want ? 0 : -1;
}

/* Polls status until the last round's tick has been published (or the
 * grace ran out), noting each tick's duration and CPU snapshots taken over
 * the steady-state intervals: the second measured one to the last. */
static void watch_rounds(struct lg_run *rn, void **control, struct watch *w)
{
	const int64_t interval = rn->o.interval_ms;
	const int64_t first = atomic_load(&rn->first_bucket);
	const int64_t close_ms = (first + rn->rounds) * interval;
	const int64_t cpu_from = (first + rn->o.warmup + 1) * interval;
	long long prev = w->before.ticks;
	for (;;) {
		int64_t now = lg_real_ms();
		if (w->cpu_taken == 0 && now >= cpu_from) {
			take_cpu(rn, w, 0);
		} else if (w->cpu_taken == 1 && now >= close_ms) {
			take_cpu(rn, w, 1);
		}
		/* Done when the last tick's forecasts are in and its duration was seen. */
		int last_seen = w->n_ticks && w->ticks[w->n_ticks - 1].bucket >= first + rn->rounds - 1;
		if (atomic_load(&rn->failed) || (now >= close_ms
			&& ((last_seen && atomic_load(&rn->received[rn->rounds - 1]) >= (uint_fast64_t)rn->o.series)
				|| now >= close_ms + rn->o.grace_ms))) {
			break;
		}
		struct lg_control_status s;
		if (query_status(rn, control, &s) == 0 && s.ticks != prev) {
			/* A tick of bucket b closes at (b + 1) x interval, and is seen here
			 * before the next boundary as long as it takes under an interval. */
			if (s.ticks == prev + 1 && w->n_ticks < rn->rounds + 64) {
				w->ticks[w->n_ticks++] = (struct tick_record){lg_real_ms() / interval - 1, s.last_ms};
			}
			prev = s.ticks;
		}
		int64_t next = lg_real_ms() + LG_POLL_MS;
		next = w->cpu_taken == 0 && cpu_from < next ? cpu_from : next;
		next = w->cpu_taken == 1 && close_ms < next ? close_ms : next;
		lg_sleep_until_ms(next);
	}
	if (w->cpu_taken < 2) {
		take_cpu(rn, w, w->cpu_taken);
	}
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* p50 and p99 as the daemon computes them (sorted[n/2], sorted[n-1-n/100]). */
static void percentiles(double *v, int n, double *p50, double *p99, double *max)
{
	qsort(v, (size_t)n, sizeof *v, compare_double);
	*p50 = n ? v[n / 2] : 0;
	*p99 = n ? v[n - 1 - n / 100] : 0;
	*max = n ? v[n - 1] : 0;
}

/* Prints the summary; returns 1 when the load holds. */
static int report(struct lg_run *rn, struct watch *w)
{
	const struct lg_options *o = &rn->o;
	const int64_t first = atomic_load(&rn->first_bucket);
	const long long sent = (long long)atomic_load(&rn->sent);
	const long long accepted = w->after.accepted - w->before.accepted;
	const long long rejected = w->after.rejected - w->before.rejected;
	uint64_t expected = (uint64_t)o->series * (uint64_t)o->seconds, received = 0;
	int short_ticks = 0, first_short = -1;
	double *lag = calloc((size_t)rn->rounds + 1, sizeof *lag);
	double *tick_ms = calloc((size_t)rn->rounds + 64, sizeof *tick_ms);
	int n_lag = 0, n_tick = 0;
	if (!lag || !tick_ms) {
		free(lag);
		free(tick_ms);
		fprintf(stderr, "loadgen: out of memory\n");
		return 0;
	}
	for (int r = o->warmup; r < rn->rounds; r++) {
		uint64_t got = atomic_load(&rn->received[r]);
		received += got;
		if (got != (uint64_t)o->series) {
			short_ticks++;
			first_short = first_short < 0 ? r : first_short;
		} else {
			lag[n_lag++] = (double)(atomic_load(&rn->last_arrival[r]) - (first + r + 1) * o->interval_ms);
		}
	}
	double warm_ms = -1;
	for (int i = 0; i < w->n_ticks; i++) {
		int64_t idx = w->ticks[i].bucket - first;
		if (idx >= o->warmup && idx < rn->rounds) {
			tick_ms[n_tick++] = w->ticks[i].ms;
		} else if (idx >= 0 && idx < o->warmup) {
			warm_ms = w->ticks[i].ms > warm_ms ? w->ticks[i].ms : warm_ms;
		}
	}
	/* First and last before sorting: a lag that grows tick by tick is a
	 * backlog that a longer run would turn into lost ticks. */
	double lag_first = n_lag ? lag[0] : 0, lag_last = n_lag ? lag[n_lag - 1] : 0;
	double p50, p99, max, lag50, lag99, lagmax;
	percentiles(tick_ms, n_tick, &p50, &p99, &max);
	percentiles(lag, n_lag, &lag50, &lag99, &lagmax);
	free(lag);
	free(tick_ms);

	printf("series                 %ld\n", o->series);
	printf("seconds                %d measured ticks (+%d warm-up), interval %d ms\n", o->seconds,
		o->warmup, o->interval_ms);
	printf("format                 %s, %d readings a message, %d producers, spread %.2f\n",
		o->binary ? "binary" : "text", o->batch, o->threads, o->spread);
	printf("forecast format        %s\n", o->forecast_binary ? "binary" : "text");
	printf("readings sent          %lld\n", sent);
	printf("readings accepted      %lld\n", accepted);
	printf("rejected_total         %lld\n", rejected);
	printf("ticks                  %lld (daemon ticks during the run)\n",
		w->after.ticks - w->before.ticks);
	printf("series in daemon       %lld\n", w->after.series);
	printf("forecasts expected     %llu (%ld series x %d full ticks)\n", (unsigned long long)expected,
		o->series, o->seconds);
	const unsigned long long unreadable = atomic_load(&rn->received_unreadable);
	printf("forecasts received     %llu (+%llu of other ticks; %llu messages, %llu unreadable)\n",
		(unsigned long long)received, (unsigned long long)atomic_load(&rn->received_other),
		(unsigned long long)atomic_load(&rn->received_messages), unreadable);
	printf("forecasts published    %lld in %lld messages (daemon, during the run)\n",
		w->after.forecasts - w->before.forecasts, w->after.messages - w->before.messages);
	printf("ingest rate            %.0f readings/s accepted\n",
		(double)accepted / (rn->rounds * (double)o->interval_ms / 1000.0));
	printf("tick_ms status         p50 %.1f p99 %.1f (the daemon's last 1024 ticks, idle ones too)\n",
		w->after.p50_ms, w->after.p99_ms);
	printf("tick_ms measured       p50 %.1f p99 %.1f max %.1f over %d ticks; warm-up tick %.1f\n",
		p50, p99, max, n_tick, warm_ms);
	printf("publish lag ms         p50 %.0f max %.0f first %.0f last %.0f (a tick's last forecast "
		"after the tick closed)\n", lag50, lagmax, lag_first, lag_last);
	printf("producers              a round's last batch went out at most %lld ms into its interval\n",
		(long long)atomic_load(&rn->finish_ms_max));
	if (w->cpu_taken == 2 && w->cpu_ms[1] > w->cpu_ms[0]) {
		double secs = (double)(w->cpu_ms[1] - w->cpu_ms[0]) / 1000.0;
		double hz = (double)sysconf(_SC_CLK_TCK);
		double daemon = 0;
		printf("cpu window             %.2f s of steady state\n", secs);
		if (o->daemon_pid) {
			lg_cpu_print("daemon", &w->daemon[0], &w->daemon[1], secs);
			daemon = (double)(w->daemon[1].total - w->daemon[0].total) / hz / secs;
		}
		lg_cpu_print("loadgen", &w->self[0], &w->self[1], secs);
		double self = (double)(w->self[1].total - w->self[0].total) / hz / secs;
		double all = (double)(w->busy[1] - w->busy[0]) / (double)(w->total[1] - w->total[0])
			* (double)sysconf(_SC_NPROCESSORS_ONLN);
		printf("cpu machine            %.2f of %ld cores busy; others %.2f\n", all,
			sysconf(_SC_NPROCESSORS_ONLN), all - daemon - self);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("cpu loadgen total      %.2f s user, %.2f s system (whole run)\n",
		(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);

	char why[512] = "";
	size_t used = 0;
	if (accepted != sent || rejected != 0) {
		used += (size_t)snprintf(why + used, sizeof why - used,
			"; %lld of %lld readings accepted, %lld rejected", accepted, sent, rejected);
	}
	if (short_ticks) {
		used += (size_t)snprintf(why + used, sizeof why - used,
			"; %d ticks short of forecasts (first: tick %d, %llu of %ld)", short_ticks,
			first_short - o->warmup + 1,
			(unsigned long long)atomic_load(&rn->received[first_short]), o->series);
	}
	if (n_lag && lagmax >= o->lag_limit_ms) {
		used += (size_t)snprintf(why + used, sizeof why - used,
			"; a tick's forecasts still arriving %.0f ms after it closed (limit %d)", lagmax,
			o->lag_limit_ms);
	}
	if (n_tick < o->seconds || p99 >= o->interval_ms) {
		used += (size_t)snprintf(why + used, sizeof why - used,
			"; tick p99 %.1f ms over %d of %d ticks", p99, n_tick, o->seconds);
	}
	if (unreadable) {
		used += (size_t)snprintf(why + used, sizeof why - used,
			"; %llu forecast messages unreadable (not publish.format %s?)", unreadable,
			o->forecast_binary ? "binary" : "text");
	}
	if (atomic_load(&rn->failed)) {
		snprintf(why + used, sizeof why - used, "; the load generator failed");
	}
	if (why[0]) {
		printf("verdict                FAILS (%s)\n", why + 2);
	} else {
		printf("verdict                HOLDS\n");
	}
	return !why[0];
}

int main(int argc, char **argv)
{
	struct lg_run rn = {0};
	int rc = parse_options(argc, argv, &rn.o);
	if (rc >= 0) {
		return rc;
	}
	rn.rounds = rn.o.warmup + rn.o.seconds;
	rn.received = calloc((size_t)rn.rounds, sizeof *rn.received);
	rn.last_arrival = calloc((size_t)rn.rounds, sizeof *rn.last_arrival);
	struct lg_producer *producers = calloc((size_t)rn.o.threads, sizeof *producers);
	struct watch w = {.ticks = calloc((size_t)rn.rounds + 64, sizeof *w.ticks)};
	if (!rn.received || !rn.last_arrival || !producers || !w.ticks || !(rn.ctx = zmq_ctx_new())) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 2;
	}
	void *control = NULL;
	int64_t give_up = lg_real_ms() + 10000;
	while (query_status(&rn, &control, &w.before) < 0) {
		if (lg_real_ms() > give_up) {
			fprintf(stderr, "loadgen: no status from the daemon on %s\n", rn.o.control);
			return 2;
		}
		usleep(100000);
	}
	pthread_t subscriber;
	pthread_create(&subscriber, NULL, lg_sub_run, &rn);
	for (int i = 0; i < rn.o.threads; i++) {
		producers[i] = (struct lg_producer){.run = &rn,
			.lo = (long)((long long)i * rn.o.series / rn.o.threads),
			.hi = (long)((long long)(i + 1) * rn.o.series / rn.o.threads)};
		pthread_create(&producers[i].thread, NULL, lg_producer_run, &producers[i]);
	}
	int ok = wait_ready(&rn, rn.o.threads + 1) == 0 && query_status(&rn, &control, &w.before) == 0;
	if (ok) {
		/* Two boundaries ahead: the subscriber's connection has settled by then. */
		atomic_store(&rn.first_bucket, lg_real_ms() / rn.o.interval_ms + 2);
		watch_rounds(&rn, &control, &w);
		ok = query_status(&rn, &control, &w.after) == 0;
	}
	atomic_store(&rn.stop, 1);
	for (int i = 0; i < rn.o.threads; i++) {
		pthread_join(producers[i].thread, NULL);
	}
	pthread_join(subscriber, NULL);
	int holds = 0;
	if (ok) {
		holds = report(&rn, &w);
	} else {
		fprintf(stderr, "loadgen: the daemon stopped answering or a thread could not connect\n");
	}
	if (control) {
		zmq_close(control);
	}
	zmq_ctx_term(rn.ctx);
	free(producers);
	free(w.ticks);
	free(rn.received);
	free(rn.last_arrival);
	return ok ? !holds : 2;
}
