/* test_partition.c -- tc_partition_of is FNV-1a 32-bit mod P: known vectors, and the
 * partition a real nats-server's subject mapping `{{partition(P,1)}}` picks. */
#include <criterion/criterion.h>

#include "nats_fixture.h"
#include "partition.h"

/* The hashes were computed independently with python3 while writing this test:
 *     h = 0x811c9dc5; for c in data: h = ((h ^ c) * 0x01000193) & 0xffffffff
 * Mod UINT32_MAX leaves every one of them as it is, so the whole hash shows. */
Test(partition, is_fnv1a_32_of_the_id_bytes)
{
	struct {
		const char *id;
		size_t len;
		uint32_t hash;
	} v[] = {
		{"", 0, 0x811c9dc5u},
		{"a", 1, 0xe40c292cu},
		{"foobar", 6, 0xbf9cf968u},
		{"cpu.host1", 9, 0xc3e0ba1au},
		{"sensor-42", 9, 0xc98633f0u},
		{"\xff\x00\x80", 3, 0xa36cd47eu},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		cr_assert_eq(tc_partition_of(v[i].id, v[i].len, UINT32_MAX), v[i].hash,
			"vector %zu: %08x", i, tc_partition_of(v[i].id, v[i].len, UINT32_MAX));
	}
	cr_assert_eq(tc_partition_of("", 0, 8), 5);
	cr_assert_eq(tc_partition_of("a", 1, 8), 4);
	cr_assert_eq(tc_partition_of("cpu.host1", 9, 7), 6);
	cr_assert_eq(tc_partition_of("sensor-42", 9, 1), 0);
}

Test(partition, hashes_only_len_bytes)
{
	cr_assert_eq(tc_partition_of("ab", 1, UINT32_MAX), 0xe40c292cu);
}

#define IDS 600

/* The id of message i: plain, dashed, underscored and non-ASCII tokens. */
static void id_of(int i, char *out, size_t cap)
{
	const char *forms[] = {"s%d", "sensor-%d", "cpu_host_%d", "h\xc3\xa9llo%d", "%d"};
	snprintf(out, cap, forms[i % 5], i);
}

/* Publishes IDS ids to <in>.<id> and checks each arrives on
 * <out>.<tc_partition_of(id, P)>.<id>. */
static void expect_server_agrees(natsConnection *nc, const char *in, const char *out,
	uint32_t partitions)
{
	char subject[128];
	natsSubscription *sub = NULL;
	snprintf(subject, sizeof subject, "%s.>", out);
	cr_assert_eq(natsConnection_SubscribeSync(&sub, nc, subject), NATS_OK);
	cr_assert_eq(natsSubscription_SetPendingLimits(sub, -1, -1), NATS_OK);
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
	char id[64];
	for (int i = 0; i < IDS; i++) {
		id_of(i, id, sizeof id);
		snprintf(subject, sizeof subject, "%s.%s", in, id);
		cr_assert_eq(natsConnection_PublishString(nc, subject, id), NATS_OK);
	}
	cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
	uint32_t seen[64] = {0};
	for (int i = 0; i < IDS; i++) {
		natsMsg *m = NULL;
		cr_assert_eq(natsSubscription_NextMsg(&m, sub, 5000), NATS_OK,
			"only %d of %d mapped messages arrived", i, IDS);
		const char *body = natsMsg_GetData(m);
		int len = natsMsg_GetDataLength(m);
		uint32_t want = tc_partition_of(body, (size_t)len, partitions);
		char expect[128];
		snprintf(expect, sizeof expect, "%s.%u.%.*s", out, want, len, body);
		cr_assert_str_eq(natsMsg_GetSubject(m), expect, "id %.*s", len, body);
		seen[want]++;
		natsMsg_Destroy(m);
	}
	for (uint32_t p = 0; p < partitions; p++) {
		cr_assert_gt(seen[p], 0, "no id went to partition %u of %u", p, partitions);
	}
	natsSubscription_Destroy(sub);
}

Test(partition, agrees_with_nats_server_subject_mapping)
{
	struct nf_cluster c;
	cr_assert_eq(nf_start_conf(&c, 1,
		"mappings = {\n"
		"  \"pin.*\": \"pout.{{partition(8,1)}}.{{wildcard(1)}}\"\n"
		"  \"pin7.*\": \"pout7.{{partition(7,1)}}.{{wildcard(1)}}\"\n"
		"}"), 0);
	natsConnection *nc = NULL;
	cr_assert_eq(natsConnection_ConnectTo(&nc, c.urls), NATS_OK);
	expect_server_agrees(nc, "pin", "pout", 8);
	expect_server_agrees(nc, "pin7", "pout7", 7);
	natsConnection_Destroy(nc);
	nf_stop(&c);
}
