/* cmd_sub.c -- `tickcast sub`: print the forecasts and anomaly events a tickcastd publishes. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "commands.h"
#include "curve_client.h"
#include "anomaly_format.h"
#include "error.h"
#include "forecast_binary.h"
#include "forecast_format.h"

static const char usage[] =
	"Usage: tickcast sub [OPTIONS] ENDPOINT [PREFIX ...]\n"
	"\n"
	"Connects a ZeroMQ SUB socket to ENDPOINT (a tickcastd's publish.bind, e.g.\n"
	"tcp://127.0.0.1:7701), subscribes to each PREFIX of the topic (default: every\n"
	"message; the topic is publish.topic_prefix and the series id, so `forecast.cpu`\n"
	"selects the series whose ids start with cpu) and prints each message's body on\n"
	"standard output: one line per forecast; a batch prints all of its lines.\n"
	"With model.intervals a forecast line goes on with its bounds:\n"
	"`<series> <t> <y1> ... <yO> lower <l1> ... <lO> upper <u1> ... <uO>`.\n"
	"\n"
	"Anomaly events (a reading outside its forecast's interval; the anomaly\n"
	"section) come on topic anomaly.topic_prefix and the series id, one event a\n"
	"message: `<series> <t> <value> <expected> <lower> <upper> <score>`, score\n"
	"> 1 meaning outside. `tickcast sub ENDPOINT anomaly.` shows only the events\n"
	"(with the default prefixes), `tickcast sub ENDPOINT forecast.` only forecasts.\n"
	"\n"
	"A binary body (publish.format: binary; it starts with a 0x00 byte), forecast\n"
	"batch or anomaly event, is decoded and printed as the text lines above, as\n"
	"publish.format: text would send them; a malformed one is reported on\n"
	"standard error and skipped.\n"
	"\n"
	"Options:\n"
	"  -n, --count N          exit after N messages (skipped ones count)\n"
	"  -t, --timeout-ms T     fail when nothing arrives for T ms (default: wait forever)\n"
	"      --topic            print each line's topic first, then a tab\n"
	TC_CMD_CURVE_HELP
	"  -h, --help             this text\n"
	"\n"
	"Exit status: 0 done (N messages, or SIGINT/SIGTERM), 1 timed out or failed,\n"
	"2 bad usage.\n";

struct sub_args {
	const char *endpoint;
	char **prefixes;     /* argv's; n_prefixes == 0 means "" */
	int n_prefixes;
	long long count;     /* messages; 0 = no limit */
	int timeout_ms;      /* -1 = wait forever */
	int topic;           /* --topic */
	struct tc_cmd_curve curve; /* --server-key, --key */
};

/* The write end of the self-pipe; the handler's only side effect. */
static int signal_fd = -1;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	int saved = errno;
	stop = 1;
	if (signal_fd >= 0) {
		ssize_t ignored = write(signal_fd, "", 1);
		(void)ignored;
	}
	errno = saved;
}

/* Parses a whole decimal string in [min, max]; 0 or -1. */
static int parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		return -1;
	}
	*out = v;
	return 0;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct sub_args *a)
{
	enum { OPT_TOPIC = 256 };
	static const struct option options[] = {
		{"count", required_argument, NULL, 'n'},
		{"timeout-ms", required_argument, NULL, 't'},
		{"topic", no_argument, NULL, OPT_TOPIC},
		{"help", no_argument, NULL, 'h'},
		TC_CMD_CURVE_OPTIONS,
		{0},
	};
	*a = (struct sub_args){.timeout_ms = -1};
	long long v;
	int opt;
	while ((opt = getopt_long(argc, argv, "n:t:h", options, NULL)) != -1) {
		if (tc_cmd_curve_option(&a->curve, opt, optarg)) {
			continue;
		} else if (opt == 'n') {
			if (parse_ll(optarg, 1, LLONG_MAX, &v) < 0) {
				fprintf(stderr, "tickcast sub: --count: expected a positive integer, got \"%s\"\n",
					optarg);
				return 2;
			}
			a->count = v;
		} else if (opt == 't') {
			if (parse_ll(optarg, 1, INT_MAX, &v) < 0) {
				fprintf(stderr, "tickcast sub: --timeout-ms: expected a positive integer, "
					"got \"%s\"\n", optarg);
				return 2;
			}
			a->timeout_ms = (int)v;
		} else if (opt == OPT_TOPIC) {
			a->topic = 1;
		} else if (opt == 'h') {
			fputs(usage, stdout);
			return 0;
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "tickcast sub: ENDPOINT is required\n\n%s", usage);
		return 2;
	}
	a->endpoint = argv[optind];
	a->prefixes = argv + optind + 1;
	a->n_prefixes = argc - optind - 1;
	return -1;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prints body with exactly one newline at its end (none when it is empty);
 * with a topic, every line starts with it and a tab. 0, or -1 when stdout fails. */
static int print_body(const char *topic, size_t topic_len, const char *body, size_t len)
{
	while (len > 0 && body[len - 1] == '\n') {
		len--;
	}
	if (len > 0 && !topic) {
		fwrite(body, 1, len, stdout);
		putchar('\n');
	}
	while (len > 0 && topic) {
		const char *nl = memchr(body, '\n', len);
		size_t line = nl ? (size_t)(nl - body) + 1 : len;
		fwrite(topic, 1, topic_len, stdout);
		putchar('\t');
		fwrite(body, 1, line, stdout);
		if (!nl) {
			putchar('\n');
		}
		body += line;
		len -= line;
	}
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}

/* Reports a malformed binary body on stderr with its topic; no failure:
 * the next message may be fine. */
static int skip_binary(const char *topic, size_t topic_len, const char *err)
{
	fprintf(stderr, "tickcast sub: skipped a message on topic \"%.*s\": %s\n",
		(int)topic_len, topic, err);
	return 0;
}

/* Prints one decoded line (with_topic: after the topic and a tab). */
static void print_line(const char *topic, size_t topic_len, int with_topic, const char *line,
	size_t len)
{
	if (with_topic) {
		fwrite(topic, 1, topic_len, stdout);
		putchar('\t');
	}
	fwrite(line, 1, len, stdout);
	putchar('\n');
}

/* Prints a binary forecast batch as text lines. 0, or -1 when stdout fails. */
static int print_forecast_batch(const char *topic, size_t topic_len, int with_topic,
	const void *body, size_t len)
{
	struct tc_forecast_binary_reader rd;
	char err[TC_ERR_LEN];
	if (tc_forecast_binary_reader_init(&rd, body, len, err) < 0) {
		return skip_binary(topic, topic_len, err);
	}
	float *y = malloc(3 * (size_t)rd.n_outputs * sizeof *y);
	char *line = malloc(tc_forecast_max_len(rd.n_outputs, rd.has_interval));
	if (!y || !line) {
		free(y);
		free(line);
		fprintf(stderr, "tickcast sub: out of memory for a batch of %u forecasts\n", rd.count);
		return 0;
	}
	float *lower = y + rd.n_outputs, *upper = lower + rd.n_outputs;
	struct tc_forecast_values v = {.y = y, .lower = rd.has_interval ? lower : NULL,
		.upper = rd.has_interval ? upper : NULL, .n = rd.n_outputs};
	struct tc_forecast_binary_record f;
	while (tc_forecast_binary_reader_next(&rd, &f, y, lower, upper)) {
		v.warm = f.warm;
		size_t n = tc_forecast_format(line, TC_FORMAT_TEXT, f.id, f.id_len, rd.bucket_ms, &v);
		print_line(topic, topic_len, with_topic, line, n);
	}
	free(y);
	free(line);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}

/* Prints a binary anomaly batch as text lines. 0, or -1 when stdout fails. */
static int print_anomaly_batch(const char *topic, size_t topic_len, int with_topic,
	const void *body, size_t len)
{
	struct tc_anomaly_binary_reader rd;
	char err[TC_ERR_LEN];
	if (tc_anomaly_binary_reader_init(&rd, body, len, err) < 0) {
		return skip_binary(topic, topic_len, err);
	}
	char *line = malloc(tc_anomaly_format_max_len());
	if (!line) {
		fprintf(stderr, "tickcast sub: out of memory for an anomaly event\n");
		return 0;
	}
	struct tc_anomaly_binary_record r;
	while (tc_anomaly_binary_reader_next(&rd, &r)) {
		size_t n = tc_anomaly_format(line, TC_FORMAT_TEXT, r.id, r.id_len, rd.bucket_ms, &r.a);
		print_line(topic, topic_len, with_topic, line, n);
	}
	free(line);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}

/* Prints a binary body, forecast batch or anomaly event by its magic. */
static int print_binary(const char *topic, size_t topic_len, int with_topic, const void *body,
	size_t len)
{
	return tc_anomaly_binary_detect(body, len)
		? print_anomaly_batch(topic, topic_len, with_topic, body, len)
		: print_forecast_batch(topic, topic_len, with_topic, body, len);
}

/* Receives one whole message and prints it: the first frame is the topic,
 * the second the body; a one-frame message is all body, with an empty topic;
 * further frames are dropped. Returns 1 received (printed, or skipped as a
 * malformed binary batch), 0 nothing there, -1 failed. */
static int receive_one(void *sock, int with_topic)
{
	zmq_msg_t topic, body;
	zmq_msg_init(&topic);
	zmq_msg_init(&body);
	int ret = -1;
	if (zmq_msg_recv(&topic, sock, ZMQ_DONTWAIT) < 0) {
		ret = errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (ret < 0) {
			fprintf(stderr, "tickcast sub: receive: %s\n", zmq_strerror(errno));
		}
		goto out;
	}
	zmq_msg_t *b = &topic;
	if (zmq_msg_more(&topic)) {
		/* The rest of a multipart message is already here. */
		if (zmq_msg_recv(&body, sock, 0) < 0) {
			fprintf(stderr, "tickcast sub: receive: %s\n", zmq_strerror(errno));
			goto out;
		}
		b = &body;
		zmq_msg_t extra;
		zmq_msg_init(&extra);
		int more = zmq_msg_more(&body);
		while (more && zmq_msg_recv(&extra, sock, 0) >= 0) {
			more = zmq_msg_more(&extra);
		}
		zmq_msg_close(&extra);
	}
	const char *t = b == &body ? zmq_msg_data(&topic) : "";
	size_t t_len = b == &body ? zmq_msg_size(&topic) : 0;
	const void *data = zmq_msg_data(b);
	size_t len = zmq_msg_size(b);
	int printed = tc_forecast_binary_detect(data, len)
		? print_binary(t, t_len, with_topic, data, len)
		: print_body(with_topic ? t : NULL, t_len, data, len);
	if (printed < 0) {
		fprintf(stderr, "tickcast sub: standard output: %s\n", strerror(errno));
		goto out;
	}
	ret = 1;
out:
	zmq_msg_close(&body);
	zmq_msg_close(&topic);
	return ret;
}

/* The receive loop; returns the exit status. */
static int run(void *sock, int signal_rd, const struct sub_args *a)
{
	zmq_pollitem_t items[] = {
		{.socket = sock, .events = ZMQ_POLLIN},
		{.fd = signal_rd, .events = ZMQ_POLLIN},
	};
	long long received = 0;
	long long deadline = a->timeout_ms >= 0 ? now_ms() + a->timeout_ms : -1;
	while (!stop) {
		long timeout = -1;
		if (deadline >= 0) {
			long long left = deadline - now_ms();
			if (left <= 0) {
				fprintf(stderr, "tickcast sub: nothing received from %s within %d ms\n",
					a->endpoint, a->timeout_ms);
				return 1;
			}
			timeout = (long)left;
		}
		if (zmq_poll(items, 2, timeout) < 0) {
			if (errno == EINTR) {
				continue;
			}
			fprintf(stderr, "tickcast sub: poll: %s\n", zmq_strerror(errno));
			return 1;
		}
		if (!(items[0].revents & ZMQ_POLLIN)) {
			continue;
		}
		int got = receive_one(sock, a->topic);
		if (got < 0) {
			return 1;
		}
		if (got > 0) {
			received++;
			if (a->count > 0 && received >= a->count) {
				return 0;
			}
			if (a->timeout_ms >= 0) {
				deadline = now_ms() + a->timeout_ms;
			}
		}
	}
	return 0;
}

/* Connects and subscribes; returns -1 to go on, else the exit status. */
static int setup(void *sock, const struct sub_args *a)
{
	int zero = 0, ipv6 = strchr(a->endpoint, '[') != NULL;
	zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(sock, ZMQ_IPV6, &ipv6, sizeof ipv6);
	for (int i = 0; i < a->n_prefixes; i++) {
		zmq_setsockopt(sock, ZMQ_SUBSCRIBE, a->prefixes[i], strlen(a->prefixes[i]));
	}
	if (a->n_prefixes == 0) {
		zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0);
	}
	if (tc_cmd_curve_apply(&a->curve, sock, "sub") < 0) {
		return 2;
	}
	if (zmq_connect(sock, a->endpoint) < 0) {
		fprintf(stderr, "tickcast sub: cannot connect to \"%s\": %s\n", a->endpoint,
			zmq_strerror(errno));
		return 2;
	}
	return -1;
}

int tc_cmd_sub(int argc, char **argv)
{
	struct sub_args a;
	int status = parse_args(argc, argv, &a);
	if (status >= 0) {
		return status;
	}
	int pipefd[2];
	if (pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) < 0) {
		fprintf(stderr, "tickcast sub: pipe: %s\n", strerror(errno));
		return 1;
	}
	signal_fd = pipefd[1];
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	status = 1;
	void *ctx = tc_cmd_zmq_context();
	void *sock = ctx ? zmq_socket(ctx, ZMQ_SUB) : NULL;
	if (!sock) {
		fprintf(stderr, "tickcast sub: cannot create a ZeroMQ socket: %s\n",
			zmq_strerror(errno));
		goto err_socket;
	}
	status = setup(sock, &a);
	if (status < 0) {
		status = run(sock, pipefd[0], &a);
	}
	zmq_close(sock);
err_socket:
	if (ctx) {
		zmq_ctx_term(ctx);
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal_fd = -1;
	close(pipefd[0]);
	close(pipefd[1]);
	return status;
}
