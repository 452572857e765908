/* test_daemon_sockets.c -- tickcastd's sockets as a network sees them: IPv6
 * endpoints, and a frame over ingest.max_message_bytes refused by ZeroMQ as
 * it arrives rather than received whole. */
#include "daemon_harness.h"

TestSuite(daemon_sockets, .init = dh_setup, .fini = dh_teardown, .timeout = 60);

/* Nonzero when the loopback interface has ::1. */
static int has_ipv6_loopback(void)
{
	FILE *f = fopen("/proc/net/if_inet6", "r");
	if (!f) {
		return 0;
	}
	char line[256];
	int found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		found = strncmp(line, "00000000000000000000000000000001", 32) == 0;
	}
	fclose(f);
	return found;
}

/* A tcp port that nothing listens on now (the kernel's pick, released). */
static int free_port(void)
{
	void *s = zmq_socket(dh.ctx, ZMQ_PAIR);
	cr_assert_eq(zmq_bind(s, "tcp://[::1]:*"), 0, "%s", zmq_strerror(zmq_errno()));
	char endpoint[128];
	size_t len = sizeof endpoint;
	zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, endpoint, &len);
	zmq_close(s);
	return atoi(strrchr(endpoint, ':') + 1);
}

Test(daemon_sockets, every_socket_binds_and_serves_on_ipv6_and_the_wildcard)
{
	if (!has_ipv6_loopback()) {
		cr_skip_test("this machine has no IPv6 loopback (::1)");
	}
	/* Readings and control on ::1, forecasts bound on the wildcard address, reached over ::1. */
	int in = free_port(), out = free_port(), control = free_port();
	snprintf(dh.ingest, sizeof dh.ingest, "tcp://[::1]:%d", in);
	char bind_all[64];
	snprintf(bind_all, sizeof bind_all, "tcp://*:%d", out);
	snprintf(dh.publish, sizeof dh.publish, "tcp://[::1]:%d", out);
	snprintf(dh.control, sizeof dh.control, "tcp://[::1]:%d", control);
	dh_copy_sample("w.safetensors");
	struct dh_config c = {.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK};
	/* The harness writes publish.bind from dh.publish: put the wildcard there
	 * for the daemon, then point the subscriber at ::1. */
	char saved[sizeof dh.publish];
	snprintf(saved, sizeof saved, "%s", dh.publish);
	snprintf(dh.publish, sizeof dh.publish, "%s", bind_all);
	dh_write_config(&c);
	snprintf(dh.publish, sizeof dh.publish, "%s", saved);
	dh_start();
	void *sub = dh_subscriber(), *pub = dh_publisher();
	char line[128];
	int n = snprintf(line, sizeof line, "v6.a 1.5 %.3f\nv6.a 2.5 %.3f\n", DH_T0 + 0.1, DH_T0 + 1.1);
	dh_send(pub, line, (size_t)n);
	dh_expect_int("readings.accepted", 2);
	struct dh_received r = {0};
	cr_assert_geq(dh_receive(sub, &r, 1, 100, DH_WAIT_MS), 1, "no forecast over IPv6; "
		"daemon log:\n%s", dh_log_tail());
	cr_assert_str_eq(r.topics.v[0], "forecast.v6.a");
	dh_received_free(&r);
}

/* A memory figure of the daemon from /proc/<pid>/status ("VmHWM": peak
 * resident, "VmRSS": resident now), bytes. */
static long long daemon_memory(const char *field)
{
	char path[64], format[32];
	snprintf(path, sizeof path, "/proc/%d/status", (int)dh.pid);
	snprintf(format, sizeof format, "%s: %%lld kB", field);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	char line[256];
	long long kb = -1;
	while (fgets(line, sizeof line, f) && sscanf(line, format, &kb) != 1) {
	}
	fclose(f);
	cr_assert_geq(kb, 0, "no %s in %s", field, path);
	return kb * 1024;
}

Test(daemon_sockets, a_frame_over_the_limit_is_refused_before_it_is_received_whole)
{
	enum { HUGE = 96 << 20 };
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK,
		.ingest = "max_message_bytes: 1048576"});
	dh_start();
	void *good = dh_publisher();
	long long before = daemon_memory("VmHWM");
	/* One 96 MB frame of good lines: received whole, it would raise the
	 * daemon's peak memory by at least its size. */
	void *big = dh_publisher();
	char *frame = malloc(HUGE);
	cr_assert_not_null(frame);
	for (size_t i = 0; i < HUGE; i++) {
		frame[i] = i % 64 == 63 ? '\n' : 'x';
	}
	dh_send(big, frame, HUGE);
	free(frame);
	/* Readings from another producer still flow, and the limit's own
	 * messages are still taken. */
	char line[64];
	int n = snprintf(line, sizeof line, "after.big 1 %.3f", DH_T0 + 0.5);
	dh_send(good, line, (size_t)n);
	dh_expect_int("readings.accepted", 1);
	usleep(300 * 1000); /* time for ZeroMQ to read what reached it of the frame */
	long long grew = daemon_memory("VmHWM") - before;
	cr_assert_lt(grew, HUGE / 4, "the daemon's peak memory grew by %lld bytes for one refused "
		"%d-byte frame", grew, HUGE);
	cr_assert_eq(dh_status_int("readings.messages"), 1, "the big frame was received");
}

Test(daemon_sockets, memory_taken_by_a_burst_of_large_messages_goes_back_after_it)
{
	enum { FRAME = 12 << 20, FRAMES = 24 };
#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("the daemon runs on AddressSanitizer's allocator, which keeps freed memory "
		"in quarantine: this is about glibc's");
#endif
	dh_copy_sample("w.safetensors");
	dh_write_config(&(struct dh_config){.model = DH_SAMPLE_MODEL, .tick = DH_EVENT_TICK});
	dh_start();
	void *pub = dh_publisher();
	long long before = daemon_memory("VmRSS");
	/* Blank lines: parsed at once, yield nothing, so only the frames' own
	 * buffers are at stake. */
	char *frame = malloc(FRAME);
	cr_assert_not_null(frame);
	memset(frame, '\n', FRAME);
	for (int i = 0; i < FRAMES; i++) {
		dh_send(pub, frame, FRAME);
	}
	free(frame);
	dh_expect_int("readings.messages", FRAMES);
	dh_sleep_ms(300);
	long long after = daemon_memory("VmRSS");
	cr_assert_lt(after - before, 2LL * FRAME, "%d frames of %d bytes left the daemon %lld bytes "
		"larger (%lld -> %lld)", FRAMES, FRAME, after - before, before, after);
}
