/* metrics.c -- the Prometheus endpoint: an HTTP thread (libmicrohttpd) writing the daemon's counters as text. */
#include "metrics.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "step.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define CONNECTIONS_MAX 32     /* scrapers at once; more are refused */
#define CONNECTION_TIMEOUT_S 10 /* an idle or slow client is dropped after this */

struct tc_metrics {
	struct tc_control_deps deps;
	struct MHD_Daemon *mhd;
};

/* ---- the text ---- */

static void header(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample without labels; counters and gauges alike. */
static void sample(FILE *out, const char *name, const char *type, const char *help, double v)
{
	header(out, name, type, help);
	fprintf(out, "%s %.17g\n", name, v);
}

/* A label value, escaped as the exposition format says: \\, \" and \n. */
static void label_value(FILE *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"') {
			fputc('\\', out);
			fputc(*v, out);
		} else if (*v == '\n') {
			fputs("\\n", out);
		} else {
			fputc(*v, out);
		}
	}
}

/* An info gauge: value 1, what it says in n labels (name, value pairs). */
static void info(FILE *out, const char *name, const char *help, int n,
	const char *const labels[][2])
{
	header(out, name, "gauge", help);
	fprintf(out, "%s{", name);
	for (int i = 0; i < n; i++) {
		fprintf(out, "%s%s=\"", i ? "," : "", labels[i][0]);
		label_value(out, labels[i][1]);
		fputs("\"", out);
	}
	fputs("} 1\n", out);
}

static void write_readings(FILE *out, const struct tc_ticker_status *t,
	const struct tc_ingest_counts *in)
{
	sample(out, "tickcast_messages_received_total", "counter",
		"Messages received on the readings socket.", (double)in->messages);
	sample(out, "tickcast_readings_accepted_total", "counter",
		"Readings filed into a tick.", (double)t->tick.accepted);
	header(out, "tickcast_readings_rejected_total", "counter",
		"Readings rejected, by reason (docs/protocol.md).");
	for (int i = 0; i < TC_REJECT__COUNT; i++) {
		fprintf(out, "tickcast_readings_rejected_total{reason=\"");
		label_value(out, tc_reject_to_string((enum tc_reject)i));
		fprintf(out, "\"} %llu\n", (unsigned long long)(in->rejected[i] + t->tick.rejected[i]));
	}
	sample(out, "tickcast_readings_unstepped_total", "counter",
		"Readings accepted but not stepped because the step failed.",
		(double)t->tick.unstepped_step_failed);
}

static void write_ticks(FILE *out, const struct tc_ticker_status *t)
{
	sample(out, "tickcast_series", "gauge", "Live series.", (double)t->series);
	sample(out, "tickcast_series_warming", "gauge",
		"Series whose scaler is still warming up.", (double)t->tick.warming);
	sample(out, "tickcast_series_evicted_total", "counter",
		"Series freed after series.ttl_ticks without a reading.", (double)t->tick.evicted);
	sample(out, "tickcast_ticks_total", "counter", "Ticks closed.", (double)t->tick.ticks);
	sample(out, "tickcast_intervals_skipped_total", "counter",
		"Wall clock: tick intervals that got no tick of their own.",
		(double)t->intervals_skipped);
	header(out, "tickcast_tick_duration_seconds", "histogram",
		"Duration of a tick's step and hand-off to the publisher.");
	for (int i = 0; i < TC_TICK_BUCKETS; i++) {
		fprintf(out, "tickcast_tick_duration_seconds_bucket{le=\"%g\"} %llu\n",
			tc_ticker_bucket_le[i], (unsigned long long)t->tick_le[i]);
	}
	fprintf(out, "tickcast_tick_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
		"tickcast_tick_duration_seconds_sum %.17g\n"
		"tickcast_tick_duration_seconds_count %llu\n", (unsigned long long)t->tick_count,
		t->tick_seconds_sum, (unsigned long long)t->tick_count);
	sample(out, "tickcast_step_duration_seconds", "gauge",
		"Duration of the last tick's step and hand-off.", t->last_tick_ms / 1e3);
}

static void write_published(FILE *out, struct tc_publisher *p)
{
	sample(out, "tickcast_forecasts_published_total", "counter", "Forecasts sent.",
		(double)tc_publisher_forecasts(p));
	sample(out, "tickcast_messages_published_total", "counter",
		"Messages sent on the forecast socket (a batch counts once).",
		(double)tc_publisher_messages(p));
	sample(out, "tickcast_publish_queue_waits_total", "counter",
		"Times the tick thread waited for room in the publisher's queue.",
		(double)tc_publisher_waits(p));
	sample(out, "tickcast_anomalies_published_total", "counter",
		"Anomaly events sent (anomaly.topic_prefix).", (double)tc_publisher_anomalies(p));
}

static void write_model(FILE *out, const struct tc_ticker_status *t,
	const struct tc_reload_status *r)
{
	header(out, "tickcast_reloads_total", "counter", "Model reloads, by outcome.");
	fprintf(out, "tickcast_reloads_total{result=\"ok\"} %llu\n"
		"tickcast_reloads_total{result=\"failed\"} %llu\n",
		(unsigned long long)r->ok_count, (unsigned long long)r->failed_count);
	char layers[TC_MAX_LAYERS * 12] = "", types[TC_MAX_LAYERS * 6] = "";
	size_t used = 0, used_types = 0;
	for (int k = 0; k < t->model.n_layers && used < sizeof layers; k++) {
		used += (size_t)snprintf(layers + used, sizeof layers - used, "%s%d", k ? "," : "",
			t->model.hidden[k]);
		used_types += (size_t)snprintf(types + used_types, sizeof types - used_types, "%s%s",
			k ? "," : "", tc_layer_type_to_string(t->model.type[k]));
	}
	const char *const labels[][2] = {{"sha256", r->sha256}, {"layers", layers}, {"types", types}};
	info(out, "tickcast_model_info", "The model serving: its weights' sha256, layer sizes and "
		"types, input side first.", 3, labels);
}

/* One labelled sample of v, NaN spelled as the exposition format spells it. */
static void labelled(FILE *out, const char *name, const char *labels, double v)
{
	if (isnan(v)) {
		fprintf(out, "%s{%s} NaN\n", name, labels);
	} else {
		fprintf(out, "%s{%s} %.17g\n", name, labels, v);
	}
}

/* Per horizon: a counter of n per horizon label. */
static void per_horizon(FILE *out, const char *name, const char *help, const uint64_t *n, int k)
{
	header(out, name, "counter", help);
	for (int h = 0; h < k; h++) {
		fprintf(out, "%s{horizon=\"%d\"} %llu\n", name, h + 1, (unsigned long long)n[h]);
	}
}

/* model.intervals: coverage counters per horizon, the live MASE's median
 * and p90, anomaly events; nothing when intervals are off. */
static void write_intervals(FILE *out, struct tc_ticker *tk)
{
	struct tc_tick_accuracy *a = malloc(sizeof *a);
	char err[TC_ERR_LEN];
	if (!a || tc_ticker_accuracy(tk, a, err) < 0 || !a->horizons) {
		free(a);
		return;
	}
	per_horizon(out, "tickcast_interval_scored_total", "Readings scored against the interval "
		"forecast for them, by horizon (output).", a->tally.scored, a->horizons);
	per_horizon(out, "tickcast_interval_covered_total", "Readings inside the interval "
		"forecast for them, by horizon (output).", a->tally.covered, a->horizons);
	sample(out, "tickcast_interval_level", "gauge", "The level intervals aim to cover "
		"(model.intervals.level).", a->level);
	header(out, "tickcast_live_mase", "gauge", "Live MASE (one-step error over the naive "
		"forecast's) across series: its median and 90th percentile.");
	labelled(out, "tickcast_live_mase", "stat=\"median\"", a->mase_median);
	labelled(out, "tickcast_live_mase", "stat=\"p90\"", a->mase_p90);
	sample(out, "tickcast_live_mase_series", "gauge", "Series with a live MASE.",
		(double)a->series);
	sample(out, "tickcast_anomalies_total", "counter", "Readings outside their anomaly "
		"interval (anomaly events found).", (double)a->anomalies);
	free(a);
}

static void write_checkpoints(FILE *out, struct tc_checkpointer *cp)
{
	struct tc_checkpointer_status c;
	tc_checkpointer_get_status(cp, &c);
	if (!c.enabled) {
		return;
	}
	sample(out, "tickcast_checkpoints_written_total", "counter", "Checkpoints written.",
		(double)c.written);
	sample(out, "tickcast_checkpoint_failures_total", "counter",
		"Checkpoints that could not be written.", (double)c.failures);
	sample(out, "tickcast_checkpoint_last_seconds", "gauge",
		"Time the newest checkpoint took: copy, seal and write.", c.last.ms / 1e3);
	sample(out, "tickcast_checkpoint_bytes", "gauge", "Size of the newest checkpoint.",
		(double)c.last.bytes);
}

/* ---- process_* from /proc/self, as Prometheus' client libraries name them ---- */

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d) {
		return -1;
	}
	while (readdir(d)) {
		n++;
	}
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own descriptor */
}

/* Seconds since the epoch at which the system booted (/proc/stat btime). */
static double boot_time(void)
{
	FILE *f = fopen("/proc/stat", "r");
	char line[256];
	double btime = 0;
	while (f && fgets(line, sizeof line, f)) {
		if (sscanf(line, "btime %lf", &btime) == 1) {
			break;
		}
	}
	if (f) {
		fclose(f);
	}
	return btime;
}

static void write_process(FILE *out)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f) {
		fclose(f);
	}
	buf[n] = '\0';
	const char *rest = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
	unsigned long long utime, stime, start, vsize;
	long long rss;
	if (!rest || sscanf(rest + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
		"%*d %*d %*d %*d %*d %*d %llu %llu %lld", &utime, &stime, &start, &vsize, &rss) != 5) {
		return;
	}
	const double hz = (double)sysconf(_SC_CLK_TCK);
	sample(out, "process_cpu_seconds_total", "counter",
		"User and system CPU time spent, seconds.", (double)(utime + stime) / hz);
	sample(out, "process_resident_memory_bytes", "gauge", "Resident memory size, bytes.",
		(double)rss * (double)sysconf(_SC_PAGESIZE));
	sample(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size, bytes.",
		(double)vsize);
	sample(out, "process_start_time_seconds", "gauge",
		"Start time of the process since the Unix epoch, seconds.",
		boot_time() + (double)start / hz);
	sample(out, "process_open_fds", "gauge", "Open file descriptors.", (double)open_fds());
}

/* Every metric of deps, in the exposition format; 0, or -1 when out failed
 * (out of memory). */
static int write_all(FILE *out, const struct tc_control_deps *deps)
{
	if (deps->cluster) {
		const char *const build[][2] = {{"version", TC_VERSION}, {"mode", "cluster"}};
		info(out, "tickcast_build_info", "The version, and that this is a cluster member.",
			2, build);
		tc_cluster_node_metrics(deps->cluster, out);
		write_process(out);
		return ferror(out) ? -1 : 0;
	}
	struct tc_ticker_status t;
	struct tc_ingest_counts in;
	struct tc_reload_status *r = malloc(sizeof *r); /* it holds a whole config */
	if (!r) {
		return -1;
	}
	tc_ticker_get_status(deps->ticker, &t);
	tc_ingest_get_counts(deps->ingest, &in);
	tc_reloader_get_status(deps->reloader, r);
	const char *const build[][2] = {{"version", TC_VERSION},
		{"kernel", tc_step_kernel_name(t.model.precision)}};
	info(out, "tickcast_build_info", "The version and the step kernel of the serving model.",
		2, build);
	write_readings(out, &t, &in);
	write_ticks(out, &t);
	write_published(out, deps->publisher);
	write_model(out, &t, r);
	write_intervals(out, deps->ticker);
	write_checkpoints(out, deps->checkpointer);
	write_process(out);
	free(r);
	return ferror(out) ? -1 : 0;
}

/* ---- HTTP ---- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body,
	size_t len, const char *type, int must_free)
{
	struct MHD_Response *res = MHD_create_response_from_buffer(len, body,
		must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!res) {
		if (must_free) {
			free(body);
		}
		return MHD_NO;
	}
	MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
		MHD_add_response_header(res, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	}
	enum MHD_Result rc = MHD_queue_response(c, status, res);
	MHD_destroy_response(res);
	return rc;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return reply(c, status, (char *)text, strlen(text), "text/plain; charset=utf-8", 0);
}

/* MHD's request handler: called on the MHD thread once the headers are in. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
	const char *method, const char *version, const char *upload_data, size_t *upload_size,
	void **con_cls)
{
	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)con_cls;
	const struct tc_metrics *m = cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET is served here\n");
	}
	if (strcmp(url, "/metrics") != 0) {
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
	}
	char *body = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&body, &len);
	if (!out) {
		return MHD_NO;
	}
	int rc = write_all(out, &m->deps);
	if (fclose(out) != 0 || rc < 0) {
		free(body);
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return reply(c, MHD_HTTP_OK, body, len, CONTENT_TYPE, 1);
}

/* A listening TCP socket on listen (host:port, [v6]:port); -1 and err. */
static int listen_on(const char *listen_at, char *err)
{
	char host[TC_LISTEN_MAX];
	const char *colon = strrchr(listen_at, ':');
	int bracketed = listen_at[0] == '[';
	snprintf(host, sizeof host, "%.*s", (int)(colon - listen_at) - 2 * bracketed,
		listen_at + bracketed);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *ai;
	int gai = getaddrinfo(host, colon + 1, &hints, &ai);
	if (gai != 0) {
		return tc_err_set(err, "metrics.listen %s: %s", listen_at, gai_strerror(gai));
	}
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	const int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
		|| bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, CONNECTIONS_MAX) < 0) {
		tc_err_set(err, "metrics.listen %s: cannot listen there: %s", listen_at,
			strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

struct tc_metrics *tc_metrics_start(const char *listen_at, const struct tc_control_deps *deps,
	char *err)
{
	struct tc_metrics *m = calloc(1, sizeof *m);
	if (!m) {
		tc_err_set(err, "metrics: out of memory");
		return NULL;
	}
	m->deps = *deps;
	int fd = listen_on(listen_at, err);
	if (fd < 0) {
		free(m);
		return NULL;
	}
	m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handle, m,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
	if (!m->mhd) {
		tc_err_set(err, "metrics.listen %s: the HTTP server (libmicrohttpd) did not start",
			listen_at);
		close(fd);
		free(m);
		return NULL;
	}
	tc_log_info("metrics: serving http://%s/metrics", listen_at);
	return m;
}

void tc_metrics_destroy(struct tc_metrics **m)
{
	if (!*m) {
		return;
	}
	MHD_stop_daemon((*m)->mhd);
	free(*m);
	*m = NULL;
}
