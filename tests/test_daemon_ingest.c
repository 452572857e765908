/* test_daemon_ingest.c -- several parsing threads keep the order of the messages, so nothing is late.
 *
 * One producer sends 50 series x 40 event buckets as 200 small messages, a
 * bucket after the other: a message parsed out of turn would file bucket
 * b + 1 before the rest of bucket b, which would then be late. With
 * ingest.threads 4 every reading must be filed and the forecasts must be
 * what `tickcast replay` prints for the same lines. */
#include "daemon_harness.h"

TestSuite(daemon_ingest, .init = dh_setup, .fini = dh_teardown, .timeout = 120);

enum { SERIES = 50, BUCKETS = 40, PER_MESSAGE = 10 };

static void *run(const char *ingest, struct dh_buf *file)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK,
		.ingest = ingest});
	dh_start();
	void *sub = dh_subscriber();
	void *pub = dh_publisher();
	for (unsigned b = 0; b < BUCKETS; b++) {
		for (unsigned i = 0; i < SERIES; i += PER_MESSAGE) {
			struct dh_buf msg = {0};
			dh_add_bucket(&msg, "in-", i, PER_MESSAGE, b);
			dh_buf_add(file, msg.p, msg.len);
			dh_send(pub, msg.p, msg.len);
			dh_buf_free(&msg);
		}
	}
	dh_wait_int("readings.accepted", SERIES * BUCKETS, DH_WAIT_MS);
	return sub;
}

Test(daemon_ingest, four_parsing_threads_file_every_reading_in_order)
{
	struct dh_buf file = {0};
	void *sub = run("threads: 4", &file);
	dh_expect_int("readings.rejected_total", 0);
	dh_wait_int("ticks", BUCKETS - 1, DH_WAIT_MS); /* the last bucket is open */
	dh_stop_and_expect_replay(sub, dh.config, file.p, file.len, "forecasts, 4 parsers");
	dh_buf_free(&file);
}

Test(daemon_ingest, a_parsing_thread_count_out_of_bounds_is_refused_with_its_place)
{
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK,
		.ingest = "threads: 0"});
	const char *exe = getenv("TC_TICKCASTD");
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "%s --check --config %s 2>&1", exe, dh.config);
	FILE *p = popen(cmd, "r");
	char out[4096] = "";
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	cr_assert_neq(status, 0, "tickcastd --check accepted ingest.threads: 0:\n%s", out);
	cr_assert(strstr(out, "ingest.threads"), "the error names the key:\n%s", out);
}
