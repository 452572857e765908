/* sockets.c -- libzmq helpers with tickcast's error messages. */
#include "sockets.h"

#include <zmq.h>

#include "error.h"

void *tc_socket_context(char *err)
{
	void *ctx = zmq_ctx_new();
	if (!ctx || zmq_ctx_set(ctx, ZMQ_IPV6, 1) != 0) {
		tc_err_set(err, "cannot create a ZeroMQ context: %s", zmq_strerror(zmq_errno()));
		if (ctx) {
			zmq_ctx_term(ctx);
		}
		return NULL;
	}
	return ctx;
}

int tc_socket_set_int(void *socket, int option, int value, char *err)
{
	if (zmq_setsockopt(socket, option, &value, sizeof value) != 0) {
		return tc_err_set(err, "zmq_setsockopt(%d, %d): %s", option, value,
			zmq_strerror(zmq_errno()));
	}
	return 0;
}

int tc_socket_set_int64(void *socket, int option, int64_t value, char *err)
{
	if (zmq_setsockopt(socket, option, &value, sizeof value) != 0) {
		return tc_err_set(err, "zmq_setsockopt(%d, %lld): %s", option, (long long)value,
			zmq_strerror(zmq_errno()));
	}
	return 0;
}

int tc_socket_bind_all(void *socket, const char *what,
	const char (*endpoints)[TC_ENDPOINT_MAX], int n, char *err)
{
	for (int i = 0; i < n; i++) {
		if (zmq_bind(socket, endpoints[i]) != 0) {
			return tc_err_set(err, "%s[%d]: cannot bind %s: %s", what, i, endpoints[i],
				zmq_strerror(zmq_errno()));
		}
	}
	return 0;
}
