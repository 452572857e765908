/* ckpt_store.c -- checkpoint images in a JetStream stream: chunks, a manifest last, then the older epoch deleted. */
#include "ckpt_store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "error.h"
#include "streams.h"

#define SUBJECT_LEN (TC_PREFIX_MAX + 64)   /* a prefix, ".checkpoints.", p, ".", an epoch */
#define WHY_LEN 200        /* bytes of a NATS failure's description */

struct epoch_seen {
	uint64_t last;   /* the partition's newest epoch written or read; 0: none */
	bool known;      /* last is known (else the first put reads the manifest) */
};

struct tc_ckpt_store {
	natsConnection *nc;          /* borrowed: its max payload sizes the chunks */
	jsCtx *js;                   /* borrowed */
	char prefix[TC_PREFIX_MAX + 1];
	char stream[TC_STREAM_NAME_MAX];
	pthread_mutex_t lock;        /* guards epochs (puts of different partitions may overlap) */
	struct epoch_seen *epochs;   /* [n_epochs], by partition */
	uint32_t n_epochs;
};

struct tc_ckpt_store *tc_ckpt_store_create(natsConnection *nc, jsCtx *js, const char *prefix,
	char *err)
{
	if (tc_cluster_prefix_check(prefix, err) != 0) {
		return NULL;
	}
	struct tc_ckpt_store *s = calloc(1, sizeof *s);
	if (!s) {
		tc_err_set(err, "checkpoint store: out of memory");
		return NULL;
	}
	s->nc = nc;
	s->js = js;
	char readings[TC_STREAM_NAME_MAX];
	strcpy(s->prefix, prefix);
	tc_streams_names(prefix, readings, s->stream);
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void tc_ckpt_store_destroy(struct tc_ckpt_store **s)
{
	if (s && *s) {
		pthread_mutex_destroy(&(*s)->lock);
		free((*s)->epochs);
		free(*s);
		*s = NULL;
	}
}

const char *tc_ckpt_store_stream(const struct tc_ckpt_store *s)
{
	return s->stream;
}

/* What NATS said about a failed call, with the JetStream error code when there is one. */
static const char *why(natsStatus st, jsErrCode code, char buf[WHY_LEN])
{
	const char *text = nats_GetLastError(NULL);
	const char *place = text && text[0] == '(' ? strstr(text, "): ") : NULL;
	text = place ? place + 3 : text;   /* past libnats' "(file.c:line): " */
	snprintf(buf, WHY_LEN, "%s", text && *text ? text : natsStatus_GetText(st));
	if (code) {
		size_t n = strlen(buf);
		snprintf(buf + n, WHY_LEN - n, " (JetStream error %d)", (int)code);
	}
	return buf;
}

static void subject(const struct tc_ckpt_store *s, char out[SUBJECT_LEN], uint32_t p,
	const char *last, uint64_t epoch)
{
	if (last) {
		snprintf(out, SUBJECT_LEN, "%s.checkpoints.%" PRIu32 ".%s", s->prefix, p, last);
	} else {
		snprintf(out, SUBJECT_LEN, "%s.checkpoints.%" PRIu32 ".%" PRIu64, s->prefix, p, epoch);
	}
}

/* Remembers that p's newest epoch is at least epoch.  Out of memory it
 * forgets instead: the next put reads the manifest again. */
static void note_epoch(struct tc_ckpt_store *s, uint32_t p, uint64_t epoch)
{
	pthread_mutex_lock(&s->lock);
	if (p >= s->n_epochs) {
		struct epoch_seen *e = realloc(s->epochs, ((size_t)p + 1) * sizeof *e);
		if (e) {
			memset(e + s->n_epochs, 0, (p + 1 - s->n_epochs) * sizeof *e);
			s->epochs = e;
			s->n_epochs = p + 1;
		}
	}
	if (p < s->n_epochs) {
		struct epoch_seen *e = &s->epochs[p];
		e->last = e->known && e->last > epoch ? e->last : epoch;
		e->known = true;
	}
	pthread_mutex_unlock(&s->lock);
}

/* p's last manifest message: 1 and *msg (destroy it), 0 when there is none, -1 and err. */
static int last_manifest(struct tc_ckpt_store *s, uint32_t p, natsMsg **msg, char *err)
{
	char subj[SUBJECT_LEN], buf[WHY_LEN];
	jsErrCode code = 0;
	subject(s, subj, p, "manifest", 0);
	natsStatus st = js_GetLastMsg(msg, s->js, s->stream, subj, NULL, &code);
	if (st == NATS_OK) {
		return 1;
	}
	if (code == JSNoMessageFoundErr) {
		return 0;
	}
	return tc_err_set(err, "reading the manifest %s from stream %s: %s", subj, s->stream,
		why(st, code, buf));
}

/* The epoch p's next put takes: one past the last, read from the manifest the first time. */
static int next_epoch(struct tc_ckpt_store *s, uint32_t p, uint64_t *epoch, char *err)
{
	pthread_mutex_lock(&s->lock);
	bool known = p < s->n_epochs && s->epochs[p].known;
	*epoch = known ? s->epochs[p].last + 1 : 0;
	pthread_mutex_unlock(&s->lock);
	if (known) {
		return 0;
	}
	natsMsg *msg = NULL;
	int found = last_manifest(s, p, &msg, err);
	if (found < 0) {
		return -1;
	}
	uint64_t last = 0;
	if (found) {
		struct tc_ckpt_manifest m;
		char ignored[TC_ERR_LEN];
		/* a damaged manifest's own sequence: each epoch takes two messages or more */
		last = tc_ckpt_manifest_parse(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), p,
			&m, ignored) == 0 ? m.epoch : natsMsg_GetSequence(msg);
		tc_ckpt_manifest_release(&m);
		natsMsg_Destroy(msg);
	}
	note_epoch(s, p, last);
	*epoch = last + 1;
	return 0;
}

/* Publishes len bytes to subj and waits for the stream's ack: 0 and *seq, or -1 and err. */
static int publish(struct tc_ckpt_store *s, const char *subj, const void *data, size_t len,
	uint64_t *seq, char *err)
{
	char buf[WHY_LEN];
	jsPubOptions o;
	jsPubOptions_Init(&o);
	o.ExpectStream = s->stream;
	jsPubAck *ack = NULL;
	jsErrCode code = 0;
	natsStatus st = js_Publish(&ack, s->js, subj, data, (int)len, &o, &code);
	if (st != NATS_OK) {
		return tc_err_set(err, "publishing %zu bytes to %s: %s", len, subj, why(st, code, buf));
	}
	*seq = ack->Sequence;
	jsPubAck_Destroy(ack);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Publishes m's chunks of image, filling m->chunk_seq. */
static int put_chunks(struct tc_ckpt_store *s, struct tc_ckpt_manifest *m, const unsigned char *image,
	char *err)
{
	char subj[SUBJECT_LEN];
	subject(s, subj, m->partition, NULL, m->epoch);
	for (uint32_t i = 0; i < m->n_chunks; i++) {
		uint32_t len = tc_ckpt_manifest_chunk_len(m, i);
		if (publish(s, subj, image + (uint64_t)i * m->chunk_bytes, len, &m->chunk_seq[i], err) != 0) {
			tc_err_prefix(err, "chunk %" PRIu32 " of %" PRIu32, i, m->n_chunks);
			return -1;
		}
	}
	return 0;
}

static int put_manifest(struct tc_ckpt_store *s, const struct tc_ckpt_manifest *m, char *err)
{
	char subj[SUBJECT_LEN];
	uint64_t seq;
	char *json = tc_ckpt_manifest_dump(m, err);
	if (!json) {
		return -1;
	}
	subject(s, subj, m->partition, "manifest", 0);
	int rc = publish(s, subj, json, strlen(json), &seq, err);
	free(json);
	return rc;
}

/* The messages of p's checkpoint before a put: its chunks and its manifest,
 * by stream sequence (n of them in *seqs, malloc'ed; 0 when p has none or
 * its manifest cannot be read, whose chunks then stay). */
static size_t older_messages(struct tc_ckpt_store *s, uint32_t p, uint64_t **seqs)
{
	natsMsg *msg = NULL;
	char err[TC_ERR_LEN];
	struct tc_ckpt_manifest old;
	*seqs = NULL;
	if (last_manifest(s, p, &msg, err) != 1) {
		return 0;
	}
	size_t n = 0;
	if (tc_ckpt_manifest_parse(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), p,
		&old, err) == 0) {
		if ((*seqs = malloc(((size_t)old.n_chunks + 1) * sizeof **seqs))) {
			memcpy(*seqs, old.chunk_seq, old.n_chunks * sizeof **seqs);
			n = old.n_chunks;
		}
		tc_ckpt_manifest_release(&old);
	} else {
		*seqs = malloc(sizeof **seqs);
	}
	if (*seqs) {
		(*seqs)[n++] = natsMsg_GetSequence(msg);
	}
	natsMsg_Destroy(msg);
	return n;
}

/* Deletes the n messages at seqs, one by one: nats-server 2.9.10 replays a
 * purge with a subject filter wrongly after a restart (docs/cluster.md),
 * while a delete by sequence replays safely. */
static int delete_older(struct tc_ckpt_store *s, const uint64_t *seqs, size_t n, char *err)
{
	char buf[WHY_LEN];
	for (size_t i = 0; i < n; i++) {
		jsErrCode code = 0;
		natsStatus st = js_DeleteMsg(s->js, s->stream, seqs[i], NULL, &code);
		if (st != NATS_OK && code != JSSequenceNotFoundErr && code != JSNoMessageFoundErr) {
			return tc_err_set(err, "deleting stream sequence %" PRIu64 ": %s", seqs[i],
				why(st, code, buf));
		}
	}
	return 0;
}

/* m's chunk size: what the connected server lets a message carry, at most TC_CKPT_CHUNK_MAX. */
static int chunk_bytes(struct tc_ckpt_store *s, uint32_t *out, char *err)
{
	int64_t max = natsConnection_GetMaxPayload(s->nc);
	if (max <= (int64_t)TC_CKPT_HEADROOM) {
		return tc_err_set(err, "the server's max payload (%" PRId64 " bytes) leaves no room for a "
			"checkpoint chunk after %u bytes of headers", max, TC_CKPT_HEADROOM);
	}
	max -= TC_CKPT_HEADROOM;
	*out = max < (int64_t)TC_CKPT_CHUNK_MAX ? (uint32_t)max : TC_CKPT_CHUNK_MAX;
	return 0;
}

/* The manifest of the put, chunk sequences still to fill. */
static int plan(struct tc_ckpt_store *s, uint32_t p, uint32_t partitions,
	const struct tc_ckpt_position *pos, const void *image, size_t len, struct tc_ckpt_manifest *m,
	char *err)
{
	memset(m, 0, sizeof *m);
	if (chunk_bytes(s, &m->chunk_bytes, err) != 0 || next_epoch(s, p, &m->epoch, err) != 0) {
		return -1;
	}
	uint64_t n = tc_ckpt_manifest_chunks_for(len, m->chunk_bytes);
	if (n > UINT32_MAX) {
		return tc_err_set(err, "an image of %zu bytes takes more than 2^32 chunks", len);
	}
	m->chunk_seq = malloc(n * sizeof *m->chunk_seq);
	if (!m->chunk_seq) {
		return tc_err_set(err, "out of memory for %" PRIu64 " chunk sequences", n);
	}
	m->partition = p;
	m->partitions = partitions;
	m->position = *pos;
	m->bytes = len;
	m->xxh3 = XXH3_64bits(image, len);
	m->n_chunks = (uint32_t)n;
	m->written_ms = now_ms();
	return 0;
}

int tc_ckpt_store_put(struct tc_ckpt_store *s, uint32_t p, uint32_t partitions,
	const struct tc_ckpt_position *pos, const void *image, size_t len,
	struct tc_ckpt_manifest *out, char *err)
{
	struct tc_ckpt_manifest m;
	if (p >= partitions || pos->resume_seq == 0) {
		return tc_err_set(err, "checkpoint of partition %" PRIu32 " of %" PRIu32 " resuming at "
			"sequence %" PRIu64 ": the partition must be below the count and the sequence 1 or more",
			p, partitions, pos->resume_seq);
	}
	uint64_t *older = NULL;
	size_t n_older = older_messages(s, p, &older);
	if (plan(s, p, partitions, pos, image, len, &m, err) != 0
		|| put_chunks(s, &m, image, err) != 0 || put_manifest(s, &m, err) != 0) {
		char epoch[32] = "";   /* none when it failed before the epoch was known */
		if (m.epoch) {
			snprintf(epoch, sizeof epoch, " epoch %" PRIu64, m.epoch);
		}
		tc_err_prefix(err, "partition %" PRIu32 "%s: checkpoint not written (any previous one "
			"stands)", p, epoch);
		tc_ckpt_manifest_release(&m);
		free(older);
		return -1;
	}
	note_epoch(s, p, m.epoch);
	int rc = 0;
	int deleted = delete_older(s, older, n_older, err);
	free(older);
	if (deleted != 0) {
		tc_err_prefix(err, "partition %" PRIu32 " epoch %" PRIu64 ": checkpoint written, its "
			"predecessors not removed", p, m.epoch);
		rc = 1;
	}
	if (out) {
		*out = m;
	} else {
		tc_ckpt_manifest_release(&m);
	}
	return rc;
}

/* Copies chunk i of m into its place in b, checking its subject and length. */
static int get_chunk(struct tc_ckpt_store *s, const struct tc_ckpt_manifest *m, uint32_t i,
	const char *subj, unsigned char *b, char *err)
{
	char buf[WHY_LEN];
	natsMsg *msg = NULL;
	jsErrCode code = 0;
	uint32_t want = tc_ckpt_manifest_chunk_len(m, i);
	natsStatus st = js_GetMsg(&msg, s->js, s->stream, m->chunk_seq[i], NULL, &code);
	int rc = -1;
	if (code == JSNoMessageFoundErr) {
		tc_err_set(err, "no message there (deleted or purged)");
	} else if (st != NATS_OK) {
		tc_err_set(err, "%s", why(st, code, buf));
	} else if (strcmp(natsMsg_GetSubject(msg), subj) != 0) {
		tc_err_set(err, "the message there is on %s, not %s", natsMsg_GetSubject(msg), subj);
	} else if ((uint32_t)natsMsg_GetDataLength(msg) != want) {
		tc_err_set(err, "%d bytes where the manifest says %" PRIu32, natsMsg_GetDataLength(msg), want);
	} else {
		memcpy(b + (uint64_t)i * m->chunk_bytes, natsMsg_GetData(msg), want);
		rc = 0;
	}
	natsMsg_Destroy(msg);
	if (rc != 0) {
		tc_err_prefix(err, "chunk %" PRIu32 " of %" PRIu32 " (stream sequence %" PRIu64 ")",
			i, m->n_chunks, m->chunk_seq[i]);
	}
	return rc;
}

/* Fetches m's chunks into a new image, checking each and the whole. */
static int get_image(struct tc_ckpt_store *s, const struct tc_ckpt_manifest *m, unsigned char **image,
	char *err)
{
	char subj[SUBJECT_LEN];
	unsigned char *b = malloc(m->bytes ? m->bytes : 1);
	if (!b) {
		return tc_err_set(err, "out of memory for a %" PRIu64 "-byte image", m->bytes);
	}
	subject(s, subj, m->partition, NULL, m->epoch);
	for (uint32_t i = 0; i < m->n_chunks; i++) {
		if (get_chunk(s, m, i, subj, b, err) != 0) {
			free(b);
			return -1;
		}
	}
	if (XXH3_64bits(b, m->bytes) != m->xxh3) {
		free(b);
		return tc_err_set(err, "the image's XXH3 is not the manifest's %016" PRIx64, m->xxh3);
	}
	*image = b;
	return 0;
}

int tc_ckpt_store_get(struct tc_ckpt_store *s, uint32_t p, void **image, size_t *len,
	struct tc_ckpt_manifest *m, char *err)
{
	natsMsg *msg = NULL;
	unsigned char *b = NULL;
	*image = NULL;
	*len = 0;
	memset(m, 0, sizeof *m);
	int found = last_manifest(s, p, &msg, err);
	if (found < 0) {
		tc_err_prefix(err, "partition %" PRIu32, p);
	}
	if (found <= 0) {
		return found;
	}
	uint64_t seq = natsMsg_GetSequence(msg);
	int rc = tc_ckpt_manifest_parse(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), p, m, err);
	natsMsg_Destroy(msg);
	if (rc != 0) {
		tc_err_prefix(err, "partition %" PRIu32 ": the checkpoint manifest at stream %s sequence %"
			PRIu64, p, s->stream, seq);
		return -1;
	}
	if (get_image(s, m, &b, err) != 0) {
		tc_err_prefix(err, "partition %" PRIu32 " epoch %" PRIu64 ": checkpoint in stream %s", p,
			m->epoch, s->stream);
		tc_ckpt_manifest_release(m);
		return -1;
	}
	note_epoch(s, p, m->epoch);
	*image = b;
	*len = (size_t)m->bytes;
	return 1;
}
