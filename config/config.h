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
enum tc_scaler { TC_SCALER_NONE };

struct tc_tick_config {
	enum tc_clock clock;
	int interval_ms;           /* ms per tick (wall) or per bucket (event) */
	int flush_ms;              /* event clock: close an idle bucket after this many ms */
	enum tc_aggregate aggregate;
	enum tc_missing missing;
};

struct tc_config {
	char path[TC_PATH_MAX];         /* the file it was read from */
	char weights_path[TC_PATH_MAX]; /* model.weights, resolved against path's folder */
	struct tc_model_spec model;
	enum tc_scaler scaler;
	struct tc_tick_config tick;
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
const char *tc_scaler_to_string(enum tc_scaler v);

#endif
