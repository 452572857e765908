/* ckpt_manifest.c -- a checkpoint manifest to and from JSON, every field of one read back checked. */
#include "ckpt_manifest.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define XXH3_HEX 16   /* hex digits of the xxh3 field */

uint64_t tc_ckpt_manifest_chunks_for(uint64_t bytes, uint32_t chunk_bytes)
{
	return bytes == 0 ? 1 : (bytes - 1) / chunk_bytes + 1;
}

uint32_t tc_ckpt_manifest_chunk_len(const struct tc_ckpt_manifest *m, uint32_t i)
{
	if (i + 1 < m->n_chunks) {
		return m->chunk_bytes;
	}
	return (uint32_t)(m->bytes - (uint64_t)(m->n_chunks - 1) * m->chunk_bytes);
}

char *tc_ckpt_manifest_dump(const struct tc_ckpt_manifest *m, char *err)
{
	char hash[XXH3_HEX + 1];
	snprintf(hash, sizeof hash, "%016" PRIx64, m->xxh3);
	json_t *chunks = json_array();
	for (uint32_t i = 0; chunks && i < m->n_chunks; i++) {
		if (json_array_append_new(chunks, json_integer((json_int_t)m->chunk_seq[i])) != 0) {
			json_decref(chunks);
			chunks = NULL;
		}
	}
	/* "o" takes chunks' reference, and pack fails on a NULL one */
	json_t *root = json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:I}",
		"format", TC_CKPT_MANIFEST_FORMAT,
		"partition", (json_int_t)m->partition, "partitions", (json_int_t)m->partitions,
		"epoch", (json_int_t)m->epoch,
		"resume_seq", (json_int_t)m->position.resume_seq,
		"resume_skip", (json_int_t)m->position.resume_skip,
		"bytes", (json_int_t)m->bytes, "chunk_bytes", (json_int_t)m->chunk_bytes,
		"xxh3", hash, "chunks", chunks, "written_ms", (json_int_t)m->written_ms);
	char *text = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	if (!text) {
		tc_err_set(err, "out of memory writing the checkpoint manifest");
	}
	return text;
}

static const char *json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a fraction";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* An integer field in min..max. */
static int field_uint(const json_t *j, const char *key, uint64_t min, uint64_t max, uint64_t *v,
	char *err)
{
	if (!j) {
		return tc_err_set(err, "manifest has no \"%s\"", key);
	}
	if (!json_is_integer(j)) {
		return tc_err_set(err, "manifest \"%s\" is %s, not an integer", key, json_kind(j));
	}
	json_int_t x = json_integer_value(j);
	if (x < 0 || (uint64_t)x < min || (uint64_t)x > max) {
		return tc_err_set(err, "manifest \"%s\" is %lld, outside %" PRIu64 "..%" PRIu64,
			key, (long long)x, min, max);
	}
	*v = (uint64_t)x;
	return 0;
}

static int get_uint(const json_t *root, const char *key, uint64_t min, uint64_t max, uint64_t *v,
	char *err)
{
	return field_uint(json_object_get(root, key), key, min, max, v, err);
}

static int get_xxh3(const json_t *root, uint64_t *v, char *err)
{
	const json_t *j = json_object_get(root, "xxh3");
	if (!j || !json_is_string(j)) {
		return tc_err_set(err, "manifest \"xxh3\" is %s, not a string of %d hex digits",
			j ? json_kind(j) : "missing", XXH3_HEX);
	}
	const char *s = json_string_value(j);
	if (json_string_length(j) != XXH3_HEX || strspn(s, "0123456789abcdefABCDEF") != XXH3_HEX) {
		return tc_err_set(err, "manifest \"xxh3\" is \"%.40s\", not %d hex digits", s, XXH3_HEX);
	}
	*v = strtoull(s, NULL, 16);
	return 0;
}

/* The chunk list: as long as bytes and chunk_bytes say, sequences rising. */
static int get_chunks(const json_t *root, struct tc_ckpt_manifest *m, char *err)
{
	const json_t *a = json_object_get(root, "chunks");
	if (!a || !json_is_array(a)) {
		return tc_err_set(err, "manifest \"chunks\" is %s, not an array", a ? json_kind(a) : "missing");
	}
	uint64_t want = tc_ckpt_manifest_chunks_for(m->bytes, m->chunk_bytes);
	if (json_array_size(a) != want) {
		return tc_err_set(err, "manifest lists %zu chunks where %" PRIu64 " bytes of %" PRIu32
			"-byte chunks take %" PRIu64, json_array_size(a), m->bytes, m->chunk_bytes, want);
	}
	m->n_chunks = (uint32_t)want;
	m->chunk_seq = malloc(want * sizeof *m->chunk_seq);
	if (!m->chunk_seq) {
		return tc_err_set(err, "out of memory for %" PRIu64 " chunk sequences", want);
	}
	for (uint32_t i = 0; i < m->n_chunks; i++) {
		uint64_t min = i ? m->chunk_seq[i - 1] + 1 : 1;
		if (field_uint(json_array_get(a, i), "chunks", min, INT64_MAX, &m->chunk_seq[i], err) != 0) {
			tc_err_prefix(err, "chunk %" PRIu32 " (sequences must rise)", i);
			return -1;
		}
	}
	return 0;
}

static int get_fields(const json_t *root, uint32_t p, struct tc_ckpt_manifest *m, char *err)
{
	uint64_t format, part, parts, skip, chunk, written;
	if (!json_is_object(root)) {
		return tc_err_set(err, "manifest is %s, not an object", json_kind(root));
	}
	if (get_uint(root, "format", TC_CKPT_MANIFEST_FORMAT, TC_CKPT_MANIFEST_FORMAT, &format, err) != 0
		|| get_uint(root, "partitions", 1, UINT32_MAX, &parts, err) != 0
		|| get_uint(root, "partition", 0, parts - 1, &part, err) != 0) {
		return -1;
	}
	if (part != p) {
		return tc_err_set(err, "manifest is partition %" PRIu64 "'s, not %" PRIu32 "'s", part, p);
	}
	if (get_uint(root, "epoch", 1, INT64_MAX, &m->epoch, err) != 0
		|| get_uint(root, "resume_seq", 1, INT64_MAX, &m->position.resume_seq, err) != 0
		|| get_uint(root, "resume_skip", 0, UINT32_MAX, &skip, err) != 0
		|| get_uint(root, "chunk_bytes", 1, TC_CKPT_CHUNK_MAX, &chunk, err) != 0
		|| get_uint(root, "bytes", 0, (uint64_t)UINT32_MAX * chunk, &m->bytes, err) != 0
		|| get_uint(root, "written_ms", 0, INT64_MAX, &written, err) != 0
		|| get_xxh3(root, &m->xxh3, err) != 0) {
		return -1;
	}
	m->partition = (uint32_t)part;
	m->partitions = (uint32_t)parts;
	m->position.resume_skip = (uint32_t)skip;
	m->chunk_bytes = (uint32_t)chunk;
	m->written_ms = (int64_t)written;
	return get_chunks(root, m, err);
}

int tc_ckpt_manifest_parse(const char *json, size_t len, uint32_t p, struct tc_ckpt_manifest *m,
	char *err)
{
	json_error_t jerr;
	memset(m, 0, sizeof *m);
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		return tc_err_set(err, "manifest is not JSON: %s at byte %d", jerr.text, jerr.position);
	}
	int rc = get_fields(root, p, m, err);
	json_decref(root);
	if (rc != 0) {
		tc_ckpt_manifest_release(m);
	}
	return rc;
}

void tc_ckpt_manifest_release(struct tc_ckpt_manifest *m)
{
	if (m) {
		free(m->chunk_seq);
		memset(m, 0, sizeof *m);
	}
}
