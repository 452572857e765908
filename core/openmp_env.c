/* openmp_env.c -- run again with OMP_WAIT_POLICY=passive unless the user chose a policy. */
#include "openmp_env.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

void tc_openmp_wait_passive(char **argv)
{
	if (getenv("OMP_WAIT_POLICY")) {
		return;
	}
	/* The program's own path rather than /proc/self/exe, whose name ("exe")
	 * would become the process's name in ps, top and pgrep. */
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len <= 0 || setenv("OMP_WAIT_POLICY", "passive", 1) != 0) {
		return;
	}
	self[len] = '\0';
	execv(self, argv);
	/* Not reached unless the exec failed: go on with OpenMP's default. */
	unsetenv("OMP_WAIT_POLICY");
}
