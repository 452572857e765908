/* ckpt_store.h -- a partition's checkpoint image kept in a JetStream stream, as chunks and a manifest written last.
 *
 * Stream `<prefix, dots as _>_checkpoints` (streams.h makes it) holds, per
 * partition p, the chunks of each epoch on `<prefix>.checkpoints.<p>.<epoch>`
 * and the manifests on `<prefix>.checkpoints.<p>.manifest` (ckpt_manifest.h).
 * A put publishes the chunks, then the manifest, each acknowledged by the
 * stream; only then does the new checkpoint replace the old one, so a put
 * that fails part way leaves the previous checkpoint the newest.  After the
 * manifest, the older checkpoint's messages are deleted by sequence.
 *
 *     struct tc_ckpt_store *s = tc_ckpt_store_create(nc, js, "tickcast", err);
 *     tc_ckpt_store_put(s, p, partitions, &pos, image, len, NULL, err);
 *     ...
 *     int found = tc_ckpt_store_get(s, p, &image, &len, &m, err);   // 1, 0 or -1
 *     tc_ckpt_manifest_release(&m); free(image);
 *     tc_ckpt_store_destroy(&s);
 *
 * Calls for different partitions may run on different threads at once; calls
 * for one partition must not overlap. */
#ifndef TC_CKPT_STORE_H
#define TC_CKPT_STORE_H

#include <nats/nats.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt_manifest.h"

#define TC_CKPT_HEADROOM 4096u   /* bytes of a message's max payload left for its headers */

struct tc_ckpt_store;

/* A store on stream `<prefix>_checkpoints` (dots of prefix as _) through js,
 * sizing chunks by nc's max payload; nc and js are borrowed.  NULL and err
 * when prefix fails tc_cluster_prefix_check (streams.h) or out of memory. */
struct tc_ckpt_store *tc_ckpt_store_create(natsConnection *nc, jsCtx *js, const char *prefix,
	char *err);

/* Frees *s and sets it to NULL; NULL or *s == NULL is a no-op. */
void tc_ckpt_store_destroy(struct tc_ckpt_store **s);

/* Stores the len bytes of image as partition p's (of partitions) newest
 * checkpoint, resuming at *pos: chunks of min(TC_CKPT_CHUNK_MAX, max payload -
 * TC_CKPT_HEADROOM) bytes, then the manifest, then the previous checkpoint's
 * chunks and manifest deleted one by one by stream sequence (not a purge
 * with a subject filter, which nats-server 2.9.10 replays wrongly after a
 * restart; chunks of a put that failed before its manifest stay).  The epoch is one past the partition's last
 * (read from its manifest on the first put; when that manifest is damaged,
 * the damaged message's stream sequence, which exceeds every earlier epoch).
 * Returns 0; 1 when the checkpoint stands but a delete failed (err says why;
 * those messages stay); -1 with err when nothing new stands.  out (may be
 * NULL) receives the manifest written: release it. */
int tc_ckpt_store_put(struct tc_ckpt_store *s, uint32_t p, uint32_t partitions,
	const struct tc_ckpt_position *pos, const void *image, size_t len,
	struct tc_ckpt_manifest *out, char *err);

/* Reads partition p's newest checkpoint, checking its manifest, each chunk's
 * subject and length, the total and the XXH3.  Returns 1 with *image
 * (malloc'ed, free it), *len and *m (release it); 0 when p has no checkpoint;
 * -1 with err naming the partition (and the epoch and chunk) when it is
 * damaged or the stream cannot be read. */
int tc_ckpt_store_get(struct tc_ckpt_store *s, uint32_t p, void **image, size_t *len,
	struct tc_ckpt_manifest *m, char *err);

/* The stream's name, e.g. "tickcast_checkpoints". */
const char *tc_ckpt_store_stream(const struct tc_ckpt_store *s);

#endif
