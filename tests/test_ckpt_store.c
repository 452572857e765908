/* test_ckpt_store.c -- checkpoint images in a real nats-server's JetStream: round trips, epochs
 * and deletes of the older epoch, damage reported by partition, partitions apart, chunking by max payload, R3. */
#include <criterion/criterion.h>

#include "ckpt_store.h"
#include "error.h"
#include "nats_fixture.h"

#define STREAM "tickcast_checkpoints"
#define BIG (3500u * 1000u)   /* 3.5 MB: four chunks of at most 1,000,000 bytes */

static struct nf_cluster cluster;
static natsConnection *nc;
static jsCtx *js;
static struct tc_ckpt_store *store;

static void down(void)
{
	tc_ckpt_store_destroy(&store);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	js = NULL;
	nc = NULL;
	nf_stop(&cluster);
}

TestSuite(ckpt_store, .fini = down, .timeout = 60);

/* The checkpoint stream as the plan lays it out, max_msg_size bytes a message at most,
 * deletes refused when deny_delete. */
static void add_stream(int replicas, int32_t max_msg_size, bool deny_delete)
{
	const char *subjects[] = {"tickcast.checkpoints.>"};
	jsStreamConfig cfg;
	jsStreamConfig_Init(&cfg);
	cfg.Name = STREAM;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	cfg.Replicas = replicas;
	cfg.MaxMsgSize = max_msg_size;
	cfg.DenyDelete = deny_delete;
	jsStreamInfo *si = NULL;
	jsErrCode code = 0;
	cr_assert_eq(js_AddStream(&si, js, &cfg, NULL, &code), NATS_OK, "add stream: %s (%d)",
		nats_GetLastError(NULL), (int)code);
	jsStreamInfo_Destroy(si);
}

/* nodes nats-servers (server config extra, may be NULL), the stream, a store on them. */
static void up_with(int nodes, const char *extra, int32_t max_msg_size, bool deny_delete)
{
	char err[TC_ERR_LEN];
	cr_assert_eq(nf_start_conf(&cluster, nodes, extra), 0);
	cr_assert_eq(nf_connect(&cluster, &nc, &js), 0);
	add_stream(nodes, max_msg_size, deny_delete);
	store = tc_ckpt_store_create(nc, js, "tickcast", err);
	cr_assert_not_null(store, "%s", err);
}

static void up(void)
{
	up_with(1, NULL, 2 * 1024 * 1024, false);
}

/* len bytes that differ from seed to seed (xorshift), so a misplaced chunk shows. */
static unsigned char *image_of(size_t len, uint64_t seed)
{
	unsigned char *b = malloc(len ? len : 1);
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (unsigned char)(x >> 24);
	}
	return b;
}

/* Puts a len-byte image of seed on p (of 8), expecting rc; its manifest in *m. */
static void put(uint32_t p, size_t len, uint64_t seed, uint64_t resume, struct tc_ckpt_manifest *m)
{
	char err[TC_ERR_LEN] = "";
	struct tc_ckpt_position pos = {resume, 3};
	unsigned char *img = image_of(len, seed);
	int rc = tc_ckpt_store_put(store, p, 8, &pos, img, len, m, err);
	free(img);
	cr_assert_eq(rc, 0, "put partition %u: %s", p, err);
}

/* Gets p's checkpoint and checks it is the len-byte image of seed. */
static void expect_image(uint32_t p, size_t len, uint64_t seed, struct tc_ckpt_manifest *m)
{
	char err[TC_ERR_LEN] = "";
	void *got = NULL;
	size_t got_len = 0;
	int rc = tc_ckpt_store_get(store, p, &got, &got_len, m, err);
	cr_assert_eq(rc, 1, "get %u: %d %s", p, rc, err);
	unsigned char *want = image_of(len, seed);
	cr_assert_eq(got_len, len);
	cr_assert(memcmp(got, want, len) == 0, "partition %u's image differs from what was put", p);
	free(want);
	free(got);
}

static int get_fails(uint32_t p, char *err)
{
	void *got = NULL;
	size_t len = 0;
	struct tc_ckpt_manifest m;
	int rc = tc_ckpt_store_get(store, p, &got, &len, &m, err);
	cr_assert_null(got);
	return rc;
}

/* Messages the stream holds on subject. */
static uint64_t msgs_on(const char *subject)
{
	jsOptions o;
	jsOptions_Init(&o);
	o.Stream.Info.SubjectsFilter = subject;
	jsStreamInfo *si = NULL;
	cr_assert_eq(js_GetStreamInfo(&si, js, STREAM, &o, NULL), NATS_OK);
	uint64_t n = 0;
	for (int i = 0; si->State.Subjects && i < si->State.Subjects->Count; i++) {
		n += si->State.Subjects->List[i].Msgs;
	}
	jsStreamInfo_Destroy(si);
	return n;
}

static bool msg_exists(uint64_t seq)
{
	natsMsg *msg = NULL;
	natsStatus st = js_GetMsg(&msg, js, STREAM, seq, NULL, NULL);
	natsMsg_Destroy(msg);
	return st == NATS_OK;
}

Test(ckpt_store, a_3_5_mb_image_comes_back_whole_from_four_chunks_with_its_manifest)
{
	struct tc_ckpt_manifest put_m, got_m;
	up();
	put(0, BIG, 1, 1042, &put_m);
	cr_assert_eq(put_m.n_chunks, 4);
	cr_assert_eq(put_m.chunk_bytes, TC_CKPT_CHUNK_MAX);
	cr_assert_eq(put_m.epoch, 1);
	expect_image(0, BIG, 1, &got_m);
	cr_assert_eq(got_m.epoch, 1);
	cr_assert_eq(got_m.partitions, 8);
	cr_assert_eq(got_m.position.resume_seq, 1042);
	cr_assert_eq(got_m.position.resume_skip, 3);
	cr_assert_eq(got_m.xxh3, put_m.xxh3);
	cr_assert_eq(got_m.written_ms, put_m.written_ms);
	cr_assert(memcmp(got_m.chunk_seq, put_m.chunk_seq, 4 * sizeof(uint64_t)) == 0);
	cr_assert_eq(msgs_on("tickcast.checkpoints.0.1"), 4);
	tc_ckpt_manifest_release(&put_m);
	tc_ckpt_manifest_release(&got_m);
}

Test(ckpt_store, a_tiny_image_and_an_empty_one_come_back_from_one_chunk_each)
{
	struct tc_ckpt_manifest m;
	up();
	put(0, 10, 2, 1, &m);
	cr_assert_eq(m.n_chunks, 1);
	tc_ckpt_manifest_release(&m);
	put(1, 0, 3, 1, &m);
	cr_assert_eq(m.n_chunks, 1);
	tc_ckpt_manifest_release(&m);
	expect_image(0, 10, 2, &m);
	cr_assert_eq(m.bytes, 10);
	tc_ckpt_manifest_release(&m);
	expect_image(1, 0, 3, &m);
	tc_ckpt_manifest_release(&m);
}

Test(ckpt_store, a_second_put_raises_the_epoch_and_deletes_the_first_epochs_chunks_and_manifest)
{
	struct tc_ckpt_manifest first, second;
	up();
	put(0, BIG, 1, 1, &first);
	put(0, 1500000, 2, 77, &second);
	cr_assert_eq(second.epoch, 2);
	cr_assert_eq(second.n_chunks, 2);
	for (uint32_t i = 0; i < first.n_chunks; i++) {
		cr_assert_not(msg_exists(first.chunk_seq[i]), "epoch 1's chunk %u is still there", i);
	}
	cr_assert_eq(msgs_on("tickcast.checkpoints.0.1"), 0);
	cr_assert_eq(msgs_on("tickcast.checkpoints.0.2"), 2);
	cr_assert_eq(msgs_on("tickcast.checkpoints.0.manifest"), 1);
	tc_ckpt_manifest_release(&first);
	tc_ckpt_manifest_release(&second);
	expect_image(0, 1500000, 2, &second);
	cr_assert_eq(second.position.resume_seq, 77);
	tc_ckpt_manifest_release(&second);
}

Test(ckpt_store, a_new_store_continues_from_the_last_manifests_epoch)
{
	char err[TC_ERR_LEN];
	struct tc_ckpt_manifest m;
	up();
	put(5, 100, 1, 1, NULL);
	put(5, 100, 2, 1, NULL);
	tc_ckpt_store_destroy(&store);
	store = tc_ckpt_store_create(nc, js, "tickcast", err);
	put(5, 100, 3, 1, &m);
	cr_assert_eq(m.epoch, 3);
	tc_ckpt_manifest_release(&m);
}

Test(ckpt_store, get_on_a_partition_never_written_returns_0)
{
	char err[TC_ERR_LEN] = "";
	up();
	put(0, 100, 1, 1, NULL);
	cr_assert_eq(get_fails(1, err), 0, "%s", err);
}

Test(ckpt_store, a_deleted_chunk_fails_the_get_naming_partition_epoch_and_chunk)
{
	char err[TC_ERR_LEN] = "";
	struct tc_ckpt_manifest m;
	up();
	put(4, BIG, 1, 1, &m);
	cr_assert_eq(js_DeleteMsg(js, STREAM, m.chunk_seq[2], NULL, NULL), NATS_OK, "%s", nats_GetLastError(NULL));
	cr_assert_eq(get_fails(4, err), -1);
	cr_assert(strstr(err, "partition 4 epoch 1") && strstr(err, "chunk 2 of 4") && strstr(err, "deleted or purged"), "%s", err);
	tc_ckpt_manifest_release(&m);
}

Test(ckpt_store, a_garbage_manifest_fails_the_get_naming_the_partition_and_the_next_put_repairs_it)
{
	char err[TC_ERR_LEN] = "";
	struct tc_ckpt_manifest m;
	up();
	put(2, 100, 1, 1, NULL);
	cr_assert_eq(js_Publish(NULL, js, "tickcast.checkpoints.2.manifest", "{\"format\":", 10, NULL, NULL),
		NATS_OK);
	cr_assert_eq(get_fails(2, err), -1);
	cr_assert(strstr(err, "partition 2") && strstr(err, "not JSON"), "%s", err);
	/* a new store reads the damaged manifest for its epoch: past every earlier one */
	tc_ckpt_store_destroy(&store);
	store = tc_ckpt_store_create(nc, js, "tickcast", err);
	put(2, 100, 9, 1, &m);
	cr_assert_gt(m.epoch, 1);
	tc_ckpt_manifest_release(&m);
	expect_image(2, 100, 9, &m);
	tc_ckpt_manifest_release(&m);
}

Test(ckpt_store, another_partitions_manifest_on_the_subject_fails_the_get)
{
	char err[TC_ERR_LEN] = "";
	struct tc_ckpt_manifest m;
	up();
	put(1, 100, 1, 1, &m);
	char *json = tc_ckpt_manifest_dump(&m, err);
	cr_assert_eq(js_Publish(NULL, js, "tickcast.checkpoints.3.manifest", json, (int)strlen(json),
		NULL, NULL), NATS_OK);
	cr_assert_eq(get_fails(3, err), -1);
	cr_assert(strstr(err, "partition 3") && strstr(err, "partition 1's, not 3's"), "%s", err);
	free(json);
	tc_ckpt_manifest_release(&m);
}

Test(ckpt_store, puts_on_partition_1_leave_partition_0s_checkpoint_alone)
{
	struct tc_ckpt_manifest m0, m;
	up();
	put(0, 2000, 1, 1, &m0);
	put(1, 3000, 2, 1, NULL);
	put(1, 3000, 3, 1, NULL);
	expect_image(0, 2000, 1, &m);
	cr_assert_eq(m.epoch, 1);
	cr_assert(msg_exists(m0.chunk_seq[0]));
	cr_assert_eq(msgs_on("tickcast.checkpoints.0.*"), 2);
	tc_ckpt_manifest_release(&m);
	tc_ckpt_manifest_release(&m0);
	expect_image(1, 3000, 3, &m);
	cr_assert_eq(m.epoch, 2);
	tc_ckpt_manifest_release(&m);
}

Test(ckpt_store, an_image_larger_than_the_max_payload_is_cut_below_it)
{
	struct tc_ckpt_manifest m;
	up_with(1, "max_payload: 65536", 65536, false);
	put(0, 200000, 1, 1, &m);
	cr_assert_eq(m.chunk_bytes, 65536 - TC_CKPT_HEADROOM);
	cr_assert_eq(m.n_chunks, 4);
	tc_ckpt_manifest_release(&m);
	expect_image(0, 200000, 1, &m);
	tc_ckpt_manifest_release(&m);
}

Test(ckpt_store, a_put_the_stream_refuses_leaves_the_previous_checkpoint_the_newest)
{
	char err[TC_ERR_LEN] = "";
	struct tc_ckpt_manifest m;
	up_with(1, NULL, 500000, false);
	put(0, 1000, 1, 1, &m);
	uint64_t kept = m.chunk_seq[0];
	tc_ckpt_manifest_release(&m);
	unsigned char *img = image_of(BIG, 2);
	struct tc_ckpt_position pos = {5, 0};
	cr_assert_eq(tc_ckpt_store_put(store, 0, 8, &pos, img, BIG, NULL, err), -1);
	free(img);
	cr_assert(strstr(err, "partition 0 epoch 2") && strstr(err, "chunk 0 of 4"), "%s", err);
	expect_image(0, 1000, 1, &m);
	cr_assert(msg_exists(kept));
	tc_ckpt_manifest_release(&m);
	put(0, 1000, 3, 1, &m);
	cr_assert_eq(m.epoch, 2);
	tc_ckpt_manifest_release(&m);
}

Test(ckpt_store, a_replicated_checkpoint_survives_its_stream_leaders_death)
{
	struct tc_ckpt_manifest m;
	up_with(3, NULL, 2 * 1024 * 1024, false);
	put(6, BIG, 1, 1, NULL);
	int leader = nf_stream_leader(&cluster, STREAM);
	cr_assert_geq(leader, 0);
	nf_kill(&cluster, leader, SIGKILL);
	cr_assert_geq(nf_stream_leader(&cluster, STREAM), 0);
	expect_image(6, BIG, 1, &m);
	tc_ckpt_manifest_release(&m);
	put(6, 1000, 2, 1, &m);
	cr_assert_eq(m.epoch, 2);
	tc_ckpt_manifest_release(&m);
}

Test(ckpt_store, a_prefix_that_is_not_subject_tokens_is_refused)
{
	char err[TC_ERR_LEN] = "";
	cr_assert_null(tc_ckpt_store_create(NULL, NULL, "tick cast", err));
	cr_assert(strstr(err, "tick cast") && strstr(err, "byte 4"), "%s", err);
	cr_assert_null(tc_ckpt_store_create(NULL, NULL, "a..b", err));
	cr_assert_null(tc_ckpt_store_create(NULL, NULL, "a.*", err));
	store = tc_ckpt_store_create(NULL, NULL, "eu-1.tick_cast", err);
	cr_assert_not_null(store, "%s", err);
	cr_assert_str_eq(tc_ckpt_store_stream(store), "eu-1_tick_cast_checkpoints");
}

Test(ckpt_store, without_its_stream_get_and_put_fail_naming_the_stream)
{
	char err[TC_ERR_LEN] = "";
	struct tc_ckpt_position pos = {1, 0};
	up();
	tc_ckpt_store_destroy(&store);
	store = tc_ckpt_store_create(nc, js, "other", err);
	cr_assert_eq(get_fails(0, err), -1);
	cr_assert(strstr(err, "partition 0") && strstr(err, "other_checkpoints"), "%s", err);
	cr_assert_eq(tc_ckpt_store_put(store, 0, 8, &pos, "x", 1, NULL, err), -1);
	cr_assert(strstr(err, "partition 0") && strstr(err, "other_checkpoints"), "%s", err);
	cr_assert_eq(tc_ckpt_store_put(store, 8, 8, &pos, "x", 1, NULL, err), -1);
	cr_assert(strstr(err, "partition 8 of 8"), "%s", err);
}

Test(ckpt_store, a_refused_delete_is_reported_and_the_new_checkpoint_stands)
{
	char err[TC_ERR_LEN] = "";
	struct tc_ckpt_position pos = {9, 0};
	struct tc_ckpt_manifest m;
	up_with(1, NULL, 2 * 1024 * 1024, true);
	put(0, 1000, 1, 1, NULL);
	unsigned char *img = image_of(2000, 2);
	cr_assert_eq(tc_ckpt_store_put(store, 0, 8, &pos, img, 2000, NULL, err), 1);
	free(img);
	cr_assert(strstr(err, "partition 0 epoch 2: checkpoint written") && strstr(err, "deleting"), "%s", err);
	cr_assert_eq(msgs_on("tickcast.checkpoints.0.1"), 1);
	expect_image(0, 2000, 2, &m);
	cr_assert_eq(m.epoch, 2);
	tc_ckpt_manifest_release(&m);
}
