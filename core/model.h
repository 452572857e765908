/* model.h -- a stack of recurrent layers and a head, built once, read-only afterwards.
 *
 *   struct tc_model_spec spec;
 *   tc_model_spec_init(&spec);              // input 1, nn.GRU variant, "gru"/"fc"
 *   spec.n_layers = 2; spec.hidden[0] = spec.hidden[1] = 64; spec.outputs = 12;
 *   char err[TC_ERR_LEN];
 *   struct tc_model *m = tc_model_load(&spec, "model.safetensors", err);
 *   ...                                      // tc_state_create(m, ...), tc_step(...)
 *   tc_model_destroy(&m);
 *
 * Layers are PyTorch's nn.GRU, nn.LSTM and nn.RNN, mixed freely; layer k
 * reads its tensors from the module (tensor-name prefix) and layer index
 * it came from, G_k gates of H_k rows each (gru 3: r, z, n; lstm 4: i, f,
 * g, o; rnn 1):
 *   <module>.weight_ih_l{index} [G_k H_k, I_k]
 *   <module>.weight_hh_l{index} [G_k H_k, H_k]
 *   <module>.bias_ih_l{index}, <module>.bias_hh_l{index} [G_k H_k]
 * The head is a sequence of operations on the last layer's h (nn.Sequential's
 * order): linear (<m>.weight [out, in], <m>.bias [out]), relu, tanh, gelu,
 * sigmoid, layernorm (<m>.weight, <m>.bias [in] when affine) and dropout
 * (nothing at inference). Without head operations it is one linear,
 * <head_prefix>.weight [O, H_L]. Loading repacks the weights once into the
 * panel layout the kernels stream (see layer.h). A model holds no
 * per-series state, so one model may be stepped by several states at once. */
#ifndef TC_MODEL_H
#define TC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define TC_MAX_LAYERS 16
#define TC_MAX_PREFIX 64
#define TC_MAX_WIDTH 8192 /* largest hidden size or output count */
#define TC_MAX_INPUT 256  /* largest input size (values per reading) */
#define TC_MAX_HEAD_OPS 16

/* What a layer computes, as PyTorch's module of that name. */
enum tc_layer_type {
	TC_LAYER_GRU,
	TC_LAYER_LSTM,
	TC_LAYER_RNN,
};

/* One operation of the head. */
enum tc_head_op_type {
	TC_HEAD_LINEAR,
	TC_HEAD_RELU,
	TC_HEAD_TANH,
	TC_HEAD_GELU,        /* exact, x * Phi(x): nn.GELU() */
	TC_HEAD_GELU_TANH,   /* nn.GELU(approximate='tanh') */
	TC_HEAD_SIGMOID,
	TC_HEAD_LAYERNORM,
	TC_HEAD_DROPOUT,     /* the identity at inference */
};

struct tc_head_op_spec {
	enum tc_head_op_type type;
	int outputs;                 /* linear: out_features */
	int affine;                  /* layernorm: has weight and bias */
	double eps;                  /* layernorm: added to the variance */
	char module[TC_MAX_PREFIX];  /* linear, layernorm: tensor-name prefix; "": see
	                                tc_model_spec_head_module */
};

/* How the weights are multiplied: fp32 throughout, or bf16 weights and
 * inputs to each product with fp32 accumulation, biases, states and gates. */
enum tc_precision {
	TC_PRECISION_FP32,
	TC_PRECISION_BF16,
};

struct tc_model_spec {
	int input_size;                 /* I: values per reading */
	enum tc_precision precision;    /* fp32 (default) or bf16 products */
	int reset_after;                /* gru layers: 1 nn.GRU (r applied after W_hn h); 0 Cho et al. */
	int n_layers;
	int hidden[TC_MAX_LAYERS];      /* H_k: units of layer k */
	enum tc_layer_type type[TC_MAX_LAYERS];
	int relu[TC_MAX_LAYERS];        /* rnn layers: 1 nonlinearity relu, 0 tanh */
	/* Where layer k's tensors are: module "" continues the module of layer
	 * k - 1 (the first layer's default is gru_prefix); index -1 is the
	 * previous layer's index + 1 in the same module, else 0. See
	 * tc_model_spec_layer_source. */
	char module[TC_MAX_LAYERS][TC_MAX_PREFIX];
	int index[TC_MAX_LAYERS];
	int outputs;                    /* O: values the head writes per series */
	int n_head_ops;                 /* 0: one linear <head_prefix> of O outputs */
	struct tc_head_op_spec head[TC_MAX_HEAD_OPS];
	char gru_prefix[TC_MAX_PREFIX]; /* the first layer's default module, "gru" */
	char head_prefix[TC_MAX_PREFIX];/* tensor-name prefix of the head, "fc" */
};

/* Weights in PyTorch's layout (row-major, shapes as in the table above),
 * borrowed for the duration of tc_model_create. */
struct tc_layer_weights {
	const float *weight_ih;
	const float *weight_hh;
	const float *bias_ih;
	const float *bias_hh;
};

/* A head operation's tensors: linear weight [out x in] and bias [out];
 * layernorm weight and bias [in] (NULL when not affine); NULL otherwise. */
struct tc_head_weights {
	const float *weight;
	const float *bias;
};

struct tc_model_weights {
	struct tc_layer_weights layer[TC_MAX_LAYERS];
	struct tc_head_weights head[TC_MAX_HEAD_OPS]; /* op i's; [0] is the lone linear
	                                                 of a spec without head ops */
};

struct tc_model;

/* Defaults: input_size 1, reset_after 1, no layers (each gru, module "",
 * index -1), no head ops, prefixes "gru" and "fc". */
void tc_model_spec_init(struct tc_model_spec *spec);

/* Checks sizes against their bounds, and that the head's output count is O.
 * Returns 0 or -1 with err filled. */
int tc_model_spec_validate(const struct tc_model_spec *spec, char *err);

/* Layer k's module (tensor-name prefix, borrowed from spec) and index,
 * with the defaults applied. */
const char *tc_model_spec_layer_source(const struct tc_model_spec *spec, int k, int *index);

/* Operations of the head (1 without head ops: the lone linear), and
 * operation i (0 <= i < count), that linear included. */
int tc_model_spec_head_count(const struct tc_model_spec *spec);
struct tc_head_op_spec tc_model_spec_head_op(const struct tc_model_spec *spec, int i);

/* Head operation i's tensor-name prefix into buf (TC_MAX_PREFIX bytes): its
 * module, else head_prefix for a head of one operation, else
 * "<head_prefix>.<i>" (nn.Sequential's naming). */
void tc_model_spec_head_module(const struct tc_model_spec *spec, int i, char *buf);

/* Values the head writes per series: the last linear's outputs (O without
 * head ops); 0 when the head has no linear. */
int tc_model_spec_head_outputs(const struct tc_model_spec *spec);

/* Gates G_k of a layer type (gru 3, lstm 4, rnn 1), and floats of state
 * per series of layer k: H_k, or 2 H_k for an lstm (h, then c). */
int tc_layer_gates(enum tc_layer_type type);
int tc_model_spec_state_width(const struct tc_model_spec *spec, int k);

/* "gru", "lstm", "rnn" (the config's words); "?" for anything else. */
const char *tc_layer_type_to_string(enum tc_layer_type type);

/* "linear", "relu", ..., "gelu (tanh)" for TC_HEAD_GELU_TANH; "?" otherwise. */
const char *tc_head_op_to_string(enum tc_head_op_type type);

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

/* Multiply-add FLOPs per series-step: sum_k 2*G_k*H_k*(I_k + H_k) plus
 * 2 * in * out per head linear. */
uint64_t tc_model_flops_per_step(const struct tc_model *m);

/* Bytes of state per series: 4 * sum_k state width (H_k, 2 H_k for lstm). */
uint64_t tc_model_state_bytes(const struct tc_model *m);

/* Nonzero when both specs have the same input size, layer types and sizes,
 * and outputs: a series' state (and forecast) means the same in both. */
int tc_model_spec_same_state(const struct tc_model_spec *a, const struct tc_model_spec *b);

/* The same, and the same head operations and widths, so that states (and
 * the step's scratch) built for one fit the other. */
int tc_model_spec_same_shape(const struct tc_model_spec *a, const struct tc_model_spec *b);

#endif
