/* reload.c -- config and weights read again, validated, and swapped in. */
#include "reload.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "model_file.h"

struct tc_reloader {
	struct tc_ticker *ticker;    /* borrowed */
	pthread_mutex_t run_lock;    /* held through one whole reload: one at a time */

	pthread_mutex_t status_lock; /* short: guards status */
	struct tc_reload_status status;

	pthread_mutex_t request_lock; /* guards the request fields and wakes the thread */
	pthread_cond_t requested;
	char request[32];            /* trigger of the request waiting; "" for none */
	int stopping;
	pthread_t thread;
	int started;
};

struct tc_model *tc_reload_load(struct tc_config *cfg, const char *path, char sha256[65],
	char *err)
{
	if (tc_config_load(cfg, path, err) < 0) {
		return NULL;
	}
	struct tc_model *m = tc_model_file_load(&cfg->model, cfg->weights_path, err);
	if (m) {
		memcpy(sha256, tc_model_weights_sha256(m), 65);
	}
	return m;
}

/* The parts of the config that a reload applies; everything else needs a
 * restart. */
static void copy_reloadable(struct tc_config *to, const struct tc_config *from)
{
	memcpy(to->path, from->path, sizeof to->path);
	memcpy(to->weights_path, from->weights_path, sizeof to->weights_path);
	to->model = from->model;
	to->model_reset_state_on_change = from->model_reset_state_on_change;
}

/* Names what changed outside the reloadable parts: it takes effect on
 * restart. (Scalers are per-series running figures; changing their rule
 * under live series would mix two rules in one mean.) The comparison is of
 * the whole struct, so a section missing from the names below is still
 * reported; tc_config_parse zeroes the struct first, so padding compares. */
static void warn_restart_needed(const struct tc_config *old, const struct tc_config *new)
{
	static const struct {
		const char *name;
		size_t offset, size;
	} sections[] = {
#define SECTION(name, field) {name, offsetof(struct tc_config, field), sizeof(((struct tc_config *)0)->field)}
		SECTION("model.scaler section", scaler),
		SECTION("model.intervals section", intervals),
		SECTION("anomaly section", anomaly),
		SECTION("model.watch setting", model_watch),
		SECTION("tick section", tick),
		SECTION("ingest section", ingest),
		SECTION("publish section", publish),
		SECTION("control section", control),
		SECTION("series section", series),
		SECTION("metrics section", metrics),
		SECTION("log section", log_level),
#undef SECTION
	};
	struct tc_config *rest = malloc(sizeof *rest);
	if (!rest) {
		return;
	}
	memcpy(rest, new, sizeof *rest);
	copy_reloadable(rest, old);
	int named = 0;
	for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
		const char *a = (const char *)old + sections[i].offset;
		const char *b = (const char *)rest + sections[i].offset;
		if (memcmp(a, b, sections[i].size) != 0) {
			tc_log_warning("reload: the %s changed; it takes effect on restart",
				sections[i].name);
			named = 1;
		}
	}
	if (!named && memcmp(old, rest, sizeof *rest) != 0) {
		tc_log_warning("reload: a setting outside the model section changed; it takes effect "
			"on restart");
	}
	free(rest);
}

/* Loads, swaps, and on success makes the new model section the one serving.
 * No lock but run_lock is held while loading and swapping. */
static int reload(struct tc_reloader *r, char sha256[65], char *err)
{
	struct tc_config *old = malloc(sizeof *old), *cfg = malloc(sizeof *cfg);
	int rc = -1;
	if (!old || !cfg) {
		tc_err_set(err, "out of memory");
		goto out;
	}
	pthread_mutex_lock(&r->status_lock);
	*old = r->status.config;
	pthread_mutex_unlock(&r->status_lock);
	struct tc_model *m = tc_reload_load(cfg, old->path, sha256, err);
	if (!m || tc_ticker_swap_model(r->ticker, m, cfg->model_reset_state_on_change, err) < 0) {
		goto out;
	}
	warn_restart_needed(old, cfg);
	pthread_mutex_lock(&r->status_lock);
	copy_reloadable(&r->status.config, cfg);
	pthread_mutex_unlock(&r->status_lock);
	rc = 0;
out:
	free(old);
	free(cfg);
	return rc;
}

/* Publishes the outcome of one reload for status, and logs it. */
static void note_outcome(struct tc_reloader *r, const char *trigger, int rc,
	const char *sha256, const char *err)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char weights[TC_PATH_MAX];
	pthread_mutex_lock(&r->status_lock);
	struct tc_reload_status *s = &r->status;
	memcpy(weights, s->config.weights_path, sizeof weights);
	s->attempted = 1;
	s->when_unix_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	snprintf(s->trigger, sizeof s->trigger, "%s", trigger);
	s->ok = rc == 0;
	if (rc == 0) {
		s->ok_count++;
		s->error[0] = '\0';
		memcpy(s->sha256, sha256, sizeof s->sha256);
	} else {
		s->failed_count++;
		snprintf(s->error, sizeof s->error, "%s", err);
	}
	pthread_mutex_unlock(&r->status_lock);
	if (rc == 0) {
		tc_log_info("reload (%s): model swapped in, weights %s sha256 %s", trigger, weights,
			sha256);
	} else {
		tc_log_error("reload (%s) failed, the old model keeps serving: %s", trigger, err);
	}
}

int tc_reloader_run(struct tc_reloader *r, const char *trigger, char *err)
{
	char sha256[65] = "";
	pthread_mutex_lock(&r->run_lock);
	int rc = reload(r, sha256, err);
	note_outcome(r, trigger, rc, sha256, err);
	pthread_mutex_unlock(&r->run_lock);
	return rc;
}

static void *run(void *arg)
{
	struct tc_reloader *r = arg;
	pthread_mutex_lock(&r->request_lock);
	for (;;) {
		while (!r->request[0] && !r->stopping) {
			pthread_cond_wait(&r->requested, &r->request_lock);
		}
		if (r->stopping) {
			break;
		}
		char trigger[sizeof r->request], err[TC_ERR_LEN];
		memcpy(trigger, r->request, sizeof trigger);
		r->request[0] = '\0';
		pthread_mutex_unlock(&r->request_lock);
		tc_reloader_run(r, trigger, err); /* it logs the outcome */
		pthread_mutex_lock(&r->request_lock);
	}
	pthread_mutex_unlock(&r->request_lock);
	return NULL;
}

void tc_reloader_request(struct tc_reloader *r, const char *trigger)
{
	pthread_mutex_lock(&r->request_lock);
	snprintf(r->request, sizeof r->request, "%s", trigger);
	pthread_cond_signal(&r->requested);
	pthread_mutex_unlock(&r->request_lock);
}

struct tc_reloader *tc_reloader_create(const struct tc_config *cfg, const char *sha256,
	struct tc_ticker *tk, char *err)
{
	struct tc_reloader *r = calloc(1, sizeof *r);
	if (!r) {
		tc_err_set(err, "out of memory for the reloader");
		return NULL;
	}
	r->ticker = tk;
	pthread_mutex_init(&r->run_lock, NULL);
	pthread_mutex_init(&r->status_lock, NULL);
	pthread_mutex_init(&r->request_lock, NULL);
	pthread_cond_init(&r->requested, NULL);
	r->status.config = *cfg;
	snprintf(r->status.sha256, sizeof r->status.sha256, "%s", sha256);
	return r;
}

int tc_reloader_start(struct tc_reloader *r, char *err)
{
	if (pthread_create(&r->thread, NULL, run, r) != 0) {
		return tc_err_set(err, "cannot start the reload thread");
	}
	pthread_setname_np(r->thread, "tc-reload"); /* for top -H and gdb */
	r->started = 1;
	return 0;
}

void tc_reloader_destroy(struct tc_reloader **rp)
{
	if (!rp || !*rp) {
		return;
	}
	struct tc_reloader *r = *rp;
	if (r->started) {
		pthread_mutex_lock(&r->request_lock);
		r->stopping = 1;
		pthread_cond_signal(&r->requested);
		pthread_mutex_unlock(&r->request_lock);
		pthread_join(r->thread, NULL);
	}
	pthread_mutex_destroy(&r->run_lock);
	pthread_mutex_destroy(&r->status_lock);
	pthread_mutex_destroy(&r->request_lock);
	pthread_cond_destroy(&r->requested);
	free(r);
	*rp = NULL;
}

void tc_reloader_get_status(struct tc_reloader *r, struct tc_reload_status *s)
{
	pthread_mutex_lock(&r->status_lock);
	*s = r->status;
	pthread_mutex_unlock(&r->status_lock);
}
