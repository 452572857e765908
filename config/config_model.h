/* config_model.h -- (private to config/) the keys of model.layers[],
 * model.head[] and model.tensors, and turning them into the model's spec. */
#ifndef TC_CONFIG_MODEL_H
#define TC_CONFIG_MODEL_H

#include "config.h"
#include "option.h"

extern const struct tc_option tc_config_layer_options[];
extern const struct tc_option tc_config_head_options[];
extern const struct tc_option tc_config_tensor_options[];

/* The LIST checks of one layer and one head operation (option.h). */
const char *tc_config_check_layer(const char *item);
const char *tc_config_check_head_op(const char *item);

/* Fills cfg->model's layers and head from what model_layers and model_head
 * hold, once the walk has read them. */
void tc_config_model_finish(struct tc_config *cfg);

#endif
