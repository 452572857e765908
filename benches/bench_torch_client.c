/* bench_torch_client.c -- a running bench_torch.py (PyTorch), timed and checked over its stdin and stdout. */
#include "bench_torch_client.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"

extern char **environ;

#define LINE_LEN 1024

/* glibc malloc settings that stop PyTorch returning its large temporaries to
 * the kernel every step (docs/measuring.md: worth 1.7-2x). */
static const char *const malloc_env[] = {
	"MALLOC_MMAP_THRESHOLD_=4294967296",
	"MALLOC_TRIM_THRESHOLD_=68719476736",
	"MALLOC_TOP_PAD_=1073741824",
};
#define N_MALLOC_ENV (sizeof malloc_env / sizeof malloc_env[0])

struct bench_torch {
	pid_t pid;
	FILE *to;            /* the helper's stdin */
	FILE *from;          /* the helper's stdout */
	char about[LINE_LEN];
	char reply[LINE_LEN]; /* the last reply, after "ok" */
};

/* environ plus those of malloc_env not already set; the array is the
 * caller's to free, the strings are borrowed. NULL when out of memory. */
static char **helper_environ(void)
{
	size_t n = 0;
	while (environ[n]) {
		n++;
	}
	char **env = malloc((n + N_MALLOC_ENV + 1) * sizeof *env);
	if (!env) {
		return NULL;
	}
	memcpy(env, environ, n * sizeof *env);
	size_t used = n;
	for (size_t i = 0; i < N_MALLOC_ENV; i++) {
		size_t name_len = (size_t)(strchr(malloc_env[i], '=') - malloc_env[i]) + 1;
		int set = 0;
		for (size_t j = 0; j < n && !set; j++) {
			set = strncmp(environ[j], malloc_env[i], name_len) == 0;
		}
		if (!set) {
			env[used++] = (char *)malloc_env[i];
		}
	}
	env[used] = NULL;
	return env;
}

/* Reads one line into t->reply without its newline. 0, or -1 on end of file. */
static int read_line(struct bench_torch *t)
{
	if (!fgets(t->reply, sizeof t->reply, t->from)) {
		return -1;
	}
	t->reply[strcspn(t->reply, "\n")] = '\0';
	return 0;
}

/* Sends one command line and reads the reply: 0 when it starts with "ok"
 * (the rest left in t->reply), -1 with err otherwise. */
__attribute__((format(printf, 3, 4)))
static int command(struct bench_torch *t, char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(t->to, fmt, ap);
	va_end(ap);
	fputc('\n', t->to);
	if (fflush(t->to) != 0 || ferror(t->to)) {
		return tc_err_set(err, "PyTorch helper: cannot send it a command (%s); did it exit?",
			strerror(errno));
	}
	if (read_line(t) < 0) {
		return tc_err_set(err, "PyTorch helper exited in the middle of a command; see its "
			"messages above");
	}
	if (strncmp(t->reply, "ok", 2) != 0) {
		const char *msg = strncmp(t->reply, "error ", 6) == 0 ? t->reply + 6 : t->reply;
		return tc_err_set(err, "PyTorch helper: %s", msg);
	}
	memmove(t->reply, t->reply + 2 + (t->reply[2] == ' '), strlen(t->reply + 2) + 1);
	return 0;
}

struct bench_torch *bench_torch_start(const char *python, const char *script, char *err)
{
	struct bench_torch *t = calloc(1, sizeof *t);
	int to_child[2] = {-1, -1}, from_child[2] = {-1, -1};
	char **env = helper_environ();
	posix_spawn_file_actions_t actions;
	int have_actions = 0;
	if (!t || !env) {
		tc_err_set(err, "out of memory starting the PyTorch helper");
		goto err_start;
	}
	t->pid = -1;
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(to_child, O_CLOEXEC) < 0 || pipe2(from_child, O_CLOEXEC) < 0) {
		tc_err_set(err, "cannot make pipes for the PyTorch helper: %s", strerror(errno));
		goto err_start;
	}
	/* dup2 clears close-on-exec on the copies, so the helper keeps just these. */
	if (posix_spawn_file_actions_init(&actions) != 0) {
		tc_err_set(err, "out of memory starting the PyTorch helper");
		goto err_start;
	}
	have_actions = 1;
	posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
	char *const argv[] = {(char *)python, "-u", (char *)script, NULL};
	int rc = posix_spawn(&t->pid, python, &actions, NULL, argv, env);
	if (rc != 0) {
		t->pid = -1;
		tc_err_set(err, "cannot run %s: %s (--python names the interpreter to use)", python,
			strerror(rc));
		goto err_start;
	}
	close(to_child[0]);
	close(from_child[1]);
	to_child[0] = from_child[1] = -1;
	if (!(t->to = fdopen(to_child[1], "w")) || !(t->from = fdopen(from_child[0], "r"))) {
		tc_err_set(err, "cannot open the PyTorch helper's pipes: %s", strerror(errno));
		goto err_start;
	}
	to_child[1] = from_child[0] = -1;
	if (read_line(t) < 0) {
		tc_err_set(err, "%s %s exited before it said it was ready; see its messages above",
			python, script);
		goto err_start;
	}
	if (strncmp(t->reply, "ready ", 6) != 0) {
		tc_err_set(err, "%s", strncmp(t->reply, "unavailable ", 12) == 0 ? t->reply + 12
			: t->reply);
		goto err_start;
	}
	snprintf(t->about, sizeof t->about, "%s", t->reply + 6);
	posix_spawn_file_actions_destroy(&actions);
	free(env);
	return t;

err_start:
	for (int i = 0; i < 2; i++) {
		if (to_child[i] >= 0) {
			close(to_child[i]);
		}
		if (from_child[i] >= 0) {
			close(from_child[i]);
		}
	}
	if (have_actions) {
		posix_spawn_file_actions_destroy(&actions);
	}
	free(env);
	bench_torch_stop(&t);
	return NULL;
}

const char *bench_torch_about(const struct bench_torch *t)
{
	return t->about;
}

int bench_torch_load(struct bench_torch *t, const char *path, int hidden, size_t max_batch,
	int check_steps, char *err)
{
	return command(t, err, "load %s %d %zu %d", path, hidden, max_batch, check_steps);
}

int bench_torch_prepare(struct bench_torch *t, size_t batch, int threads, char *err)
{
	return command(t, err, "prepare %zu %d", batch, threads);
}

int bench_torch_warm(struct bench_torch *t, double seconds, long *steps, double *elapsed,
	char *err)
{
	if (command(t, err, "warm %.6f", seconds) < 0) {
		return -1;
	}
	if (sscanf(t->reply, "%ld %lf", steps, elapsed) != 2 || *steps < 1) {
		return tc_err_set(err, "PyTorch helper: warm: expected 'ok STEPS SECONDS', got 'ok %s'",
			t->reply);
	}
	return 0;
}

int bench_torch_run(struct bench_torch *t, long steps, double *elapsed, char *err)
{
	if (command(t, err, "run %ld", steps) < 0) {
		return -1;
	}
	if (sscanf(t->reply, "%lf", elapsed) != 1 || *elapsed <= 0) {
		return tc_err_set(err, "PyTorch helper: run: expected 'ok SECONDS', got 'ok %s'",
			t->reply);
	}
	return 0;
}

int bench_torch_check(struct bench_torch *t, size_t batch, const char *path, char *err)
{
	return command(t, err, "check %zu %s", batch, path);
}

void bench_torch_stop(struct bench_torch **tp)
{
	struct bench_torch *t = tp ? *tp : NULL;
	if (!t) {
		return;
	}
	if (t->to) {
		fputs("quit\n", t->to);
		fclose(t->to);
	}
	if (t->from) {
		fclose(t->from);
	}
	if (t->pid > 0) {
		int status;
		while (waitpid(t->pid, &status, 0) < 0 && errno == EINTR) {
		}
	}
	free(t);
	*tp = NULL;
}
