/* loadgen.c -- end-to-end load for tickcastd: producers of readings, a forecast counter, a verdict.
 *
 * Producer thread i owns series [i*N/T, (i+1)*N/T), ids `s<index>`, and once
 * per tick interval sends one reading for each of them, in batches of
 * --batch readings a message, spread over the first --spread of the
 * interval. Rounds are aligned to the daemon's wall-clock buckets, so round
 * r's readings all belong to one bucket. A subscriber thread counts the
 * forecasts of each bucket: in text, the body's second field is the tick
 * start and a batched message is counted by its lines; a binary batch
 * (--forecast-format binary) gives N and bucket_ms in its header, and is
 * checked whole by the reader. The main thread polls the
 * control socket's `status` to see each tick's duration, waits for the last
 * tick's forecasts, and prints a summary ending in a verdict:
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
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "error.h"
#include "forecast_binary.h"
#include "reading_binary.h"

#define LEAD_MS 20              /* a round starts this long after its bucket opens */
#define POLL_MS 100             /* status polling period of the main thread */
#define SUBSCRIBE_WAIT_MS 10000 /* how long a producer waits for the daemon's subscription */
#define CONTROL_TIMEOUT_MS 3000 /* a status request without a reply by then failed */
#define ID_BUF 24               /* "s" and up to 20 digits */
#define MAX_TASKS 256           /* threads of one process that the CPU report follows */

struct options {
	const char *ingest, *forecasts, *control;
	long series;
	int threads;
	int binary;              /* readings as binary batches */
	int forecast_binary;     /* forecasts expected as binary batches (publish.format) */
	int batch;               /* readings per message */
	int seconds;             /* measured rounds */
	int warmup;              /* rounds before those, not measured */
	int interval_ms;
	double spread;           /* fraction of the interval a round is spread over */
	int grace_ms;            /* after the last tick closes, how long its forecasts may take */
	int lag_limit_ms;        /* a tick's forecasts all in this long after it closed */
	int width;               /* values per reading */
	long daemon_pid;         /* 0: no daemon CPU report */
};

/* One process's threads: CPU ticks (utime + stime) per thread. */
struct cpu_snapshot {
	int n;
	int tid[MAX_TASKS];
	char comm[MAX_TASKS][32];
	unsigned long long ticks[MAX_TASKS];
	unsigned long long total;
};

struct run {
	struct options o;
	void *ctx;
	int rounds;                              /* warmup + seconds */
	_Atomic int64_t first_bucket;            /* 0 until main has chosen it */
	atomic_int ready;                        /* threads connected */
	atomic_int failed;
	atomic_int stop;
	atomic_uint_fast64_t sent;               /* readings */
	atomic_llong finish_ms_max;              /* latest batch, ms into its round's interval */
	atomic_uint_fast64_t *received;          /* [rounds] forecasts of each round's bucket */
	atomic_llong *last_arrival;              /* [rounds] real ms of its last forecast */
	atomic_uint_fast64_t received_other;     /* forecasts of other buckets */
	atomic_uint_fast64_t received_messages;
	atomic_uint_fast64_t received_unreadable;/* messages not in the expected format */
};

struct producer {
	struct run *run;
	pthread_t thread;
	long lo, hi;                             /* series indices [lo, hi) */
};

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_until_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR) {
	}
}

static double value_of(long series, int64_t bucket, int k)
{
	return sin(0.01 * (double)series + 0.5 * (double)bucket + (double)k);
}

/* ---- producers ---- */

static char *put_uint(char *p, unsigned long long v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
	} while ((v /= 10) != 0);
	while (n) {
		*p++ = tmp[--n];
	}
	return p;
}

/* v in [-1, 1] with six decimals, without printf's cost (it would be a
 * large share of the producers' CPU, which the daemon shares). */
static char *put_fixed6(char *p, double v)
{
	if (v < 0) {
		*p++ = '-';
		v = -v;
	}
	unsigned long long m = (unsigned long long)(v * 1e6 + 0.5);
	p = put_uint(p, m / 1000000);
	*p++ = '.';
	unsigned f = (unsigned)(m % 1000000);
	for (unsigned d = 100000; d; d /= 10) {
		*p++ = (char)('0' + f / d % 10);
	}
	return p;
}

static size_t build_text(const struct run *rn, char *buf, long lo, long hi, int64_t bucket)
{
	char *p = buf;
	for (long s = lo; s < hi; s++) {
		*p++ = 's';
		p = put_uint(p, (unsigned long long)s);
		*p++ = ' ';
		for (int k = 0; k < rn->o.width; k++) {
			if (k) {
				*p++ = ',';
			}
			p = put_fixed6(p, value_of(s, bucket, k));
		}
		*p++ = '\n';
	}
	return (size_t)(p - buf);
}

static size_t build_binary(const struct run *rn, char *buf, size_t cap, long lo, long hi,
	int64_t bucket)
{
	struct tc_reading_binary_writer w;
	struct tc_reading r;
	char id[ID_BUF];
	tc_reading_binary_writer_init(&w, buf, cap, rn->o.width, 0);
	r.n_values = rn->o.width;
	r.has_time = 0;
	r.id = id;
	for (long s = lo; s < hi; s++) {
		id[0] = 's';
		r.id_len = (size_t)(put_uint(id + 1, (unsigned long long)s) - id);
		for (int k = 0; k < rn->o.width; k++) {
			r.values[k] = (float)value_of(s, bucket, k);
		}
		if (tc_reading_binary_writer_add(&w, &r) < 0) {
			return 0; /* the buffer is sized for a full batch: cannot happen */
		}
	}
	return w.len;
}

static void *open_producer_socket(struct run *rn)
{
	void *sock = zmq_socket(rn->ctx, ZMQ_XPUB);
	int one = 1, hwm = 1000000, timeout = SUBSCRIBE_WAIT_MS, linger = 10000;
	if (!sock || zmq_setsockopt(sock, ZMQ_XPUB_NODROP, &one, sizeof one) != 0
		|| zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0
		|| zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0
		|| zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0
		|| zmq_connect(sock, rn->o.ingest) != 0) {
		fprintf(stderr, "loadgen: producer socket on %s: %s\n", rn->o.ingest,
			zmq_strerror(zmq_errno()));
		if (sock) {
			zmq_close(sock);
		}
		return NULL;
	}
	/* Slow joiner: a PUB drops what it sends before the subscription has
	 * come back; an XPUB sees it arrive. */
	char sub[256];
	if (zmq_recv(sock, sub, sizeof sub, 0) < 1 || sub[0] != 1) {
		fprintf(stderr, "loadgen: no subscription from the daemon on %s within %d ms\n",
			rn->o.ingest, SUBSCRIBE_WAIT_MS);
		zmq_close(sock);
		return NULL;
	}
	return sock;
}

static void note_finish(struct run *rn, long long ms)
{
	long long seen = atomic_load(&rn->finish_ms_max);
	while (ms > seen && !atomic_compare_exchange_weak(&rn->finish_ms_max, &seen, ms)) {
	}
}

static int send_round(struct producer *p, void *sock, char *buf, size_t cap, int64_t bucket)
{
	struct run *rn = p->run;
	const long per = rn->o.batch;
	const long n_batches = (p->hi - p->lo + per - 1) / per;
	const int64_t start = bucket * rn->o.interval_ms + LEAD_MS;
	const double step = rn->o.spread * rn->o.interval_ms / (double)(n_batches ? n_batches : 1);
	for (long j = 0; j < n_batches; j++) {
		sleep_until_ms(start + (int64_t)(step * (double)j));
		long lo = p->lo + j * per;
		long hi = lo + per < p->hi ? lo + per : p->hi;
		size_t len = rn->o.binary ? build_binary(rn, buf, cap, lo, hi, bucket)
			: build_text(rn, buf, lo, hi, bucket);
		int rc;
		while ((rc = zmq_send(sock, buf, len, 0)) < 0 && zmq_errno() == EINTR) {
		}
		if (rc < 0) {
			fprintf(stderr, "loadgen: send: %s\n", zmq_strerror(zmq_errno()));
			return -1;
		}
		atomic_fetch_add(&rn->sent, (uint_fast64_t)(hi - lo));
	}
	note_finish(rn, real_ms() - bucket * rn->o.interval_ms);
	return 0;
}

static void *producer_run(void *arg)
{
	struct producer *p = arg;
	struct run *rn = p->run;
	/* Worst case a line: id, a 9-character value per input and separators. */
	size_t line = ID_BUF + 12 * (size_t)rn->o.width + 2;
	size_t cap = TC_READING_BINARY_HEADER_LEN + (size_t)rn->o.batch * line;
	char *buf = malloc(cap);
	void *sock = buf ? open_producer_socket(rn) : NULL;
	if (!sock) {
		atomic_store(&rn->failed, 1);
		free(buf);
		return NULL;
	}
	atomic_fetch_add(&rn->ready, 1);
	int64_t first;
	while ((first = atomic_load(&rn->first_bucket)) == 0 && !atomic_load(&rn->stop)) {
		usleep(1000);
	}
	for (int r = 0; first && r < rn->rounds && !atomic_load(&rn->stop); r++) {
		if (send_round(p, sock, buf, cap, first + r) < 0) {
			atomic_store(&rn->failed, 1);
			break;
		}
	}
	/* Stay until the end, so that the CPU report still finds this thread. */
	while (!atomic_load(&rn->stop)) {
		usleep(10000);
	}
	zmq_close(sock);
	free(buf);
	return NULL;
}

/* ---- the forecast counter ---- */

/* The tick of a text forecast body `<series> <t> <y>...`: its bucket. */
static int parse_bucket(const char *body, size_t len, int interval_ms, int64_t *bucket)
{
	const char *sp = memchr(body, ' ', len);
	if (!sp) {
		return -1;
	}
	char t[40];
	size_t n = len - (size_t)(sp + 1 - body);
	n = n < sizeof t - 1 ? n : sizeof t - 1;
	memcpy(t, sp + 1, n);
	t[n] = '\0';
	char *end;
	double seconds = strtod(t, &end);
	if (end == t) {
		return -1;
	}
	*bucket = (int64_t)llround(seconds * 1000.0 / interval_ms);
	return 0;
}

/* A text body: its forecasts and their bucket. 0, or -1 when unreadable. */
static int read_text(const struct run *rn, const char *body, size_t len, uint_fast64_t *lines,
	int64_t *bucket)
{
	if (tc_forecast_binary_detect(body, len)) {
		return -1;
	}
	/* A batched body ends each forecast with \n; a per-series body is one
	 * forecast without. A batch holds one tick only. */
	*lines = 0;
	if (len && body[len - 1] == '\n') {
		for (const char *p = body; (p = memchr(p, '\n', len - (size_t)(p - body))) != NULL; p++) {
			(*lines)++;
		}
	} else {
		*lines = 1;
	}
	return parse_bucket(body, len, rn->o.interval_ms, bucket);
}

/* A binary body: N and bucket_ms from its header, once the reader has
 * checked the whole batch. 0, or -1 when unreadable. */
static int read_binary(const struct run *rn, const char *body, size_t len, uint_fast64_t *count,
	int64_t *bucket)
{
	struct tc_forecast_binary_reader rd;
	char err[TC_ERR_LEN];
	if (!tc_forecast_binary_detect(body, len)
		|| tc_forecast_binary_reader_init(&rd, body, len, err) < 0) {
		return -1;
	}
	*count = rd.count;
	*bucket = rd.bucket_ms / rn->o.interval_ms;
	return 0;
}

static void count_forecasts(struct run *rn, const char *body, size_t len)
{
	uint_fast64_t n;
	int64_t bucket;
	int readable = (rn->o.forecast_binary ? read_binary : read_text)(rn, body, len, &n, &bucket)
		== 0;
	atomic_fetch_add(&rn->received_messages, 1);
	if (!readable) {
		atomic_fetch_add(&rn->received_unreadable, 1);
		return;
	}
	int64_t idx = bucket - atomic_load(&rn->first_bucket);
	if (idx >= 0 && idx < rn->rounds) {
		atomic_fetch_add(&rn->received[idx], n);
		atomic_store(&rn->last_arrival[idx], (long long)real_ms());
	} else {
		atomic_fetch_add(&rn->received_other, n);
	}
}

static void *subscriber_run(void *arg)
{
	struct run *rn = arg;
	void *sock = zmq_socket(rn->ctx, ZMQ_SUB);
	int unlimited = 0, linger = 0;
	if (!sock || zmq_setsockopt(sock, ZMQ_RCVHWM, &unlimited, sizeof unlimited) != 0
		|| zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0
		|| zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0) != 0
		|| zmq_connect(sock, rn->o.forecasts) != 0) {
		fprintf(stderr, "loadgen: forecast socket on %s: %s\n", rn->o.forecasts,
			zmq_strerror(zmq_errno()));
		atomic_store(&rn->failed, 1);
		if (sock) {
			zmq_close(sock);
		}
		return NULL;
	}
	atomic_fetch_add(&rn->ready, 1);
	zmq_msg_t part;
	zmq_msg_init(&part);
	while (!atomic_load(&rn->stop)) {
		zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
		if (zmq_poll(&item, 1, POLL_MS) <= 0) {
			continue;
		}
		/* The body is the last frame: topic + body, or a body alone. */
		while (zmq_msg_recv(&part, sock, ZMQ_DONTWAIT) >= 0) {
			while (zmq_msg_more(&part) && zmq_msg_recv(&part, sock, 0) >= 0) {
			}
			count_forecasts(rn, zmq_msg_data(&part), zmq_msg_size(&part));
		}
	}
	zmq_msg_close(&part);
	zmq_close(sock);
	return NULL;
}

/* ---- the control socket ---- */

struct status {
	long long ticks, accepted, rejected, series, forecasts, messages;
	double last_ms, p50_ms, p99_ms;
};

static void *open_control(struct run *rn)
{
	void *sock = zmq_socket(rn->ctx, ZMQ_REQ);
	int timeout = CONTROL_TIMEOUT_MS, linger = 0;
	if (sock) {
		zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
		zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
		if (zmq_connect(sock, rn->o.control) != 0) {
			zmq_close(sock);
			sock = NULL;
		}
	}
	return sock;
}

static long long get_int(json_t *root, const char *a, const char *b)
{
	json_t *v = json_object_get(root, a);
	v = b ? json_object_get(v, b) : v;
	return (long long)json_integer_value(v);
}

static double get_real(json_t *root, const char *a, const char *b)
{
	return json_number_value(json_object_get(json_object_get(root, a), b));
}

/* Asks for status; on a timeout the REQ socket is reopened (a REQ that got
 * no reply cannot send again). Returns 0, or -1. */
static int query_status(struct run *rn, void **sock, struct status *s)
{
	char reply[65536];
	if (!*sock && !(*sock = open_control(rn))) {
		return -1;
	}
	int n = zmq_send(*sock, "status", 6, 0) == 6 ? zmq_recv(*sock, reply, sizeof reply - 1, 0) : -1;
	if (n < 0 || n >= (int)sizeof reply - 1) {
		zmq_close(*sock);
		*sock = NULL;
		return -1;
	}
	json_t *root = json_loadb(reply, (size_t)n, 0, NULL);
	if (!root || !json_is_true(json_object_get(root, "ok"))) {
		json_decref(root);
		return -1;
	}
	*s = (struct status){
		.ticks = get_int(root, "ticks", NULL),
		.accepted = get_int(root, "readings", "accepted"),
		.rejected = get_int(root, "readings", "rejected_total"),
		.series = get_int(root, "series", NULL),
		.forecasts = get_int(root, "published", "forecasts"),
		.messages = get_int(root, "published", "messages"),
		.last_ms = get_real(root, "tick_ms", "last"),
		.p50_ms = get_real(root, "tick_ms", "p50"),
		.p99_ms = get_real(root, "tick_ms", "p99"),
	};
	json_decref(root);
	return 0;
}

/* ---- CPU use ---- */

static int read_task(long pid, const char *tid, char *comm, unsigned long long *ticks)
{
	char path[96], line[1024];
	snprintf(path, sizeof path, "/proc/%ld/task/%s/stat", pid, tid);
	FILE *f = fopen(path, "r");
	if (!f) {
		return -1;
	}
	char *ok = fgets(line, sizeof line, f);
	fclose(f);
	char *open = ok ? strchr(line, '(') : NULL;
	char *close = ok ? strrchr(line, ')') : NULL;
	unsigned long long utime, stime;
	/* After "pid (comm) ": state, then utime and stime are the 12th and 13th. */
	if (!open || !close || sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		&utime, &stime) != 2) {
		return -1;
	}
	size_t n = (size_t)(close - open - 1);
	n = n < 31 ? n : 31;
	memcpy(comm, open + 1, n);
	comm[n] = '\0';
	*ticks = utime + stime;
	return 0;
}

static void snapshot_cpu(long pid, struct cpu_snapshot *c)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/task", pid);
	c->n = 0;
	c->total = 0;
	/* Task ids ascend in creation order; scandir keeps them sorted. */
	struct dirent **names;
	int n = scandir(path, &names, NULL, NULL);
	int order[MAX_TASKS];
	int m = 0;
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && m < MAX_TASKS) {
			order[m++] = atoi(names[i]->d_name);
		}
	}
	for (int i = 1; i < m; i++) {
		for (int j = i; j > 0 && order[j - 1] > order[j]; j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	}
	for (int i = 0; i < m; i++) {
		char tid[16];
		snprintf(tid, sizeof tid, "%d", order[i]);
		if (read_task(pid, tid, c->comm[c->n], &c->ticks[c->n]) == 0) {
			c->tid[c->n] = order[i];
			c->total += c->ticks[c->n++];
		}
	}
	for (int i = 0; i < n; i++) {
		free(names[i]);
	}
	if (n >= 0) {
		free(names);
	}
}

/* Busy and total jiffies of the whole machine (/proc/stat's first line). */
static void machine_cpu(unsigned long long *busy, unsigned long long *total)
{
	unsigned long long v[10] = {0};
	FILE *f = fopen("/proc/stat", "r");
	*busy = *total = 0;
	if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		&v[4], &v[5], &v[6], &v[7]) == 8) {
		for (int i = 0; i < 8; i++) {
			*total += v[i];
		}
		*busy = *total - v[3] - v[4];
	}
	if (f) {
		fclose(f);
	}
}

/* Prints each thread's share of a core between a and b (seconds of wall). */
static void print_cpu(const char *who, const struct cpu_snapshot *a, const struct cpu_snapshot *b,
	double seconds)
{
	const double hz = (double)sysconf(_SC_CLK_TCK);
	printf("cpu %-18s %.2f cores:", who, (double)(b->total - a->total) / hz / seconds);
	for (int i = 0; i < b->n; i++) {
		unsigned long long before = 0;
		for (int j = 0; j < a->n; j++) {
			before = a->tid[j] == b->tid[i] ? a->ticks[j] : before;
		}
		printf(" %s/%d %.0f%%", b->comm[i], b->tid[i],
			100.0 * (double)(b->ticks[i] - before) / hz / seconds);
	}
	printf("\n");
}

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

static int parse_options(int argc, char **argv, struct options *o)
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
	*o = (struct options){
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

struct tick_record {
	int64_t bucket;
	double ms;               /* status tick_ms.last right after it closed */
};

/* What the main thread saw while the rounds went out. */
struct watch {
	struct status before, after;
	struct tick_record *ticks;
	int n_ticks;
	struct cpu_snapshot daemon[2], self[2];
	unsigned long long busy[2], total[2];
	int64_t cpu_ms[2];       /* real ms of the two snapshots */
	int cpu_taken;
};

static void take_cpu(const struct run *rn, struct watch *w, int i)
{
	if (rn->o.daemon_pid) {
		snapshot_cpu(rn->o.daemon_pid, &w->daemon[i]);
	}
	snapshot_cpu((long)getpid(), &w->self[i]);
	machine_cpu(&w->busy[i], &w->total[i]);
	w->cpu_ms[i] = real_ms();
	w->cpu_taken = i + 1;
}

static int wait_ready(struct run *rn, int want)
{
	int64_t give_up = real_ms() + SUBSCRIBE_WAIT_MS + 2000;
	while (atomic_load(&rn->ready) < want && !atomic_load(&rn->failed) && real_ms() < give_up) {
		usleep(10000);
	}
	return atomic_load(&rn->ready) == want ? 0 : -1;
}

/* Polls status until the last round's tick has been published (or the
 * grace ran out), noting each tick's duration and CPU snapshots taken over
 * the steady-state intervals: the second measured one to the last. */
static void watch_rounds(struct run *rn, void **control, struct watch *w)
{
	const int64_t interval = rn->o.interval_ms;
	const int64_t first = atomic_load(&rn->first_bucket);
	const int64_t close_ms = (first + rn->rounds) * interval;
	const int64_t cpu_from = (first + rn->o.warmup + 1) * interval;
	long long prev = w->before.ticks;
	for (;;) {
		int64_t now = real_ms();
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
		struct status s;
		if (query_status(rn, control, &s) == 0 && s.ticks != prev) {
			/* A tick of bucket b closes at (b + 1) x interval, and is seen here
			 * before the next boundary as long as it takes under an interval. */
			if (s.ticks == prev + 1 && w->n_ticks < rn->rounds + 64) {
				w->ticks[w->n_ticks++] = (struct tick_record){real_ms() / interval - 1, s.last_ms};
			}
			prev = s.ticks;
		}
		int64_t next = real_ms() + POLL_MS;
		next = w->cpu_taken == 0 && cpu_from < next ? cpu_from : next;
		next = w->cpu_taken == 1 && close_ms < next ? close_ms : next;
		sleep_until_ms(next);
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
static int report(struct run *rn, struct watch *w)
{
	const struct options *o = &rn->o;
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
			print_cpu("daemon", &w->daemon[0], &w->daemon[1], secs);
			daemon = (double)(w->daemon[1].total - w->daemon[0].total) / hz / secs;
		}
		print_cpu("loadgen", &w->self[0], &w->self[1], secs);
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
	struct run rn = {0};
	int rc = parse_options(argc, argv, &rn.o);
	if (rc >= 0) {
		return rc;
	}
	rn.rounds = rn.o.warmup + rn.o.seconds;
	rn.received = calloc((size_t)rn.rounds, sizeof *rn.received);
	rn.last_arrival = calloc((size_t)rn.rounds, sizeof *rn.last_arrival);
	struct producer *producers = calloc((size_t)rn.o.threads, sizeof *producers);
	struct watch w = {.ticks = calloc((size_t)rn.rounds + 64, sizeof *w.ticks)};
	if (!rn.received || !rn.last_arrival || !producers || !w.ticks || !(rn.ctx = zmq_ctx_new())) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 2;
	}
	void *control = NULL;
	int64_t give_up = real_ms() + 10000;
	while (query_status(&rn, &control, &w.before) < 0) {
		if (real_ms() > give_up) {
			fprintf(stderr, "loadgen: no status from the daemon on %s\n", rn.o.control);
			return 2;
		}
		usleep(100000);
	}
	pthread_t subscriber;
	pthread_create(&subscriber, NULL, subscriber_run, &rn);
	for (int i = 0; i < rn.o.threads; i++) {
		producers[i] = (struct producer){.run = &rn,
			.lo = (long)((long long)i * rn.o.series / rn.o.threads),
			.hi = (long)((long long)(i + 1) * rn.o.series / rn.o.threads)};
		pthread_create(&producers[i].thread, NULL, producer_run, &producers[i]);
	}
	int ok = wait_ready(&rn, rn.o.threads + 1) == 0 && query_status(&rn, &control, &w.before) == 0;
	if (ok) {
		/* Two boundaries ahead: the subscriber's connection has settled by then. */
		atomic_store(&rn.first_bucket, real_ms() / rn.o.interval_ms + 2);
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
