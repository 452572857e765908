/* producer.c -- readings routed to partitions and published with checked acks (see producer.h). */
#include "producer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "partition.h"
#include "streams.h"

#define MAX_PENDING 256 /* batches in flight before js_PublishAsync waits */

struct batch {
	char *text;           /* lines, each ending in '\n'; TC_PRODUCER_BATCH_BYTES allocated */
	size_t len;           /* bytes */
	size_t lines;
};

struct tc_producer {
	jsCtx *js;
	struct tc_producer_config cfg;
	struct batch *batches; /* one a partition */
	pthread_mutex_t lock;  /* guards stats and first_error: acks fail on libnats' threads */
	struct tc_producer_stats stats;
	char first_error[256]; /* the first failed ack's reason */
};

static size_t count_lines(const char *data, int len)
{
	size_t n = 0;
	for (int i = 0; i < len; i++) {
		n += data[i] == '\n';
	}
	return n;
}

/* A batch the stream did not acknowledge (an error or no ack in time). */
static void on_ack_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
	(void)js;
	struct tc_producer *p = closure;
	size_t lines = count_lines(natsMsg_GetData(pae->Msg), natsMsg_GetDataLength(pae->Msg));
	pthread_mutex_lock(&p->lock);
	p->stats.failed++;
	p->stats.failed_readings += lines;
	if (!p->first_error[0]) {
		snprintf(p->first_error, sizeof p->first_error, "%s: %s",
			natsMsg_GetSubject(pae->Msg), pae->ErrText ? pae->ErrText :
			natsStatus_GetText(pae->Err));
	}
	pthread_mutex_unlock(&p->lock);
}

struct tc_producer *tc_producer_new(natsConnection *nc, const struct tc_producer_config *cfg,
	char *err)
{
	if (tc_cluster_prefix_check(cfg->prefix, err) < 0) {
		return NULL;
	}
	if (cfg->partitions < 1 || cfg->partitions > TC_PARTITIONS_MAX || cfg->batch_lines < 1) {
		tc_err_set(err, "producer: %u partitions (1..%d) and %zu lines a batch (1..)",
			(unsigned)cfg->partitions, TC_PARTITIONS_MAX, cfg->batch_lines);
		return NULL;
	}
	struct tc_producer *p = calloc(1, sizeof *p);
	if (!p || !(p->batches = calloc(cfg->partitions, sizeof *p->batches))) {
		free(p);
		tc_err_set(err, "out of memory");
		return NULL;
	}
	p->cfg = *cfg;
	pthread_mutex_init(&p->lock, NULL);
	jsOptions o;
	jsOptions_Init(&o);
	o.PublishAsync.MaxPending = MAX_PENDING;
	o.PublishAsync.ErrHandler = on_ack_error;
	o.PublishAsync.ErrHandlerClosure = p;
	if (natsConnection_JetStream(&p->js, nc, &o) != NATS_OK) {
		tc_err_set(err, "JetStream context: %s", nats_GetLastError(NULL));
		tc_producer_free(&p);
	}
	return p;
}

/* Publishes partition i's batch (the library copies it) and empties it. */
static int publish(struct tc_producer *p, uint32_t i, char *err)
{
	struct batch *b = &p->batches[i];
	if (b->lines == 0) {
		return 0;
	}
	char subject[TC_PREFIX_MAX + 32];
	snprintf(subject, sizeof subject, "%s.readings.%u", p->cfg.prefix, (unsigned)i);
	if (js_PublishAsync(p->js, subject, b->text, (int)b->len, NULL) != NATS_OK) {
		return tc_err_set(err, "publishing to %s: %s", subject, nats_GetLastError(NULL));
	}
	pthread_mutex_lock(&p->lock);
	p->stats.readings += b->lines;
	p->stats.messages++;
	p->stats.bytes += b->len;
	pthread_mutex_unlock(&p->lock);
	b->len = 0;
	b->lines = 0;
	return 0;
}

int tc_producer_add(struct tc_producer *p, const char *line, size_t len, char *err)
{
	if (len + 1 > TC_PRODUCER_BATCH_BYTES) {
		return tc_err_set(err, "a %zu-byte line: at most %d bytes", len,
			TC_PRODUCER_BATCH_BYTES - 1);
	}
	size_t id = 0;
	while (id < len && line[id] != ' ' && line[id] != '\t') {
		id++;
	}
	uint32_t i = tc_partition_of(line, id, p->cfg.partitions);
	struct batch *b = &p->batches[i];
	if (b->lines >= p->cfg.batch_lines || b->len + len + 1 > TC_PRODUCER_BATCH_BYTES) {
		if (publish(p, i, err) < 0) {
			return -1;
		}
	}
	if (!b->text && !(b->text = malloc(TC_PRODUCER_BATCH_BYTES))) {
		return tc_err_set(err, "out of memory");
	}
	memcpy(b->text + b->len, line, len);
	b->text[b->len + len] = '\n';
	b->len += len + 1;
	b->lines++;
	return 0;
}

int tc_producer_finish(struct tc_producer *p, int64_t wait_ms, char *err)
{
	for (uint32_t i = 0; i < p->cfg.partitions; i++) {
		if (publish(p, i, err) < 0) {
			return -1;
		}
	}
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MaxWait = wait_ms;
	natsStatus s = js_PublishAsyncComplete(p->js, &po);
	uint64_t unacked = 0, unacked_readings = 0;
	natsMsgList pending = {0};
	if (s != NATS_OK && js_PublishAsyncGetPendingList(&pending, p->js) == NATS_OK) {
		for (int m = 0; m < pending.Count; m++) {
			unacked++;
			unacked_readings += count_lines(natsMsg_GetData(pending.Msgs[m]),
				natsMsg_GetDataLength(pending.Msgs[m]));
		}
		natsMsgList_Destroy(&pending);
	}
	struct tc_producer_stats st;
	tc_producer_stats(p, &st);
	if (st.failed || unacked) {
		return tc_err_set(err, "%llu batches (%llu readings) were refused by the stream (first: "
			"%s) and %llu (%llu readings) were not acknowledged within %lld ms; they may "
			"be missing from the stream", (unsigned long long)st.failed,
			(unsigned long long)st.failed_readings, p->first_error[0] ? p->first_error :
			"none", (unsigned long long)unacked, (unsigned long long)unacked_readings,
			(long long)wait_ms);
	}
	return 0;
}

void tc_producer_stats(struct tc_producer *p, struct tc_producer_stats *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->stats;
	pthread_mutex_unlock(&p->lock);
}

void tc_producer_free(struct tc_producer **pp)
{
	struct tc_producer *p = *pp;
	if (!p) {
		return;
	}
	jsCtx_Destroy(p->js);
	for (uint32_t i = 0; i < p->cfg.partitions; i++) {
		free(p->batches[i].text);
	}
	free(p->batches);
	pthread_mutex_destroy(&p->lock);
	free(p);
	*pp = NULL;
}
