/* cmd_keygen.c -- `tickcast keygen DIR NAME` and the CURVE client options of pub, sub and the control commands. */
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "cert.h"
#include "commands.h"
#include "curve_client.h"
#include "error.h"

static const char usage[] =
	"Usage: tickcast keygen DIR NAME\n"
	"\n"
	"Makes a CURVE key pair and writes it as DIR/NAME.key (the public certificate,\n"
	"to hand out) and DIR/NAME.key_secret (mode 0600), in the format of CZMQ and\n"
	"pyzmq's zmq.auth. Existing files are never overwritten. The daemon takes a\n"
	"NAME.key_secret as security.curve.secret_key and clients' NAME.key files in\n"
	"security.curve.authorized_keys; clients take --server-key and --key.\n";

int tc_cmd_keygen(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "tickcast keygen: DIR and NAME are required\n\n%s", usage);
		return 2;
	}
	if (!zmq_has("curve")) {
		fputs("tickcast keygen: this libzmq was built without CURVE (libsodium)\n", stderr);
		return 1;
	}
	struct tc_cert cert;
	char err[TC_ERR_LEN];
	if (zmq_curve_keypair(cert.public_key, cert.secret_key) != 0) {
		fprintf(stderr, "tickcast keygen: zmq_curve_keypair: %s\n", zmq_strerror(zmq_errno()));
		return 1;
	}
	if (tc_cert_write(argv[1], argv[2], &cert, err) < 0) {
		fprintf(stderr, "tickcast keygen: %s\n", err);
		return 1;
	}
	printf("%s/%s.key\n%s/%s.key_secret\npublic key %s\n", argv[1], argv[2], argv[1], argv[2],
		cert.public_key);
	return 0;
}

int tc_cmd_curve_option(struct tc_cmd_curve *k, int opt, const char *arg)
{
	if (opt == TC_CMD_OPT_SERVER_KEY) {
		k->server_key = arg;
	} else if (opt == TC_CMD_OPT_KEY) {
		k->key = arg;
	}
	return opt == TC_CMD_OPT_SERVER_KEY || opt == TC_CMD_OPT_KEY;
}

int tc_cmd_curve_apply(const struct tc_cmd_curve *k, void *sock, const char *cmd)
{
	if (!k->server_key && !k->key) {
		return 0;
	}
	if (!k->server_key || !k->key) {
		fprintf(stderr, "tickcast %s: --server-key and --key go together\n", cmd);
		return -1;
	}
	struct tc_cert server, client;
	char err[TC_ERR_LEN];
	if (tc_cert_read(&server, k->server_key, err) < 0
		|| tc_cert_read(&client, k->key, err) < 0) {
		fprintf(stderr, "tickcast %s: %s\n", cmd, err);
		return -1;
	}
	if (!client.secret_key[0]) {
		fprintf(stderr, "tickcast %s: --key %s is a public certificate; give the "
			"NAME.key_secret file\n", cmd, k->key);
		return -1;
	}
	if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server.public_key, TC_CERT_KEY_LEN) != 0
		|| zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, client.public_key, TC_CERT_KEY_LEN) != 0
		|| zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, client.secret_key, TC_CERT_KEY_LEN) != 0) {
		fprintf(stderr, "tickcast %s: CURVE: %s\n", cmd, zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}
