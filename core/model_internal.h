/* model_internal.h -- (internal) the model struct, shared by model.c,
 * model_load.c and step.c; users see only the opaque struct tc_model. */
#ifndef TC_MODEL_INTERNAL_H
#define TC_MODEL_INTERNAL_H

#include "layer.h"
#include "model.h"

struct tc_model {
	struct tc_model_spec spec;
	struct tc_layer layers[TC_MAX_LAYERS];
	int n_head;                      /* operations in head; dropouts are left out */
	struct tc_head_op head[TC_MAX_HEAD_OPS];
	int head_width;                  /* floats of the head's widest row (tc_head_max_width) */
	char weights_sha256[65];         /* hex sha256 of the weights file's bytes; "": not known */
};

/* Widest packed matrix and largest hidden size: what scratch must hold
 * (with head_width). */
int tc_model_max_width(const struct tc_model *m);
int tc_model_max_hidden(const struct tc_model *m);

#endif
