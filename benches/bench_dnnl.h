/* bench_dnnl.h -- oneDNN's LBR-GRU (or LSTM, or tanh RNN) layers and a matmul head, stepped as tc_step steps, for bench_compare.
 *
 *   struct bench_dnnl *d = bench_dnnl_create(&weights, batch, threads, err);
 *   bench_dnnl_step(d, inputs, err);           // [batch x I] in, hidden state carried
 *   const float *y = bench_dnnl_outputs(d);    // [batch x O]
 *   bench_dnnl_destroy(&d);
 *
 * Each GRU layer is one dnnl_lbr_gru primitive (an LSTM's dnnl_lstm, an
 * RNN's dnnl_vanilla_rnn with tanh, as w->type says; T = 1, one layer, left to
 * right; the layers have different input sizes, so they cannot share one),
 * the head a dnnl_matmul with bias. Weights are converted from PyTorch's
 * layout (gates r, z, n) to oneDNN's (u = z, r, o = n; four bias gates) and
 * reordered into the layout each primitive asks for, once, at creation.
 * Creation, reorders and the scratchpad allocation happen in create; a step
 * only executes the three primitives. Built from bench_dnnl.c when the
 * configure step found oneDNN, from bench_dnnl_none.c when it did not. */
#ifndef BENCH_DNNL_H
#define BENCH_DNNL_H

#include <stddef.h>

struct bench_weights;
struct bench_dnnl;

/* "oneDNN 2.6.3 (cpu runtime OpenMP, ISA ...)", or NULL when this build has no
 * oneDNN; then why is in err. Borrowed. */
const char *bench_dnnl_version(char *err);

/* The layers and head of w for `batch` series, run by `threads` OpenMP threads,
 * all hidden states zero. NULL and err on failure; the caller's, released with
 * bench_dnnl_destroy. w is only read during the call. */
struct bench_dnnl *bench_dnnl_create(const struct bench_weights *w, size_t batch,
	int threads, char *err);

/* Frees *d and sets it to NULL; NULL or *d == NULL is a no-op. */
void bench_dnnl_destroy(struct bench_dnnl **d);

/* Zeroes every layer's hidden state. */
void bench_dnnl_reset(struct bench_dnnl *d);

/* Advances every series one step with inputs [batch x I] (read only, borrowed
 * for the call). Returns 0, or -1 with err. */
int bench_dnnl_step(struct bench_dnnl *d, const float *inputs, char *err);

/* The last step's head outputs [batch x O]; borrowed, valid until the next step. */
const float *bench_dnnl_outputs(const struct bench_dnnl *d);

/* Layer k's hidden state after the last step [batch x H]; borrowed, valid
 * until the next step. */
const float *bench_dnnl_hidden(const struct bench_dnnl *d, int layer);

#endif
