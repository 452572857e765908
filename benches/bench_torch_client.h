/* bench_torch_client.h -- a running bench_torch.py (PyTorch), timed and checked over its stdin and stdout.
 *
 *   struct bench_torch *t = bench_torch_start("/usr/bin/python3", "benches/bench_torch.py", err);
 *   bench_torch_load(t, "/tmp/.../weights.bin", 64, 16384, 3, err);
 *   bench_torch_prepare(t, 16384, 2, err);        // threads, zero state
 *   bench_torch_warm(t, 0.2, &steps, &s, err);     // first calls, excluded
 *   bench_torch_run(t, steps, &s, err);            // one timed run
 *   bench_torch_stop(&t);
 *
 * The helper process stays up for the whole bench, so that its timed runs can
 * alternate with in-process ones; it times itself (time.perf_counter around
 * its loop), so the pipe's latency is not in its figures. The protocol is
 * described at the top of bench_torch.py. */
#ifndef BENCH_TORCH_CLIENT_H
#define BENCH_TORCH_CLIENT_H

#include <stddef.h>

struct bench_torch;

/* Runs `python script` with stdin and stdout on pipes and the glibc malloc
 * settings of docs/measuring.md added to its environment (those already set
 * are kept), and waits for its first line. NULL and err when it cannot be
 * started or says PyTorch is unavailable (err then holds its reason). The
 * result is the caller's, released with bench_torch_stop. Ignores SIGPIPE in
 * this process, so that a helper that died is an error, not a signal. */
struct bench_torch *bench_torch_start(const char *python, const char *script, char *err);

/* "PyTorch <version>, BLAS <library>, glibc malloc <tuned|default>". Borrowed. */
const char *bench_torch_about(const struct bench_torch *t);

/* Loads the weights file (layout in bench_torch.py) for hidden size `hidden`. */
int bench_torch_load(struct bench_torch *t, const char *path, int hidden, size_t max_batch,
	int check_steps, char *err);

/* Sets the thread count and a zero hidden state for `batch` series. */
int bench_torch_prepare(struct bench_torch *t, size_t batch, int threads, char *err);

/* Steps for at least `seconds`; *steps and *elapsed (s) say what it did. */
int bench_torch_warm(struct bench_torch *t, double seconds, long *steps, double *elapsed,
	char *err);

/* Steps `steps` times; *elapsed in s. */
int bench_torch_run(struct bench_torch *t, long steps, double *elapsed, char *err);

/* Steps the check inputs from a zero state and writes outputs and final
 * hidden states to path (layout in bench_torch.py). */
int bench_torch_check(struct bench_torch *t, size_t batch, const char *path, char *err);

/* Asks the helper to quit and waits for it; frees *t and sets it to NULL.
 * NULL or *t == NULL is a no-op. */
void bench_torch_stop(struct bench_torch **t);

/* The functions above return 0, or -1 with err ("PyTorch helper: ..."). */

#endif
