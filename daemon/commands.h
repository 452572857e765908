/* commands.h -- the subcommands of the `tickcast` program, one file each.
 * Each takes the arguments after the subcommand name (argv[0] is its name)
 * and returns the process exit status: 0 done, 1 failed, 2 bad usage. */
#ifndef TC_COMMANDS_H
#define TC_COMMANDS_H

int tc_cmd_replay(int argc, char **argv);
int tc_cmd_check(int argc, char **argv);
int tc_cmd_inspect(int argc, char **argv);
int tc_cmd_pub(int argc, char **argv);
int tc_cmd_sub(int argc, char **argv);
int tc_cmd_status(int argc, char **argv);
int tc_cmd_reload(int argc, char **argv);
int tc_cmd_series(int argc, char **argv);

#include <stdio.h>

struct tc_config;

struct tc_cmd_args {
	const char *config;   /* --config FILE */
	int quiet;            /* --quiet */
};

/* Parses `--config FILE [--quiet] [--help]` for command `name` (--quiet only
 * when allow_quiet). --help prints usage, then more_help(stdout) when not
 * NULL. Returns -1 when the command should go on, else its exit status. */
int tc_cmd_parse_args(int argc, char **argv, const char *name, const char *usage,
	int allow_quiet, void (*more_help)(FILE *out), struct tc_cmd_args *args);

/* Loads the config at path and its model, printing any error to stderr.
 * Returns the model (the caller's) or NULL. */
struct tc_model *tc_cmd_load(const char *path, struct tc_config *cfg);

#endif
