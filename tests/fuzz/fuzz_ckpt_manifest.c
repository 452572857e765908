/* fuzz_ckpt_manifest.c -- libFuzzer harness: a checkpoint manifest read back from JetStream
 * (tc_ckpt_manifest_parse), which anyone allowed to publish on the checkpoint stream can write.
 *
 * ckpt_manifest.h's contract: a manifest that parses describes chunks that add
 * up (its partition is the one asked for and below the count, the chunk count
 * is what bytes and chunk_bytes make, every chunk's length is at most
 * chunk_bytes and they sum to bytes, the sequences rise), and dumping it and
 * parsing the dump gives the same manifest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_manifest.h"
#include "error.h"

static void check(const struct tc_ckpt_manifest *m, uint32_t p)
{
	if (m->partition != p || m->partition >= m->partitions || m->chunk_bytes == 0
		|| m->n_chunks != tc_ckpt_manifest_chunks_for(m->bytes, m->chunk_bytes)) {
		abort();
	}
	uint64_t sum = 0;
	for (uint32_t i = 0; i < m->n_chunks; i++) {
		uint32_t len = tc_ckpt_manifest_chunk_len(m, i);
		if (len > m->chunk_bytes || (i && m->chunk_seq[i] <= m->chunk_seq[i - 1])) {
			abort();
		}
		sum += len;
	}
	if (sum != m->bytes) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[TC_ERR_LEN];
	struct tc_ckpt_manifest m, again;
	uint32_t p = size ? data[0] % 8 : 0;
	if (tc_ckpt_manifest_parse((const char *)data, size, p, &m, err) < 0) {
		return 0;
	}
	check(&m, p);
	char *json = tc_ckpt_manifest_dump(&m, err);
	if (json) {
		if (tc_ckpt_manifest_parse(json, strlen(json), p, &again, err) < 0
			|| again.epoch != m.epoch || again.bytes != m.bytes || again.xxh3 != m.xxh3
			|| again.n_chunks != m.n_chunks || again.position.resume_seq != m.position.resume_seq
			|| again.position.resume_skip != m.position.resume_skip
			|| memcmp(again.chunk_seq, m.chunk_seq, m.n_chunks * sizeof *m.chunk_seq) != 0) {
			abort();
		}
		tc_ckpt_manifest_release(&again);
		free(json);
	}
	tc_ckpt_manifest_release(&m);
	return 0;
}
