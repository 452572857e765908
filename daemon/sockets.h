/* sockets.h -- small helpers around libzmq calls that report errors our way. */
#ifndef TC_SOCKETS_H
#define TC_SOCKETS_H

#include "config.h"

/* zmq_setsockopt of an int option; -1 with err (zmq's reason) on failure. */
int tc_socket_set_int(void *socket, int option, int value, char *err);

/* Binds socket to each of the n endpoints; `what` names the config key in
 * errors ("publish.bind[1]: cannot bind tcp://...: Address already in use"). */
int tc_socket_bind_all(void *socket, const char *what,
	const char (*endpoints)[TC_ENDPOINT_MAX], int n, char *err);

#endif
