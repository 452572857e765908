/* state_internal.h -- (internal) the state struct, shared by state.c and step.c. */
#ifndef TC_STATE_INTERNAL_H
#define TC_STATE_INTERNAL_H

#include <stddef.h>

#include "model.h"

struct tc_state {
	struct tc_model_spec shape;    /* sizes of the model it was built for */
	size_t capacity;               /* slots */
	float *hidden[TC_MAX_LAYERS];  /* layer k: [capacity x state width] (h, then c for an
	                                  lstm: tc_model_spec_state_width), TC_ALIGN-aligned */
	void *hidden_block[TC_MAX_LAYERS]; /* the allocation hidden[k] lies in: what to free */
	int n_threads;
	size_t scratch_floats;         /* per thread */
	float **scratch;               /* [n_threads] blocks of scratch_floats */
};

#endif
