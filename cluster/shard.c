/* shard.c -- one partition of a cluster member (shard.h). */
#include "shard.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "message.h"
#include "partition.h"
#include "tick_checkpoint.h"

/* A message's readings side by side (tick.h's tc_reading_batch), kept
 * from message to message so that a steady stream allocates nothing. */
struct tc_shard_batch {
	size_t n, cap;
	char *ids;
	size_t ids_len, ids_cap;
	size_t *id_off;
	uint8_t *id_len;
	double *time;
	float *values;
	uint32_t *index;             /* [n]: each reading's number in its message */
	int width;                   /* values a reading */
	int failed;                  /* out of memory: the rest of the message is dropped */
};

/* Makes *p hold want items of size bytes (*cap of them), doubling. */
static int grow(void **p, size_t *cap, size_t want, size_t size)
{
	if (want <= *cap) {
		return 0;
	}
	size_t n = *cap ? *cap : 256;
	while (n < want) {
		n *= 2;
	}
	void *q = realloc(*p, n * size);
	if (!q) {
		return -1;
	}
	*p = q;
	*cap = n;
	return 0;
}

/* Makes room for one more reading in every per-reading array. */
static int batch_room(struct tc_shard_batch *b)
{
	if (b->n < b->cap) {
		return 0;
	}
	size_t want = b->n + 1, c;
	if ((c = b->cap, grow((void **)&b->id_off, &c, want, sizeof *b->id_off)) < 0
		|| (c = b->cap, grow((void **)&b->id_len, &c, want, sizeof *b->id_len)) < 0
		|| (c = b->cap, grow((void **)&b->time, &c, want, sizeof *b->time)) < 0
		|| (c = b->cap, grow((void **)&b->index, &c, want, sizeof *b->index)) < 0
		|| (c = b->cap, grow((void **)&b->values, &c, want,
			(size_t)b->width * sizeof *b->values)) < 0) {
		return -1;
	}
	b->cap = c;
	return 0;
}

/* Appends r, the index-th reading of its message; -1 out of memory. */
static int batch_add(struct tc_shard_batch *b, const struct tc_reading *r, uint32_t index)
{
	if (batch_room(b) < 0 || grow((void **)&b->ids, &b->ids_cap, b->ids_len + r->id_len, 1) < 0) {
		return -1;
	}
	memcpy(b->ids + b->ids_len, r->id, r->id_len);
	b->id_off[b->n] = b->ids_len;
	b->id_len[b->n] = (uint8_t)r->id_len;
	b->ids_len += r->id_len;
	b->time[b->n] = r->has_time ? r->time : NAN;
	memcpy(b->values + b->n * (size_t)b->width, r->values, (size_t)b->width * sizeof(float));
	b->index[b->n] = index;
	b->n++;
	return 0;
}

static void batch_free(struct tc_shard_batch **bp)
{
	struct tc_shard_batch *b = *bp;
	if (b) {
		free(b->ids);
		free(b->id_off);
		free(b->id_len);
		free(b->time);
		free(b->values);
		free(b->index);
		free(b);
		*bp = NULL;
	}
}

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

#define RESTORE_TRIES 20        /* a checkpoint that cannot be read is tried this often, */
#define RESTORE_RETRY_NS 500000000L /* this far apart (a new stream's leader takes seconds) */

/* Partition p's newest checkpoint, as tc_ckpt_store_get; one that cannot be
 * read is tried again for 10 s (said once), then its error stands. */
static int fetch(struct tc_shard *s, void **image, size_t *len, struct tc_ckpt_manifest *m,
	char *err)
{
	const struct timespec pause = {0, RESTORE_RETRY_NS};
	for (int tries = 1;; tries++) {
		int found = tc_ckpt_store_get(s->env->store, s->partition, image, len, m, err);
		if (found >= 0 || tries == RESTORE_TRIES) {
			return found;
		}
		if (tries == 1) {
			say(s, 1, "%s; trying again for %d s", err,
				(int)(RESTORE_TRIES * RESTORE_RETRY_NS / 1000000000L));
		}
		nanosleep(&pause, NULL);
	}
}

/* Restores the partition's newest checkpoint, if it has one. */
static int restore(struct tc_shard *s, char *err)
{
	void *image = NULL;
	size_t len = 0;
	struct tc_ckpt_manifest m;
	int found = fetch(s, &image, &len, &m, err);
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
	if (!(s->image = tc_checkpoint_create()) || !(s->batch = calloc(1, sizeof *s->batch))) {
		tc_shard_close(s);
		return tc_err_set(err, "out of memory for partition %u", p);
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
	batch_free(&s->batch);
}

/* A closed tick: its forecasts out, and a snapshot when one is due (the
 * engine holds no open tick while it emits). */
static int emit(void *ud, const struct tc_forecasts *f)
{
	struct tc_shard *s = ud;
	const struct tc_shard_env *env = s->env;
	s->stats.forecasts += tc_forecast_out_publish(env->out, f, env->stop,
		&s->stats.forecast_failures, &s->stats.anomalies);
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
	s->snapshot_taken = 1; /* its position: the reading that closed, once the offer returns */
	return 0;
}

static void accept(void *ud, const struct tc_reading *r)
{
	struct tc_shard *s = ud;
	uint32_t index = s->reading_index++;
	if (index < s->skip || s->batch->failed) {
		return;
	}
	const struct tc_config *cfg = s->env->cfg;
	if (tc_partition_of(r->id, r->id_len, (uint32_t)cfg->cluster.partitions) != s->partition) {
		s->stats.misrouted++;
	} else if (!tc_forecast_out_id_ok(r->id, r->id_len)) {
		s->stats.unroutable++;
	} else if (batch_add(s->batch, r, index) < 0) {
		s->batch->failed = 1;
	}
}

/* Files the message's batch; a snapshot taken at a close records the
 * reading that closed (not filed yet) as where the message resumes. */
static void file_batch(struct tc_shard *s, uint64_t seq)
{
	struct tc_shard_batch *b = s->batch;
	const struct tc_reading_batch rb = {b->n, b->ids, b->id_off, b->id_len, b->time, b->values};
	const struct tc_emitter out = {emit, s};
	char err[TC_ERR_LEN];
	size_t next = 0;
	while (next < b->n) {
		s->snapshot_taken = 0;
		if (tc_tick_offer_batch(s->tick, &rb, &next, &out, err) < 0) {
			say(s, 0, "tick: %s", err);
		}
		if (s->snapshot_taken && next < b->n) {
			s->snapshot_at = (struct tc_ckpt_position){seq, b->index[next]};
		}
	}
	s->stats.readings += b->n;
	if (b->failed) {
		say(s, 0, "stream sequence %llu: out of memory: readings after the %zu-th were "
			"dropped", (unsigned long long)seq, b->n);
	}
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
	s->batch->n = s->batch->ids_len = 0;
	s->batch->failed = 0;
	s->batch->width = s->env->cfg->model.input_size;
	uint64_t bad = s->stats.bad_readings;
	struct tc_frame frame = {body, len};
	struct tc_reading_sink sink = {accept, reject, s};
	tc_message_parse(&frame, 1, s->env->cfg->model.input_size,
		(size_t)s->env->cfg->ingest.max_message_bytes, &sink);
	s->stats.bad_messages += s->stats.bad_readings != bad;
	file_batch(s, seq);
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
