/* loadgen_producer.c -- loadgen's producer threads: one reading a tick per series, text or binary, over an XPUB. */
#include "loadgen_producer.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zmq.h>

#include "loadgen.h"
#include "reading_binary.h"
#include "uint_text.h"

#define LEAD_MS 20              /* a round starts this long after its bucket opens */
#define ID_BUF 24               /* "s" and up to 20 digits */

static double value_of(long series, int64_t bucket, int k)
{
	return sin(0.01 * (double)series + 0.5 * (double)bucket + (double)k);
}

/* v in [-1, 1] with six decimals, without printf's cost (it would be a
 * large share of the producers' CPU, which the daemon shares). */
static char *put_fixed6(char *p, double v)
{
	if (v < 0) {
		*p++ = '-';
		v = -v;
	}
	unsigned long long m = (unsigned long long)(v * 1e6 + 0.5);
	p += tc_uint_text(p, m / 1000000, 1);
	*p++ = '.';
	unsigned f = (unsigned)(m % 1000000);
	for (unsigned d = 100000; d; d /= 10) {
		*p++ = (char)('0' + f / d % 10);
	}
	return p;
}

static size_t build_text(const struct lg_run *rn, char *buf, long lo, long hi, int64_t bucket)
{
	char *p = buf;
	for (long s = lo; s < hi; s++) {
		*p++ = 's';
		p += tc_uint_text(p, (uint64_t)s, 1);
		*p++ = ' ';
		for (int k = 0; k < rn->o.width; k++) {
			if (k) {
				*p++ = ',';
			}
			p = put_fixed6(p, value_of(s, bucket, k));
		}
		*p++ = '\n';
	}
	return (size_t)(p - buf);
}

static size_t build_binary(const struct lg_run *rn, char *buf, size_t cap, long lo, long hi,
	int64_t bucket)
{
	struct tc_reading_binary_writer w;
	struct tc_reading r;
	char id[ID_BUF];
	tc_reading_binary_writer_init(&w, buf, cap, rn->o.width, 0);
	r.n_values = rn->o.width;
	r.has_time = 0;
	r.id = id;
	for (long s = lo; s < hi; s++) {
		id[0] = 's';
		r.id_len = 1 + tc_uint_text(id + 1, (uint64_t)s, 1);
		for (int k = 0; k < rn->o.width; k++) {
			r.values[k] = (float)value_of(s, bucket, k);
		}
		if (tc_reading_binary_writer_add(&w, &r) < 0) {
			return 0; /* the buffer is sized for a full batch: cannot happen */
		}
	}
	return w.len;
}

static void *open_producer_socket(struct lg_run *rn)
{
	void *sock = zmq_socket(rn->ctx, ZMQ_XPUB);
	int one = 1, hwm = 1000000, timeout = LG_SUBSCRIBE_WAIT_MS, linger = 10000;
	if (!sock || zmq_setsockopt(sock, ZMQ_XPUB_NODROP, &one, sizeof one) != 0
		|| zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0
		|| zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0
		|| zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0
		|| zmq_connect(sock, rn->o.ingest) != 0) {
		fprintf(stderr, "loadgen: producer socket on %s: %s\n", rn->o.ingest,
			zmq_strerror(zmq_errno()));
		if (sock) {
			zmq_close(sock);
		}
		return NULL;
	}
	/* Slow joiner: a PUB drops what it sends before the subscription has
	 * come back; an XPUB sees it arrive. */
	char sub[256];
	if (zmq_recv(sock, sub, sizeof sub, 0) < 1 || sub[0] != 1) {
		fprintf(stderr, "loadgen: no subscription from the daemon on %s within %d ms\n",
			rn->o.ingest, LG_SUBSCRIBE_WAIT_MS);
		zmq_close(sock);
		return NULL;
	}
	return sock;
}

static void note_finish(struct lg_run *rn, long long ms)
{
	long long seen = atomic_load(&rn->finish_ms_max);
	while (ms > seen && !atomic_compare_exchange_weak(&rn->finish_ms_max, &seen, ms)) {
	}
}

static int send_round(struct lg_producer *p, void *sock, char *buf, size_t cap, int64_t bucket)
{
	struct lg_run *rn = p->run;
	const long per = rn->o.batch;
	const long n_batches = (p->hi - p->lo + per - 1) / per;
	const int64_t start = bucket * rn->o.interval_ms + LEAD_MS;
	const double step = rn->o.spread * rn->o.interval_ms / (double)(n_batches ? n_batches : 1);
	for (long j = 0; j < n_batches; j++) {
		lg_sleep_until_ms(start + (int64_t)(step * (double)j));
		long lo = p->lo + j * per;
		long hi = lo + per < p->hi ? lo + per : p->hi;
		size_t len = rn->o.binary ? build_binary(rn, buf, cap, lo, hi, bucket)
			: build_text(rn, buf, lo, hi, bucket);
		int rc;
		while ((rc = zmq_send(sock, buf, len, 0)) < 0 && zmq_errno() == EINTR) {
		}
		if (rc < 0) {
			fprintf(stderr, "loadgen: send: %s\n", zmq_strerror(zmq_errno()));
			return -1;
		}
		atomic_fetch_add(&rn->sent, (uint_fast64_t)(hi - lo));
	}
	note_finish(rn, lg_real_ms() - bucket * rn->o.interval_ms);
	return 0;
}

void *lg_producer_run(void *arg)
{
	struct lg_producer *p = arg;
	struct lg_run *rn = p->run;
	/* Worst case a line: id, a 9-character value per input and separators. */
	size_t line = ID_BUF + 12 * (size_t)rn->o.width + 2;
	size_t cap = TC_READING_BINARY_HEADER_LEN + (size_t)rn->o.batch * line;
	char *buf = malloc(cap);
	void *sock = buf ? open_producer_socket(rn) : NULL;
	if (!sock) {
		atomic_store(&rn->failed, 1);
		free(buf);
		return NULL;
	}
	atomic_fetch_add(&rn->ready, 1);
	int64_t first;
	while ((first = atomic_load(&rn->first_bucket)) == 0 && !atomic_load(&rn->stop)) {
		usleep(1000);
	}
	for (int r = 0; first && r < rn->rounds && !atomic_load(&rn->stop); r++) {
		if (send_round(p, sock, buf, cap, first + r) < 0) {
			atomic_store(&rn->failed, 1);
			break;
		}
	}
	/* Stay until the end, so that the CPU report still finds this thread. */
	while (!atomic_load(&rn->stop)) {
		usleep(10000);
	}
	zmq_close(sock);
	free(buf);
	return NULL;
}
