/* test_streams.c -- cluster mode's streams against a real nats-server: made when
 * missing, checked when present, the partition count fixed for a stream's life. */
#include <criterion/criterion.h>

#include "error.h"
#include "nats_fixture.h"
#include "streams.h"

static struct nf_cluster c;
static natsConnection *nc;
static jsCtx *js;

static void setup(void)
{
	cr_assert_eq(nf_start(&c, 1), 0);
	cr_assert_eq(nf_connect(&c, &nc, &js), 0);
}

static void teardown(void)
{
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nf_stop(&c);
}

static jsStreamInfo *info(const char *name)
{
	jsStreamInfo *si = NULL;
	cr_assert_eq(js_GetStreamInfo(&si, js, name, NULL, NULL), NATS_OK, "no stream %s", name);
	return si;
}

/* The config used unless a test says otherwise: prefix tickcast, 8 partitions, R1. */
static struct tc_streams_config base;

#define CONFIG(...) (&(struct tc_streams_config){.prefix = base.prefix ? base.prefix : "tickcast", \
	.partitions = base.partitions ? base.partitions : 8, \
	.replicas = base.replicas ? base.replicas : 1, __VA_ARGS__})

Test(streams, a_prefix_is_dot_separated_tokens_of_letters_digits_dash_underscore)
{
	char err[TC_ERR_LEN];
	const char *good[] = {"tickcast", "a.b-c_d", "X9"};
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(tc_cluster_prefix_check(good[i], err), 0, "%s: %s", good[i], err);
	}
	const char *bad[] = {"", "a..b", ".a", "a.", "a b", "a*", "a>", "h\xc3\xa9"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		cr_assert_eq(tc_cluster_prefix_check(bad[i], err), -1, "\"%s\" was taken", bad[i]);
		cr_assert(strstr(err, "cluster prefix"), "%s", err);
	}
	char lng[TC_PREFIX_MAX + 2];
	memset(lng, 'a', sizeof lng - 1);
	lng[sizeof lng - 1] = '\0';
	cr_assert_eq(tc_cluster_prefix_check(lng, err), -1);
}

Test(streams, names_replace_dots_with_underscores)
{
	char r[TC_STREAM_NAME_MAX], k[TC_STREAM_NAME_MAX];
	tc_streams_names("prod.eu-1", r, k);
	cr_assert_str_eq(r, "prod_eu-1_readings");
	cr_assert_str_eq(k, "prod_eu-1_checkpoints");
}

Test(streams, ensure_adds_both_streams_and_records_the_partition_count, .init = setup,
	.fini = teardown)
{
	char err[TC_ERR_LEN] = "";
	cr_assert_eq(tc_streams_ensure(js, CONFIG(.max_age_s = 3600, .max_bytes = 1 << 20), err), 0,
		"%s", err);
	jsStreamInfo *si = info("tickcast_readings");
	cr_assert_str_eq(si->Config->Description, "tickcast readings: 8 partitions");
	cr_assert_eq(si->Config->SubjectsLen, 1);
	cr_assert_str_eq(si->Config->Subjects[0], "tickcast.readings.*");
	cr_assert_eq(si->Config->Retention, js_LimitsPolicy);
	cr_assert_eq(si->Config->Storage, js_FileStorage);
	cr_assert_eq(si->Config->MaxAge, 3600LL * 1000000000LL);
	cr_assert_eq(si->Config->MaxBytes, 1 << 20);
	jsStreamInfo_Destroy(si);
	si = info("tickcast_checkpoints");
	cr_assert_str_eq(si->Config->Subjects[0], "tickcast.checkpoints.>");
	cr_assert_eq(si->Config->MaxAge, 0);
	cr_assert_eq(si->Config->Storage, js_FileStorage);
	jsStreamInfo_Destroy(si);

	uint32_t p = 0;
	cr_assert_eq(tc_streams_partitions(js, "tickcast", &p, err), 0, "%s", err);
	cr_assert_eq(p, 8);
	cr_assert_eq(tc_streams_ensure(js, CONFIG(.max_age_s = 3600, .max_bytes = 1 << 20), err), 0,
		"a second ensure with the same config: %s", err);
}

Test(streams, another_partition_count_is_refused, .init = setup, .fini = teardown)
{
	char err[TC_ERR_LEN] = "";
	cr_assert_eq(tc_streams_ensure(js, CONFIG(), err), 0, "%s", err);
	cr_assert_eq(tc_streams_ensure(js, (base.partitions = 16, CONFIG()), err), -1);
	cr_assert(strstr(err, "tickcast_readings has 8 partitions, the config says 16"), "%s", err);
	uint32_t p = 0;
	cr_assert_eq(tc_streams_partitions(js, "tickcast", &p, err), 0);
	cr_assert_eq(p, 8);
}

Test(streams, age_and_size_limits_follow_the_config, .init = setup,
	.fini = teardown)
{
	char err[TC_ERR_LEN] = "";
	cr_assert_eq(tc_streams_ensure(js, CONFIG(.max_age_s = 60), err), 0, "%s", err);
	cr_assert_eq(tc_streams_ensure(js, CONFIG(.max_age_s = 120, .max_bytes = 4096), err), 0,
		"%s", err);
	jsStreamInfo *si = info("tickcast_readings");
	cr_assert_eq(si->Config->MaxAge, 120LL * 1000000000LL);
	cr_assert_eq(si->Config->MaxBytes, 4096);
	jsStreamInfo_Destroy(si);
}

Test(streams, replicas_follow_the_config_in_a_cluster)
{
	char err[TC_ERR_LEN] = "";
	cr_assert_eq(nf_start(&c, 3), 0);
	cr_assert_eq(nf_connect(&c, &nc, &js), 0);
	cr_assert_eq(tc_streams_ensure(js, CONFIG(), err), 0, "%s", err);
	base.replicas = 3;
	cr_assert_eq(tc_streams_ensure(js, CONFIG(), err), 0, "%s", err);
	const char *names[] = {"tickcast_readings", "tickcast_checkpoints"};
	for (int i = 0; i < 2; i++) {
		jsStreamInfo *si = info(names[i]);
		cr_assert_eq(si->Config->Replicas, 3, "%s", names[i]);
		jsStreamInfo_Destroy(si);
	}
	teardown();
}

/* A stream named like ours but made by someone else. */
static void add_foreign(const char *name, const char *subject, const char *description)
{
	jsStreamConfig cfg;
	jsStreamConfig_Init(&cfg);
	const char *subjects[] = {subject};
	cfg.Name = name;
	cfg.Description = description;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	jsStreamInfo *si = NULL;
	cr_assert_eq(js_AddStream(&si, js, &cfg, NULL, NULL), NATS_OK, "%s",
		nats_GetLastError(NULL));
	jsStreamInfo_Destroy(si);
}

Test(streams, a_stream_tickcast_did_not_make_is_refused, .init = setup, .fini = teardown)
{
	char err[TC_ERR_LEN] = "";
	add_foreign("tickcast_readings", "tickcast.readings.*", NULL);
	cr_assert_eq(tc_streams_ensure(js, CONFIG(), err), -1);
	cr_assert(strstr(err, "was not made by tickcast"), "%s", err);
	uint32_t p;
	cr_assert_eq(tc_streams_partitions(js, "tickcast", &p, err), -1);
	cr_assert(strstr(err, "does not record a partition count"), "%s", err);

	add_foreign("other_readings", "elsewhere.>", "tickcast readings: 8 partitions");
	cr_assert_eq(tc_streams_ensure(js, (base.prefix = "other", CONFIG()), err), -1);
	cr_assert(strstr(err, "stream other_readings exists with other subjects than "
		"other.readings.*"), "%s", err);
}

Test(streams, partitions_of_a_missing_stream_say_what_to_do, .init = setup, .fini = teardown)
{
	char err[TC_ERR_LEN] = "";
	uint32_t p;
	cr_assert_eq(tc_streams_partitions(js, "nothing.here", &p, err), -1);
	cr_assert(strstr(err, "no stream nothing_here_readings"), "%s", err);
	cr_assert_eq(tc_streams_partitions(js, "bad prefix", &p, err), -1);
	cr_assert(strstr(err, "cluster prefix"), "%s", err);
}
