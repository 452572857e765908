/* member.c -- a cluster member's partitions, consumers and applying thread (member.h). */
#include "member.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "forecast_out.h"
#include "model.h"
#include "partition.h"
#include "streams.h"

#define INBOX_SLOTS 1024         /* messages received, not yet applied */
#define IDLE_WAIT_MS 100         /* the thread's longest sleep, so that its turns show */
#define SUBSCRIBE_TRIES 40       /* a consumer's creation is tried this often at start, */
#define SUBSCRIBE_RETRY_MS 250   /* this far apart (a stream without a leader for 10 s) */

struct queued {
	uint32_t shard;              /* index into shards */
	natsMsg *msg;
};

/* What a subscription's callback needs: its member and shard. */
struct route {
	struct tc_member *m;
	uint32_t shard;
};

struct tc_member {
	struct tc_member_env env;
	struct tc_shard_env shard_env;
	struct tc_forecast_out *out;
	uint32_t first, count;
	struct tc_shard *shards;         /* [count] */
	struct route *routes;            /* [count] */
	natsSubscription **subs;         /* [count] */
	char stream[TC_STREAM_NAME_MAX];  /* the readings stream's name */
	volatile int stop;
	pthread_t thread;
	int started;
	pthread_mutex_t lock;            /* the engines (shards) */
	pthread_mutex_t inbox_lock;
	pthread_cond_t has_msg, has_room;
	struct queued inbox[INBOX_SLOTS];
	size_t head, n_queued;
	int64_t last_turn_ms;            /* under inbox_lock */
	uint64_t series, ticks;          /* over every partition, under inbox_lock: the summary */
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tc_member_partitions(uint32_t partitions, uint32_t members, uint32_t k, uint32_t *first,
	uint32_t *count)
{
	uint64_t lo = (uint64_t)k * partitions / members;
	uint64_t hi = (uint64_t)(k + 1) * partitions / members;
	*first = (uint32_t)lo;
	*count = (uint32_t)(hi - lo);
}

static void close_shards(struct tc_member *m, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		tc_shard_close(&m->shards[i]);
	}
}

struct tc_member *tc_member_create(const struct tc_member_env *env, char *err)
{
	const struct tc_cluster_config *c = &env->cfg->cluster;
	struct tc_member *m = calloc(1, sizeof *m);
	if (!m) {
		tc_err_set(err, "out of memory");
		return NULL;
	}
	m->env = *env;
	tc_member_partitions((uint32_t)c->partitions, (uint32_t)c->members, (uint32_t)c->member,
		&m->first, &m->count);
	char ckpt_stream[TC_STREAM_NAME_MAX];
	tc_streams_names(c->prefix, m->stream, ckpt_stream);
	m->shards = calloc(m->count, sizeof *m->shards);
	m->routes = calloc(m->count, sizeof *m->routes);
	m->subs = calloc(m->count, sizeof *m->subs);
	if (!m->shards || !m->routes || !m->subs) {
		tc_err_set(err, "out of memory");
		goto fail;
	}
	if (!(m->out = tc_forecast_out_create(env->conn, c->prefix, env->cfg->publish.format,
		tc_model_get_spec(env->model)->outputs, err))) {
		goto fail;
	}
	m->shard_env = (struct tc_shard_env){env->cfg, env->model, env->store, m->out, env->also,
		&m->stop, env->log, env->log_ud};
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->inbox_lock, NULL);
	pthread_cond_init(&m->has_msg, NULL);
	pthread_cond_init(&m->has_room, NULL);
	for (uint32_t i = 0; i < m->count; i++) {
		m->routes[i] = (struct route){m, i};
		if (tc_shard_open(&m->shards[i], m->first + i, &m->shard_env, err) < 0) {
			close_shards(m, i);
			m->count = 0;
			tc_member_destroy(&m);
			return NULL;
		}
	}
	return m;
fail:
	tc_forecast_out_destroy(&m->out);
	free(m->shards);
	free(m->routes);
	free(m->subs);
	free(m);
	return NULL;
}

/* libnats' delivery thread of one partition: queue the message in order. */
static void on_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)nc;
	(void)sub;
	struct route *r = closure;
	struct tc_member *m = r->m;
	pthread_mutex_lock(&m->inbox_lock);
	while (m->n_queued == INBOX_SLOTS && !m->stop) {
		pthread_cond_wait(&m->has_room, &m->inbox_lock);
	}
	if (m->stop) {
		pthread_mutex_unlock(&m->inbox_lock);
		natsMsg_Destroy(msg);
		return;
	}
	m->inbox[(m->head + m->n_queued) % INBOX_SLOTS] = (struct queued){r->shard, msg};
	m->n_queued++;
	pthread_cond_signal(&m->has_msg);
	pthread_mutex_unlock(&m->inbox_lock);
}

/* Applies one message to its partition; a message without JetStream
 * metadata (not from the stream) is dropped. */
static void apply(struct tc_member *m, struct queued q)
{
	jsMsgMetaData *meta = NULL;
	if (natsMsg_GetMetaData(&meta, q.msg) != NATS_OK) {
		char line[128];
		snprintf(line, sizeof line, "partition %u: a message without JetStream metadata "
			"was dropped", m->first + q.shard);
		m->env.log(m->env.log_ud, 1, line);
		natsMsg_Destroy(q.msg);
		return;
	}
	struct tc_shard *s = &m->shards[q.shard];
	pthread_mutex_lock(&m->lock);
	uint64_t series = tc_registry_count(tc_tick_registry(s->tick));
	uint64_t ticks = tc_tick_get_stats(s->tick)->ticks;
	tc_shard_apply(s, meta->Sequence.Stream, natsMsg_GetData(q.msg),
		(size_t)natsMsg_GetDataLength(q.msg));
	series = tc_registry_count(tc_tick_registry(s->tick)) - series;
	ticks = tc_tick_get_stats(s->tick)->ticks - ticks;
	pthread_mutex_unlock(&m->lock);
	pthread_mutex_lock(&m->inbox_lock);
	m->series += series; /* modulo 2^64: a partition's series may also fall */
	m->ticks += ticks;
	pthread_mutex_unlock(&m->inbox_lock);
	jsMsgMetaData_Destroy(meta);
	natsMsg_Destroy(q.msg);
}

static void *run(void *arg)
{
	struct tc_member *m = arg;
	pthread_mutex_lock(&m->inbox_lock);
	while (!m->stop) {
		m->last_turn_ms = mono_ms();
		if (m->n_queued == 0) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += IDLE_WAIT_MS * 1000000L;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&m->has_msg, &m->inbox_lock, &until);
			continue;
		}
		struct queued q = m->inbox[m->head];
		m->head = (m->head + 1) % INBOX_SLOTS;
		m->n_queued--;
		pthread_cond_signal(&m->has_room);
		pthread_mutex_unlock(&m->inbox_lock);
		apply(m, q);
		pthread_mutex_lock(&m->inbox_lock);
	}
	pthread_mutex_unlock(&m->inbox_lock);
	return NULL;
}

static int subscribe(struct tc_member *m, uint32_t i, char *err)
{
	const struct tc_shard *s = &m->shards[i];
	char subject[TC_CLUSTER_PREFIX_MAX + 32];
	snprintf(subject, sizeof subject, "%s.readings.%u", m->env.cfg->cluster.prefix,
		s->partition);
	jsSubOptions so;
	jsSubOptions_Init(&so);
	so.Stream = m->stream;
	so.Ordered = true;
	so.Config.DeliverPolicy = js_DeliverByStartSequence;
	so.Config.OptStartSeq = s->next.resume_seq;
	jsErrCode jerr = 0;
	natsStatus st = NATS_ERR;
	for (int tries = 0; st != NATS_OK && tries < SUBSCRIBE_TRIES; tries++) {
		if (tries) {
			nats_Sleep(SUBSCRIBE_RETRY_MS);
		}
		st = js_Subscribe(&m->subs[i], m->env.js, subject, on_message, &m->routes[i], NULL,
			&so, &jerr);
	}
	if (st != NATS_OK) {
		return tc_err_set(err, "partition %u: cannot consume %s from sequence %llu: %s "
			"(JetStream error %d)", s->partition, subject,
			(unsigned long long)s->next.resume_seq, natsStatus_GetText(st), (int)jerr);
	}
	return 0;
}

/* A partition whose position the stream no longer holds (retention took
 * the readings after its checkpoint) has lost them: said and flagged. */
static void check_retention(struct tc_member *m)
{
	jsStreamInfo *si = NULL;
	if (js_GetStreamInfo(&si, m->env.js, m->stream, NULL, NULL) != NATS_OK) {
		return;
	}
	for (uint32_t i = 0; i < m->count; i++) {
		struct tc_shard *s = &m->shards[i];
		if (s->restored && s->next.resume_seq < si->State.FirstSeq) {
			s->retention_gap = 1;
			char line[256];
			snprintf(line, sizeof line, "partition %u: its checkpoint resumes at stream "
				"sequence %llu, but the stream now begins at %llu: the readings between "
				"were removed by its retention (cluster.max_age_s, max_bytes) and are lost "
				"to this partition", s->partition, (unsigned long long)s->next.resume_seq,
				(unsigned long long)si->State.FirstSeq);
			m->env.log(m->env.log_ud, 0, line);
		}
	}
	jsStreamInfo_Destroy(si);
}

int tc_member_start(struct tc_member *m, char *err)
{
	check_retention(m);
	int rc = pthread_create(&m->thread, NULL, run, m);
	if (rc != 0) {
		return tc_err_set(err, "cannot start the member thread: %s", strerror(rc));
	}
	m->started = 1;
	pthread_setname_np(m->thread, "tc-member");
	for (uint32_t i = 0; i < m->count; i++) {
		if (subscribe(m, i, err) < 0) {
			return -1;
		}
	}
	return 0;
}

void tc_member_destroy(struct tc_member **mp)
{
	struct tc_member *m = mp ? *mp : NULL;
	if (!m) {
		return;
	}
	for (uint32_t i = 0; i < m->count; i++) {
		if (m->subs[i]) {
			natsSubscription_Unsubscribe(m->subs[i]);
		}
	}
	pthread_mutex_lock(&m->inbox_lock);
	m->stop = 1;
	pthread_cond_broadcast(&m->has_room);
	pthread_cond_broadcast(&m->has_msg);
	pthread_mutex_unlock(&m->inbox_lock);
	if (m->started) {
		pthread_join(m->thread, NULL);
	}
	for (uint32_t i = 0; i < m->count; i++) {
		natsSubscription_Destroy(m->subs[i]);
	}
	for (; m->n_queued; m->n_queued--, m->head = (m->head + 1) % INBOX_SLOTS) {
		natsMsg_Destroy(m->inbox[m->head].msg);
	}
	for (uint32_t i = 0; i < m->count; i++) {
		tc_shard_flush(&m->shards[i]);
	}
	close_shards(m, m->count);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->inbox_lock);
	pthread_cond_destroy(&m->has_msg);
	pthread_cond_destroy(&m->has_room);
	tc_forecast_out_destroy(&m->out);
	free(m->shards);
	free(m->routes);
	free(m->subs);
	free(m);
	*mp = NULL;
}

void tc_member_summary(struct tc_member *m, struct tc_member_summary *out)
{
	pthread_mutex_lock(&m->inbox_lock);
	*out = (struct tc_member_summary){m->first, m->count, m->series, m->ticks,
		m->last_turn_ms};
	pthread_mutex_unlock(&m->inbox_lock);
}

int tc_member_status(struct tc_member *m, struct tc_member_status *st)
{
	memset(st, 0, sizeof *st);
	st->first = m->first;
	st->count = m->count;
	if (!(st->partitions = calloc(m->count ? m->count : 1, sizeof *st->partitions))) {
		return -1;
	}
	pthread_mutex_lock(&m->inbox_lock);
	st->queued = m->n_queued;
	pthread_mutex_unlock(&m->inbox_lock);
	pthread_mutex_lock(&m->lock);
	for (uint32_t i = 0; i < m->count; i++) {
		const struct tc_shard *s = &m->shards[i];
		struct tc_member_partition_status *p = &st->partitions[i];
		p->partition = s->partition;
		p->next = s->next;
		p->restored = s->restored;
		p->retention_gap = s->retention_gap;
		p->restored_epoch = s->restored_epoch;
		p->epoch = s->epoch;
		p->series = tc_registry_count(tc_tick_registry(s->tick));
		p->shard = s->stats;
		p->tick = *tc_tick_get_stats(s->tick);
		p->last_checkpoint_ms = s->last_checkpoint_ms;
	}
	pthread_mutex_unlock(&m->lock);
	return 0;
}

int tc_member_series(struct tc_member *m, const char *id, size_t len, int *owned,
	void (*fill)(void *ud, const struct tc_tick *t, const struct tc_series_info *info),
	void *ud)
{
	uint32_t p = tc_partition_of(id, len, (uint32_t)m->env.cfg->cluster.partitions);
	*owned = p >= m->first && p - m->first < m->count;
	if (!*owned) {
		return -1;
	}
	pthread_mutex_lock(&m->lock);
	const struct tc_tick *t = m->shards[p - m->first].tick;
	struct tc_series_info info;
	int rc = tc_tick_series(t, id, len, &info);
	if (rc == 0) {
		fill(ud, t, &info);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}
