/* cmd_control.c -- `tickcast status|reload|checkpoint|series`: ask a tickcastd over its control socket. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "commands.h"
#include "curve_client.h"
#include "config.h"
#include "error.h"
#include "series_id.h"

#define DEFAULT_ENDPOINT "tcp://127.0.0.1:7702"
#define DEFAULT_TIMEOUT_MS 5000

static const char options_help[] =
	"Options:\n"
	"  -e, --control ENDPOINT  the daemon's control socket (control.bind);\n"
	"                          default " DEFAULT_ENDPOINT "\n"
	"  -c, --config FILE       take the endpoint from FILE's control.bind instead\n"
	"  -t, --timeout-ms T      give up when no reply comes within T ms (default 5000;\n"
	"                          60000 for checkpoint)\n"
	TC_CMD_CURVE_HELP
	"  -h, --help              this text\n"
	"\n"
	"Prints the daemon's reply, a JSON object, indented. Exit status: 0 the reply\n"
	"says \"ok\": true, 1 it does not or no reply came, 2 bad usage.\n";

struct control_cmd {
	const char *name;
	const char *synopsis;   /* usage line after "tickcast " */
	const char *about;      /* what it does, one paragraph */
	int takes_id;           /* `series ID` */
	int timeout_ms;         /* its default --timeout-ms; 0: DEFAULT_TIMEOUT_MS */
};

static const struct control_cmd status_cmd = {
	"status", "status [OPTIONS]",
	"Asks a running tickcastd how it is doing: its series, ticks and counters.\n", 0, 0,
};
static const struct control_cmd reload_cmd = {
	"reload", "reload [OPTIONS]",
	"Asks a running tickcastd to reload its config and weights, as SIGHUP does;\n"
	"the reply says whether the new model was accepted.\n", 0, 0,
};
static const struct control_cmd checkpoint_cmd = {
	"checkpoint", "checkpoint [OPTIONS]",
	"Asks a running tickcastd to write a checkpoint (checkpoint.path) now, and\n"
	"waits until it is on disk: the reply gives its path, series, bytes, the\n"
	"milliseconds it took and t, the start of the last tick it holds. The\n"
	"default timeout is 60000 ms: a million series take a few seconds.\n", 0, 60000,
};
static const struct control_cmd series_cmd = {
	"series", "series [OPTIONS] ID",
	"Asks a running tickcastd what it holds for the series ID, such as its last\n"
	"reading and forecast.\n", 1, 0,
};

struct control_args {
	const char *endpoint;
	const char *config;
	const char *id;
	int timeout_ms;
	struct tc_cmd_curve curve;   /* --server-key, --key */
};

static void print_usage(const struct control_cmd *cmd, FILE *out)
{
	fprintf(out, "Usage: tickcast %s\n\n%s\n%s", cmd->synopsis, cmd->about, options_help);
}

static int bad_usage(const struct control_cmd *cmd, const char *what)
{
	fprintf(stderr, "tickcast %s: %s\n\n", cmd->name, what);
	print_usage(cmd, stderr);
	return 2;
}

/* Returns -1 when id is a valid series id, else bad usage's exit status:
 * the daemon could only answer "no such series" for an id no reading carries. */
static int check_id(const struct control_cmd *cmd, const char *id)
{
	char err[TC_ERR_LEN];
	if (tc_series_id_check(id, strlen(id), err) == 0) {
		return -1;
	}
	char what[TC_ERR_LEN + 80];
	snprintf(what, sizeof what, "ID must be 1-%d bytes without spaces or control "
		"characters: %s", TC_ID_MAX, err);
	return bad_usage(cmd, what);
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(const struct control_cmd *cmd, int argc, char **argv,
	struct control_args *a)
{
	static const struct option options[] = {
		{"control", required_argument, NULL, 'e'},
		{"config", required_argument, NULL, 'c'},
		{"timeout-ms", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		TC_CMD_CURVE_OPTIONS,
		{0},
	};
	*a = (struct control_args){.timeout_ms = cmd->timeout_ms ? cmd->timeout_ms
		: DEFAULT_TIMEOUT_MS};
	int opt;
	while ((opt = getopt_long(argc, argv, "e:c:t:h", options, NULL)) != -1) {
		if (tc_cmd_curve_option(&a->curve, opt, optarg)) {
			continue;
		} else if (opt == 'e') {
			a->endpoint = optarg;
		} else if (opt == 'c') {
			a->config = optarg;
		} else if (opt == 't') {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > INT_MAX) {
				return bad_usage(cmd, "--timeout-ms: expected a positive integer");
			}
			a->timeout_ms = (int)v;
		} else if (opt == 'h') {
			print_usage(cmd, stdout);
			return 0;
		} else {
			print_usage(cmd, stderr);
			return 2;
		}
	}
	if (a->endpoint && a->config) {
		return bad_usage(cmd, "--control and --config exclude each other");
	}
	if (cmd->takes_id) {
		if (optind >= argc) {
			return bad_usage(cmd, "ID is required");
		}
		a->id = argv[optind++];
		int status = check_id(cmd, a->id);
		if (status >= 0) {
			return status;
		}
	}
	if (optind != argc) {
		return bad_usage(cmd, "unexpected argument");
	}
	return -1;
}

/* The address to connect to a socket bound at `bind`: a tcp wildcard host
 * (`*` or 0.0.0.0) becomes the loopback. Writes out (TC_ENDPOINT_MAX bytes). */
static void connect_address(const char *bind, char *out)
{
	static const char *const wildcards[] = {"tcp://*:", "tcp://0.0.0.0:"};
	for (size_t i = 0; i < sizeof wildcards / sizeof wildcards[0]; i++) {
		size_t n = strlen(wildcards[i]);
		if (strncmp(bind, wildcards[i], n) == 0) {
			snprintf(out, TC_ENDPOINT_MAX, "tcp://127.0.0.1:%s", bind + n);
			return;
		}
	}
	snprintf(out, TC_ENDPOINT_MAX, "%s", bind);
}

/* Fills endpoint from the arguments; 0, or -1 with the problem printed. */
static int resolve_endpoint(const struct control_cmd *cmd, const struct control_args *a,
	char *endpoint)
{
	if (!a->config) {
		snprintf(endpoint, TC_ENDPOINT_MAX, "%s", a->endpoint ? a->endpoint : DEFAULT_ENDPOINT);
		return 0;
	}
	struct tc_config *cfg = malloc(sizeof *cfg);
	char err[TC_ERR_LEN];
	if (!cfg) {
		fprintf(stderr, "tickcast %s: out of memory\n", cmd->name);
		return -1;
	}
	int ret = tc_config_load(cfg, a->config, err);
	if (ret < 0) {
		fprintf(stderr, "tickcast %s: %s\n", cmd->name, err);
	} else if (!cfg->control.bind[0]) {
		fprintf(stderr, "tickcast %s: %s: control.bind is empty: the daemon has no "
			"control socket\n", cmd->name, a->config);
		ret = -1;
	} else {
		connect_address(cfg->control.bind, endpoint);
	}
	free(cfg);
	return ret;
}

/* The fewest significant digits (<= 17) that print every real in v so that it
 * reads back the same: jansson prints reals with one precision, and its
 * default (17) turns 0.1 into 0.10000000000000001. */
static int real_precision(const json_t *v)
{
	int p = 1;
	if (json_is_real(v)) {
		double x = json_real_value(v);
		char buf[32];
		for (; p < 17; p++) {
			snprintf(buf, sizeof buf, "%.*g", p, x);
			if (strtod(buf, NULL) == x) {
				break;
			}
		}
	} else if (json_is_object(v)) {
		const char *key;
		const json_t *child;
		json_object_foreach((json_t *)v, key, child) {
			int q = real_precision(child);
			p = q > p ? q : p;
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			int q = real_precision(json_array_get(v, i));
			p = q > p ? q : p;
		}
	}
	return p;
}

/* Prints the reply indented; returns the exit status. */
static int print_reply(const struct control_cmd *cmd, const char *endpoint,
	const char *data, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(data, len, 0, &jerr);
	if (!root || !json_is_object(root)) {
		fprintf(stderr, "tickcast %s: the reply from %s is not a JSON object: %s\n",
			cmd->name, endpoint, root ? "another JSON value" : jerr.text);
		json_decref(root);
		return 1;
	}
	size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER |
		JSON_REAL_PRECISION(real_precision(root));
	char *text = json_dumps(root, flags);
	int ok = json_is_true(json_object_get(root, "ok"));
	json_decref(root);
	if (!text) {
		fprintf(stderr, "tickcast %s: out of memory\n", cmd->name);
		return 1;
	}
	puts(text);
	free(text);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "tickcast %s: standard output: %s\n", cmd->name, strerror(errno));
		return 1;
	}
	return ok ? 0 : 1;
}

/* Sends request over sock, a new REQ socket, and prints the reply; returns
 * the exit status. */
static int exchange(const struct control_cmd *cmd, void *sock, const char *endpoint,
	const char *request, int timeout_ms)
{
	/* A daemon that never answers must not hold the exit up. */
	int zero = 0, ipv6 = strchr(endpoint, '[') != NULL;
	zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
	zmq_setsockopt(sock, ZMQ_IPV6, &ipv6, sizeof ipv6);
	if (zmq_connect(sock, endpoint) < 0) {
		fprintf(stderr, "tickcast %s: cannot connect to \"%s\": %s\n", cmd->name, endpoint,
			zmq_strerror(errno));
		return 2;
	}
	zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
	int ready = zmq_send(sock, request, strlen(request), 0) < 0 ? -1 :
		zmq_poll(&item, 1, timeout_ms);
	if (ready == 0 || (ready < 0 && errno == EAGAIN)) {
		fprintf(stderr, "tickcast %s: no reply from %s within %d ms (is tickcastd "
			"running?)\n", cmd->name, endpoint, timeout_ms);
		return 1;
	}
	zmq_msg_t reply;
	zmq_msg_init(&reply);
	int status = 1;
	if (ready < 0 || zmq_msg_recv(&reply, sock, 0) < 0) {
		fprintf(stderr, "tickcast %s: %s: %s\n", cmd->name, endpoint, zmq_strerror(errno));
	} else {
		status = print_reply(cmd, endpoint, zmq_msg_data(&reply), zmq_msg_size(&reply));
	}
	zmq_msg_close(&reply);
	return status;
}

static int ask(const struct control_cmd *cmd, const char *endpoint, const char *request,
	int timeout_ms, const struct tc_cmd_curve *curve)
{
	void *ctx = tc_cmd_zmq_context();
	void *sock = ctx ? zmq_socket(ctx, ZMQ_REQ) : NULL;
	int status = 1;
	if (sock) {
		status = tc_cmd_curve_apply(curve, sock, cmd->name) < 0 ? 2
			: exchange(cmd, sock, endpoint, request, timeout_ms);
		zmq_close(sock);
	} else {
		fprintf(stderr, "tickcast %s: cannot create a ZeroMQ socket: %s\n", cmd->name,
			zmq_strerror(errno));
	}
	if (ctx) {
		zmq_ctx_term(ctx);
	}
	return status;
}

static int control(const struct control_cmd *cmd, int argc, char **argv)
{
	struct control_args a;
	int status = parse_args(cmd, argc, argv, &a);
	if (status >= 0) {
		return status;
	}
	char endpoint[TC_ENDPOINT_MAX];
	if (resolve_endpoint(cmd, &a, endpoint) < 0) {
		return 1;
	}
	char request[sizeof "series " + TC_ID_MAX];
	snprintf(request, sizeof request, "%s%s%s", cmd->name, a.id ? " " : "", a.id ? a.id : "");
	return ask(cmd, endpoint, request, a.timeout_ms, &a.curve);
}

int tc_cmd_status(int argc, char **argv)
{
	return control(&status_cmd, argc, argv);
}

int tc_cmd_reload(int argc, char **argv)
{
	return control(&reload_cmd, argc, argv);
}

int tc_cmd_checkpoint(int argc, char **argv)
{
	return control(&checkpoint_cmd, argc, argv);
}

int tc_cmd_series(int argc, char **argv)
{
	return control(&series_cmd, argc, argv);
}
