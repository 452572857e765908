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
	char weights_sha256[65];         /* hex sha256 of the weights file's bytes; "": not known */
};

/* Widest packed matrix, largest hidden size and widest head row: what
 * scratch must hold. */
int tc_model_max_width(const struct tc_model *m);
int tc_model_max_hidden(const struct tc_model *m);
int tc_model_max_head_width(const struct tc_model *m);

#endif
