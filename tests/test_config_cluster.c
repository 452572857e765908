/* test_config_cluster.c -- the cluster section: given, it turns cluster mode on with its
 * keys; each key's bounds at its place; what it needs of the rest, checked once all is read. */
#include <criterion/criterion.h>

#include "config_fixture.h"

#define EVENT "tick: {clock: event}\n"

Test(config_cluster, is_off_until_its_section_is_given_and_takes_every_key)
{
	struct tc_config cfg;
	expect_ok(&cfg, MODEL EVENT);
	cr_assert_eq(cfg.cluster.enabled, 0);
	expect_ok(&cfg, MODEL EVENT "cluster: {}\n");
	cr_assert_eq(cfg.cluster.enabled, 1);
	cr_assert_eq(cfg.cluster.n_nats, 1);
	cr_assert_str_eq(cfg.cluster.nats[0], "nats://127.0.0.1:4222");
	cr_assert_str_eq(cfg.cluster.prefix, "tickcast");
	cr_assert_eq(cfg.cluster.partitions, 16);
	cr_assert_eq(cfg.cluster.members, 1);
	cr_assert_eq(cfg.cluster.member, 0);
	cr_assert_eq(cfg.cluster.replicas, 1);
	cr_assert_eq(cfg.cluster.max_age_s, 86400);
	cr_assert_eq(cfg.cluster.max_bytes, 0);
	cr_assert_eq(cfg.cluster.checkpoint_every_s, 30);
	expect_ok(&cfg, MODEL EVENT "cluster:\n"
		"  nats: [nats://10.0.0.1:4222, \"tls://nats.example:4443\"]\n"
		"  prefix: acme.tc-1\n  partitions: 8\n  members: 3\n  member: 2\n"
		"  replicas: 3\n  max_age_s: 3600\n  max_bytes: 1000000000\n"
		"  checkpoint_every_s: 10\n");
	cr_assert_eq(cfg.cluster.n_nats, 2);
	cr_assert_str_eq(cfg.cluster.nats[1], "tls://nats.example:4443");
	cr_assert_str_eq(cfg.cluster.prefix, "acme.tc-1");
	cr_assert_eq(cfg.cluster.partitions, 8);
	cr_assert_eq(cfg.cluster.members, 3);
	cr_assert_eq(cfg.cluster.member, 2);
	cr_assert_eq(cfg.cluster.replicas, 3);
	cr_assert_eq(cfg.cluster.max_age_s, 3600);
	cr_assert_eq(cfg.cluster.max_bytes, 1000000000);
	cr_assert_eq(cfg.cluster.checkpoint_every_s, 10);
}

Test(config_cluster, urls_and_prefixes_that_nats_cannot_take_are_refused_at_their_place)
{
	expect_error(MODEL EVENT "cluster: {nats: \"http://x:4222\"}\n",
		"config.yaml:6:17: cluster.nats: expected a NATS URL like nats://127.0.0.1:4222, "
		"got \"http://x:4222\"");
	expect_error(MODEL EVENT "cluster: {nats: \"nats://a:1,nats://b:2\"}\n",
		"config.yaml:6:17: cluster.nats: expected a NATS URL like nats://127.0.0.1:4222, "
		"got \"nats://a:1,nats://b:2\"");
	const char *prefix_want = "config.yaml:6:19: cluster.prefix: expected dot-separated "
		"tokens of letters, digits, '_' and '-', like tickcast or acme.tickcast, got";
	const char *bad[] = {"a..b", ".a", "a.", "a*", "a>", "a b", "t\xc3\xa9"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char yaml[256], want[256];
		snprintf(yaml, sizeof yaml, MODEL EVENT "cluster: {prefix: \"%s\"}\n", bad[i]);
		snprintf(want, sizeof want, "%s \"%s\"", prefix_want, bad[i]);
		expect_error(yaml, want);
	}
	expect_error(MODEL EVENT "cluster: {partitions: 0}\n",
		"config.yaml:6:23: cluster.partitions: 0 is out of range 1..4096");
	expect_error(MODEL EVENT "cluster: {replicas: 6}\n",
		"config.yaml:6:21: cluster.replicas: 6 is out of range 1..5");
}

Test(config_cluster, what_it_needs_of_the_rest_is_checked_once_all_is_read)
{
	expect_error(MODEL "cluster: {}\n", "config.yaml: cluster: needs tick.clock: event (a "
		"partition's ticks follow the readings' timestamps in stream order, so that a restore "
		"replays them exactly)");
	expect_error(MODEL EVENT "cluster: {members: 2, member: 2, partitions: 4}\n",
		"config.yaml: cluster.member: 2, but there are 2 members (numbered from 0)");
	expect_error(MODEL EVENT "cluster: {members: 5, partitions: 4}\n",
		"config.yaml: cluster.members: 5 members for 4 partitions; a member owns at least one");
	expect_error(MODEL EVENT "cluster: {max_age_s: 30, checkpoint_every_s: 30}\n",
		"config.yaml: cluster.max_age_s: 30 s keeps readings no longer than "
		"checkpoint_every_s (30 s); a restore could not replay since its checkpoint");
}
