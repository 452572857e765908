/* nats_fixture.h -- real nats-server processes (1 node, or a 3-node JetStream
 * cluster) on loopback ports for the cluster tests, so they test against the
 * server users run rather than a mock.
 *
 *     struct nf_cluster c;
 *     cr_assert_eq(nf_start(&c, 3), 0);   (stderr says why not)
 *     cr_assert_eq(nf_connect(&c, &nc, &js), 0);   (or c.urls for your own)
 *     int leader = nf_stream_leader(&c, "tickcast_readings");
 *     nf_kill(&c, leader, SIGKILL);
 *     cr_assert_eq(nf_restart(&c, leader), 0);
 *     nf_stop(&c);
 *
 * Each node gets free ports (client, cluster route, HTTP monitoring), a
 * config and a JetStream store dir in one mkdtemp folder under /tmp, and its
 * stdout and stderr in <folder>/<name>.log. "Healthy" is the monitoring
 * port's plain /healthz answering 200: in nats-server 2.9.10 that means
 * ready for clients, JetStream enabled, and (clustered) a meta leader known,
 * this node current with it, and every stream and consumer placed on this
 * node current. nf_start_conf appends extra text (subject mappings, limits)
 * to every node's config. NF_KEEP=1 keeps the folder for a post-mortem.
 *
 * Everything is static over the caller's struct; the server processes die
 * with the test process (PR_SET_PDEATHSIG), however it ends. */
#ifndef TC_TEST_NATS_FIXTURE_H
#define TC_TEST_NATS_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dh_util.h"
#include "spawn.h"

#define NF_MAX_NODES 3
#define NF_HEALTHY_MS 20000 /* a node must answer /healthz 200 within this */
#define NF_LOG_TAIL 3000    /* bytes of a node's log shown when it fails */

struct nf_node {
	pid_t pid;          /* 0 while not running */
	int client_port;    /* nats:// clients */
	int cluster_port;   /* routes between nodes (3-node clusters only) */
	int http_port;      /* monitoring: /healthz, /jsz */
	char name[8];       /* server_name: "n0", "n1", "n2" */
	char conf[96];
	char store[96];  /* JetStream store_dir */
	char log[96];    /* the node's stdout and stderr */
};

struct nf_cluster {
	int n;                              /* nodes: 1 or 3 */
	char dir[64];                       /* the mkdtemp folder */
	char urls[NF_MAX_NODES * 32];       /* "nats://127.0.0.1:P1,..." for libnats */
	struct nf_node node[NF_MAX_NODES];
};

/* The last NF_LOG_TAIL bytes of node i's log, to stderr. */
static inline void nf_print_log_tail(const struct nf_cluster *c, int i)
{
	FILE *f = fopen(c->node[i].log, "rb");
	if (!f) {
		fprintf(stderr, "nats fixture: no log %s: %s\n", c->node[i].log, strerror(errno));
		return;
	}
	char tail[NF_LOG_TAIL + 1];
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, size > NF_LOG_TAIL ? size - NF_LOG_TAIL : 0, SEEK_SET);
	size_t n = fread(tail, 1, NF_LOG_TAIL, f);
	tail[n] = '\0';
	fclose(f);
	fprintf(stderr, "nats fixture: the end of %s's log (%s):\n%s\n", c->node[i].name,
		c->node[i].log, tail);
}

/* nats-server's path: PATH first, then /usr/sbin and /usr/local/sbin, where
 * Debian installs it but a user's PATH often does not reach. */
static inline int nf_find_server(char *path, size_t cap)
{
	const char *env = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/usr/local/sbin", env ? env : "");
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, cap, "%s/nats-server", d);
		if (access(path, X_OK) == 0) {
			return 0;
		}
	}
	fprintf(stderr, "nats fixture: nats-server is not on PATH (nor in /usr/sbin); "
		"install it (Debian: apt-get install nats-server)\n");
	return -1;
}

/* Picks n distinct free loopback ports: binds port 0, reads it back, and
 * holds every socket until all are chosen so none repeats. */
static inline int nf_free_ports(int *ports, int n)
{
	int fds[3 * NF_MAX_NODES];
	int rc = 0, opened = 0;
	for (; opened < n; opened++) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof a;
		fds[opened] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[opened] < 0 || bind(fds[opened], (struct sockaddr *)&a, sizeof a) < 0 ||
			getsockname(fds[opened], (struct sockaddr *)&a, &len) < 0) {
			fprintf(stderr, "nats fixture: no free port: %s\n", strerror(errno));
			rc = -1;
			opened += fds[opened] >= 0;
			break;
		}
		ports[opened] = ntohs(a.sin_port);
	}
	for (int i = 0; i < opened; i++) {
		close(fds[i]);
	}
	return rc;
}

/* GET http://127.0.0.1:port<path>; the status code (-1 when nothing
 * answers), the body (cut to cap) in body. */
static inline int nf_http_get(int port, const char *path, char *body, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char req[256];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 || write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	size_t room = cap + 4096; /* the body and the response's head */
	char *resp = malloc(room);
	size_t got = 0;
	ssize_t r;
	while (resp && got < room - 1 && (r = read(fd, resp + got, room - 1 - got)) > 0) {
		got += (size_t)r;
	}
	close(fd);
	if (!resp) {
		return -1;
	}
	resp[got] = '\0';
	int code;
	if (sscanf(resp, "HTTP/%*s %d", &code) != 1) {
		free(resp);
		return -1;
	}
	const char *b = strstr(resp, "\r\n\r\n");
	snprintf(body, cap, "%s", b ? b + 4 : "");
	free(resp);
	return code;
}

/* Writes node i's config: JetStream in its store dir, and for 3 nodes a
 * cluster block with routes to the other two. extra (may be NULL) is
 * appended as is (subject mappings, limits). */
static inline int nf_write_conf(const struct nf_cluster *c, int i, const char *extra)
{
	const struct nf_node *nd = &c->node[i];
	FILE *f = fopen(nd->conf, "w");
	if (!f) {
		fprintf(stderr, "nats fixture: %s: %s\n", nd->conf, strerror(errno));
		return -1;
	}
	fprintf(f, "server_name: %s\nlisten: \"127.0.0.1:%d\"\nhttp: \"127.0.0.1:%d\"\n"
		"jetstream {\n  store_dir: \"%s\"\n}\n", nd->name, nd->client_port, nd->http_port,
		nd->store);
	if (c->n > 1) {
		fprintf(f, "cluster {\n  name: tc\n  listen: \"127.0.0.1:%d\"\n  routes: [\n",
			nd->cluster_port);
		for (int j = 0; j < c->n; j++) {
			if (j != i) {
				fprintf(f, "    \"nats-route://127.0.0.1:%d\"\n", c->node[j].cluster_port);
			}
		}
		fprintf(f, "  ]\n}\n");
	}
	if (extra) {
		fprintf(f, "%s\n", extra);
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* Forks `nats-server -c conf` for node i, its output to its log. */
static inline int nf_spawn(struct nf_cluster *c, int i)
{
	char exe[PATH_MAX];
	if (nf_find_server(exe, sizeof exe) < 0) {
		return -1;
	}
	struct nf_node *nd = &c->node[i];
	char *const argv[] = {exe, "-c", nd->conf, NULL};
	pid_t pid = test_spawn(argv, nd->log);
	if (pid < 0) {
		return -1;
	}
	nd->pid = pid;
	return 0;
}

/* Waits until node i answers /healthz with 200 (see the top of this file). */
static inline int nf_wait_healthy(struct nf_cluster *c, int i)
{
	struct nf_node *nd = &c->node[i];
	double deadline = dh_now_ms() + NF_HEALTHY_MS;
	char body[512] = "";
	int code = -1;
	while (dh_now_ms() < deadline) {
		int status;
		if (waitpid(nd->pid, &status, WNOHANG) == nd->pid) {
			nd->pid = 0;
			fprintf(stderr, "nats fixture: %s exited (status %d) instead of starting\n",
				nd->name, status);
			nf_print_log_tail(c, i);
			return -1;
		}
		code = nf_http_get(nd->http_port, "/healthz", body, sizeof body);
		if (code == 200) {
			return 0;
		}
		dh_sleep_ms(50);
	}
	fprintf(stderr, "nats fixture: %s not healthy within %d ms (last /healthz: %d %s)\n",
		nd->name, NF_HEALTHY_MS, code, body);
	nf_print_log_tail(c, i);
	return -1;
}

static inline int nf_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Kills node i with sig and reaps it. */
static inline void nf_kill(struct nf_cluster *c, int i, int sig)
{
	struct nf_node *nd = &c->node[i];
	if (nd->pid > 0) {
		kill(nd->pid, sig);
		waitpid(nd->pid, NULL, 0);
		nd->pid = 0;
	}
}

/* Kills every node and removes the folder (unless NF_KEEP is set). */
static inline void nf_stop(struct nf_cluster *c)
{
	for (int i = 0; i < c->n; i++) {
		nf_kill(c, i, SIGKILL);
	}
	if (c->dir[0] && !getenv("NF_KEEP")) {
		nftw(c->dir, nf_remove_one, 8, FTW_DEPTH | FTW_PHYS);
	}
	c->dir[0] = '\0';
}

/* Starts node i again (same ports, same store) and waits until healthy. */
static inline int nf_restart(struct nf_cluster *c, int i)
{
	nf_kill(c, i, SIGKILL);
	if (nf_spawn(c, i) < 0) {
		return -1;
	}
	return nf_wait_healthy(c, i);
}

/* nf_start with extra config text appended to every node's config. */
static inline int nf_start_conf(struct nf_cluster *c, int nodes, const char *extra)
{
	memset(c, 0, sizeof *c);
	if (nodes != 1 && nodes != NF_MAX_NODES) {
		fprintf(stderr, "nats fixture: %d nodes: only 1 or %d\n", nodes, NF_MAX_NODES);
		return -1;
	}
	c->n = nodes;
	snprintf(c->dir, sizeof c->dir, "/tmp/tc_nats_XXXXXX");
	int ports[3 * NF_MAX_NODES];
	if (!mkdtemp(c->dir)) {
		fprintf(stderr, "nats fixture: mkdtemp: %s\n", strerror(errno));
		c->dir[0] = '\0';
		return -1;
	}
	if (nf_free_ports(ports, 3 * nodes) < 0) {
		nf_stop(c);
		return -1;
	}
	size_t at = 0;
	for (int i = 0; i < nodes; i++) {
		struct nf_node *nd = &c->node[i];
		nd->client_port = ports[3 * i];
		nd->cluster_port = ports[3 * i + 1];
		nd->http_port = ports[3 * i + 2];
		snprintf(nd->name, sizeof nd->name, "n%d", i);
		/* (Results checked: they cannot be cut, and GCC's range guess thinks otherwise.) */
		if (snprintf(nd->conf, sizeof nd->conf, "%s/%s.conf", c->dir, nd->name)
				>= (int)sizeof nd->conf
			|| snprintf(nd->store, sizeof nd->store, "%s/%s", c->dir, nd->name)
				>= (int)sizeof nd->store
			|| snprintf(nd->log, sizeof nd->log, "%s/%s.log", c->dir, nd->name)
				>= (int)sizeof nd->log) {
			nf_stop(c);
			return -1;
		}
		at += (size_t)snprintf(c->urls + at, sizeof c->urls - at, "%snats://127.0.0.1:%d",
			i ? "," : "", nd->client_port);
	}
	for (int i = 0; i < nodes; i++) {
		if (nf_write_conf(c, i, extra) < 0 || nf_spawn(c, i) < 0) {
			nf_stop(c);
			return -1;
		}
	}
	for (int i = 0; i < nodes; i++) {
		if (nf_wait_healthy(c, i) < 0) {
			nf_stop(c);
			return -1;
		}
	}
	return 0;
}

/* Starts 1 or 3 JetStream nodes and waits until every one is healthy
 * (for 3, that includes a meta leader). 0, or -1 with why on stderr. */
static inline int nf_start(struct nf_cluster *c, int nodes)
{
	return nf_start_conf(c, nodes, NULL);
}

/* A connection to every node of c (reconnecting forever, 100 ms apart)
 * and its JetStream context; 0, or -1 with why on stderr. */
static inline int nf_connect(const struct nf_cluster *c, natsConnection **nc, jsCtx **js)
{
	char urls[NF_MAX_NODES][32];
	const char *servers[NF_MAX_NODES];
	for (int i = 0; i < c->n; i++) {
		snprintf(urls[i], sizeof urls[i], "nats://127.0.0.1:%d", c->node[i].client_port);
		servers[i] = urls[i];
	}
	natsOptions *o = NULL;
	natsStatus s = natsOptions_Create(&o);
	if (s == NATS_OK) {
		s = natsOptions_SetServers(o, servers, c->n);
	}
	if (s == NATS_OK) {
		s = natsOptions_SetMaxReconnect(o, -1);
	}
	if (s == NATS_OK) {
		s = natsOptions_SetReconnectWait(o, 100);
	}
	*nc = NULL;
	*js = NULL;
	if (s == NATS_OK) {
		s = natsConnection_Connect(nc, o);
	}
	if (s == NATS_OK) {
		s = natsConnection_JetStream(js, *nc, NULL);
	}
	natsOptions_Destroy(o);
	if (s != NATS_OK) {
		fprintf(stderr, "nats fixture: connecting to %s: %s\n", c->urls, nats_GetLastError(NULL));
		natsConnection_Destroy(*nc);
		*nc = NULL;
		return -1;
	}
	return 0;
}

/* The index of the node leading stream (its Raft group's leader, matched by
 * server_name), asked over a fresh connection and retried until one is
 * known or NF_HEALTHY_MS pass (a leader may be being elected); -1 if none. */
static inline int nf_stream_leader(const struct nf_cluster *c, const char *stream)
{
	double deadline = dh_now_ms() + NF_HEALTHY_MS;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	int found = -1;
	while (found < 0 && dh_now_ms() < deadline) {
		if (!nc && natsConnection_ConnectTo(&nc, c->urls) != NATS_OK) {
			nc = NULL;
		} else if (!js && natsConnection_JetStream(&js, nc, NULL) != NATS_OK) {
			js = NULL;
		}
		jsStreamInfo *si = NULL;
		if (js && js_GetStreamInfo(&si, js, stream, NULL, NULL) == NATS_OK) {
			const char *leader = si->Cluster ? si->Cluster->Leader : NULL;
			for (int i = 0; leader && i < c->n; i++) {
				if (strcmp(leader, c->node[i].name) == 0) {
					found = i;
				}
			}
			jsStreamInfo_Destroy(si);
		}
		if (found < 0) {
			dh_sleep_ms(100);
		}
	}
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	if (found < 0) {
		fprintf(stderr, "nats fixture: no leader for stream %s within %d ms\n", stream,
			NF_HEALTHY_MS);
	}
	return found;
}

#endif
