/* model.h -- a GRU stack and a linear head, built once, read-only afterwards.
 *
 *   struct tc_model_spec spec;
 *   tc_model_spec_init(&spec);              // input 1, nn.GRU variant, "gru"/"fc"
 *   spec.n_layers = 2; spec.hidden[0] = spec.hidden[1] = 64; spec.outputs = 12;
 *   char err[TC_ERR_LEN];
 *   struct tc_model *m = tc_model_load(&spec, "model.safetensors", err);
 *   ...                                      // tc_state_create(m, ...), tc_step(...)
 *   tc_model_destroy(&m);
 *
 * Tensors are those of a PyTorch module with `self.gru = nn.GRU(...)` and
 * `self.fc = nn.Linear(...)` (names configurable by prefix):
 *   <gru>.weight_ih_l{k} [3H_k, I_k]   rows in gate order r, z, n
 *   <gru>.weight_hh_l{k} [3H_k, H_k]
 *   <gru>.bias_ih_l{k}, <gru>.bias_hh_l{k} [3H_k]
 *   <fc>.weight [O, H_L], <fc>.bias [O]
 * Loading repacks them once into the panel layout the kernels stream
 * (see layer.h). A model holds no per-series state, so one model may be
 * stepped by several states at once. */
#ifndef TC_MODEL_H
#define TC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define TC_MAX_LAYERS 16
#define TC_MAX_PREFIX 64
#define TC_MAX_WIDTH 8192 /* largest hidden size or output count */
#define TC_MAX_INPUT 256  /* largest input size (values per reading) */

/* How the weights are multiplied: fp32 throughout, or bf16 weights and
 * inputs to each product with fp32 accumulation, biases, states and gates. */
enum tc_precision {
	TC_PRECISION_FP32,
	TC_PRECISION_BF16,
};

struct tc_model_spec {
	int input_size;                 /* I: values per reading */
	enum tc_precision precision;    /* fp32 (default) or bf16 products */
	int reset_after;                /* 1: nn.GRU (r applied after W_hn h); 0: Cho et al. */
	int n_layers;
	int hidden[TC_MAX_LAYERS];      /* H_k: units of layer k */
	int outputs;                    /* O: values the head writes per series */
	char gru_prefix[TC_MAX_PREFIX]; /* tensor-name prefix of the GRU, "gru" */
	char head_prefix[TC_MAX_PREFIX];/* tensor-name prefix of the head, "fc" */
};

/* Weights in PyTorch's layout (row-major, shapes as in the table above),
 * borrowed for the duration of tc_model_create. */
struct tc_gru_weights {
	const float *weight_ih;
	const float *weight_hh;
	const float *bias_ih;
	const float *bias_hh;
};

struct tc_model_weights {
	struct tc_gru_weights layer[TC_MAX_LAYERS];
	const float *head_weight;
	const float *head_bias;
};

struct tc_model;

/* Defaults: input_size 1, reset_after 1, no layers, prefixes "gru" and "fc". */
void tc_model_spec_init(struct tc_model_spec *spec);

/* Checks sizes against their bounds. Returns 0 or -1 with err filled. */
int tc_model_spec_validate(const struct tc_model_spec *spec, char *err);

/* Builds a model from weights in memory. NULL and err on failure; the result
 * is the caller's, released with tc_model_destroy. */
struct tc_model *tc_model_create(const struct tc_model_spec *spec,
	const struct tc_model_weights *weights, char *err);

/* Reads weights_path (safetensors) and builds the model, checking every
 * tensor's presence, dtype and shape: "path: gru.weight_hh_l1: expected
 * [192, 64], file has [192, 32]". NULL and err on failure. */
struct tc_model *tc_model_load(const struct tc_model_spec *spec,
	const char *weights_path, char *err);

/* The same from a weights file already open (borrowed; errors name its path),
 * for a caller that also wants its bytes (tc_safetensors_bytes). */
struct tc_safetensors;
struct tc_model *tc_model_load_from(const struct tc_model_spec *spec,
	const struct tc_safetensors *st, char *err);

/* Frees *m and sets it to NULL; NULL or *m == NULL is a no-op. */
void tc_model_destroy(struct tc_model **m);

/* The spec the model was built from. Borrowed. */
const struct tc_model_spec *tc_model_get_spec(const struct tc_model *m);

/* The sha256 (64 hex digits) of the weights file the model was built from,
 * as whoever read the file labelled it (engine/model_file.h); "" when the
 * model was built from memory. Checkpoints carry it as the weights'
 * fingerprint. set copies at most 64 characters. */
const char *tc_model_weights_sha256(const struct tc_model *m);
void tc_model_set_weights_sha256(struct tc_model *m, const char *hex);

/* Learnable parameters (weights and biases of every layer and the head). */
uint64_t tc_model_param_count(const struct tc_model *m);

/* Multiply-add FLOPs per series-step: sum_k 2*3*H_k*(I_k + H_k) + 2*H_L*O. */
uint64_t tc_model_flops_per_step(const struct tc_model *m);

/* Bytes of hidden state per series: 4 * sum_k H_k. */
uint64_t tc_model_state_bytes(const struct tc_model *m);

/* Nonzero when both specs have the same input size, layer sizes and outputs,
 * so that states built for one fit the other. */
int tc_model_spec_same_shape(const struct tc_model_spec *a, const struct tc_model_spec *b);

#endif
