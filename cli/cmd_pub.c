/* cmd_pub.c -- `tickcast pub`: reading lines from standard input to a daemon's ingest socket. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "commands.h"
#include "curve_client.h"
#include "error.h"
#include "reading.h"
#include "reading_binary.h"
#include "streams.h"

#define BATCH_BYTES 65536      /* a message holds about this much at most */
#define LINGER_MS 5000         /* how long closing waits for queued messages to leave */

static const char usage[] =
	"Usage: tickcast pub ENDPOINT [--binary [--values V]] [--batch N] [--topic T]\n"
	"                    [--wait-ms MS] < readings\n"
	"       tickcast pub --nats URLS [--prefix P] [--partitions N] [--batch N] < readings\n"
	"\n"
	"Reads reading lines `<series> <v1>[,<v2>...] [<timestamp>]` from standard\n"
	"input and sends them to the ingest socket of tickcastd at ENDPOINT (for\n"
	"example tcp://127.0.0.1:5555: the daemon binds, pub connects), up to N\n"
	"lines or about 64 KiB a message. Blank lines are skipped. Text lines go as\n"
	"they are and the daemon checks them; with --binary each line is parsed\n"
	"first, and one that does not parse is reported on standard error with its\n"
	"line number and skipped.\n"
	"\n"
	"pub sends nothing before the daemon's subscription has arrived (what a\n"
	"connecting publisher sends before that is lost), waits instead of dropping\n"
	"when the daemon reads slower than it sends, and at the end waits up to 5 s\n"
	"for what is queued to leave. A summary of counts ends it on standard error.\n"
	"\n"
	"With --nats, pub feeds a tickcastd cluster instead: each line goes to its\n"
	"series' partition (FNV-1a of the id, the bytes before the first space, mod\n"
	"the partition count), in batches of up to N lines or about 64 KiB a\n"
	"partition, published to the JetStream subject <P>.readings.<partition>; at\n"
	"the end every batch's acknowledgment is checked (a batch the stream did not\n"
	"take is reported and the exit status is 1; nothing is retried, as a retry\n"
	"would reorder a series' readings). Text lines only.\n"
	"\n"
	"Options:\n"
	"  -b, --binary       send binary batches (docs/protocol.md); a batch holds\n"
	"                     readings all with or all without a timestamp, so a\n"
	"                     change starts a new message\n"
	"  -v, --values V     values per reading, for --binary (1..256, default 1)\n"
	"  -n, --batch N      lines a message at most (default 1000)\n"
	"  -t, --topic T      send two-frame messages (T, lines); T must match one of\n"
	"                     the daemon's ingest.subscribe prefixes\n"
	"  -w, --wait-ms MS   how long to wait for the daemon's subscription\n"
	"                     (default 5000; 0 sends at once, and may lose the start)\n"
	"      --nats URLS    comma-separated NATS servers (nats://host:port,...)\n"
	"      --prefix P     the cluster's subject prefix (default tickcast)\n"
	"      --partitions N partitions (default: the count the readings stream\n"
	"                     <P with . as _>_readings records)\n"
	TC_CMD_CURVE_HELP
	"  -h, --help         this text\n"
	"\n"
	"Exit status: 0 when the input was sent (skipped lines included), 1 when no\n"
	"subscription came or sending failed (with --nats: a batch was not\n"
	"acknowledged), 2 on bad usage.\n";

struct pub_options {
	const char *endpoint;
	const char *topic;           /* NULL: one-frame messages */
	int binary;
	int n_values;                /* values per reading, for --binary */
	long batch;                  /* lines a message at most */
	long wait_ms;                /* for the first subscription */
	struct tc_cmd_curve curve;   /* --server-key, --key */
	const char *nats;            /* --nats URLS: publish to a cluster instead */
	const char *prefix;          /* --prefix, with --nats */
	long partitions;             /* --partitions, with --nats; 0: the stream's */
};

struct pub_stats {
	uint64_t lines;              /* read from stdin, blank ones included */
	uint64_t readings;           /* sent */
	uint64_t skipped;            /* --binary: lines that did not parse */
	uint64_t messages;
	uint64_t bytes;              /* every frame, topics included */
};

struct pub {
	struct pub_options opt;
	struct pub_stats stats;
	void *ctx;
	void *sock;                  /* XPUB, connected */
	char *text;                  /* text batch: lines, each ending in '\n' */
	size_t text_len;
	size_t text_cap;
	size_t text_lines;
	unsigned char *bin;          /* BATCH_BYTES: the binary batch */
	struct tc_reading_binary_writer writer;
};

static int parse_long(const char *s, long lo, long hi, const char *name, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < lo || v > hi) {
		fprintf(stderr, "tickcast pub: %s must be an integer in %ld..%ld, not \"%s\"\n", name,
			lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Returns -1 when pub should go on, else the exit status. */
static int parse_options(int argc, char **argv, struct pub_options *opt)
{
	static const struct option options[] = {
		{"binary", no_argument, NULL, 'b'},
		{"values", required_argument, NULL, 'v'},
		{"batch", required_argument, NULL, 'n'},
		{"topic", required_argument, NULL, 't'},
		{"wait-ms", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{"nats", required_argument, NULL, 'N'},
		{"prefix", required_argument, NULL, 'P'},
		{"partitions", required_argument, NULL, 'p'},
		TC_CMD_CURVE_OPTIONS,
		{0},
	};
	*opt = (struct pub_options){.n_values = 1, .batch = 1000, .wait_ms = 5000,
		.prefix = "tickcast"};
	long v;
	int c;
	while ((c = getopt_long(argc, argv, "bv:n:t:w:h", options, NULL)) != -1) {
		if (tc_cmd_curve_option(&opt->curve, c, optarg)) {
			continue;
		} else if (c == 'b') {
			opt->binary = 1;
		} else if (c == 'v') {
			if (parse_long(optarg, 1, TC_MAX_INPUT, "--values", &v) < 0) {
				return 2;
			}
			opt->n_values = (int)v;
		} else if (c == 'n') {
			if (parse_long(optarg, 1, 1000000, "--batch", &opt->batch) < 0) {
				return 2;
			}
		} else if (c == 't') {
			opt->topic = optarg;
		} else if (c == 'w') {
			if (parse_long(optarg, 0, 3600000, "--wait-ms", &opt->wait_ms) < 0) {
				return 2;
			}
		} else if (c == 'N') {
			opt->nats = optarg;
		} else if (c == 'P') {
			opt->prefix = optarg;
		} else if (c == 'p') {
			if (parse_long(optarg, 1, TC_PARTITIONS_MAX, "--partitions", &opt->partitions) < 0) {
				return 2;
			}
		} else if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (opt->nats) {
		if (opt->binary || optind != argc) {
			fprintf(stderr, "tickcast pub: --nats takes %s\n\n%s", opt->binary ?
				"text lines only (not --binary)" : "no ENDPOINT", usage);
			return 2;
		}
		return -1;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "tickcast pub: %s\n\n%s",
			optind == argc ? "ENDPOINT is required" : "unexpected argument", usage);
		return 2;
	}
	opt->endpoint = argv[optind];
	return -1;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the first subscription message, so nothing sent is dropped for
 * want of a subscriber. */
static int wait_for_subscriber(struct pub *p)
{
	long deadline = now_ms() + p->opt.wait_ms;
	zmq_pollitem_t item = {.socket = p->sock, .events = ZMQ_POLLIN};
	for (;;) {
		long left = deadline - now_ms();
		int rc = zmq_poll(&item, 1, left > 0 ? left : 0);
		if (rc < 0 && errno != EINTR) {
			fprintf(stderr, "tickcast pub: polling the socket: %s\n", zmq_strerror(errno));
			return -1;
		}
		if (rc > 0) {
			char sub[256];   /* \x01 and a prefix; only its arrival matters */
			if (zmq_recv(p->sock, sub, sizeof sub, ZMQ_DONTWAIT) >= 0) {
				return 0;
			}
		} else if (left <= 0) {
			fprintf(stderr, "tickcast pub: no subscription from %s within %ld ms; is "
				"tickcastd running with ingest.bind there? (--wait-ms sets the wait)\n",
				p->opt.endpoint, p->opt.wait_ms);
			return -1;
		}
	}
}

static int send_frame(struct pub *p, const void *data, size_t len, int flags)
{
	while (zmq_send(p->sock, data, len, flags) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "tickcast pub: sending to %s: %s\n", p->opt.endpoint,
				zmq_strerror(errno));
			return -1;
		}
	}
	p->stats.bytes += len;
	return 0;
}

static int send_message(struct pub *p, const void *body, size_t len, size_t readings)
{
	if (p->opt.topic && send_frame(p, p->opt.topic, strlen(p->opt.topic), ZMQ_SNDMORE) < 0) {
		return -1;
	}
	if (send_frame(p, body, len, 0) < 0) {
		return -1;
	}
	p->stats.messages++;
	p->stats.readings += readings;
	return 0;
}

static int flush(struct pub *p)
{
	int rc = 0;
	if (p->text_lines > 0) {
		rc = send_message(p, p->text, p->text_len, p->text_lines);
		p->text_len = 0;
		p->text_lines = 0;
	}
	if (p->writer.count > 0) {
		rc = send_message(p, p->bin, p->writer.len, p->writer.count);
		p->writer.count = 0;
	}
	return rc;
}

static int add_text(struct pub *p, const char *line, size_t len)
{
	if (p->text_lines > 0 && ((long)p->text_lines >= p->opt.batch ||
		p->text_len + len + 1 > BATCH_BYTES)) {
		if (flush(p) < 0) {
			return -1;
		}
	}
	if (p->text_len + len + 1 > p->text_cap) {
		size_t cap = p->text_len + len + 1 > BATCH_BYTES ? p->text_len + len + 1 : BATCH_BYTES;
		char *text = realloc(p->text, cap);
		if (!text) {
			fprintf(stderr, "tickcast pub: out of memory for a %zu-byte line\n", len);
			return -1;
		}
		p->text = text;
		p->text_cap = cap;
	}
	memcpy(p->text + p->text_len, line, len);
	p->text[p->text_len + len] = '\n';
	p->text_len += len + 1;
	p->text_lines++;
	return 0;
}

static int add_binary(struct pub *p, const char *line, size_t len)
{
	struct tc_reading r;
	enum tc_reject why;
	char err[TC_ERR_LEN];
	if (tc_reading_parse(&r, line, len, p->opt.n_values, &why, err) < 0) {
		fprintf(stderr, "tickcast pub: line %" PRIu64 ": %s (%s), skipped\n", p->stats.lines,
			err, tc_reject_to_string(why));
		p->stats.skipped++;
		return 0;
	}
	struct tc_reading_binary_writer *w = &p->writer;
	if (w->count > 0 && (long)w->count < p->opt.batch && r.has_time == w->has_time &&
		tc_reading_binary_writer_add(w, &r) == 0) {
		return 0;
	}
	if (flush(p) < 0) {
		return -1;
	}
	/* An empty batch always takes one record: at most 1 + 255 + 4 * 256 + 8 bytes. */
	tc_reading_binary_writer_init(w, p->bin, BATCH_BYTES, p->opt.n_values, r.has_time);
	tc_reading_binary_writer_add(w, &r);
	return 0;
}

static int send_input(struct pub *p, FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while (rc == 0 && (n = getline(&line, &cap, in)) >= 0) {
		size_t len = (size_t)n;
		p->stats.lines++;
		if (len > 0 && line[len - 1] == '\n') {
			len--;
		}
		if (len > 0 && line[len - 1] == '\r') {
			len--;
		}
		if (tc_reading_is_blank(line, len)) {
			continue;
		}
		rc = p->opt.binary ? add_binary(p, line, len) : add_text(p, line, len);
	}
	if (rc == 0 && ferror(in)) {
		fprintf(stderr, "tickcast pub: reading standard input: %s\n", strerror(errno));
		rc = -1;
	}
	if (rc == 0) {
		rc = flush(p);
	}
	free(line);
	return rc;
}

static int open_socket(struct pub *p)
{
	p->ctx = tc_cmd_zmq_context();
	if (!p->ctx) {
		fprintf(stderr, "tickcast pub: cannot create a ZeroMQ context: %s\n", zmq_strerror(errno));
		return -1;
	}
	p->sock = zmq_socket(p->ctx, ZMQ_XPUB);
	if (!p->sock) {
		fprintf(stderr, "tickcast pub: zmq_socket: %s\n", zmq_strerror(errno));
		return -1;
	}
	/* Back-pressure instead of silent loss when the daemon falls behind. */
	int one = 1;
	zmq_setsockopt(p->sock, ZMQ_XPUB_NODROP, &one, sizeof one);
	if (tc_cmd_curve_apply(&p->opt.curve, p->sock, "pub") < 0) {
		return -1;
	}
	if (zmq_connect(p->sock, p->opt.endpoint) < 0) {
		fprintf(stderr, "tickcast pub: cannot connect to \"%s\": %s\n", p->opt.endpoint,
			zmq_strerror(errno));
		return -1;
	}
	return 0;
}

static void close_socket(struct pub *p)
{
	if (p->sock) {
		int linger = LINGER_MS;
		zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof linger);
		zmq_close(p->sock);
		p->sock = NULL;
	}
	if (p->ctx) {
		while (zmq_ctx_term(p->ctx) < 0 && errno == EINTR) {
		}
		p->ctx = NULL;
	}
}

int tc_cmd_pub(int argc, char **argv)
{
	struct pub p = {0};
	int status = parse_options(argc, argv, &p.opt);
	if (status >= 0) {
		return status;
	}
	if (p.opt.nats) {
		return tc_cmd_pub_nats(p.opt.nats, p.opt.prefix, p.opt.partitions, p.opt.batch);
	}
	if (p.opt.binary) {
		p.bin = malloc(BATCH_BYTES);
		if (!p.bin) {
			fprintf(stderr, "tickcast pub: out of memory\n");
			return 1;
		}
	}
	int rc = open_socket(&p);
	if (rc == 0 && p.opt.wait_ms > 0) {
		rc = wait_for_subscriber(&p);
	}
	if (rc == 0) {
		rc = send_input(&p, stdin);
	}
	close_socket(&p);
	fprintf(stderr, "pub: %" PRIu64 " lines, %" PRIu64 " readings sent, %" PRIu64
		" skipped, %" PRIu64 " messages, %" PRIu64 " bytes\n", p.stats.lines,
		p.stats.readings, p.stats.skipped, p.stats.messages, p.stats.bytes);
	free(p.text);
	free(p.bin);
	return rc < 0 ? 1 : 0;
}
