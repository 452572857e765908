/* model_internal.h -- (internal) the model struct, shared by model.c,
 * model_load.c and step.c; users see only the opaque struct tc_model. */
#ifndef TC_MODEL_INTERNAL_H
#define TC_MODEL_INTERNAL_H

#include "layer.h"
#include "model.h"

struct tc_model {
	struct tc_model_spec spec;
	struct tc_gru_layer layers[TC_MAX_LAYERS];
	struct tc_linear_layer head;
	char weights_sha256[65];         /* hex sha256 of the weights file's bytes; "": not known */
};

/* Widest packed matrix and largest hidden size: what scratch must hold. */
int tc_model_max_width(const struct tc_model *m);
int tc_model_max_hidden(const struct tc_model *m);

#endif
