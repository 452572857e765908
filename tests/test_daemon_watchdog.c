/* test_daemon_watchdog.c -- tickcastd sends systemd's WATCHDOG=1 only while its tick and
 * publisher threads turn: a frozen thread stops the pings, and they resume when it thaws.
 *
 * The test plays systemd: NOTIFY_SOCKET names a datagram socket it owns and
 * WATCHDOG_USEC asks for pings (WATCHDOG_PID unset: any pid may send). It
 * freezes one thread of the daemon with ptrace, which stops that thread
 * alone; SIGSTOP would not do, since a stop signal stops every thread of a
 * process whichever thread it is sent to (tgkill included). The threads are
 * found by the names tickcastd gives them (/proc/<pid>/task/<tid>/comm). */
#include <dirent.h>
#include <poll.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "daemon_harness.h"
#include "notify.h"

#define WATCHDOG_USEC "600000"  /* so the daemon pings every 300 ms */
#define WATCH_TICK "clock: wall, interval_ms: 100" /* bound: max(3 x 100, 1000) = 1000 ms */
#define BOUND_MS 1000

TestSuite(daemon_watchdog, .init = dh_setup, .fini = dh_teardown);

/* Binds dir/notify.sock and points the daemon to be started at it. */
static int notify_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", dh_path("notify.sock"));
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0, "bind: %s", strerror(errno));
	setenv("NOTIFY_SOCKET", a.sun_path, 1);
	setenv("WATCHDOG_USEC", WATCHDOG_USEC, 1);
	unsetenv("WATCHDOG_PID");
	return fd;
}

struct notes {
	int pings;     /* WATCHDOG=1 */
	int statuses;  /* STATUS=..., sent by the main loop every second */
};

/* Reads what the daemon tells "systemd" for ms; stops early, once
 * until_pings pings came, when that is not 0. */
static struct notes listen_for(int fd, int ms, int until_pings)
{
	struct notes n = {0};
	double end = dh_now_ms() + ms;
	for (double left; (left = end - dh_now_ms()) > 0;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)left + 1) != 1) {
			continue;
		}
		char msg[512];
		ssize_t len = recv(fd, msg, sizeof msg - 1, 0);
		cr_assert_geq(len, 0, "recv: %s", strerror(errno));
		msg[len] = '\0';
		n.pings += strcmp(msg, "WATCHDOG=1") == 0;
		n.statuses += strncmp(msg, "STATUS=", 7) == 0;
		if (until_pings && n.pings >= until_pings) {
			break;
		}
	}
	return n;
}

/* The thread id of the daemon's thread called name. */
static pid_t find_thread(const char *name)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/%d/task", (int)dh.pid);
	DIR *d = opendir(path);
	cr_assert_not_null(d, "%s: %s", path, strerror(errno));
	pid_t found = 0;
	for (struct dirent *e; !found && (e = readdir(d));) {
		char comm_path[400], comm[32] = "";
		snprintf(comm_path, sizeof comm_path, "%s/%s/comm", path, e->d_name);
		FILE *f = fopen(comm_path, "r");
		if (f && fgets(comm, sizeof comm, f)) {
			comm[strcspn(comm, "\n")] = '\0';
			found = strcmp(comm, name) == 0 ? (pid_t)atoi(e->d_name) : 0;
		}
		if (f) {
			fclose(f);
		}
	}
	closedir(d);
	cr_assert_gt(found, 0, "tickcastd has no thread called %s", name);
	return found;
}

/* Stops thread tid alone (its process runs on), or skips the test where
 * ptrace is not allowed. */
static void freeze(pid_t tid)
{
	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
		cr_skip_test("ptrace(PTRACE_SEIZE) of tickcastd's thread: %s", strerror(errno));
	}
	cr_assert_eq(ptrace(PTRACE_INTERRUPT, tid, NULL, NULL), 0, "%s", strerror(errno));
	int status;
	cr_assert_eq(waitpid(tid, &status, __WALL), tid, "waitpid: %s", strerror(errno));
	cr_assert(WIFSTOPPED(status), "thread %d did not stop: status %#x", (int)tid, status);
}

static void thaw(pid_t tid)
{
	cr_assert_eq(ptrace(PTRACE_DETACH, tid, NULL, NULL), 0, "%s", strerror(errno));
}

static int log_has(const char *text)
{
	size_t len;
	char *log = dh_read_file(dh.log, &len);
	int has = strstr(log, text) != NULL;
	free(log);
	return has;
}

/* Pings come; freezing the thread called thread (`named` in the log) stops
 * them while the main loop runs on; thawing it brings them back. */
static void pings_follow_the_thread(const char *thread, const char *named)
{
	if (!tc_notify_supported()) {
		cr_skip_test("tickcastd is built without libsystemd, so it never sends WATCHDOG=1");
	}
	int fd = notify_socket();
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = WATCH_TICK});
	dh_start();
	struct notes before = listen_for(fd, 3000, 2);
	cr_assert_geq(before.pings, 2, "WATCHDOG=1 every 300 ms was expected; log:\n%s",
		dh_log_tail());

	pid_t tid = find_thread(thread);
	freeze(tid);
	listen_for(fd, BOUND_MS + 500, 0); /* pings may go on until the bound has passed */
	struct notes frozen = listen_for(fd, 1500, 0);
	int stuck_logged = log_has(named);
	thaw(tid);
	cr_assert_eq(frozen.pings, 0, "%d WATCHDOG=1 with the %s thread frozen; log:\n%s",
		frozen.pings, thread, dh_log_tail());
	cr_assert_geq(frozen.statuses, 1, "the main loop should have run on (STATUS=)");
	cr_assert(stuck_logged, "the log does not name the frozen thread (\"%s\"):\n%s", named,
		dh_log_tail());

	struct notes after = listen_for(fd, 2000, 1);
	cr_assert_eq(after.pings, 1, "no WATCHDOG=1 after the %s thread thawed; log:\n%s",
		thread, dh_log_tail());
	cr_assert(log_has("turn again; WATCHDOG=1 resumes"), "%s", dh_log_tail());
	dh_stop(DH_STOP_MS);
	close(fd);
}

Test(daemon_watchdog, pings_stop_while_the_tick_thread_is_frozen_and_resume_after)
{
	pings_follow_the_thread("tc-tick", "no loop turn of the tick thread for");
}

Test(daemon_watchdog, pings_stop_while_the_publisher_thread_is_frozen_and_resume_after)
{
	pings_follow_the_thread("tc-publish", "the publisher thread for");
}
