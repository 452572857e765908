/* model_file.h -- a model read from its weights file and labelled with the file's sha256.
 *
 * The daemon and `tickcast` read weights the same way: the file is read
 * once, its bytes hashed, and the model built from those same bytes, so the
 * fingerprint a checkpoint or the status carries is of exactly what runs. */
#ifndef TC_MODEL_FILE_H
#define TC_MODEL_FILE_H

#include "model.h"

/* Reads weights_path (safetensors), builds the model of spec and labels it
 * with the sha256 of the file's bytes (tc_model_weights_sha256). NULL and
 * err on failure; the result is the caller's. */
struct tc_model *tc_model_file_load(const struct tc_model_spec *spec, const char *weights_path,
	char *err);

#endif
