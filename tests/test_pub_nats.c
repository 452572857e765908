/* test_pub_nats.c -- `tickcast pub --nats` against a real nats-server: every line lands in
 * the partition FNV-1a says, in input order, none missing; and what it refuses. */
#include <criterion/criterion.h>

#include "cli_run.h"
#include "error.h"
#include "nats_fixture.h"
#include "partition.h"
#include "streams.h"

#define LINES 500
#define PARTS 4

static struct nf_cluster c;
static natsConnection *nc;
static jsCtx *js;
static char input[256];

static void setup(void)
{
	cr_assert_eq(nf_start(&c, 1), 0);
	cr_assert_eq(nf_connect(&c, &nc, &js), 0);
	snprintf(input, sizeof input, "%s/input.txt", c.dir);
}

static void teardown(void)
{
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nf_stop(&c);
}

/* Line i of the input: 37 series (one not a valid subject token), values in order. */
static void line_of(int i, char *out, size_t cap)
{
	if (i % 37 == 5) {
		snprintf(out, cap, "odd.id*>%d %d", i % 37, i);
	} else {
		snprintf(out, cap, "s%d %d", i % 37, i);
	}
}

static void write_input(void)
{
	FILE *f = fopen(input, "w");
	cr_assert_not_null(f);
	char line[64];
	for (int i = 0; i < LINES; i++) {
		line_of(i, line, sizeof line);
		fprintf(f, "%s\n%s", line, i % 100 == 0 ? "\n" : ""); /* blank lines are skipped */
	}
	fclose(f);
}

static void make_streams(uint32_t partitions)
{
	char err[TC_ERR_LEN];
	struct tc_streams_config cfg = {.prefix = "tickcast", .partitions = partitions,
		.replicas = 1};
	cr_assert_eq(tc_streams_ensure(js, &cfg, err), 0, "%s", err);
}

/* Reads the whole readings stream back and checks every partition's lines are
 * exactly the input's lines of that partition, in input order. */
static void expect_stream_matches_input(void)
{
	char got[PARTS][LINES * 16];
	size_t at[PARTS] = {0};
	jsStreamInfo *si = NULL;
	cr_assert_eq(js_GetStreamInfo(&si, js, "tickcast_readings", NULL, NULL), NATS_OK);
	uint64_t msgs = si->State.Msgs;
	jsStreamInfo_Destroy(si);
	cr_assert_geq(msgs, PARTS);
	for (uint64_t seq = 1; seq <= msgs; seq++) {
		natsMsg *m = NULL;
		cr_assert_eq(js_GetMsg(&m, js, "tickcast_readings", seq, NULL, NULL), NATS_OK);
		unsigned p;
		cr_assert_eq(sscanf(natsMsg_GetSubject(m), "tickcast.readings.%u", &p), 1);
		cr_assert_lt(p, PARTS);
		int len = natsMsg_GetDataLength(m);
		cr_assert_lt(at[p] + (size_t)len, sizeof got[p]);
		memcpy(got[p] + at[p], natsMsg_GetData(m), (size_t)len);
		at[p] += (size_t)len;
		natsMsg_Destroy(m);
	}
	char want[PARTS][LINES * 16];
	size_t wat[PARTS] = {0};
	char line[64];
	for (int i = 0; i < LINES; i++) {
		line_of(i, line, sizeof line);
		size_t id = strcspn(line, " ");
		uint32_t p = tc_partition_of(line, id, PARTS);
		wat[p] += (size_t)snprintf(want[p] + wat[p], sizeof want[p] - wat[p], "%s\n", line);
	}
	for (int p = 0; p < PARTS; p++) {
		cr_assert_gt(wat[p], 0, "the input has no line for partition %d", p);
		cr_assert_eq(at[p], wat[p], "partition %d: %zu bytes, want %zu", p, at[p], wat[p]);
		cr_assert(memcmp(got[p], want[p], wat[p]) == 0, "partition %d differs", p);
	}
}

Test(pub_nats, lines_land_in_their_partition_in_order_none_missing, .init = setup,
	.fini = teardown)
{
	make_streams(PARTS);
	write_input();
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s pub --nats %s --batch 7 < %s 2>&1", tickcast(), c.urls,
		input);
	cr_assert_eq(run_sh(cmd), 0, "%s", output);
	expect_output("pub: 505 lines, 500 readings published, 0 not acknowledged");
	expect_output(", 4 partitions");
	expect_stream_matches_input();
}

Test(pub_nats, an_explicit_partition_count_is_used_as_given, .init = setup, .fini = teardown)
{
	make_streams(PARTS);
	write_input();
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s pub --nats %s --prefix tickcast --partitions %d < %s 2>&1",
		tickcast(), c.urls, PARTS, input);
	cr_assert_eq(run_sh(cmd), 0, "%s", output);
	expect_output(", 4 partitions");
	expect_stream_matches_input();
}

Test(pub_nats, without_a_readings_stream_it_says_what_to_do, .init = setup, .fini = teardown)
{
	char args[256];
	snprintf(args, sizeof args, "pub --nats %s --prefix nothere < /dev/null", c.urls);
	cr_assert_eq(run(args), 1, "%s", output);
	expect_output("no stream nothere_readings");
}

Test(pub_nats, a_batch_the_stream_does_not_take_is_reported, .init = setup, .fini = teardown)
{
	write_input();
	/* With the count given there is no stream to ask: no stream takes the
	 * subjects (no responders), which is reported, not lost in silence. */
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s pub --nats %s --prefix nothere --partitions 4 < %s 2>&1",
		tickcast(), c.urls, input);
	cr_assert_eq(run_sh(cmd), 1, "%s", output);
	expect_output("were refused by the stream (first: nothere.readings.");
	expect_output("500 readings published, 500 not acknowledged");
}

Test(pub_nats, binary_and_an_endpoint_are_refused)
{
	cr_assert_eq(run("pub --nats nats://127.0.0.1:1 --binary < /dev/null"), 2);
	expect_output("--nats takes text lines only");
	cr_assert_eq(run("pub --nats nats://127.0.0.1:1 tcp://127.0.0.1:5 < /dev/null"), 2);
	expect_output("--nats takes no ENDPOINT");
	cr_assert_eq(run("pub --nats nats://127.0.0.1:1 --prefix 'a..b' < /dev/null"), 2);
	expect_output("cluster prefix");
}
