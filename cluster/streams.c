/* streams.c -- cluster mode's JetStream streams, made or checked (see streams.h). */
#include "streams.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

#define READINGS_DESCRIPTION "tickcast readings: %" PRIu32 " partitions"
#define CKPT_DESCRIPTION "tickcast checkpoints"
#define READINGS_SCAN "tickcast readings: %" SCNu32 " partitions%c"
#define NS_PER_S ((int64_t)1000000000)

int tc_cluster_prefix_check(const char *prefix, char *err)
{
	size_t len = strlen(prefix);
	if (len == 0 || len > TC_PREFIX_MAX) {
		return tc_err_set(err, "cluster prefix \"%s\": must be 1 to %d bytes", prefix,
			TC_PREFIX_MAX);
	}
	int token = 0; /* bytes in the current token */
	for (size_t i = 0; i <= len; i++) {
		char ch = prefix[i];
		if (ch == '.' || ch == '\0') {
			if (token == 0) {
				return tc_err_set(err, "cluster prefix \"%s\": an empty token at byte %zu "
					"(expected tokens separated by single dots)", prefix, i);
			}
			token = 0;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '_' || ch == '-') {
			token++;
		} else {
			return tc_err_set(err, "cluster prefix \"%s\": byte %zu (0x%02x) is not one of "
				"A-Z a-z 0-9 _ - or a dot", prefix, i, (unsigned char)ch);
		}
	}
	return 0;
}

/* prefix with every . as _, then suffix. */
static void stream_name(const char *prefix, const char *suffix, char *out)
{
	snprintf(out, TC_STREAM_NAME_MAX, "%s%s", prefix, suffix);
	for (char *p = out; *p; p++) {
		*p = *p == '.' ? '_' : *p;
	}
}

void tc_streams_names(const char *prefix, char *readings_name, char *ckpt_name)
{
	stream_name(prefix, "_readings", readings_name);
	stream_name(prefix, "_checkpoints", ckpt_name);
}

/* What one stream should be; the parts the two streams differ in. */
struct want {
	const char *name;
	char description[64];
	char subject[TC_PREFIX_MAX + 32];
	int64_t max_age_ns; /* 0 = none */
	int64_t max_bytes;  /* -1 = none */
	int replicas;
};

/* The stream's info, or NULL: *missing is 1 if it does not exist, else err is set. */
static jsStreamInfo *stream_info(jsCtx *js, const char *name, int *missing, char *err)
{
	jsStreamInfo *si = NULL;
	jsErrCode code = 0;
	natsStatus s = js_GetStreamInfo(&si, js, name, NULL, &code);
	*missing = s == NATS_NOT_FOUND || code == JSStreamNotFoundErr;
	if (s != NATS_OK && !*missing) {
		tc_err_set(err, "stream %s: %s", name, nats_GetLastError(NULL));
	}
	return s == NATS_OK ? si : NULL;
}

static int add_stream(jsCtx *js, const struct want *w, char *err)
{
	jsStreamConfig cfg;
	jsStreamConfig_Init(&cfg);
	const char *subjects[] = {w->subject};
	cfg.Name = w->name;
	cfg.Description = w->description;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Retention = js_LimitsPolicy;
	cfg.Storage = js_FileStorage;
	cfg.Replicas = w->replicas;
	cfg.MaxAge = w->max_age_ns;
	cfg.MaxBytes = w->max_bytes;
	jsStreamInfo *si = NULL;
	jsErrCode code = 0;
	if (js_AddStream(&si, js, &cfg, NULL, &code) != NATS_OK) {
		return tc_err_set(err, "adding stream %s (subjects %s, %d replicas): %s", w->name,
			w->subject, w->replicas, nats_GetLastError(NULL));
	}
	jsStreamInfo_Destroy(si);
	return 0;
}

/* A present stream: its subjects must be ours; replicas and limits follow the config. */
static int fit_stream(jsCtx *js, jsStreamInfo *si, const struct want *w, char *err)
{
	jsStreamConfig *c = si->Config;
	if (c->SubjectsLen != 1 || strcmp(c->Subjects[0], w->subject) != 0) {
		return tc_err_set(err, "stream %s exists with other subjects than %s (%d subjects, "
			"the first \"%s\"); use another cluster prefix or remove the stream", w->name,
			w->subject, c->SubjectsLen, c->SubjectsLen ? c->Subjects[0] : "");
	}
	if (c->Storage != js_FileStorage) {
		return tc_err_set(err, "stream %s exists with memory storage; tickcast needs file "
			"storage (remove the stream, or use another cluster prefix)", w->name);
	}
	int64_t max_bytes = c->MaxBytes < 0 ? -1 : c->MaxBytes;
	if (c->Replicas == w->replicas && c->MaxAge == w->max_age_ns && max_bytes == w->max_bytes) {
		return 0;
	}
	c->Replicas = w->replicas;
	c->MaxAge = w->max_age_ns;
	c->MaxBytes = w->max_bytes;
	jsStreamInfo *updated = NULL;
	jsErrCode code = 0;
	if (js_UpdateStream(&updated, js, c, NULL, &code) != NATS_OK) {
		return tc_err_set(err, "updating stream %s to %d replicas, max age %" PRId64 " s, max "
			"bytes %" PRId64 ": %s", w->name, w->replicas, w->max_age_ns / NS_PER_S,
			w->max_bytes, nats_GetLastError(NULL));
	}
	jsStreamInfo_Destroy(updated);
	return 0;
}

/* The partition count in a readings stream's description. */
static int recorded_partitions(const jsStreamInfo *si, const char *name, uint32_t *p, char *err)
{
	const char *d = si->Config->Description ? si->Config->Description : "";
	char rest;
	if (sscanf(d, READINGS_SCAN, p, &rest) != 1 || *p == 0) {
		return tc_err_set(err, "stream %s was not made by tickcast: its description \"%s\" "
			"does not record a partition count (\"tickcast readings: N partitions\")", name, d);
	}
	return 0;
}

static int ensure_one(jsCtx *js, const struct want *w, uint32_t partitions, char *err)
{
	int missing;
	jsStreamInfo *si = stream_info(js, w->name, &missing, err);
	if (!si) {
		return missing ? add_stream(js, w, err) : -1;
	}
	int rc = 0;
	uint32_t had;
	if (partitions && (rc = recorded_partitions(si, w->name, &had, err)) == 0 &&
		had != partitions) {
		rc = tc_err_set(err, "stream %s has %" PRIu32 " partitions, the config says %" PRIu32
			": a partition count is fixed for a stream's life (a series' partition is its "
			"id's hash mod it); keep %" PRIu32 ", or use another cluster prefix", w->name,
			had, partitions, had);
	}
	if (rc == 0) {
		rc = fit_stream(js, si, w, err);
	}
	jsStreamInfo_Destroy(si);
	return rc;
}

int tc_streams_ensure(jsCtx *js, const struct tc_streams_config *cfg, char *err)
{
	if (tc_cluster_prefix_check(cfg->prefix, err) < 0) {
		return -1;
	}
	if (cfg->partitions < 1 || cfg->partitions > TC_PARTITIONS_MAX || cfg->replicas < 1 ||
		cfg->replicas > 5 || cfg->max_age_s < 0 || cfg->max_bytes < 0) {
		return tc_err_set(err, "streams: partitions %" PRIu32 " (1..%d), replicas %d (1..5), "
			"max age %" PRId64 " s and max bytes %" PRId64 " (0 = none) are not all valid",
			cfg->partitions, TC_PARTITIONS_MAX, cfg->replicas, cfg->max_age_s,
			cfg->max_bytes);
	}
	char readings[TC_STREAM_NAME_MAX], ckpt[TC_STREAM_NAME_MAX];
	tc_streams_names(cfg->prefix, readings, ckpt);
	struct want r = {.name = readings, .max_age_ns = cfg->max_age_s * NS_PER_S,
		.max_bytes = cfg->max_bytes ? cfg->max_bytes : -1, .replicas = cfg->replicas};
	snprintf(r.description, sizeof r.description, READINGS_DESCRIPTION, cfg->partitions);
	snprintf(r.subject, sizeof r.subject, "%s.readings.*", cfg->prefix);
	struct want c = {.name = ckpt, .description = CKPT_DESCRIPTION, .max_age_ns = 0,
		.max_bytes = -1, .replicas = cfg->replicas};
	snprintf(c.subject, sizeof c.subject, "%s.checkpoints.>", cfg->prefix);
	if (ensure_one(js, &r, cfg->partitions, err) < 0) {
		return -1;
	}
	return ensure_one(js, &c, 0, err);
}

int tc_streams_partitions(jsCtx *js, const char *prefix, uint32_t *partitions, char *err)
{
	if (tc_cluster_prefix_check(prefix, err) < 0) {
		return -1;
	}
	char readings[TC_STREAM_NAME_MAX], ckpt[TC_STREAM_NAME_MAX];
	tc_streams_names(prefix, readings, ckpt);
	int missing;
	jsStreamInfo *si = stream_info(js, readings, &missing, err);
	if (!si) {
		return missing ? tc_err_set(err, "no stream %s: start a tickcastd member with cluster "
			"prefix %s first, or give the partition count", readings, prefix) : -1;
	}
	int rc = recorded_partitions(si, readings, partitions, err);
	jsStreamInfo_Destroy(si);
	return rc;
}
