/* test_daemon_openmp.c -- tickcastd runs OpenMP with OMP_WAIT_POLICY=passive unless its user chose a policy. */
#include "daemon_harness.h"

TestSuite(daemon_openmp, .init = dh_setup, .fini = dh_teardown, .timeout = 60);

/* Whether the environment of process pid holds the entry `want` exactly. */
static int environ_has(pid_t pid, const char *want)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	size_t len = 0;
	char *env = dh_read_file(path, &len);
	int found = 0;
	for (size_t at = 0; env && at < len && !found; at += strlen(env + at) + 1) {
		found = strcmp(env + at, want) == 0;
	}
	free(env);
	return found;
}

static void start_daemon(void)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK});
	dh_start(); /* returns once the process it started answers status */
}

Test(daemon_openmp, without_a_policy_the_same_process_runs_with_passive)
{
	unsetenv("OMP_WAIT_POLICY");
	start_daemon();
	cr_assert(environ_has(dh.pid, "OMP_WAIT_POLICY=passive"),
		"tickcastd (pid %d) runs without OMP_WAIT_POLICY=passive", (int)dh.pid);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/comm", (int)dh.pid);
	size_t len;
	char *comm = dh_read_file(path, &len);
	cr_assert_str_eq(comm, "tickcastd\n", "ps and pgrep name it %s", comm);
	free(comm);
	dh_stop(DH_STOP_MS);
}

Test(daemon_openmp, a_policy_its_user_chose_is_kept)
{
	setenv("OMP_WAIT_POLICY", "active", 1);
	start_daemon();
	cr_assert(environ_has(dh.pid, "OMP_WAIT_POLICY=active"));
	cr_assert_not(environ_has(dh.pid, "OMP_WAIT_POLICY=passive"));
	dh_stop(DH_STOP_MS);
}
