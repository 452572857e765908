/* test_ckpt_manifest.c -- a checkpoint manifest survives JSON, and every kind of damage to one read back is refused by name. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "ckpt_manifest.h"
#include "error.h"

static uint64_t seqs[4] = {880, 881, 885, 886};

static const struct tc_ckpt_manifest GOOD = {
	.partition = 3, .partitions = 16, .epoch = 7, .position = {1042, 17},
	.bytes = 3500000, .chunk_bytes = 1000000, .xxh3 = 0xfedcba9876543210ull,
	.n_chunks = 4, .chunk_seq = seqs, .written_ms = 1796000000000,
};

/* GOOD as JSON with key set to value (a JSON text; NULL: key removed), parsed as partition 3's. */
static int parse_with(const char *key, const char *value, char *err)
{
	char *good = tc_ckpt_manifest_dump(&GOOD, err);
	cr_assert_not_null(good);
	json_t *root = json_loads(good, 0, NULL);
	free(good);
	if (value) {
		json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
		cr_assert_not_null(v, "the test's value %s is not JSON", value);
		json_object_set_new(root, key, v);
	} else {
		json_object_del(root, key);
	}
	char *text = json_dumps(root, 0);
	json_decref(root);
	struct tc_ckpt_manifest m;
	int rc = tc_ckpt_manifest_parse(text, strlen(text), 3, &m, err);
	free(text);
	tc_ckpt_manifest_release(&m);
	return rc;
}

static void refused(const char *key, const char *value, const char *says)
{
	char err[TC_ERR_LEN] = "";
	cr_assert_eq(parse_with(key, value, err), -1, "%s = %s was accepted", key, value);
	cr_assert(strstr(err, says), "%s = %s: \"%s\" does not say \"%s\"", key, value, err, says);
}

Test(ckpt_manifest, a_dumped_manifest_parses_back_field_for_field)
{
	char err[TC_ERR_LEN] = "";
	char *json = tc_ckpt_manifest_dump(&GOOD, err);
	struct tc_ckpt_manifest m;
	cr_assert_eq(tc_ckpt_manifest_parse(json, strlen(json), 3, &m, err), 0, "%s", err);
	free(json);
	cr_assert_eq(m.partition, 3);
	cr_assert_eq(m.partitions, 16);
	cr_assert_eq(m.epoch, 7);
	cr_assert_eq(m.position.resume_seq, 1042);
	cr_assert_eq(m.position.resume_skip, 17);
	cr_assert_eq(m.bytes, 3500000);
	cr_assert_eq(m.chunk_bytes, 1000000);
	cr_assert_eq(m.xxh3, 0xfedcba9876543210ull);
	cr_assert_eq(m.n_chunks, 4);
	cr_assert(memcmp(m.chunk_seq, seqs, sizeof seqs) == 0);
	cr_assert_eq(m.written_ms, 1796000000000);
	cr_assert_eq(tc_ckpt_manifest_chunk_len(&m, 0), 1000000);
	cr_assert_eq(tc_ckpt_manifest_chunk_len(&m, 3), 500000);
	tc_ckpt_manifest_release(&m);
	cr_assert_null(m.chunk_seq);
}

Test(ckpt_manifest, a_manifest_that_is_not_json_or_not_an_object_is_refused)
{
	char err[TC_ERR_LEN] = "";
	struct tc_ckpt_manifest m;
	cr_assert_eq(tc_ckpt_manifest_parse("{\"format\":", 10, 3, &m, err), -1);
	cr_assert(strstr(err, "not JSON"), "%s", err);
	cr_assert_eq(tc_ckpt_manifest_parse("[1,2]", 5, 3, &m, err), -1);
	cr_assert(strstr(err, "an array, not an object"), "%s", err);
	cr_assert_null(m.chunk_seq);
}

Test(ckpt_manifest, fields_of_the_wrong_type_are_refused_by_name)
{
	refused("epoch", "\"7\"", "\"epoch\" is a string, not an integer");
	refused("bytes", "3.5e6", "\"bytes\" is a fraction");
	refused("resume_seq", "null", "\"resume_seq\" is null");
	refused("chunks", "{}", "\"chunks\" is an object, not an array");
	refused("chunks", "[880, \"881\", 885, 886]", "chunk 1");
	refused("xxh3", "12345", "\"xxh3\" is an integer, not a string");
	refused("xxh3", "\"fedcba987654321g\"", "not 16 hex digits");
	refused("written_ms", NULL, "no \"written_ms\"");
}

Test(ckpt_manifest, a_chunk_count_that_disagrees_with_the_bytes_is_refused)
{
	refused("chunks", "[880, 881, 885]", "lists 3 chunks where 3500000 bytes of 1000000-byte chunks take 4");
	refused("bytes", "4000001", "lists 4 chunks");
	refused("chunk_bytes", "500000", "take 7");
}

Test(ckpt_manifest, another_partitions_manifest_is_refused)
{
	refused("partition", "4", "partition 4's, not 3's");
	refused("partition", "16", "\"partition\" is 16, outside 0..15");
}

Test(ckpt_manifest, numbers_out_of_their_fields_range_are_refused)
{
	refused("resume_skip", "4294967296", "\"resume_skip\" is 4294967296, outside 0..4294967295");
	refused("partitions", "4294967296", "\"partitions\" is 4294967296");
	refused("epoch", "0", "\"epoch\" is 0, outside 1..");
	refused("epoch", "-1", "\"epoch\" is -1");
	refused("chunk_bytes", "1000001", "\"chunk_bytes\" is 1000001, outside 1..1000000");
	refused("format", "2", "\"format\" is 2, outside 1..1");
	refused("chunks", "[880, 881, 881, 886]", "chunk 2 (sequences must rise)");
	refused("chunks", "[0, 881, 885, 886]", "chunk 0");
}

Test(ckpt_manifest, an_integer_too_large_for_json_is_refused)
{
	char err[TC_ERR_LEN] = "";
	const char *json = "{\"format\":1,\"epoch\":18446744073709551616}";
	struct tc_ckpt_manifest m;
	cr_assert_eq(tc_ckpt_manifest_parse(json, strlen(json), 3, &m, err), -1);
	cr_assert(strstr(err, "not JSON"), "%s", err);
}
