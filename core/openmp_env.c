/* openmp_env.c -- run again with OMP_WAIT_POLICY=passive unless the user chose a policy. */
#include "openmp_env.h"

#include <stdlib.h>
#include <unistd.h>

void tc_openmp_wait_passive(char **argv)
{
	if (getenv("OMP_WAIT_POLICY") || setenv("OMP_WAIT_POLICY", "passive", 1) != 0) {
		return;
	}
	execv("/proc/self/exe", argv);
	/* Not reached unless the exec failed: go on with OpenMP's default. */
}
