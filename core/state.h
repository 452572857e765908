/* state.h -- per-series states of a model, one slot per series.
 *
 * Layer k's states are one contiguous, 64-byte aligned [capacity x W_k]
 * float array, so a block of neighbouring slots is contiguous in memory;
 * W_k is tc_model_spec_state_width: H_k floats of h, and for an LSTM H_k
 * more of its cell state c. A slot starts (and restarts, after
 * tc_state_clear) at zero, as PyTorch's h0 = c0 = zeros. The state also holds the per-thread scratch the step needs, so
 * that stepping never allocates. */
#ifndef TC_STATE_H
#define TC_STATE_H

#include <stddef.h>

struct tc_model;
struct tc_state;

/* States for `capacity` slots of model m's shape, stepped by n_threads
 * OpenMP threads (0: OpenMP's default). NULL and err on failure; the result
 * is the caller's, released with tc_state_destroy. m is only read for its
 * sizes and need not outlive the state. */
struct tc_state *tc_state_create(const struct tc_model *m, size_t capacity,
	int n_threads, char *err);

/* Frees *st and sets it to NULL; NULL or *st == NULL is a no-op. */
void tc_state_destroy(struct tc_state **st);

/* Grows to at least `capacity` slots, keeping every existing slot's state;
 * new slots are zero. Shrinking is a no-op. Returns 0 or -1 with err. */
int tc_state_grow(struct tc_state *st, size_t capacity, char *err);

size_t tc_state_capacity(const struct tc_state *st);

/* Bytes of the states: capacity x sum_k W_k floats (the per-thread
 * scratch, whose size does not depend on the series, is not counted). */
size_t tc_state_memory(const struct tc_state *st);

int tc_state_threads(const struct tc_state *st);

/* Zeroes every layer's hidden state of slot (slot < capacity). */
void tc_state_clear(struct tc_state *st, size_t slot);

/* Layer k's [capacity x W_k] array. Borrowed; moves on tc_state_grow. */
float *tc_state_hidden(struct tc_state *st, int layer);

/* Nonzero when st was built for a model of m's shape. */
int tc_state_fits(const struct tc_state *st, const struct tc_model *m);

#endif
