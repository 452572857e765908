/* curve.c -- CURVE server keys, the ZAP handler and handshake-failure counting on the daemon's sockets.
 *
 * The ZAP handler (RFC 27) is our own REP socket at inproc://zeromq.zap.01
 * rather than CZMQ's zauth: CZMQ would be another dependency for one socket
 * that compares a 32-byte key against a list. Handshakes that fail before
 * ZAP is asked (a client without CURVE, or with another server key) are seen
 * through zmq_socket_monitor on each socket: only protocol failures, since a
 * client that merely hangs up mid-handshake (a timed-out request) is
 * ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL and was refused nothing. */
#include "curve.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cert.h"
#include "error.h"
#include "log.h"

#define KEY_BYTES 32
#define MAX_WATCHED 8        /* sockets whose handshakes are watched */
#define ZAP_FRAMES 7         /* version, request id, domain, address, identity, mechanism, key */
#define POLL_MS 100          /* how often the thread looks at its stop flag */
#define LOG_INTERVAL_MS 10000

struct tc_curve {
	void *ctx;
	char secret_z85[TC_CERT_KEY_LEN + 1];
	int any_client;                 /* authorized_keys "": every client key is let in */
	uint8_t (*keys)[KEY_BYTES];     /* the authorized client keys */
	size_t n_keys;
	void *zap;                      /* REP at inproc://zeromq.zap.01 */
	void *monitors[MAX_WATCHED];    /* PAIR, each fed by one socket's monitor */
	char names[MAX_WATCHED][16];    /* which socket each monitor watches */
	int n_monitors;
	atomic_uint_fast64_t refused;
	atomic_int stop;
	pthread_t thread;
	int started;
	struct tc_log_limit log;
};

static int add_key(struct tc_curve *c, const char *path, char *err)
{
	struct tc_cert cert;
	if (tc_cert_read(&cert, path, err) < 0) {
		return -1;
	}
	uint8_t (*grown)[KEY_BYTES] = realloc(c->keys, (c->n_keys + 1) * sizeof *grown);
	if (!grown) {
		return tc_err_set(err, "out of memory for the authorized keys");
	}
	c->keys = grown;
	zmq_z85_decode(c->keys[c->n_keys++], cert.public_key);
	return 0;
}

/* Every *.key file (public certificate) of dir; none is an error: nobody could connect. */
static int load_keys(struct tc_curve *c, const char *dir, char *err)
{
	DIR *d = opendir(dir);
	if (!d) {
		return tc_err_set(err, "security.curve.authorized_keys: %s: cannot open: %s", dir,
			strerror(errno));
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len > 4 && !strcmp(e->d_name + len - 4, ".key")) {
			char path[TC_PATH_MAX + 256];
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			rc = add_key(c, path, err);
		}
	}
	closedir(d);
	if (rc == 0 && c->n_keys == 0) {
		rc = tc_err_set(err, "security.curve.authorized_keys: %s has no *.key public "
			"certificate, so no client could connect", dir);
	}
	return rc;
}

struct tc_curve *tc_curve_create(void *ctx, const struct tc_security_config *cfg, char *err)
{
	if (!zmq_has("curve")) {
		tc_err_set(err, "security.curve is set but this libzmq was built without CURVE "
			"(libsodium); install a libzmq with it or set security.curve.secret_key to \"\"");
		return NULL;
	}
	struct tc_curve *c = calloc(1, sizeof *c);
	if (!c) {
		tc_err_set(err, "out of memory");
		return NULL;
	}
	c->ctx = ctx;
	c->log.interval_ms = LOG_INTERVAL_MS;
	struct tc_cert cert;
	if (tc_cert_read(&cert, cfg->curve_secret_key, err) < 0) {
		tc_err_prefix(err, "security.curve.secret_key");
		tc_curve_destroy(&c);
		return NULL;
	}
	if (!cert.secret_key[0]) {
		tc_err_set(err, "security.curve.secret_key: %s is a public certificate; give the "
			"NAME.key_secret file", cfg->curve_secret_key);
		tc_curve_destroy(&c);
		return NULL;
	}
	memcpy(c->secret_z85, cert.secret_key, sizeof c->secret_z85);
	c->any_client = !cfg->curve_authorized_keys[0];
	if (!c->any_client && load_keys(c, cfg->curve_authorized_keys, err) < 0) {
		tc_curve_destroy(&c);
		return NULL;
	}
	c->zap = zmq_socket(ctx, ZMQ_REP);
	if (!c->zap || zmq_bind(c->zap, "inproc://zeromq.zap.01") != 0) {
		tc_err_set(err, "cannot bind the ZAP handler: %s", zmq_strerror(zmq_errno()));
		tc_curve_destroy(&c);
		return NULL;
	}
	tc_log_info("curve: on, server public key %s; %s", cert.public_key,
		c->any_client ? "any client key is let in" : "only the authorized_keys are let in");
	return c;
}

int tc_curve_apply(struct tc_curve *c, void *socket, const char *name, char *err)
{
	if (!c) {
		return 0;
	}
	if (c->n_monitors == MAX_WATCHED) {
		return tc_err_set(err, "curve: more than %d sockets", MAX_WATCHED);
	}
	int one = 1;
	char endpoint[64];
	snprintf(endpoint, sizeof endpoint, "inproc://tc-curve-monitor-%d", c->n_monitors);
	void *pair = NULL;
	if (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &one, sizeof one) != 0
		|| zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, c->secret_z85, sizeof c->secret_z85) != 0
		|| zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, name, strlen(name)) != 0
		|| zmq_socket_monitor(socket, endpoint, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0
		|| !(pair = zmq_socket(c->ctx, ZMQ_PAIR)) || zmq_connect(pair, endpoint) != 0) {
		tc_err_set(err, "curve on the %s socket: %s", name, zmq_strerror(zmq_errno()));
		if (pair) {
			zmq_close(pair);
		}
		return -1;
	}
	snprintf(c->names[c->n_monitors], sizeof c->names[0], "%s", name);
	c->monitors[c->n_monitors++] = pair;
	return 0;
}

static void refuse(struct tc_curve *c, const char *fmt, const char *a, const char *b,
	const char *d)
{
	atomic_fetch_add(&c->refused, 1);
	tc_log_limited(&c->log, TC_LOG_WARNING, fmt, a, b, d);
}

static int key_listed(const struct tc_curve *c, const uint8_t *key)
{
	for (size_t i = 0; i < c->n_keys; i++) {
		if (!memcmp(c->keys[i], key, KEY_BYTES)) {
			return 1;
		}
	}
	return 0;
}

/* frames[i] as a string in buf (cut to its size). */
static const char *frame_text(zmq_msg_t *m, char *buf, size_t size)
{
	size_t n = zmq_msg_size(m) < size - 1 ? zmq_msg_size(m) : size - 1;
	memcpy(buf, zmq_msg_data(m), n);
	buf[n] = '\0';
	return buf;
}

/* One ZAP request, answered 200 for a listed (or any) CURVE key, else 400. */
static void answer_zap(struct tc_curve *c)
{
	zmq_msg_t f[ZAP_FRAMES];
	int n = 0, more = 1;
	while (more) {
		zmq_msg_t part;
		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, c->zap, 0) < 0) {
			zmq_msg_close(&part);
			break;
		}
		more = zmq_msg_more(&part);
		if (n < ZAP_FRAMES) {
			f[n++] = part;
		} else {
			zmq_msg_close(&part);
		}
	}
	char domain[32] = "", address[64] = "", mechanism[16] = "", key[TC_CERT_KEY_LEN + 1] = "";
	int ok = n == ZAP_FRAMES && !strcmp(frame_text(&f[5], mechanism, sizeof mechanism), "CURVE")
		&& zmq_msg_size(&f[6]) == KEY_BYTES;
	if (ok) {
		frame_text(&f[2], domain, sizeof domain);
		frame_text(&f[3], address, sizeof address);
		zmq_z85_encode(key, zmq_msg_data(&f[6]), KEY_BYTES);
		ok = c->any_client || key_listed(c, zmq_msg_data(&f[6]));
		if (!ok) {
			refuse(c, "curve: refused client key %s from %s on the %s socket: not in "
				"security.curve.authorized_keys", key, address[0] ? address : "(local)",
				domain);
		}
	}
	const char *code = ok ? "200" : "400", *text = ok ? "OK" : "key not authorized";
	zmq_send(c->zap, "1.0", 3, ZMQ_SNDMORE);
	zmq_send(c->zap, n > 1 ? zmq_msg_data(&f[1]) : "", n > 1 ? zmq_msg_size(&f[1]) : 0,
		ZMQ_SNDMORE);
	zmq_send(c->zap, code, 3, ZMQ_SNDMORE);
	zmq_send(c->zap, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(c->zap, key, strlen(key), ZMQ_SNDMORE); /* user id: the key */
	zmq_send(c->zap, "", 0, 0);
	for (int i = 0; i < n; i++) {
		zmq_msg_close(&f[i]);
	}
}

static const char *protocol_reason(uint32_t value)
{
	switch (value) {
	case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
		return "the client does not use CURVE";
	case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
		return "the client's key does not fit (another server key?)";
	default:
		return "a handshake protocol error";
	}
}

/* One monitor event (two frames: event and value, then the endpoint). */
static void read_event(struct tc_curve *c, int i)
{
	zmq_msg_t head, where;
	zmq_msg_init(&head);
	zmq_msg_init(&where);
	if (zmq_msg_recv(&head, c->monitors[i], 0) >= 0 && zmq_msg_more(&head)
		&& zmq_msg_recv(&where, c->monitors[i], 0) >= 0 && zmq_msg_size(&head) >= 6) {
		uint32_t value;
		memcpy(&value, (char *)zmq_msg_data(&head) + 2, sizeof value);
		char endpoint[TC_ENDPOINT_MAX];
		refuse(c, "curve: handshake refused on the %s socket (%s): %s", c->names[i],
			frame_text(&where, endpoint, sizeof endpoint), protocol_reason(value));
	}
	zmq_msg_close(&head);
	zmq_msg_close(&where);
}

static void *run(void *arg)
{
	struct tc_curve *c = arg;
	zmq_pollitem_t items[MAX_WATCHED + 1] = {{.socket = c->zap, .events = ZMQ_POLLIN}};
	for (int i = 0; i < c->n_monitors; i++) {
		items[i + 1] = (zmq_pollitem_t){.socket = c->monitors[i], .events = ZMQ_POLLIN};
	}
	while (!atomic_load(&c->stop)) {
		if (zmq_poll(items, c->n_monitors + 1, POLL_MS) <= 0) {
			continue;
		}
		if (items[0].revents & ZMQ_POLLIN) {
			answer_zap(c);
		}
		for (int i = 0; i < c->n_monitors; i++) {
			if (items[i + 1].revents & ZMQ_POLLIN) {
				read_event(c, i);
			}
		}
	}
	return NULL;
}

int tc_curve_start(struct tc_curve *c, char *err)
{
	if (!c) {
		return 0;
	}
	if (pthread_create(&c->thread, NULL, run, c) != 0) {
		return tc_err_set(err, "cannot start the ZAP thread");
	}
	c->started = 1;
	return 0;
}

uint64_t tc_curve_refused(const struct tc_curve *c)
{
	return c ? atomic_load(&((struct tc_curve *)c)->refused) : 0;
}

void tc_curve_destroy(struct tc_curve **cp)
{
	struct tc_curve *c = *cp;
	if (!c) {
		return;
	}
	if (c->started) {
		atomic_store(&c->stop, 1);
		pthread_join(c->thread, NULL);
	}
	for (int i = 0; i < c->n_monitors; i++) {
		zmq_close(c->monitors[i]);
	}
	if (c->zap) {
		zmq_close(c->zap);
	}
	free(c->keys);
	free(c);
	*cp = NULL;
}
