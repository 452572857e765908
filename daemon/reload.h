/* reload.h -- reading the config and weights again and swapping the model.
 *
 * A reload parses the config file into a fresh struct and builds the model
 * off the tick thread; only then is the model handed to the ticker, which
 * swaps it in at a tick boundary. Any failure (a missing or half-written
 * file, wrong shapes, a changed input size) leaves the old model serving and
 * is remembered for `status`. Only the model section takes effect on reload;
 * a change elsewhere is logged as needing a restart. Reloads are serialized. */
#ifndef TC_RELOAD_H
#define TC_RELOAD_H

#include <stdint.h>

#include "config.h"
#include "error.h"
#include "ticker.h"

struct tc_reload_status {
	struct tc_config config;     /* the config serving now */
	char sha256[65];             /* of the weights serving now, hex */
	int attempted;               /* 0 until the first reload */
	int64_t when_unix_ms;        /* of the last reload */
	char trigger[32];            /* "SIGHUP", "control", "watch" */
	int ok;
	char error[TC_ERR_LEN];      /* why it failed, when it did */
	uint64_t ok_count, failed_count;
};

struct tc_reloader;

/* A reloader for the daemon started with cfg (copied), whose weights hash
 * to sha256 (hex). NULL when out of memory. */
struct tc_reloader *tc_reloader_create(const struct tc_config *cfg, const char *sha256);
void tc_reloader_destroy(struct tc_reloader **r);

/* Reloads and swaps via tk; `trigger` says why. Returns 0, or -1 with err. */
int tc_reloader_run(struct tc_reloader *r, struct tc_ticker *tk, const char *trigger, char *err);

void tc_reloader_get_status(struct tc_reloader *r, struct tc_reload_status *s);

/* The SHA-256 of a file's bytes as 64 hex digits. Returns 0 or -1 with err. */
int tc_sha256_file(const char *path, char hex[65], char *err);

#endif
