/* spawn.h -- starting a program the tests need (tickcastd, nats-server) as a child that
 * dies with the test: stdin from /dev/null, stdout and stderr appended to a log file,
 * default signal dispositions and an empty signal mask (a signalfd never sees a signal
 * ignored or blocked across exec). Shared by daemon_harness.h and nats_fixture.h. */
#ifndef TC_TEST_SPAWN_H
#define TC_TEST_SPAWN_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Runs argv (argv[0] a path, NULL-ended) with its output appended to
 * log_path. Returns its pid, or -1 saying why on stderr. */
static inline pid_t test_spawn(char *const argv[], const char *log_path)
{
	int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log < 0) {
		fprintf(stderr, "spawn: %s: %s\n", log_path, strerror(errno));
		return -1;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		/* Dies with the test, whatever way the test ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) {
			_exit(127);
		}
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(log, 1);
		dup2(log, 2);
		for (int fd = 3; fd < 1024; fd++) {
			close(fd);
		}
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(log);
	if (pid < 0) {
		fprintf(stderr, "spawn: fork: %s\n", strerror(errno));
	}
	return pid;
}

#endif
