/* reload.h -- reading the config and weights again and swapping the model.
 *
 * A reload parses the config file into a fresh struct and builds the model
 * without any lock that status or the tick thread take; only then is the
 * model handed to the ticker, which swaps it in at a tick boundary, and the
 * outcome is published for `status` under a short lock. Any failure (a
 * missing or half-written file, wrong shapes, a changed input size) leaves
 * the old model serving and is remembered for `status`. Only the model
 * section takes effect on reload; a change elsewhere is logged as needing a
 * restart. Reloads are serialized.
 *
 * SIGHUP and the file watch ask for a reload with tc_reloader_request, which
 * returns at once: the reloader's own thread runs it, so the main loop keeps
 * answering systemd. The control socket's `reload` runs one with
 * tc_reloader_run on its own thread, since it replies with the outcome. */
#ifndef TC_RELOAD_H
#define TC_RELOAD_H

#include <stdint.h>

#include "config.h"
#include "error.h"
#include "model.h"
#include "ticker.h"

struct tc_reload_status {
	struct tc_config config;     /* the config serving now */
	char sha256[65];             /* of the weights bytes serving now, hex */
	int attempted;               /* 0 until the first reload */
	int64_t when_unix_ms;        /* of the last reload */
	char trigger[32];            /* "SIGHUP", "control", "watch" */
	int ok;
	char error[TC_ERR_LEN];      /* why it failed, when it did */
	uint64_t ok_count, failed_count;
};

/* Reads the config at path into cfg and builds its model from the weights
 * file, read once: sha256 (hex) is of exactly the bytes the model was built
 * from. Returns the model (the caller's), or NULL and err. */
struct tc_model *tc_reload_load(struct tc_config *cfg, const char *path, char sha256[65],
	char *err);

struct tc_reloader;

/* A reloader for the daemon started with cfg (copied), whose weights hash
 * to sha256 (hex), swapping models into tk (borrowed; destroy the reloader
 * first). NULL and err on failure. */
struct tc_reloader *tc_reloader_create(const struct tc_config *cfg, const char *sha256,
	struct tc_ticker *tk, char *err);

/* Starts the thread that serves tc_reloader_request. Returns 0 or -1 with err. */
int tc_reloader_start(struct tc_reloader *r, char *err);

/* Waits for a reload in progress, stops the thread, frees *r; *r = NULL. */
void tc_reloader_destroy(struct tc_reloader **r);

/* Asks the reloader's thread for a reload (`trigger` says why, copied) and
 * returns at once; requests made while one waits are served by it. */
void tc_reloader_request(struct tc_reloader *r, const char *trigger);

/* Reloads and swaps on the calling thread. Returns 0, or -1 with err. */
int tc_reloader_run(struct tc_reloader *r, const char *trigger, char *err);

/* The last outcome; never waits for a reload in progress. */
void tc_reloader_get_status(struct tc_reloader *r, struct tc_reload_status *s);

#endif
