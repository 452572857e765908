/* commands.h -- the subcommands of the `tickcast` program, one file each.
 * Each takes the arguments after the subcommand name (argv[0] is its name)
 * and returns the process exit status: 0 done, 1 failed, 2 bad usage. */
#ifndef TC_COMMANDS_H
#define TC_COMMANDS_H

int tc_cmd_replay(int argc, char **argv);
int tc_cmd_check(int argc, char **argv);
int tc_cmd_inspect(int argc, char **argv);
int tc_cmd_pub(int argc, char **argv);
/* `tickcast pub --nats`: stdin's reading lines to a cluster's readings stream (cmd_pub_nats.c). */
int tc_cmd_pub_nats(const char *urls, const char *prefix, long partitions, long batch);
int tc_cmd_sub(int argc, char **argv);
int tc_cmd_status(int argc, char **argv);
int tc_cmd_reload(int argc, char **argv);
int tc_cmd_series(int argc, char **argv);
int tc_cmd_checkpoint(int argc, char **argv);
int tc_cmd_keygen(int argc, char **argv);

#include <stdio.h>

/* A ZeroMQ context whose sockets take IPv6 endpoints too (ZMQ_IPV6), as the
 * daemon's do; NULL on failure (errno set). */
void *tc_cmd_zmq_context(void);

struct tc_config;
struct tc_model;

struct tc_cmd_args {
	const char *config;          /* --config FILE */
	int quiet;                   /* --quiet */
	const char *checkpoint_in;   /* --checkpoint-in FILE */
	const char *checkpoint_out;  /* --checkpoint-out FILE */
	int format;                  /* --format: an enum tc_format, text by default */
	const char *anomalies;       /* --anomalies FILE */
};

/* Which options beyond --config and --help a command takes. */
#define TC_CMD_QUIET 1        /* --quiet */
#define TC_CMD_CHECKPOINTS 2  /* --checkpoint-in, --checkpoint-out */
#define TC_CMD_OUTPUT 4       /* --format text|json|binary, --anomalies FILE */

/* For the commands that take `--config FILE [--help]` and the options in
 * `allowed` (TC_CMD_*): parses them for command `name` (--help prints
 * usage, then more_help(stdout) when not NULL), then loads the config into
 * cfg and its model into *m (the caller's, labelled with its weights'
 * sha256), printing any error. Returns -1 when the command should go on,
 * else its exit status. */
int tc_cmd_open(int argc, char **argv, const char *name, const char *usage, int allowed,
	void (*more_help)(FILE *out), struct tc_cmd_args *args, struct tc_config *cfg,
	struct tc_model **m);

#endif
