/* curve_client.h -- the --server-key and --key options that make a command's socket a CURVE client, and `tickcast keygen`. */
#ifndef TC_CURVE_CLIENT_H
#define TC_CURVE_CLIENT_H

/* getopt_long codes of the two options (beyond every command's others). */
#define TC_CMD_OPT_SERVER_KEY 400
#define TC_CMD_OPT_KEY 401
#define TC_CMD_CURVE_OPTIONS \
	{"server-key", required_argument, NULL, TC_CMD_OPT_SERVER_KEY}, \
	{"key", required_argument, NULL, TC_CMD_OPT_KEY}
#define TC_CMD_CURVE_HELP \
	"      --server-key FILE  the daemon's public certificate (NAME.key): talk CURVE\n" \
	"      --key FILE         this client's secret certificate (NAME.key_secret)\n"

struct tc_cmd_curve {
	const char *server_key;   /* --server-key FILE; NULL: plain socket */
	const char *key;          /* --key FILE */
};

/* Takes opt (with arg) when it is --server-key or --key; returns whether it did. */
int tc_cmd_curve_option(struct tc_cmd_curve *k, int opt, const char *arg);

/* Makes sock a CURVE client when k names certificates (both or neither).
 * Returns 0, or -1 after printing why ("tickcast CMD: --key a.key: ..."). */
int tc_cmd_curve_apply(const struct tc_cmd_curve *k, void *sock, const char *cmd);

#endif
