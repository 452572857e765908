/* sockets.h -- small helpers around libzmq calls that report errors our way. */
#ifndef TC_SOCKETS_H
#define TC_SOCKETS_H

#include <stdint.h>

#include "config.h"

/* A ZeroMQ context whose sockets take IPv6 endpoints too (ZMQ_IPV6: "tcp://[::1]:7700",
 * and a "tcp://" endpoint with host * binds both IPv4 and IPv6). NULL and err on failure. */
void *tc_socket_context(char *err);

/* zmq_setsockopt of an int (int64_t) option; -1 with err (zmq's reason) on failure. */
int tc_socket_set_int(void *socket, int option, int value, char *err);
int tc_socket_set_int64(void *socket, int option, int64_t value, char *err);

/* Binds socket to each of the n endpoints; `what` names the config key in
 * errors ("publish.bind[1]: cannot bind tcp://...: Address already in use"). */
int tc_socket_bind_all(void *socket, const char *what,
	const char (*endpoints)[TC_ENDPOINT_MAX], int n, char *err);

#endif
