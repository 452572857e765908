/* dh_state.h -- the daemon tests' per-process state (struct dh) and files in its temp dir. */
#ifndef TC_TEST_DH_STATE_H
#define TC_TEST_DH_STATE_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "dh_util.h"

/* One per test process: set by dh_setup, released by dh_teardown (daemon_harness.h). */
/* A CURVE client's keys, Z85 (40 characters each). */
struct dh_key {
	const char *server_public;  /* the daemon's public key the client expects */
	const char *public_key;
	const char *secret_key;
};

struct dh {
	char dir[64];               /* /tmp/tc_e2e_XXXXXX */
	char config[128];           /* dir/tickcast.yaml */
	char log[128];              /* dir/daemon.log */
	char ingest[160], publish[160], control[160]; /* ipc://dir/... */
	void *ctx;
	pid_t pid;                  /* the daemon while it runs, else 0 */
	void *sockets[32];          /* closed at teardown */
	int n_sockets;
	int n_monitors;
	const struct dh_key *key;   /* the CURVE keys of dh_start's, dh_request's, dh_publisher's
	                               and dh_subscriber's sockets; NULL: plain sockets */
};

static struct dh dh;

/* dir/name in a static buffer (one of 4, so a few can be used at once). */
static inline const char *dh_path(const char *name)
{
	static char paths[4][256];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, sizeof paths[0], "%s/%s", dh.dir, name);
	return p;
}

/* The last ~3 KB of the daemon's log, for failure messages. */
static inline const char *dh_log_tail(void)
{
	static char tail[3072];
	tail[0] = '\0';
	FILE *f = fopen(dh.log, "r");
	if (!f) {
		return "(no daemon log)";
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, size > (long)sizeof tail - 1 ? size - (long)sizeof tail + 1 : 0, SEEK_SET);
	size_t n = fread(tail, 1, sizeof tail - 1, f);
	tail[n] = '\0';
	fclose(f);
	return tail;
}

/* Writes len bytes to dir/name atomically (a temp file renamed over it). */
static inline void dh_write_file(const char *name, const void *data, size_t len)
{
	char tmp[512];
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	snprintf(tmp, sizeof tmp, "%s/%.*s.%s.tmp", dh.dir, (int)(base - name), name, base);
	FILE *f = fopen(tmp, "wb");
	cr_assert_not_null(f, "%s: %s", tmp, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(rename(tmp, dh_path(name)), 0, "rename: %s", strerror(errno));
}

/* promtool (Debian's prometheus package) accepts body, a metrics text, with
 * no lint problem: it is written to dir/metrics.txt and checked. */
static inline void dh_expect_promtool_clean(const char *body)
{
	dh_write_file("metrics.txt", body, strlen(body));
	char cmd[512];
	snprintf(cmd, sizeof cmd, "promtool check metrics < %s > %s 2>&1", dh_path("metrics.txt"),
		dh_path("promtool.out"));
	int rc = system(cmd);
	size_t len;
	char *said = dh_read_file(dh_path("promtool.out"), &len);
	cr_assert_eq(rc, 0, "promtool check metrics failed:\n%s\non:\n%s", said, body);
	cr_assert_eq(len, 0, "promtool check metrics found problems:\n%s", said);
	free(said);
}

#endif
