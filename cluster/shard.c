/* shard.c -- one partition of a cluster member (shard.h). */
#include "shard.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "message.h"
#include "partition.h"
#include "tick_checkpoint.h"

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(const struct tc_shard *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(const struct tc_shard *s, int level, const char *fmt, ...)
{
	char line[TC_ERR_LEN + 128];
	int n = snprintf(line, sizeof line, "partition %u: ", s->partition);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	s->env->log(s->env->log_ud, level, line);
}

/* Restores the partition's newest checkpoint, if it has one. */
static int restore(struct tc_shard *s, char *err)
{
	void *image = NULL;
	size_t len = 0;
	struct tc_ckpt_manifest m;
	int found = tc_ckpt_store_get(s->env->store, s->partition, &image, &len, &m, err);
	if (found <= 0) {
		return found;
	}
	int other_weights = 0, rc = -1;
	if ((int)m.partitions != s->env->cfg->cluster.partitions) {
		tc_err_set(err, "partition %u: its checkpoint (epoch %llu) is of %u partitions, the "
			"config says %d", s->partition, (unsigned long long)m.epoch, m.partitions,
			s->env->cfg->cluster.partitions);
	} else if (tc_checkpoint_load_bytes(s->image, image, len, err) < 0
		|| tc_tick_checkpoint_fits(s->tick, s->image, &other_weights, err) < 0
		|| tc_tick_restore(s->tick, s->image, err) < 0) {
		tc_err_prefix(err, "partition %u: checkpoint epoch %llu", s->partition,
			(unsigned long long)m.epoch);
	} else {
		s->next = m.position;
		s->epoch = s->restored_epoch = m.epoch;
		s->restored = 1;
		say(s, 2, "restored checkpoint epoch %llu (%llu bytes%s); replaying from stream "
			"sequence %llu, %u reading%s of it already applied", (unsigned long long)m.epoch,
			(unsigned long long)len, other_weights ? ", made with other weights" : "",
			(unsigned long long)m.position.resume_seq, m.position.resume_skip,
			m.position.resume_skip == 1 ? "" : "s");
		rc = 1;
	}
	tc_ckpt_manifest_release(&m);
	free(image);
	return rc;
}

int tc_shard_open(struct tc_shard *s, uint32_t p, const struct tc_shard_env *env, char *err)
{
	const struct tc_config *cfg = env->cfg;
	memset(s, 0, sizeof *s);
	s->partition = p;
	s->env = env;
	s->next.resume_seq = 1;
	s->last_checkpoint_ms = wall_ms();
	const struct tc_scaler_config *scaler = cfg->scaler.type == TC_SCALER_NONE ? NULL
		: &cfg->scaler;
	if (!(s->image = tc_checkpoint_create())) {
		return tc_err_set(err, "out of memory for partition %u's checkpoint", p);
	}
	if (!(s->tick = tc_tick_create(&cfg->tick, env->model, (size_t)cfg->series.max,
		(uint64_t)cfg->series.ttl_ticks, scaler, err))
		|| tc_tick_set_intervals(s->tick, &cfg->intervals, &cfg->anomaly, err) < 0
		|| restore(s, err) < 0) {
		tc_shard_close(s);
		return -1;
	}
	return 0;
}

void tc_shard_close(struct tc_shard *s)
{
	tc_tick_destroy(&s->tick);
	tc_checkpoint_destroy(&s->image);
}

/* A closed tick: its forecasts out, and a snapshot when one is due (the
 * engine holds no open tick while it emits). */
static int emit(void *ud, const struct tc_forecasts *f)
{
	struct tc_shard *s = ud;
	const struct tc_shard_env *env = s->env;
	s->stats.forecasts += tc_forecast_out_publish(env->out, f, env->stop,
		&s->stats.forecast_failures);
	if (env->also) {
		env->also->emit(env->also->ud, f);
	}
	int64_t now = wall_ms();
	if (now - s->last_checkpoint_ms < (int64_t)env->cfg->cluster.checkpoint_every_s * 1000) {
		return 0;
	}
	char err[TC_ERR_LEN];
	s->last_checkpoint_ms = now;
	if (tc_tick_checkpoint(s->tick, s->image, err) < 0) {
		s->stats.checkpoint_failures++;
		say(s, 0, "checkpoint: %s", err);
		return 0;
	}
	s->snapshot_due = 1;
	s->snapshot_at = (struct tc_ckpt_position){s->next.resume_seq, s->reading_index};
	return 0;
}

static void accept(void *ud, const struct tc_reading *r)
{
	struct tc_shard *s = ud;
	uint32_t index = s->reading_index++;
	if (index < s->skip) {
		return;
	}
	const struct tc_config *cfg = s->env->cfg;
	if (tc_partition_of(r->id, r->id_len, (uint32_t)cfg->cluster.partitions) != s->partition) {
		s->stats.misrouted++;
		return;
	}
	if (!tc_forecast_out_id_ok(r->id, r->id_len)) {
		s->stats.unroutable++;
		return;
	}
	/* The index of the reading being filed, for a checkpoint its close takes. */
	s->reading_index = index;
	struct tc_emitter out = {emit, s};
	enum tc_reject why;
	char err[TC_ERR_LEN];
	if (tc_tick_offer(s->tick, r, &out, &why, err) < 0) {
		say(s, 0, "tick: %s", err);
	}
	s->reading_index = index + 1;
	s->stats.readings++;
}

static void reject(void *ud, enum tc_reject why, const char *detail)
{
	struct tc_shard *s = ud;
	(void)why;
	s->stats.bad_readings++;
	if (s->stats.bad_readings <= 10 || s->stats.bad_readings % 10000 == 0) {
		say(s, 1, "stream sequence %llu: %s (%llu bad readings so far)",
			(unsigned long long)s->next.resume_seq, detail,
			(unsigned long long)s->stats.bad_readings);
	}
}

void tc_shard_apply(struct tc_shard *s, uint64_t seq, const void *body, size_t len)
{
	if (seq < s->next.resume_seq) {
		s->stats.duplicates++;
		return;
	}
	s->skip = seq == s->next.resume_seq ? s->next.resume_skip : 0;
	s->next = (struct tc_ckpt_position){seq, 0};
	s->reading_index = 0;
	uint64_t bad = s->stats.bad_readings;
	struct tc_frame frame = {body, len};
	struct tc_reading_sink sink = {accept, reject, s};
	tc_message_parse(&frame, 1, s->env->cfg->model.input_size,
		(size_t)s->env->cfg->ingest.max_message_bytes, &sink);
	s->stats.bad_messages += s->stats.bad_readings != bad;
	s->stats.messages++;
	s->next = (struct tc_ckpt_position){seq + 1, 0};
	tc_shard_flush(s);
}

void tc_shard_flush(struct tc_shard *s)
{
	if (!s->snapshot_due) {
		return;
	}
	s->snapshot_due = 0;
	size_t len;
	const unsigned char *bytes = tc_checkpoint_seal(s->image, &len);
	struct tc_ckpt_manifest m;
	char err[TC_ERR_LEN];
	int rc = tc_ckpt_store_put(s->env->store, s->partition,
		(uint32_t)s->env->cfg->cluster.partitions, &s->snapshot_at, bytes, len, &m, err);
	if (rc < 0) {
		s->stats.checkpoint_failures++;
		say(s, 0, "checkpoint not written (the previous one stands): %s", err);
		return;
	}
	if (rc == 1) {
		say(s, 1, "checkpoint epoch %llu written, but older ones not purged: %s",
			(unsigned long long)m.epoch, err);
	}
	s->epoch = m.epoch;
	s->stats.checkpoints++;
	tc_ckpt_manifest_release(&m);
}
