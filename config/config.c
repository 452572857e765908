/* config.c -- tickcast's config schema as one table of options, and reading a YAML file into it.
 *
 * What a user of the file should know (the walk is in option.c):
 * - Values are read by their text; quoting does not change the type, so
 *   `hidden: "64"` is the integer 64.
 * - Integers are plain decimal with an optional sign: "1.5", "1e3", "0x10",
 *   "1_000" and leading zeros ("010", octal in YAML 1.1) are rejected.
 *   A value too large for any integer is reported as out of range.
 * - Where text is expected, a plain (unquoted) number such as 0123 or 1.50
 *   is rejected: quote it. Other YAML tools would read it as a number and
 *   write it back changed (83, 1.5).
 * - A list of strings (ingest.bind, ...) also takes one string, read as a
 *   list of one.
 * - Endpoints are <transport>://<address> with transport tcp, ipc or inproc;
 *   the address itself is checked by ZeroMQ when the daemon binds it.
 * - Booleans: true/false, yes/no, on/off, in any letter case.
 * - Enumerated values (clock, aggregate, ...) are case-sensitive.
 * - An empty value or null (`~`, `null`) where a mapping or a sequence is
 *   expected reads as an empty one, so a `tick:` with every key commented
 *   out means "all defaults"; where a scalar is expected it is an error.
 * - Anchors and aliases are resolved by libyaml and allowed; an error
 *   inside an aliased node is reported at the anchored node. Merge keys
 *   (`<<:`) are not part of YAML's core and read as an unknown key; tags
 *   are ignored.
 * - A stream holding more than one document is rejected.
 * - A relative model.weights resolves against the config file's folder
 *   ("./" when the name has no slash); "~" is not expanded.
 * - The first error stops the parse: one message, at the place it names.
 * - tc_config_load refuses files over 1 MiB.
 * The model's defaults (input 1, reset_after, "gru"/"fc") come from this
 * table, not from tc_model_spec_init, and its bounds are checked here so that
 * errors carry line:column. The table has no "may change on reload" column
 * yet because nothing reads one. */
#include "config.h"

#include "config_cluster.h"
#include "config_model.h"
#include "error.h"
#include "option.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* A config file is a few dozen lines; anything this big is the wrong file. */
#define CONFIG_MAX_BYTES (1024 * 1024)

#define CFG(member) offsetof(struct tc_config, member)
#define CFG_SIZE(member) sizeof(((struct tc_config *)0)->member)
/* Items a char[N][M] member holds: the most a STRINGS option may read into it. */
#define CFG_COUNT(member) (CFG_SIZE(member) / CFG_SIZE(member[0]))

/* The enums are stored through int-sized writes. */
_Static_assert(sizeof(enum tc_clock) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tc_aggregate) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tc_missing) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tc_scaler_type) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tc_format) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tc_log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tc_on_bad) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tc_precision) == sizeof(int), "enum size");

static const char *const clock_names[] = { "wall", "event", NULL };
static const char *const aggregate_names[] = { "last", "mean", "min", "max", "sum", NULL };
static const char *const missing_names[] = { "skip", "hold", "zero", NULL };
static const char *const scaler_names[] = { "none", "ema", NULL };
static const char *const format_names[] = { "text", "json", "binary", NULL };
static const char *const log_level_names[] = { "error", "warning", "info", "debug", NULL };
static const char *const on_bad_names[] = { "refuse", "discard", NULL };
static const char *const precision_names[] = { "fp32", "bf16", NULL }; /* enum tc_precision */

/* A ZeroMQ endpoint's shape; the address itself is left to zmq_bind. */
static const char *check_endpoint(const char *s)
{
	static const char *const transports[] = { "tcp", "ipc", "inproc" };
	const char *sep = strstr(s, "://");
	if (!sep || sep[3] == '\0' || strpbrk(s, " \t\r\n")) {
		return "an endpoint like tcp://127.0.0.1:7700";
	}
	for (size_t i = 0; i < sizeof transports / sizeof transports[0]; i++) {
		size_t len = strlen(transports[i]);
		if ((size_t)(sep - s) == len && memcmp(s, transports[i], len) == 0) {
			return NULL;
		}
	}
	return "an endpoint starting with tcp://, ipc:// or inproc://";
}

/* A host:port's shape (an IPv6 host in brackets); the daemon resolves and
 * binds it. */
static const char *check_listen(const char *s)
{
	static const char *const want = "host:port like 127.0.0.1:7703 or [::1]:7703";
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || strpbrk(s, " \t\r\n/")) {
		return want;
	}
	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || port < 1 || port > 65535) {
		return "a port from 1 to 65535 after the last ':' (host:port like 127.0.0.1:7703)";
	}
	int bracketed = s[0] == '[';
	if (bracketed ? colon[-1] != ']' || colon - s < 3
		: memchr(s, ':', (size_t)(colon - s)) != NULL) {
		return "an IPv6 host in brackets, like [::1]:7703";
	}
	return NULL;
}

static const struct tc_option scaler_options[] = {
	{ .name = "type", .type = TC_OPTION_ENUM, .offset = CFG(scaler.type), .required = 1,
		.names = scaler_names, .help = "none, or ema: per-series exponential mean and variance" },
	{ .name = "alpha", .type = TC_OPTION_FLOAT, .offset = CFG(scaler.alpha), .def_float = 0.05,
		.min_float = 0, .min_open = 1, .max_float = 1,
		.help = "ema: weight of the newest reading in the mean and variance" },
	{ .name = "warmup", .type = TC_OPTION_INT, .offset = CFG(scaler.warmup), .def = 24,
		.min = 0, .max = 1000000,
		.help = "ema: readings before a series' JSON forecasts stop saying \"warm\":false" },
	{ 0 },
};

static const struct tc_option interval_options[] = {
	{ .name = "enabled", .type = TC_OPTION_BOOL, .offset = CFG(intervals.enabled), .def = 0,
		.help = "publish a lower and an upper bound with every output (true once the "
			"section is given)" },
	{ .name = "level", .type = TC_OPTION_FLOAT, .offset = CFG(intervals.level), .def_float = 0.8,
		.min_float = 0, .min_open = 1, .max_float = 0.999,
		.help = "share of outcomes each interval aims to cover" },
	{ .name = "target", .type = TC_OPTION_INT, .offset = CFG(intervals.target), .def = 0,
		.min = 0, .max = TC_MAX_INPUT - 1,
		.help = "the input column (0-based) the outputs forecast; output k is that column "
			"k steps of the series ahead" },
	{ .name = "learning_rate", .type = TC_OPTION_FLOAT, .offset = CFG(intervals.learning_rate),
		.def_float = 0.05, .min_float = 0, .min_open = 1, .max_float = 1,
		.help = "how fast each horizon's interval widens after a miss and narrows after a hit" },
	{ .name = "window", .type = TC_OPTION_INT, .offset = CFG(intervals.window), .def = 50,
		.min = 1, .max = 1000000,
		.help = "steps: how far back each horizon's error scale and the live accuracy reach" },
	{ 0 },
};

static const struct tc_option model_options[] = {
	{ .name = "weights", .type = TC_OPTION_PATH, .offset = CFG(weights_path),
		.size = CFG_SIZE(weights_path), .required = 1,
		.help = "safetensors weights file; relative to the config file's folder" },
	{ .name = "input_size", .type = TC_OPTION_INT, .offset = CFG(model.input_size), .def = 1,
		.min = 1, .max = TC_MAX_INPUT, .help = "values per reading" },
	{ .name = "reset_after", .type = TC_OPTION_BOOL, .offset = CFG(model.reset_after), .def = 1,
		.help = "gru layers: true PyTorch nn.GRU; false the original GRU of Cho et al." },
	{ .name = "precision", .type = TC_OPTION_ENUM, .offset = CFG(model.precision),
		.def = TC_PRECISION_FP32, .names = precision_names,
		.help = "fp32, or bf16: weights and each product's inputs rounded to bfloat16, "
			"fp32 sums and gates (faster with AVX512-BF16; docs/models.md)" },
	{ .name = "layers", .type = TC_OPTION_LIST, .required = 1, .min = 1, .max = TC_MAX_LAYERS,
		.child = tc_config_layer_options, .count_offset = CFG(model.n_layers),
		.stride = sizeof(struct tc_config_layer), .check_item = tc_config_check_layer,
		.help = "the recurrent layers (gru, lstm, rnn), input side first" },
	{ .name = "head", .type = TC_OPTION_LIST, .required = 1, .min = 1, .max = TC_MAX_HEAD_OPS,
		.child = tc_config_head_options, .count_offset = CFG(model.n_head_ops),
		.stride = sizeof(struct tc_config_head_op), .check_item = tc_config_check_head_op,
		.help = "from the last layer's h to the forecast: one linear, or a list of "
			"operations applied in order (nn.Sequential's)" },
	{ .name = "scaler", .type = TC_OPTION_KIND, .offset = CFG(scaler.type),
		.def = TC_SCALER_NONE, .names = scaler_names, .child = scaler_options,
		.help = "per-series input scaling: none, ema, or {type: ema, alpha, warmup}; "
			"read at start only" },
	{ .name = "intervals", .type = TC_OPTION_MAP, .child = interval_options,
		.offset = CFG(intervals.enabled), .marks_given = 1,
		.help = "forecast intervals calibrated online from each series' errors "
			"(off unless this section is given); live accuracy per series comes with them" },
	{ .name = "tensors", .type = TC_OPTION_MAP, .child = tc_config_tensor_options,
		.help = "tensor-name prefixes in the weights file" },
	{ .name = "watch", .type = TC_OPTION_BOOL, .offset = CFG(model_watch), .def = 0,
		.help = "reload when the weights file or this config changes (inotify)" },
	{ .name = "reset_state_on_change", .type = TC_OPTION_BOOL,
		.offset = CFG(model_reset_state_on_change), .def = 0,
		.help = "a reload that changes layer sizes resets every series' state; "
			"false: such a reload is refused" },
	{ 0 },
};

static const struct tc_option tick_options[] = {
	{ .name = "clock", .type = TC_OPTION_ENUM, .offset = CFG(tick.clock), .def = TC_CLOCK_WALL,
		.names = clock_names,
		.help = "wall: tick every interval_ms; event: buckets of the readings' timestamps" },
	{ .name = "interval_ms", .type = TC_OPTION_INT, .offset = CFG(tick.interval_ms), .def = 1000,
		.min = 1, .max = 86400000, .help = "milliseconds per tick (wall) or per bucket (event)" },
	{ .name = "flush_ms", .type = TC_OPTION_INT, .offset = CFG(tick.flush_ms), .def = 1000,
		.min = 1, .max = 86400000,
		.help = "event clock: close the open bucket after this many ms without a reading" },
	{ .name = "aggregate", .type = TC_OPTION_ENUM, .offset = CFG(tick.aggregate),
		.def = TC_AGGREGATE_LAST, .names = aggregate_names,
		.help = "how several readings of a series in one tick combine" },
	{ .name = "missing", .type = TC_OPTION_ENUM, .offset = CFG(tick.missing),
		.def = TC_MISSING_SKIP, .names = missing_names,
		.help = "a series without a reading: skip it, hold its last input, or feed zeros" },
	{ 0 },
};

static const struct tc_option ingest_options[] = {
	{ .name = "bind", .type = TC_OPTION_STRINGS, .offset = CFG(ingest.bind),
		.size = CFG_SIZE(ingest.bind[0]), .count_offset = CFG(ingest.n_bind),
		.min = 1, .max = CFG_COUNT(ingest.bind), .def_str = "tcp://127.0.0.1:7700",
		.check = check_endpoint, .help = "ZeroMQ endpoints the SUB socket for readings binds" },
	{ .name = "subscribe", .type = TC_OPTION_STRINGS, .offset = CFG(ingest.subscribe),
		.size = CFG_SIZE(ingest.subscribe[0]), .count_offset = CFG(ingest.n_subscribe),
		.min = 1, .max = CFG_COUNT(ingest.subscribe), .def_str = "", .may_be_empty = 1,
		.help = "topic prefixes to read; \"\" reads everything" },
	{ .name = "rcvhwm", .type = TC_OPTION_INT, .offset = CFG(ingest.rcvhwm), .def = 100000,
		.min = 1, .max = 100000000,
		.help = "messages ZeroMQ may queue before the ingest thread reads them" },
	{ .name = "max_message_bytes", .type = TC_OPTION_INT, .offset = CFG(ingest.max_message_bytes),
		.def = 16777216, .min = 1024, .max = 1073741824,
		.help = "larger frames are rejected by ZeroMQ as they arrive (the producer is disconnected)" },
	{ .name = "queue_readings", .type = TC_OPTION_INT, .offset = CFG(ingest.queue_readings),
		.def = 4194304, .min = 1024, .max = 1000000000,
		.help = "readings staged between ticks before ingest pushes back" },
	{ .name = "queue_bytes", .type = TC_OPTION_INT64, .offset = CFG(ingest.queue_bytes),
		.def = 268435456, .min = 1048576, .max = 1099511627776,
		.help = "bytes of staged readings (ids, values, times) before ingest pushes back" },
	{ .name = "threads", .type = TC_OPTION_INT, .offset = CFG(ingest.threads), .def = 1,
		.min = 1, .max = 64,
		.help = "threads parsing messages (readings keep their order); raise it when tc-ingest "
			"is busy all the time" },
	{ 0 },
};

static const struct tc_option publish_options[] = {
	{ .name = "bind", .type = TC_OPTION_STRINGS, .offset = CFG(publish.bind),
		.size = CFG_SIZE(publish.bind[0]), .count_offset = CFG(publish.n_bind),
		.min = 1, .max = CFG_COUNT(publish.bind), .def_str = "tcp://127.0.0.1:7701",
		.check = check_endpoint, .help = "ZeroMQ endpoints the PUB socket for forecasts binds" },
	{ .name = "topic_prefix", .type = TC_OPTION_STRING, .offset = CFG(publish.topic_prefix),
		.size = CFG_SIZE(publish.topic_prefix), .def_str = "forecast.", .may_be_empty = 1,
		.help = "a forecast's topic is this prefix and its series id" },
	{ .name = "format", .type = TC_OPTION_ENUM, .offset = CFG(publish.format),
		.def = TC_FORMAT_TEXT, .names = format_names,
		.help = "how a forecast message is written; binary: docs/protocol.md" },
	{ .name = "sndhwm", .type = TC_OPTION_INT, .offset = CFG(publish.sndhwm), .def = 200000,
		.min = 1, .max = 100000000,
		.help = "messages queued per subscriber before ZeroMQ drops" },
	{ .name = "batch_bytes", .type = TC_OPTION_INT, .offset = CFG(publish.batch_bytes), .def = 0,
		.min = 0, .max = 268435456,
		.help = "0: one message per series; N: pack each tick's forecasts into ~N-byte messages" },
	{ .name = "queue_ticks", .type = TC_OPTION_INT, .offset = CFG(publish.queue_ticks),
		.def = 4, .min = 1, .max = 1000,
		.help = "stepped ticks waiting to be sent before the tick thread waits for the publisher" },
	{ .name = "threads", .type = TC_OPTION_INT, .offset = CFG(publish.threads),
		.def = 2, .min = 1, .max = 64,
		.help = "threads formatting a tick's forecasts, the publisher thread included; 1: it alone" },
	{ .name = "drain_ms", .type = TC_OPTION_INT, .offset = CFG(publish.drain_ms),
		.def = 5000, .min = 0, .max = 600000,
		.help = "on exit, how long subscribers may take to read the forecasts still queued "
			"for them before the rest is dropped" },
	{ 0 },
};

static const struct tc_option control_options[] = {
	{ .name = "bind", .type = TC_OPTION_STRING, .offset = CFG(control.bind),
		.size = CFG_SIZE(control.bind), .def_str = "tcp://127.0.0.1:7702", .may_be_empty = 1,
		.check = check_endpoint,
		.help = "ZeroMQ endpoint the REP socket for commands binds; \"\": none" },
	{ 0 },
};

static const struct tc_option series_options[] = {
	{ .name = "max", .type = TC_OPTION_INT64, .offset = CFG(series.max), .def = 1000000,
		.min = 1, .max = 100000000,
		.help = "live series at most; readings of new series beyond it are rejected" },
	{ .name = "ttl_ticks", .type = TC_OPTION_INT64, .offset = CFG(series.ttl_ticks), .def = 3600,
		.min = 0, .max = 1000000000000LL,
		.help = "free a series after this many ticks without a reading; 0: never" },
	{ 0 },
};

static const struct tc_option checkpoint_options[] = {
	{ .name = "path", .type = TC_OPTION_PATH, .offset = CFG(checkpoint.path),
		.size = CFG_SIZE(checkpoint.path), .def_str = "", .may_be_empty = 1,
		.help = "file every series' state is saved to and restored from at start; "
			"relative to the config file's folder; \"\": none" },
	{ .name = "every_ticks", .type = TC_OPTION_INT64, .offset = CFG(checkpoint.every_ticks),
		.def = 60, .min = 1, .max = 1000000000,
		.help = "write one every this many ticks (and always on SIGTERM, after the last tick)" },
	{ .name = "on_bad", .type = TC_OPTION_ENUM, .offset = CFG(checkpoint.on_bad),
		.def = TC_ON_BAD_REFUSE, .names = on_bad_names,
		.help = "a checkpoint that cannot be restored at start: refuse (exit 1), or discard "
			"(rename it to <path>.bad, start empty)" },
	{ 0 },
};

static const struct tc_option anomaly_options[] = {
	{ .name = "enabled", .type = TC_OPTION_BOOL, .offset = CFG(anomaly.enabled), .def = 0,
		.help = "publish an event for each reading outside the interval forecast for it "
			"(true once the section is given)" },
	{ .name = "level", .type = TC_OPTION_FLOAT, .offset = CFG(anomaly.level), .def_float = 0.99,
		.min_float = 0, .min_open = 1, .max_float = 0.9999,
		.help = "the level of that interval (its own calibration, horizon 1)" },
	{ .name = "topic_prefix", .type = TC_OPTION_STRING, .offset = CFG(anomaly.topic_prefix),
		.size = CFG_SIZE(anomaly.topic_prefix), .def_str = "anomaly.",
		.help = "events go to <topic_prefix><series>" },
	{ 0 },
};

static const struct tc_option metrics_options[] = {
	{ .name = "listen", .type = TC_OPTION_STRING, .offset = CFG(metrics.listen),
		.size = CFG_SIZE(metrics.listen), .def_str = "127.0.0.1:7703", .may_be_empty = 1,
		.check = check_listen,
		.help = "host:port the Prometheus endpoint (GET /metrics) listens on; IPv6 as "
			"[::1]:7703; \"\": none" },
	{ 0 },
};

static const struct tc_option curve_options[] = {
	{ .name = "secret_key", .type = TC_OPTION_PATH, .offset = CFG(security.curve_secret_key),
		.size = CFG_SIZE(security.curve_secret_key), .def_str = "", .may_be_empty = 1,
		.help = "the server's secret certificate (NAME.key_secret, `tickcast keygen`); every "
			"socket becomes a CURVE server with it; relative to the config file's folder; "
			"\"\": CURVE off" },
	{ .name = "authorized_keys", .type = TC_OPTION_PATH,
		.offset = CFG(security.curve_authorized_keys),
		.size = CFG_SIZE(security.curve_authorized_keys), .def_str = "", .may_be_empty = 1,
		.help = "folder whose *.key public certificates list the clients let in (read at "
			"start); \"\": any client that knows the server's public key" },
	{ 0 },
};

static const struct tc_option security_options[] = {
	{ .name = "curve", .type = TC_OPTION_MAP, .child = curve_options,
		.help = "ZeroMQ CURVE: encryption and client keys on every socket" },
	{ 0 },
};

static const struct tc_option log_options[] = {
	{ .name = "level", .type = TC_OPTION_ENUM, .offset = CFG(log_level), .def = TC_LOG_INFO,
		.names = log_level_names, .help = "write messages of this level and more severe ones" },
	{ 0 },
};

static const struct tc_option root_options[] = {
	{ .name = "model", .type = TC_OPTION_MAP, .required = 1, .child = model_options,
		.help = "the network and its weights" },
	{ .name = "tick", .type = TC_OPTION_MAP, .child = tick_options,
		.help = "when steps happen and how readings are combined" },
	{ .name = "ingest", .type = TC_OPTION_MAP, .child = ingest_options,
		.help = "daemon: the ZeroMQ socket readings arrive on" },
	{ .name = "publish", .type = TC_OPTION_MAP, .child = publish_options,
		.offset = CFG(publish.given), .marks_given = 1,
		.help = "daemon: the ZeroMQ socket forecasts leave on" },
	{ .name = "control", .type = TC_OPTION_MAP, .child = control_options,
		.help = "daemon: the ZeroMQ socket for commands (stats, reload, ...)" },
	{ .name = "series", .type = TC_OPTION_MAP, .child = series_options,
		.help = "daemon: how many series are kept, and for how long" },
	{ .name = "checkpoint", .type = TC_OPTION_MAP, .child = checkpoint_options,
		.help = "daemon: every series' state saved to a file, restored at start" },
	{ .name = "anomaly", .type = TC_OPTION_MAP, .child = anomaly_options,
		.offset = CFG(anomaly.enabled), .marks_given = 1,
		.help = "daemon: events for readings outside their forecast interval "
			"(off unless this section is given; needs model.intervals)" },
	{ .name = "metrics", .type = TC_OPTION_MAP, .child = metrics_options,
		.help = "daemon: the Prometheus metrics endpoint over HTTP" },
	{ .name = "security", .type = TC_OPTION_MAP, .child = security_options,
		.help = "daemon: who may connect, and encryption" },
	{ .name = "cluster", .type = TC_OPTION_MAP, .child = tc_config_cluster_options,
		.offset = CFG(cluster.enabled), .marks_given = 1,
		.help = "daemon: a member of a NATS JetStream cluster instead of the ZeroMQ "
			"readings socket (off unless this section is given; docs/cluster.md)" },
	{ .name = "log", .type = TC_OPTION_MAP, .child = log_options,
		.help = "daemon: what is logged" },
	{ 0 },
};

/* n counts the NULL that ends names. */
static const char *enum_name(const char *const *names, size_t n, int v)
{
	return v >= 0 && (size_t)v < n - 1 ? names[v] : "?";
}

#define ENUM_NAME(names, v) enum_name(names, sizeof names / sizeof names[0], (int)(v))

const char *tc_clock_to_string(enum tc_clock v)
{
	return ENUM_NAME(clock_names, v);
}

const char *tc_aggregate_to_string(enum tc_aggregate v)
{
	return ENUM_NAME(aggregate_names, v);
}

const char *tc_missing_to_string(enum tc_missing v)
{
	return ENUM_NAME(missing_names, v);
}

const char *tc_scaler_to_string(enum tc_scaler_type v)
{
	return ENUM_NAME(scaler_names, v);
}

const char *tc_format_to_string(enum tc_format v)
{
	return ENUM_NAME(format_names, v);
}

const char *tc_log_level_to_string(enum tc_log_level v)
{
	return ENUM_NAME(log_level_names, v);
}

const char *tc_on_bad_to_string(enum tc_on_bad v)
{
	return ENUM_NAME(on_bad_names, v);
}

void tc_config_init(struct tc_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	tc_option_defaults(root_options, cfg);
}

void tc_config_describe(FILE *out)
{
	tc_option_describe(out, root_options);
}

/* libyaml's own message, with its position and context. */
static int syntax_error(const char *name, const char *text, const yaml_parser_t *p, char *err)
{
	yaml_mark_t at = p->problem_mark;
	if (p->error == YAML_MEMORY_ERROR) {
		return tc_err_set(err, "%s: out of memory while parsing", name);
	}
	if (p->error == YAML_READER_ERROR) {
		/* Reader errors carry a byte offset instead of a mark. */
		at.line = 0;
		at.column = 0;
		for (size_t i = 0; i < p->problem_offset; i++) {
			at.line += text[i] == '\n';
			at.column = text[i] == '\n' ? 0 : at.column + 1;
		}
	}
	if (p->context) {
		return tc_err_set(err, "%s:%zu:%zu: %s (%s at %zu:%zu)", name, at.line + 1,
			at.column + 1, p->problem, p->context, p->context_mark.line + 1,
			p->context_mark.column + 1);
	}
	return tc_err_set(err, "%s:%zu:%zu: %s", name, at.line + 1, at.column + 1,
		p->problem ? p->problem : "syntax error");
}

/* Loads the one document of the stream into doc. */
static int load_document(yaml_document_t *doc, const char *name, const char *text,
	size_t len, char *err)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	if (!yaml_parser_initialize(&parser)) {
		return tc_err_set(err, "%s: out of memory while parsing", name);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, doc)) {
		syntax_error(name, text, &parser, err);
		goto err_parser;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		syntax_error(name, text, &parser, err);
		goto err_doc;
	}
	int more = yaml_document_get_root_node(&extra) != NULL;
	yaml_mark_t at = extra.start_mark;
	yaml_document_delete(&extra);
	if (more) {
		tc_err_set(err, "%s:%zu:%zu: a second YAML document; only one is allowed", name,
			at.line + 1, at.column + 1);
		goto err_doc;
	}
	yaml_parser_delete(&parser);
	return 0;
err_doc:
	yaml_document_delete(doc);
err_parser:
	yaml_parser_delete(&parser);
	return -1;
}

/* What model.intervals and anomaly need of the rest: keys of several
 * sections, so checked once all are read. */
static int check_intervals(const struct tc_config *cfg, const char *name, char *err)
{
	const struct tc_interval_config *iv = &cfg->intervals;
	if (cfg->anomaly.enabled && !iv->enabled) {
		return tc_err_set(err, "%s: anomaly: needs model.intervals (an event is a reading "
			"outside the interval forecast for it)", name);
	}
	if (iv->enabled && iv->target >= cfg->model.input_size) {
		return tc_err_set(err, "%s: model.intervals.target: column %d, but readings have %d "
			"value%s (model.input_size; columns count from 0)", name, iv->target,
			cfg->model.input_size, cfg->model.input_size == 1 ? "" : "s");
	}
	if (iv->enabled && cfg->model.outputs > TC_CONFIG_MAX_INTERVAL_OUTPUTS) {
		return tc_err_set(err, "%s: model.intervals: the head has %d outputs; intervals take "
			"at most %d (each series keeps outputs x outputs forecasts)", name,
			cfg->model.outputs, TC_CONFIG_MAX_INTERVAL_OUTPUTS);
	}
	return 0;
}

int tc_config_parse(struct tc_config *cfg, const char *name, const char *text,
	size_t len, char *err)
{
	yaml_document_t doc;
	tc_config_init(cfg);
	if (strlen(name) >= sizeof cfg->path) {
		return tc_err_set(err, "%.64s...: config path too long", name);
	}
	memcpy(cfg->path, name, strlen(name) + 1);
	if (load_document(&doc, name, text, len, err) < 0) {
		return -1;
	}
	int rc = tc_option_walk(root_options, &doc, name, cfg, err);
	yaml_document_delete(&doc);
	if (rc == 0) {
		tc_config_model_finish(cfg);
		rc = check_intervals(cfg, name, err);
	}
	if (rc == 0) {
		rc = tc_config_cluster_check(cfg, name, err);
	}
	return rc;
}

/* Reads at most CONFIG_MAX_BYTES of path into a malloc'd buffer. */
static char *read_file(const char *path, size_t *len, char *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		tc_err_set(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(CONFIG_MAX_BYTES + 1);
	if (!buf) {
		tc_err_set(err, "%s: out of memory", path);
		goto err_file;
	}
	*len = fread(buf, 1, CONFIG_MAX_BYTES + 1, f);
	if (ferror(f)) {
		tc_err_set(err, "%s: %s", path, strerror(errno));
		goto err_buf;
	}
	if (*len > CONFIG_MAX_BYTES) {
		tc_err_set(err, "%s: larger than 1 MiB, too big for a config file", path);
		goto err_buf;
	}
	fclose(f);
	return buf;
err_buf:
	free(buf);
err_file:
	fclose(f);
	return NULL;
}

int tc_config_load(struct tc_config *cfg, const char *path, char *err)
{
	size_t len;
	char *text = read_file(path, &len, err);
	if (!text) {
		return -1;
	}
	int rc = tc_config_parse(cfg, path, text, len, err);
	free(text);
	return rc;
}
