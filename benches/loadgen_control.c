/* loadgen_control.c -- loadgen's `status` requests to the daemon's control socket, parsed from JSON. */
#include "loadgen_control.h"

#include <jansson.h>
#include <zmq.h>

#define CONTROL_TIMEOUT_MS 3000 /* a status request without a reply by then failed */

static void *open_control(void *ctx, const char *endpoint)
{
	void *sock = zmq_socket(ctx, ZMQ_REQ);
	int timeout = CONTROL_TIMEOUT_MS, linger = 0;
	if (sock) {
		zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
		zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
		if (zmq_connect(sock, endpoint) != 0) {
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

int lg_control_query(void *ctx, const char *endpoint, void **sock, struct lg_control_status *s)
{
	char reply[65536];
	if (!*sock && !(*sock = open_control(ctx, endpoint))) {
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
	*s = (struct lg_control_status){
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
