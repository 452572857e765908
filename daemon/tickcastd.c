/* tickcastd.c -- the daemon: readings in over ZeroMQ, a batched GRU step per
 * tick, forecasts out. Start-up order: arguments, config, model, sockets
 * (so that a bad endpoint fails before anything runs), signals, threads,
 * READY=1, then the main loop, which handles signals, file watching,
 * reloads and systemd's status and watchdog (WATCHDOG=1 only while the
 * tick and publisher threads turn: watchdog.h). */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#include "cluster_node.h"
#include "config.h"
#include "control.h"
#include "curve.h"
#include "error.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "notify.h"
#include "openmp_env.h"
#include "publisher.h"
#include "queue.h"
#include "reload.h"
#include "sockets.h"
#include "step.h"
#include "ticker.h"
#include "watch.h"
#include "watchdog.h"

#define DEFAULT_CONFIG "/etc/tickcast/tickcast.yaml"
#define LARGE_BLOCK_BYTES (1 << 20) /* and up: mmap'ed, returned to the system when freed */
#define WATCH_SETTLE_MS 300    /* quiet time after the last file event before a reload */
#define WATCHDOG_RETRY_MS 100  /* while a thread is stuck: how soon to look again */

static const char usage[] =
	"Usage: tickcastd [--config FILE] [--member K] [--check]\n"
	"\n"
	"The tickcast daemon: takes readings of many time series on a ZeroMQ SUB\n"
	"socket, advances every series' GRU state once per tick in one batched step,\n"
	"and publishes each series' forecast on a ZeroMQ PUB socket. A REP socket\n"
	"answers `status`, `reload` and `series <id>` (see `tickcast status`).\n"
	"With a `cluster:` section it is instead a member of a NATS JetStream\n"
	"cluster: it consumes its share of the readings stream's partitions and\n"
	"publishes forecasts on NATS (docs/cluster.md).\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE   the YAML config (default " DEFAULT_CONFIG ")\n"
	"  -m, --member K      cluster mode: be member K (overrides cluster.member;\n"
	"                      for the tickcastd@K systemd template)\n"
	"      --check         validate the config and weights, print the model, exit\n"
	"  -V, --version       print the version\n"
	"  -h, --help          this text\n"
	"\n"
	"Signals: SIGHUP reloads the config's model section and the weights;\n"
	"SIGTERM and SIGINT finish the tick in flight, publish it, and exit 0.\n"
	"Every config key: `tickcast check --help`.\n";

/* Everything the daemon runs, in start-up order. */
struct daemon {
	struct tc_config cfg;
	void *zmq;
	struct tc_queue *queue;
	struct tc_publisher *publisher;
	struct tc_ingest *ingest;
	struct tc_ticker *ticker;
	struct tc_checkpointer *checkpointer;
	struct tc_reloader *reloader;
	struct tc_control *control;
	struct tc_metrics *metrics;
	struct tc_watch *watch;
	struct tc_curve *curve;        /* NULL: CURVE off */
	struct tc_cluster_node *cluster; /* cluster mode: instead of ingest, ticker, reloader */
	int signal_fd;
	int watchdog_held;           /* whether the last WATCHDOG=1 due was held back */
	struct tc_log_limit watchdog_log;
};

/* The threads whose turns the watchdog checks, as its log lines name them. */
#define N_WATCHED 2
static const char *const watched_threads[N_WATCHED] = {"tick", "publisher"};

static int parse_args(int argc, char **argv, const char **config, int *check,
	long *member)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"member", required_argument, NULL, 'm'},
		{"check", no_argument, NULL, 'k'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int opt;
	char *end;
	while ((opt = getopt_long(argc, argv, "c:m:Vh", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			*config = optarg;
			break;
		case 'm':
			*member = strtol(optarg, &end, 10);
			if (end == optarg || *end || *member < 0 || *member > 4095) {
				fprintf(stderr, "tickcastd: --member: \"%s\" is not a member number "
					"(0..4095)\n", optarg);
				return 2;
			}
			break;
		case 'k':
			*check = 1;
			break;
		case 'V':
			printf("tickcastd %s\n", TC_VERSION);
			return 0;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tickcastd: unexpected argument \"%s\"\n\n%s", argv[optind], usage);
		return 2;
	}
	return -1;
}

/* The control socket and the metrics endpoint, on what deps name. */
static int start_reporting(struct daemon *d, const struct tc_control_deps *deps, char *err)
{
	const struct tc_config *cfg = &d->cfg;
	if (cfg->control.bind[0]
		&& !(d->control = tc_control_create(d->zmq, cfg->control.bind, deps, err))) {
		return -1;
	}
	if (cfg->metrics.listen[0]
		&& !(d->metrics = tc_metrics_start(cfg->metrics.listen, deps, err))) {
		return -1;
	}
	return 0;
}

/* Cluster mode: a member of a NATS JetStream cluster (cluster_node.h)
 * instead of the readings socket and the ticker; the ZeroMQ publisher only
 * when the config has a publish section. */
static int start_cluster(struct daemon *d, struct tc_model *m, char *err)
{
	const struct tc_config *cfg = &d->cfg;
	if (!(d->zmq = tc_socket_context(err))
		|| (cfg->security.curve_secret_key[0]
			&& !(d->curve = tc_curve_create(d->zmq, &cfg->security, err)))
		|| (cfg->publish.given && !(d->publisher = tc_publisher_create(d->zmq, &cfg->publish,
			cfg->anomaly.topic_prefix, d->curve, err)))
		|| tc_curve_start(d->curve, err) < 0
		|| (d->publisher && tc_publisher_start(d->publisher, err) < 0)) {
		tc_model_destroy(&m);
		return -1;
	}
	if (!(d->cluster = tc_cluster_node_start(cfg, m, d->publisher, err))) {
		return -1;
	}
	struct tc_control_deps deps = {.publisher = d->publisher, .started_ms = tc_now_ms(),
		.curve = d->curve, .cluster = d->cluster};
	if (start_reporting(d, &deps, err) < 0) {
		return -1;
	}
	return d->control ? tc_control_start(d->control, err) : 0;
}

/* Builds every part; on failure err says which and why. */
static int start(struct daemon *d, struct tc_model *m, const char *sha256, char *err)
{
	if (d->cfg.cluster.enabled) {
		return start_cluster(d, m, err);
	}
	const struct tc_config *cfg = &d->cfg;
	const int width = cfg->model.input_size;
	if (!(d->zmq = tc_socket_context(err))) {
		tc_model_destroy(&m);
		return -1;
	}
	if (cfg->security.curve_secret_key[0]
		&& !(d->curve = tc_curve_create(d->zmq, &cfg->security, err))) {
		tc_model_destroy(&m);
		return -1;
	}
	if (!(d->queue = tc_queue_create(width, (size_t)cfg->ingest.queue_readings,
		(size_t)cfg->ingest.queue_bytes, err))
		|| !(d->publisher = tc_publisher_create(d->zmq, &cfg->publish,
			cfg->anomaly.topic_prefix, d->curve, err))
		|| !(d->ingest = tc_ingest_create(d->zmq, &cfg->ingest, width, d->queue, d->curve,
			err))) {
		tc_model_destroy(&m);
		return -1;
	}
	if (!(d->checkpointer = tc_checkpointer_create(&cfg->checkpoint, err))) {
		tc_model_destroy(&m);
		return -1;
	}
	if (!(d->ticker = tc_ticker_create(cfg, m, d->queue, d->publisher, d->checkpointer, err))
		|| tc_ticker_restore(d->ticker, err) < 0) {
		return -1;
	}
	if (!(d->reloader = tc_reloader_create(cfg, sha256, d->ticker, err))) {
		return -1;
	}
	struct tc_control_deps deps = {d->ticker, d->ingest, d->publisher, d->reloader,
		d->checkpointer, tc_now_ms(), d->curve, NULL};
	if (start_reporting(d, &deps, err) < 0) {
		return -1;
	}
	if (cfg->model_watch) {
		const char *paths[] = {cfg->path, cfg->weights_path};
		if (!(d->watch = tc_watch_create(paths, 2, err))) {
			return -1;
		}
	}
	if (tc_curve_start(d->curve, err) < 0 || tc_publisher_start(d->publisher, err) < 0
		|| tc_checkpointer_start(d->checkpointer, err) < 0 || tc_ticker_start(d->ticker, err) < 0
		|| tc_reloader_start(d->reloader, err) < 0 || tc_ingest_start(d->ingest, err) < 0
		|| (d->control && tc_control_start(d->control, err) < 0)) {
		return -1;
	}
	return 0;
}

/* How early ZeroMQ's linger timer may fire by our clock: libzmq reads a
 * cached millisecond clock, so a linger of drain_ms has been seen to end
 * after 999 of our milliseconds. */
#define DRAIN_CLOCK_SLACK_MS 5

/* Says whether subscribers read everything queued for them before exit.
 * ZeroMQ does not tell what is queued per subscriber, only that closing
 * waited: the whole drain_ms means some was left, and dropped. */
static void report_drain(int drain_ms, int64_t waited_ms, uint64_t published)
{
	if (drain_ms > 0 && waited_ms >= drain_ms - DRAIN_CLOCK_SLACK_MS) {
		tc_log_warning("publish.drain_ms (%d ms) passed with forecasts still queued for a "
			"subscriber that did not read them (of %llu published); the rest is dropped: "
			"raise publish.drain_ms, or make that subscriber keep up", drain_ms,
			(unsigned long long)published);
	} else if (waited_ms >= 10) {
		tc_log_info("subscribers read the forecasts still queued for them in %lld ms",
			(long long)waited_ms);
	}
}

/* Stops in the order that loses nothing: no new readings, then the last
 * tick stepped and handed over, then everything handed over sent, then
 * the checkpoint of that last tick written. */
static void stop(struct daemon *d, int started)
{
	tc_metrics_destroy(&d->metrics);
	tc_control_destroy(&d->control);
	tc_cluster_node_stop(&d->cluster); /* its forecasts still go to the publisher */
	tc_reloader_destroy(&d->reloader); /* before the ticker it swaps models into */
	tc_ingest_destroy(&d->ingest);
	if (d->queue) {
		tc_queue_close(d->queue);
	}
	if (d->ticker) {
		tc_ticker_stop(d->ticker);
	}
	uint64_t published = d->publisher ? tc_publisher_forecasts(d->publisher) : 0;
	tc_publisher_destroy(&d->publisher, d->cfg.publish.drain_ms);
	if (d->ticker && started) {
		tc_ticker_final_checkpoint(d->ticker);
	}
	tc_checkpointer_destroy(&d->checkpointer);
	tc_ticker_destroy(&d->ticker);
	tc_queue_destroy(&d->queue);
	tc_watch_destroy(&d->watch);
	tc_curve_destroy(&d->curve); /* after every socket it answers ZAP for */
	if (d->zmq) {
		int64_t start = tc_now_ms();
		zmq_ctx_term(d->zmq); /* waits, up to publish.drain_ms, for subscribers to read */
		report_drain(d->cfg.publish.drain_ms, tc_now_ms() - start, published);
	}
}

/* Signals go to a signalfd that the main loop polls; every thread is
 * started after this, so they all inherit the blocked mask. */
static int block_signals(struct daemon *d, char *err)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return d->signal_fd < 0 ? tc_err_set(err, "signalfd: %s", strerror(errno)) : 0;
}

static void report_status(struct daemon *d)
{
	if (d->cluster) {
		char line[256];
		tc_cluster_node_summary(d->cluster, line, sizeof line);
		tc_notify_status("%s", line);
		return;
	}
	struct tc_ticker_status s;
	tc_ticker_get_status(d->ticker, &s);
	tc_notify_status("%llu series, %llu ticks, last tick %.1f ms, p99 %.1f ms",
		(unsigned long long)s.series, (unsigned long long)s.tick.ticks, s.last_tick_ms,
		s.p99_tick_ms);
}

/* Sends WATCHDOG=1 when the tick and publisher threads both turned within
 * the bound (watchdog.h); otherwise holds it back and says which thread is
 * stuck. Returns whether it sent it. */
static int pet_watchdog(struct daemon *d, int64_t now)
{
	const int64_t last[N_WATCHED] = {d->cluster ? tc_cluster_node_last_turn_ms(d->cluster)
		: tc_ticker_last_turn_ms(d->ticker),
		d->publisher ? tc_publisher_last_turn_ms(d->publisher) : now};
	const int64_t bound = tc_watchdog_bound_ms(d->cfg.tick.interval_ms);
	unsigned stuck = tc_watchdog_stuck(last, N_WATCHED, now, bound);
	if (!stuck) {
		if (d->watchdog_held) {
			tc_log_info("watchdog: the tick and publisher threads turn again; "
				"WATCHDOG=1 resumes");
		}
		d->watchdog_held = 0;
		tc_notify_watchdog();
		return 1;
	}
	d->watchdog_held = 1;
	char which[128] = "";
	size_t used = 0;
	for (int i = 0; i < N_WATCHED && used < sizeof which; i++) {
		if (stuck & (1u << i)) {
			used += (size_t)snprintf(which + used, sizeof which - used,
				"%sthe %s thread for %lld ms", used ? ", " : "", watched_threads[i],
				(long long)(now - last[i]));
		}
	}
	tc_log_limited(&d->watchdog_log, TC_LOG_ERROR,
		"watchdog: no loop turn of %s (the limit is %lld ms: %d tick intervals, at least "
		"%d ms), so WATCHDOG=1 is held back: systemd restarts tickcastd after WatchdogSec "
		"unless it turns again", which, (long long)bound, TC_WATCHDOG_INTERVALS,
		TC_WATCHDOG_FLOOR_MS);
	return 0;
}

/* Returns when SIGTERM or SIGINT arrives. */
static void main_loop(struct daemon *d)
{
	const int64_t watchdog_ms = tc_notify_watchdog_ms();
	int64_t next_status = 0, next_watchdog = 0, reload_at = 0;
	for (;;) {
		int64_t now = tc_now_ms();
		if (reload_at && now >= reload_at) {
			reload_at = 0;
			tc_reloader_request(d->reloader, "watch");
		}
		if (now >= next_status) {
			report_status(d);
			next_status = now + 1000;
		}
		if (watchdog_ms && now >= next_watchdog) {
			int64_t retry = watchdog_ms < WATCHDOG_RETRY_MS ? watchdog_ms : WATCHDOG_RETRY_MS;
			next_watchdog = now + (pet_watchdog(d, now) ? watchdog_ms : retry);
		}
		int64_t wake = next_status;
		wake = watchdog_ms && next_watchdog < wake ? next_watchdog : wake;
		wake = reload_at && reload_at < wake ? reload_at : wake;
		zmq_pollitem_t items[2] = {{.fd = d->signal_fd, .events = ZMQ_POLLIN}};
		int n = 1;
		if (d->watch) {
			items[n++] = (zmq_pollitem_t){.fd = tc_watch_fd(d->watch), .events = ZMQ_POLLIN};
		}
		int64_t timeout = wake - tc_now_ms();
		zmq_poll(items, n, timeout > 0 ? (long)timeout : 0);
		struct signalfd_siginfo si;
		while (read(d->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
			if (si.ssi_signo == SIGHUP && d->cluster) {
				tc_log_warning("SIGHUP: a cluster member does not reload; restart it "
					"(its partitions restore from JetStream)");
			} else if (si.ssi_signo == SIGHUP) {
				tc_reloader_request(d->reloader, "SIGHUP");
			} else {
				tc_log_info("%s: finishing the tick in flight and exiting",
					strsignal((int)si.ssi_signo));
				return;
			}
		}
		/* Every write postpones the reload: it comes once the files have
		 * been quiet for WATCH_SETTLE_MS, not while one is being written. */
		if (d->watch && tc_watch_changed(d->watch)) {
			reload_at = tc_now_ms() + WATCH_SETTLE_MS;
		}
	}
}

/* --member K: this member's number, in place of cluster.member. */
static int set_member(struct tc_config *cfg, long member, char *err)
{
	if (!cfg->cluster.enabled) {
		return tc_err_set(err, "--member %ld: %s has no cluster section", member, cfg->path);
	}
	if (member >= cfg->cluster.members) {
		return tc_err_set(err, "--member %ld: %s's cluster has %d members (numbered from 0)",
			member, cfg->path, cfg->cluster.members);
	}
	cfg->cluster.member = (int)member;
	return 0;
}

static void log_start(const struct daemon *d)
{
	const struct tc_config *c = &d->cfg;
	char readings[TC_ENDPOINT_MAX + 160], forecasts[2 * TC_ENDPOINT_MAX + 160];
	if (d->cluster) {
		snprintf(readings, sizeof readings, "NATS %s.readings.*", c->cluster.prefix);
		snprintf(forecasts, sizeof forecasts, "NATS %s.forecast.*%s%s", c->cluster.prefix,
			d->publisher ? " and " : "", d->publisher ? c->publish.bind[0] : "");
	} else {
		snprintf(readings, sizeof readings, "%s", c->ingest.bind[0]);
		snprintf(forecasts, sizeof forecasts, "%s", c->publish.bind[0]);
	}
	tc_log_info("tickcastd %s: %d layer%s, %s clock every %d ms, kernel %s; readings on %s, "
		"forecasts on %s, control on %s", TC_VERSION, c->model.n_layers,
		c->model.n_layers == 1 ? "" : "s", tc_clock_to_string(c->tick.clock),
		c->tick.interval_ms, tc_step_kernel_name(c->model.precision), readings, forecasts,
		c->control.bind[0] ? c->control.bind : "(none)");
}

int main(int argc, char **argv)
{
	tc_openmp_wait_passive(argv);
	const char *config_path = DEFAULT_CONFIG;
	int check = 0;
	long member = -1;
	int status = parse_args(argc, argv, &config_path, &check, &member);
	if (status >= 0) {
		return status;
	}
	/* Large blocks (an ingest frame, a weights file) from their own mappings,
	 * so that memory freed after a burst goes back to the system: glibc's
	 * default threshold rises to 32 MB after the first large free. */
	mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES);
	static struct daemon d = {
		.signal_fd = -1,
		.watchdog_log = {.interval_ms = 10000},
	};
	char err[TC_ERR_LEN], sha256[65];
	struct tc_model *m = tc_reload_load(&d.cfg, config_path, sha256, err);
	if (!m) {
		fprintf(stderr, "tickcastd: %s\n", err);
		return 1;
	}
	if (member >= 0 && set_member(&d.cfg, member, err) < 0) {
		fprintf(stderr, "tickcastd: %s\n", err);
		tc_model_destroy(&m);
		return 1;
	}
	if (check) {
		printf("%s: valid; weights %s (sha256 %s)\n", config_path, d.cfg.weights_path, sha256);
		tc_model_destroy(&m);
		return 0;
	}
	tc_log_set_level(d.cfg.log_level);
	if (block_signals(&d, err) < 0 || start(&d, m, sha256, err) < 0) {
		tc_log_error("%s", err);
		stop(&d, 0);
		return 1;
	}
	log_start(&d);
	tc_notify_ready();
	main_loop(&d);
	tc_notify_stopping();
	stop(&d, 1);
	close(d.signal_fd);
	tc_log_info("stopped");
	return 0;
}
