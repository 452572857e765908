/* openmp_env.h -- the OpenMP runtime setting tickcast's programs start with: idle team threads sleep.
 *
 * libgomp reads OMP_WAIT_POLICY once, when it is loaded, before main runs.
 * Its default lets the threads of a team spin for a while after each
 * parallel region. Between the step's regions the tick thread works alone
 * (and beside it the daemon's ingest and publishing threads), so on a
 * machine of few cores a spinning thread takes the CPU the work in between
 * needs: `tickcast replay` ran up to four times slower on two shared cores
 * (docs/benchmarks.md, "Replay"). */
#ifndef TC_OPENMP_ENV_H
#define TC_OPENMP_ENV_H

/* Unless OMP_WAIT_POLICY is set, sets it to passive and executes this
 * program again with argv (same process id, same arguments), before any
 * thread exists. Returns only when the variable was set already or the exec
 * failed (the program then runs with OpenMP's default). */
void tc_openmp_wait_passive(char **argv);

#endif
