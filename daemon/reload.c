/* reload.c -- config and weights read again, validated, and swapped in. */
#include "reload.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct tc_reloader {
	pthread_mutex_t lock;        /* one reload at a time; guards status */
	struct tc_reload_status status;
};

struct tc_reloader *tc_reloader_create(const struct tc_config *cfg, const char *sha256)
{
	struct tc_reloader *r = calloc(1, sizeof *r);
	if (!r) {
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->status.config = *cfg;
	snprintf(r->status.sha256, sizeof r->status.sha256, "%s", sha256);
	return r;
}

void tc_reloader_destroy(struct tc_reloader **rp)
{
	if (!rp || !*rp) {
		return;
	}
	pthread_mutex_destroy(&(*rp)->lock);
	free(*rp);
	*rp = NULL;
}

int tc_sha256_file(const char *path, char hex[65], char *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return tc_err_set(err, "%s: %s", path, strerror(errno));
	}
	struct sha256_ctx ctx;
	sha256_init(&ctx);
	unsigned char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		sha256_update(&ctx, (size_t)n, buf);
	}
	int saved = errno;
	close(fd);
	if (n < 0) {
		return tc_err_set(err, "%s: %s", path, strerror(saved));
	}
	unsigned char digest[SHA256_DIGEST_SIZE];
	sha256_digest(&ctx, sizeof digest, digest);
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	}
	return 0;
}

/* Names the sections other than model, and model.scaler, that differ: they
 * need a restart. (Scalers are per-series running figures; changing their
 * rule under live series would mix two rules in one mean.) */
static void warn_restart_needed(const struct tc_config *old, const struct tc_config *new)
{
	const struct {
		const char *name;
		int differs;
	} sections[] = {
		{"model.scaler", old->scaler.type != new->scaler.type
			|| old->scaler.alpha != new->scaler.alpha
			|| old->scaler.warmup != new->scaler.warmup},
		{"tick", memcmp(&old->tick, &new->tick, sizeof old->tick) != 0},
		{"ingest", memcmp(&old->ingest, &new->ingest, sizeof old->ingest) != 0},
		{"publish", memcmp(&old->publish, &new->publish, sizeof old->publish) != 0},
		{"control", memcmp(&old->control, &new->control, sizeof old->control) != 0},
		{"series", memcmp(&old->series, &new->series, sizeof old->series) != 0},
	};
	for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
		if (sections[i].differs) {
			tc_log_warning("reload: the %s section changed; it takes effect on restart",
				sections[i].name);
		}
	}
}

static int reload(struct tc_reloader *r, struct tc_ticker *tk, char *sha256, char *err)
{
	struct tc_config *cfg = malloc(sizeof *cfg);
	if (!cfg) {
		return tc_err_set(err, "out of memory");
	}
	int rc = -1;
	if (tc_config_load(cfg, r->status.config.path, err) < 0
		|| tc_sha256_file(cfg->weights_path, sha256, err) < 0) {
		goto out;
	}
	struct tc_model *m = tc_model_load(&cfg->model, cfg->weights_path, err);
	if (!m || tc_ticker_swap_model(tk, m, cfg->model_reset_state_on_change, err) < 0) {
		goto out;
	}
	warn_restart_needed(&r->status.config, cfg);
	r->status.config.model = cfg->model;
	memcpy(r->status.config.weights_path, cfg->weights_path, sizeof cfg->weights_path);
	r->status.config.model_reset_state_on_change = cfg->model_reset_state_on_change;
	rc = 0;
out:
	free(cfg);
	return rc;
}

int tc_reloader_run(struct tc_reloader *r, struct tc_ticker *tk, const char *trigger, char *err)
{
	char sha256[65];
	pthread_mutex_lock(&r->lock);
	int rc = reload(r, tk, sha256, err);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tc_reload_status *s = &r->status;
	s->attempted = 1;
	s->when_unix_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	snprintf(s->trigger, sizeof s->trigger, "%s", trigger);
	s->ok = rc == 0;
	if (rc == 0) {
		s->ok_count++;
		s->error[0] = '\0';
		memcpy(s->sha256, sha256, sizeof s->sha256);
		tc_log_info("reload (%s): model swapped in, weights %s sha256 %s", trigger,
			s->config.weights_path, s->sha256);
	} else {
		s->failed_count++;
		snprintf(s->error, sizeof s->error, "%s", err);
		tc_log_error("reload (%s) failed, the old model keeps serving: %s", trigger, err);
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void tc_reloader_get_status(struct tc_reloader *r, struct tc_reload_status *s)
{
	pthread_mutex_lock(&r->lock);
	*s = r->status;
	pthread_mutex_unlock(&r->lock);
}
