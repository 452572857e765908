/* test_queue.c -- the reading queue between ingest and the tick thread. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "memory_limit.h"
#include "queue.h"

static struct tc_reading reading(const char *id, float a, float b, int timed, double t)
{
	struct tc_reading r = {.id = id, .id_len = strlen(id), .n_values = 2,
		.has_time = timed, .time = t};
	r.values[0] = a;
	r.values[1] = b;
	return r;
}

/* Pushes r alone, as an ingest thread pushes a message's readings. */
static int push(struct tc_queue *q, const struct tc_reading *r)
{
	struct tc_queue_local *l = tc_queue_local_create(r->n_values);
	cr_assert_not_null(l);
	int rc = tc_queue_local_add(l, r);
	if (rc == 0) {
		rc = tc_queue_push(q, l);
	}
	cr_assert_eq(tc_queue_local_count(l), 0, "a push empties the local buffer");
	tc_queue_local_destroy(&l);
	return rc;
}

/* The i-th reading of the last take, as a tc_reading. */
static void get(const struct tc_queue *q, size_t i, struct tc_reading *r)
{
	struct tc_reading_batch b;
	tc_queue_taken(q, &b);
	cr_assert_lt(i, b.n);
	*r = (struct tc_reading){.id = b.ids + b.id_off[i], .id_len = b.id_len[i], .n_values = 2,
		.has_time = !isnan(b.time[i]), .time = isnan(b.time[i]) ? 0 : b.time[i]};
	memcpy(r->values, b.values + 2 * i, 2 * sizeof(float));
}

Test(queue, readings_come_out_in_arrival_order_with_their_values_and_times)
{
	char err[TC_ERR_LEN];
	struct tc_queue *q = tc_queue_create(2, 100, SIZE_MAX, err);
	cr_assert_not_null(q, "%s", err);
	struct tc_reading in[3] = {reading("a", 1, 2, 1, 10.5), reading("bb", 3, 4, 0, 0),
		reading("ccc", 5, 6, 1, -2)};
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(push(q, &in[i]), 0);
	}
	cr_assert_eq(tc_queue_take(q, tc_now_ms()), 3);
	for (size_t i = 0; i < 3; i++) {
		struct tc_reading r;
		get(q, i, &r);
		cr_assert_eq(r.id_len, in[i].id_len);
		cr_assert_eq(memcmp(r.id, in[i].id, r.id_len), 0);
		cr_assert_float_eq(r.values[0], in[i].values[0], 0);
		cr_assert_float_eq(r.values[1], in[i].values[1], 0);
		cr_assert_eq(r.has_time, in[i].has_time);
		cr_assert_float_eq(r.time, in[i].time, 0);
	}
	cr_assert_eq(tc_queue_take(q, tc_now_ms()), 0, "a second take should find nothing");
	tc_queue_destroy(&q);
	cr_assert_null(q);
}

Test(queue, a_take_waits_until_its_deadline_when_nothing_comes)
{
	char err[TC_ERR_LEN];
	struct tc_queue *q = tc_queue_create(1, 10, SIZE_MAX, err);
	int64_t start = tc_now_ms();
	cr_assert_eq(tc_queue_take(q, start + 150), 0);
	int64_t waited = tc_now_ms() - start;
	cr_assert_geq(waited, 140, "returned after %lld ms", (long long)waited);
	tc_queue_destroy(&q);
}

struct pusher {
	struct tc_queue *q;
	atomic_int pushed;
	int n;
	const char *id;              /* NULL: "x" */
};

static void *push_many(void *arg)
{
	struct pusher *p = arg;
	for (int i = 0; i < p->n; i++) {
		struct tc_reading r = reading(p->id ? p->id : "x", (float)i, 0, 0, 0);
		if (push(p->q, &r) < 0) {
			break;
		}
		atomic_fetch_add(&p->pushed, 1);
	}
	return NULL;
}

Test(queue, a_full_queue_holds_the_pusher_back_and_loses_nothing)
{
	char err[TC_ERR_LEN];
	struct pusher p = {.q = tc_queue_create(2, 4, SIZE_MAX, err), .n = 20};
	pthread_t t;
	pthread_create(&t, NULL, push_many, &p);
	usleep(100000);
	cr_assert_eq(atomic_load(&p.pushed), 4, "the pusher should stop at the limit, pushed %d",
		atomic_load(&p.pushed));
	int taken = 0;
	float expect = 0;
	while (taken < 20) {
		size_t n = tc_queue_take(p.q, tc_now_ms() + 1000);
		cr_assert_gt(n, 0, "a take timed out after %d readings", taken);
		for (size_t i = 0; i < n; i++, taken++) {
			struct tc_reading r;
			get(p.q, i, &r);
			cr_assert_float_eq(r.values[0], expect, 0, "reading %d out of order", taken);
			expect += 1;
		}
	}
	pthread_join(t, NULL);
	tc_queue_destroy(&p.q);
}

/* Readings of 200-byte ids take 225 bytes each here (the id, its offset and
 * length, the time and two floats): 1000 bytes hold four of them. */
Test(queue, a_queue_bounded_in_bytes_holds_the_pusher_back_at_the_bound)
{
	char err[TC_ERR_LEN];
	char id[201];
	memset(id, 'i', 200);
	id[200] = '\0';
	struct pusher p = {.q = tc_queue_create(2, 1000, 1000, err), .n = 12, .id = id};
	pthread_t t;
	pthread_create(&t, NULL, push_many, &p);
	usleep(100000);
	cr_assert_eq(atomic_load(&p.pushed), 4, "the pusher should stop at 1000 bytes, pushed %d",
		atomic_load(&p.pushed));
	int taken = 0;
	while (taken < 12) {
		size_t n = tc_queue_take(p.q, tc_now_ms() + 1000);
		cr_assert(n > 0 && n <= 4, "a take of %zu readings", n);
		taken += (int)n;
	}
	pthread_join(t, NULL);
	tc_queue_destroy(&p.q);
}

Test(queue, closing_releases_a_blocked_pusher_and_refuses_more)
{
	char err[TC_ERR_LEN];
	struct pusher p = {.q = tc_queue_create(2, 2, SIZE_MAX, err), .n = 10};
	pthread_t t;
	pthread_create(&t, NULL, push_many, &p);
	usleep(50000);
	tc_queue_close(p.q);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&p.pushed), 2);
	struct tc_reading r = reading("y", 0, 0, 0, 0);
	cr_assert_eq(push(p.q, &r), TC_QUEUE_CLOSED);
	cr_assert_eq(tc_queue_take(p.q, tc_now_ms() + 5000), 2, "a closed queue still hands over what it holds");
	tc_queue_destroy(&p.q);
}

/* A push that finds no memory says so (ingest counts it as out_of_memory),
 * distinct from a closed queue, and the queue works on once taken. */
Test(queue, a_push_without_memory_is_refused_as_such_and_the_queue_goes_on)
{
	memory_limit_skip_under_asan();
	char err[TC_ERR_LEN];
	struct tc_queue *q = tc_queue_create(2, (size_t)1 << 30, SIZE_MAX, err);
	cr_assert_not_null(q, "%s", err);
	char id[256];
	memset(id, 'x', sizeof id - 1);
	id[sizeof id - 1] = '\0';
	struct tc_reading r = reading(id, 1, 2, 0, 0);
	struct rlimit old = memory_limit_set(32 << 20);
	int rc = 0;
	size_t pushed = 0;
	while (rc == 0 && pushed < ((size_t)1 << 24)) {
		rc = push(q, &r);
		pushed += rc == 0;
	}
	memory_limit_restore(old);
	cr_assert_eq(rc, TC_QUEUE_NO_MEMORY);
	cr_assert_eq(tc_queue_take(q, tc_now_ms()), pushed);
	cr_assert_eq(push(q, &r), 0);
	cr_assert_eq(tc_queue_take(q, tc_now_ms()), 1);
	tc_queue_destroy(&q);
}

/* A message's readings go in together, in their order; a batch larger than
 * the bounds passes into an empty buffer. */
Test(queue, a_batch_goes_in_whole_and_in_order_even_past_the_bounds)
{
	char err[TC_ERR_LEN];
	struct tc_queue *q = tc_queue_create(2, 3, SIZE_MAX, err);
	struct tc_reading first = reading("a", 0, 0, 1, 1);
	cr_assert_eq(push(q, &first), 0);
	struct tc_queue_local *l = tc_queue_local_create(2);
	const char *ids[] = {"b", "cc", "ddd", "e"};
	for (int i = 0; i < 4; i++) {
		struct tc_reading r = reading(ids[i], (float)i + 1, 0, 1, (double)i);
		cr_assert_eq(tc_queue_local_add(l, &r), 0);
	}
	cr_assert_eq(tc_queue_local_count(l), 4);
	cr_assert_eq(tc_queue_take(q, tc_now_ms()), 1, "the first reading alone");
	/* Four readings over a bound of three, into the empty buffer. */
	cr_assert_eq(tc_queue_push(q, l), 0);
	cr_assert_eq(tc_queue_take(q, tc_now_ms()), 4);
	for (size_t i = 0; i < 4; i++) {
		struct tc_reading r;
		get(q, i, &r);
		cr_assert_eq(r.id_len, strlen(ids[i]));
		cr_assert_eq(memcmp(r.id, ids[i], r.id_len), 0, "reading %zu out of order", i);
		cr_assert_float_eq(r.values[0], (float)i + 1, 0);
		cr_assert_float_eq(r.time, (double)i, 0);
	}
	tc_queue_local_destroy(&l);
	tc_queue_destroy(&q);
}
