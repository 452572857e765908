/* cmd_pub_nats.c -- `tickcast pub --nats`: reading lines from standard input to a cluster's
 * readings stream, each to its series' partition, every JetStream ack checked. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "error.h"
#include "nats_link.h"
#include "producer.h"
#include "reading.h"
#include "streams.h"

#define ACK_WAIT_MS 30000 /* the end waits this long for the last acks */

/* The link's warnings and errors (reconnects, a server going away) to stderr. */
static void on_event(void *ud, int level, const char *line)
{
	(void)ud;
	if (level <= TC_NATS_WARNING) {
		fprintf(stderr, "tickcast pub: %s\n", line);
	}
}

/* Every non-blank line of in into the producer. */
static int add_input(struct tc_producer *p, FILE *in, uint64_t *lines, char *err)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while (rc == 0 && (n = getline(&line, &cap, in)) >= 0) {
		size_t len = (size_t)n;
		(*lines)++;
		if (len > 0 && line[len - 1] == '\n') {
			len--;
		}
		if (len > 0 && line[len - 1] == '\r') {
			len--;
		}
		if (!tc_reading_is_blank(line, len) && tc_producer_add(p, line, len, err) < 0) {
			tc_err_prefix(err, "line %" PRIu64, *lines);
			rc = -1;
		}
	}
	if (rc == 0 && ferror(in)) {
		rc = tc_err_set(err, "reading standard input failed");
	}
	free(line);
	return rc;
}

int tc_cmd_pub_nats(const char *urls, const char *prefix, long partitions, long batch)
{
	char err[TC_ERR_LEN];
	if (tc_cluster_prefix_check(prefix, err) < 0) {
		fprintf(stderr, "tickcast pub: %s\n", err);
		return 2;
	}
	struct tc_nats_link *link = tc_nats_link_open(urls, "tickcast pub", on_event, NULL, err);
	if (!link) {
		fprintf(stderr, "tickcast pub: %s\n", err);
		return 1;
	}
	uint32_t p_count = (uint32_t)partitions;
	struct tc_producer *p = NULL;
	uint64_t lines = 0;
	int rc = partitions ? 0 : tc_streams_partitions(tc_nats_link_js(link), prefix, &p_count, err);
	if (rc == 0) {
		struct tc_producer_config cfg = {.prefix = prefix, .partitions = p_count,
			.batch_lines = (size_t)batch};
		p = tc_producer_new(tc_nats_link_conn(link), &cfg, err);
		rc = p ? add_input(p, stdin, &lines, err) : -1;
	}
	if (rc == 0) {
		rc = tc_producer_finish(p, ACK_WAIT_MS, err);
	}
	if (rc < 0) {
		fprintf(stderr, "tickcast pub: %s\n", err);
	}
	if (p) {
		struct tc_producer_stats st;
		tc_producer_stats(p, &st);
		fprintf(stderr, "pub: %" PRIu64 " lines, %" PRIu64 " readings published, %" PRIu64
			" not acknowledged, %" PRIu64 " messages, %" PRIu64 " bytes, %" PRIu32
			" partitions\n", lines, st.readings, st.failed_readings, st.messages, st.bytes,
			p_count);
	}
	tc_producer_free(&p);
	tc_nats_link_close(&link);
	return rc < 0 ? 1 : 0;
}
