/* config.h -- tickcast's YAML configuration as plain structs.
 *
 *   struct tc_config cfg;
 *   char err[TC_ERR_LEN];
 *   if (tc_config_load(&cfg, "tickcast.yaml", err) < 0) {
 *       fprintf(stderr, "%s\n", err);   // "tickcast.yaml:7:5: model.layers[1].hidden: ..."
 *   }
 *
 * One table of options (config.c) is the single source of truth for the
 * keys, their types, defaults and bounds. Every error has the form
 * `file:line:column: key.path: what is wrong` (line and column 1-based). */
#ifndef TC_CONFIG_H
#define TC_CONFIG_H

#include <stdint.h>

#include "model.h"

#include <stdio.h>

#define TC_PATH_MAX 4096

enum tc_clock { TC_CLOCK_WALL, TC_CLOCK_EVENT };
enum tc_aggregate {
	TC_AGGREGATE_LAST,
	TC_AGGREGATE_MEAN,
	TC_AGGREGATE_MIN,
	TC_AGGREGATE_MAX,
	TC_AGGREGATE_SUM,
};
enum tc_missing { TC_MISSING_SKIP, TC_MISSING_HOLD, TC_MISSING_ZERO };
/* (enum tc_scaler_type, not tc_scaler: core's struct tc_scaler has that tag.) */
enum tc_scaler_type { TC_SCALER_NONE, TC_SCALER_EMA };

/* model.scaler; read once at start (a reload that changes it only warns). */
struct tc_scaler_config {
	enum tc_scaler_type type;
	double alpha;              /* ema: weight of the newest reading, (0, 1] */
	int warmup;                /* ema: readings before a series' forecasts are warm */
};

struct tc_tick_config {
	enum tc_clock clock;
	int interval_ms;           /* ms per tick (wall) or per bucket (event) */
	int flush_ms;              /* event clock: close an idle bucket after this many ms */
	enum tc_aggregate aggregate;
	enum tc_missing missing;
};

#define TC_MAX_ENDPOINTS 8
#define TC_ENDPOINT_MAX 256   /* bytes of one ZeroMQ endpoint, NUL included */
#define TC_MAX_PREFIXES 16
#define TC_PREFIX_MAX 256     /* bytes of one subscribe prefix / topic prefix, NUL included */

enum tc_format { TC_FORMAT_TEXT, TC_FORMAT_JSON, TC_FORMAT_BINARY };
enum tc_log_level { TC_LOG_ERROR, TC_LOG_WARNING, TC_LOG_INFO, TC_LOG_DEBUG };

struct tc_ingest_config {
	int n_bind;
	char bind[TC_MAX_ENDPOINTS][TC_ENDPOINT_MAX];        /* SUB binds here */
	int n_subscribe;
	char subscribe[TC_MAX_PREFIXES][TC_PREFIX_MAX];      /* "" = everything */
	int rcvhwm;                  /* messages ZeroMQ queues before the ingest thread */
	int max_message_bytes;       /* larger messages are rejected (ZMQ_MAXMSGSIZE) */
	int queue_readings;          /* readings staged between two ticks before ingest pushes back */
	int64_t queue_bytes;         /* bytes of them (ids, values, times) before ingest pushes back */
	int threads;                 /* threads parsing messages, in receive order */
};

struct tc_publish_config {
	int given;                   /* the section is in the file (cluster mode publishes on ZeroMQ only then) */
	int n_bind;
	char bind[TC_MAX_ENDPOINTS][TC_ENDPOINT_MAX];        /* PUB binds here */
	char topic_prefix[TC_PREFIX_MAX];                    /* topic = prefix + series id */
	enum tc_format format;
	int sndhwm;                  /* messages ZeroMQ queues per subscriber */
	int batch_bytes;             /* 0: a message per series; else ~this many bytes a message */
	int queue_ticks;             /* ticks queued for sending before the tick thread waits */
	int threads;                 /* threads formatting forecasts, the publisher thread's included */
	int drain_ms;                /* on exit, how long subscribers may take to read what is queued */
};

struct tc_control_config {
	char bind[TC_ENDPOINT_MAX];  /* REP binds here; "" = no control socket */
};

/* metrics.listen: host:port of the Prometheus endpoint; IPv6 as [::1]:7703. */
#define TC_LISTEN_MAX 256     /* bytes, NUL included */

struct tc_metrics_config {
	char listen[TC_LISTEN_MAX];  /* "" = no metrics endpoint */
};

struct tc_series_config {
	int64_t max;                 /* live series at most; new ones beyond are rejected */
	int64_t ttl_ticks;           /* a series without a reading for this many ticks is freed; 0 = never */
};

/* checkpoint.on_bad: what a checkpoint that cannot be restored does at start. */
enum tc_on_bad { TC_ON_BAD_REFUSE, TC_ON_BAD_DISCARD };

struct tc_checkpoint_config {
	char path[TC_PATH_MAX];      /* "" = off; relative paths against the config's folder */
	int64_t every_ticks;         /* write one every this many closed ticks */
	enum tc_on_bad on_bad;
};

/* security.curve: CURVE authentication and encryption on every daemon socket. */
struct tc_security_config {
	char curve_secret_key[TC_PATH_MAX];      /* the server's secret certificate; "" = CURVE off */
	char curve_authorized_keys[TC_PATH_MAX]; /* folder of clients' *.key; "" = any client */
};

/* model.intervals: a lower and an upper bound per output, calibrated online
 * from each series' own errors (engine/interval.h, docs/intervals.md). */
#define TC_CONFIG_MAX_INTERVAL_OUTPUTS 64  /* the engine's TC_INTERVAL_MAX_HORIZONS */

struct tc_interval_config {
	int enabled;
	double level;              /* (0, 1): share of outcomes an interval aims to cover */
	int target;                /* the input column the outputs forecast; output k is k steps ahead */
	double learning_rate;      /* step of each horizon's conformal multiplier, (0, 1] */
	int window;                /* steps: memory of each horizon's error scale and of live accuracy */
};

/* anomaly: an event for a reading outside the interval forecast for it. */
struct tc_anomaly_config {
	int enabled;
	double level;              /* the interval it must fall outside, (0, 1) */
	char topic_prefix[TC_PREFIX_MAX]; /* events go to <topic_prefix><series> */
};

/* cluster: a member of a NATS JetStream cluster (docs/cluster.md); the
 * section given turns cluster mode on. */
#define TC_CLUSTER_MAX_URLS 8
#define TC_NATS_URL_MAX 256   /* bytes of one NATS URL, NUL included */
#define TC_CLUSTER_PREFIX_MAX 128 /* bytes of cluster.prefix, NUL included */

struct tc_cluster_config {
	int enabled;
	int n_nats;
	char nats[TC_CLUSTER_MAX_URLS][TC_NATS_URL_MAX];
	char prefix[TC_CLUSTER_PREFIX_MAX]; /* first tokens of every subject; the streams' names */
	int partitions;            /* of the readings stream */
	int members;               /* members sharing the partitions */
	int member;                /* this one, 0..members-1 */
	int replicas;              /* JetStream replicas of both streams */
	int64_t max_age_s;         /* readings kept this long; 0: no age limit */
	int64_t max_bytes;         /* readings stream's size limit; 0: none */
	int checkpoint_every_s;    /* a partition's state into JetStream this often */
};

/* model.layers[i] as written; tc_config_parse turns them into model's layers. */
struct tc_config_layer {
	int type;                    /* enum tc_layer_type */
	int hidden;
	int relu;                    /* nonlinearity: 0 tanh, 1 relu (rnn) */
	int index;                   /* -1: not given */
	char module[TC_MAX_PREFIX];  /* "": not given */
};

/* model.head[i] as written; tc_config_parse turns them into model's head. */
struct tc_config_head_op {
	int type;                    /* index in the config's head type names */
	int outputs;                 /* 0: not given */
	int affine;
	double eps;
	int approximate_tanh;        /* gelu: approximate: tanh */
	char module[TC_MAX_PREFIX];  /* "": not given */
};

struct tc_config {
	char path[TC_PATH_MAX];         /* the file it was read from */
	char weights_path[TC_PATH_MAX]; /* model.weights, resolved against path's folder */
	struct tc_model_spec model;
	struct tc_config_layer model_layers[TC_MAX_LAYERS];
	struct tc_config_head_op model_head[TC_MAX_HEAD_OPS];
	struct tc_scaler_config scaler;
	struct tc_interval_config intervals;
	struct tc_anomaly_config anomaly;
	int model_watch;                /* reload when the weights file or config changes */
	int model_reset_state_on_change;/* a reload that changes layer sizes resets states */
	struct tc_tick_config tick;
	struct tc_ingest_config ingest;
	struct tc_publish_config publish;
	struct tc_control_config control;
	struct tc_series_config series;
	struct tc_checkpoint_config checkpoint;
	struct tc_metrics_config metrics;
	struct tc_security_config security;
	struct tc_cluster_config cluster;
	enum tc_log_level log_level;
};

/* Fills cfg with every default (no layers, no weights). */
void tc_config_init(struct tc_config *cfg);

/* Reads and validates the YAML file at path into cfg (defaults first).
 * Returns 0, or -1 with err filled; cfg is unspecified on failure, so
 * load into a fresh struct and keep the old one on error. */
int tc_config_load(struct tc_config *cfg, const char *path, char *err);

/* As tc_config_load, from len bytes of text; `name` is used in messages and
 * as cfg->path, and relative weights paths resolve against name's folder. */
int tc_config_parse(struct tc_config *cfg, const char *name, const char *text,
	size_t len, char *err);

/* Prints every key of the schema, one a line after a heading: its path
 * (`model.layers[].hidden`), type and bounds, default, and what it means;
 * for --help and the docs. */
void tc_config_describe(FILE *out);

/* The word the config uses for v ("wall", "last", ...); "?" when out of range.
 * Static strings. */
const char *tc_clock_to_string(enum tc_clock v);
const char *tc_aggregate_to_string(enum tc_aggregate v);
const char *tc_missing_to_string(enum tc_missing v);
const char *tc_scaler_to_string(enum tc_scaler_type v);
const char *tc_format_to_string(enum tc_format v);
const char *tc_log_level_to_string(enum tc_log_level v);
const char *tc_on_bad_to_string(enum tc_on_bad v);

#endif
