/* cli_run.h -- running the `tickcast` program as a user does, for the CLI
 * tests: its output (stdout and stderr together) and exit status. */
#ifndef TC_TEST_CLI_RUN_H
#define TC_TEST_CLI_RUN_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char output[1 << 16];

/* Runs a shell command line, stdout and stderr together into output;
 * returns the exit status. */
static inline int run_sh(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t n = fread(output, 1, sizeof output - 1, p);
	output[n] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline const char *tickcast(void)
{
	const char *exe = getenv("TC_TICKCAST");
	cr_assert_not_null(exe, "TC_TICKCAST is not set");
	return exe;
}

/* Runs `tickcast <args>`; see run_sh. */
static inline int run(const char *args)
{
	char cmd[16384];
	snprintf(cmd, sizeof cmd, "%s %s 2>&1", tickcast(), args);
	return run_sh(cmd);
}

static inline void expect_output(const char *want)
{
	cr_assert(strstr(output, want), "output lacks \"%s\":\n%s", want, output);
}

static inline void expect_exactly(const char *want)
{
	cr_assert_str_eq(output, want, "expected:\n%s\ngot:\n%s", want, output);
}

#endif
