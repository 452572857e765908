/* ckpt_manifest.h -- the small JSON record that makes a partition's checkpoint chunks one checkpoint.
 *
 * A checkpoint image in a JetStream stream is a run of chunk messages and,
 * written last, a manifest naming them (ckpt_store.h).  The manifest is read
 * back from a stream anyone with access can publish to, so parsing checks
 * every field; a manifest that parses describes chunks that add up:
 *
 *   {"format":1,"partition":3,"partitions":16,"epoch":7,
 *    "resume_seq":1042,"resume_skip":17,"bytes":3500000,"chunk_bytes":1000000,
 *    "xxh3":"9f0c1d2e3a4b5c6d","chunks":[880,881,882,883],"written_ms":1796000000000}
 *
 * Every chunk but the last holds chunk_bytes bytes, the last the rest; an
 * empty image is one empty chunk.  xxh3 is a string because JSON integers
 * (and jansson's) stop at 2^63. */
#ifndef TC_CKPT_MANIFEST_H
#define TC_CKPT_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define TC_CKPT_MANIFEST_FORMAT 1
#define TC_CKPT_CHUNK_MAX 1000000u   /* bytes a chunk holds at most, whatever the server allows */

/* Where a partition's readings resume after its checkpoint. */
struct tc_ckpt_position {
	uint64_t resume_seq;    /* readings-stream sequence of the first message not fully applied (1 = from the start) */
	uint32_t resume_skip;   /* readings of that message already applied */
};

struct tc_ckpt_manifest {
	uint32_t partition;              /* this checkpoint's partition, < partitions */
	uint32_t partitions;             /* the partition count it was written under */
	uint64_t epoch;                  /* 1, 2, ... per partition */
	struct tc_ckpt_position position;
	uint64_t bytes;                  /* the image's length */
	uint32_t chunk_bytes;            /* bytes of every chunk but the last, 1..TC_CKPT_CHUNK_MAX */
	uint64_t xxh3;                   /* XXH3-64 of the whole image */
	uint32_t n_chunks;               /* max(1, ceil(bytes / chunk_bytes)) */
	uint64_t *chunk_seq;             /* [n_chunks] malloc'ed: stream sequences of the chunks, in order */
	int64_t written_ms;              /* wall clock when written, ms since 1970 */
};

/* The chunks an image of bytes takes at chunk_bytes a chunk (an empty image takes one). */
uint64_t tc_ckpt_manifest_chunks_for(uint64_t bytes, uint32_t chunk_bytes);

/* Bytes that chunk i of m holds. */
uint32_t tc_ckpt_manifest_chunk_len(const struct tc_ckpt_manifest *m, uint32_t i);

/* m as compact JSON (malloc'ed, NUL-terminated); NULL and err when out of memory. */
char *tc_ckpt_manifest_dump(const struct tc_ckpt_manifest *m, char *err);

/* Parses and checks the len bytes of json as partition p's manifest into *m
 * (release with tc_ckpt_manifest_release).  Returns 0, or -1 with err saying
 * which field is wrong and how; *m then holds nothing to release. */
int tc_ckpt_manifest_parse(const char *json, size_t len, uint32_t p, struct tc_ckpt_manifest *m,
	char *err);

/* Frees m's chunk list and zeroes it; NULL is a no-op. */
void tc_ckpt_manifest_release(struct tc_ckpt_manifest *m);

#endif
