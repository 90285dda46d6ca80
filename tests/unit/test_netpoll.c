/* Unit tests for the netpoller and the conn I/O over socketpairs: wake-ups,
 * deadlines, many waiters, cancellation, back-pressure, idle callbacks. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "conn.h"
#include "coro.h"
#include "netpoll.h"

static struct netpoll *np;
static struct coro_pool *pool;

static int setup(void **state)
{
	(void)state;
	np = netpoll_create(64);
	pool = coro_pool_create(64 * 1024, 64);
	return np && pool ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	netpoll_destroy(np);
	coro_pool_destroy(pool);
	return 0;
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct reader {
	struct np_source src;
	uint64_t timeout_ms;
	char buf[64];
	ssize_t got;
	bool done;
};

static void read_once(struct coro *co, void *arg)
{
	(void)co;
	struct reader *r = arg;
	r->got = conn_read(&r->src, r->buf, sizeof r->buf,
			   r->timeout_ms ? netpoll_now(np) + r->timeout_ms : NP_NO_DEADLINE);
	r->done = true;
}

static void start(coro_fn fn, void *arg)
{
	struct coro *co = coro_create(pool, fn, arg);
	assert_non_null(co);
	netpoll_spawn(np, co, 0);
}

static void turn_until(bool *flag, int max_turns)
{
	for (int i = 0; i < max_turns && !*flag; i++)
		assert_true(netpoll_turn(np, 100) >= 0);
}

static void test_read_waits_then_wakes_on_data(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	struct reader r = { 0 };
	assert_int_equal(netpoll_add(np, &r.src, sv[0], NULL), 0);
	start(read_once, &r);
	netpoll_turn(np, 0);
	assert_false(r.done); /* nothing to read yet: it waits */
	assert_int_equal(write(sv[1], "hello", 5), 5);
	turn_until(&r.done, 20);
	assert_true(r.done);
	assert_int_equal(r.got, 5);
	assert_memory_equal(r.buf, "hello", 5);
	netpoll_remove(&r.src);
	close(sv[0]);
	close(sv[1]);
}

static void test_read_deadline_returns_etimedout(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	struct reader r = { .timeout_ms = 60 };
	assert_int_equal(netpoll_add(np, &r.src, sv[0], NULL), 0);
	uint64_t t0 = mono_ms();
	start(read_once, &r);
	turn_until(&r.done, 100);
	uint64_t took = mono_ms() - t0;
	assert_true(r.done);
	assert_int_equal(r.got, -ETIMEDOUT);
	assert_true(took >= 55);
	assert_true(took < 1000);
	netpoll_remove(&r.src);
	close(sv[0]);
	close(sv[1]);
}

#define MANY 300

static void test_many_waiters_wake_in_one_pass(void **state)
{
	(void)state;
	static struct reader rs[MANY];
	int peers[MANY];
	memset(rs, 0, sizeof rs);
	for (int i = 0; i < MANY; i++) {
		int sv[2];
		pair(sv);
		peers[i] = sv[1];
		assert_int_equal(netpoll_add(np, &rs[i].src, sv[0], NULL), 0);
		start(read_once, &rs[i]);
	}
	netpoll_turn(np, 0);
	for (int i = 0; i < MANY; i++) {
		assert_false(rs[i].done);
		assert_int_equal(write(peers[i], "x", 1), 1);
	}
	/* The batch is 64 events; 300 wake-ups take a handful of turns. */
	int turns = 0, resumed = 0;
	while (resumed < MANY && turns < 50) {
		resumed += netpoll_turn(np, 100);
		turns++;
	}
	assert_int_equal(resumed, MANY);
	assert_true(turns <= MANY / 64 + 2);
	for (int i = 0; i < MANY; i++) {
		assert_true(rs[i].done);
		assert_int_equal(rs[i].got, 1);
		netpoll_remove(&rs[i].src);
		close(rs[i].src.fd);
		close(peers[i]);
	}
}

struct canceller {
	struct reader *victim;
	bool done;
};

static void cancel_it(struct coro *co, void *arg)
{
	(void)co;
	struct canceller *c = arg;
	netpoll_remove(&c->victim->src);
	c->done = true;
}

static void test_remove_wakes_waiter_with_ecanceled(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	struct reader r = { 0 };
	assert_int_equal(netpoll_add(np, &r.src, sv[0], NULL), 0);
	start(read_once, &r);
	netpoll_turn(np, 0);
	assert_false(r.done);
	struct canceller c = { .victim = &r };
	start(cancel_it, &c);
	turn_until(&r.done, 20);
	assert_true(c.done);
	assert_true(r.done);
	assert_int_equal(r.got, -ECANCELED);
	close(sv[0]);
	close(sv[1]);
}

struct writer {
	struct np_source src;
	char *data;
	size_t len;
	int result;
	bool done;
};

static void write_all(struct coro *co, void *arg)
{
	(void)co;
	struct writer *w = arg;
	struct iovec iov[2] = { { w->data, w->len / 2 }, { w->data + w->len / 2, w->len - w->len / 2 } };
	w->result = conn_writev(&w->src, iov, 2, false, 5000);
	w->done = true;
}

static void test_writev_waits_for_a_slow_peer_and_delivers_in_order(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	struct writer w = { .len = 4 << 20 };
	w.data = malloc(w.len);
	for (size_t i = 0; i < w.len; i++)
		w.data[i] = (char)(i * 7 + i / 4096);
	assert_int_equal(netpoll_add(np, &w.src, sv[0], NULL), 0);
	start(write_all, &w);
	char *got = malloc(w.len);
	size_t have = 0;
	for (int i = 0; i < 100000 && have < w.len; i++) {
		netpoll_turn(np, 10);
		ssize_t n = read(sv[1], got + have, 65536);
		if (n > 0)
			have += (size_t)n;
	}
	turn_until(&w.done, 20);
	assert_true(w.done);
	assert_int_equal(w.result, 0);
	assert_int_equal(have, w.len);
	assert_memory_equal(got, w.data, w.len);
	netpoll_remove(&w.src);
	close(sv[0]);
	close(sv[1]);
	free(got);
	free(w.data);
}

struct sleeper {
	uint64_t took;
	bool done;
};

static void sleep_a_bit(struct coro *co, void *arg)
{
	(void)co;
	struct sleeper *s = arg;
	uint64_t t0 = mono_ms();
	netpoll_sleep(np, 40);
	s->took = mono_ms() - t0;
	s->done = true;
}

static void test_sleep_resumes_after_its_time(void **state)
{
	(void)state;
	struct sleeper s = { 0 };
	start(sleep_a_bit, &s);
	turn_until(&s.done, 100);
	assert_true(s.done);
	assert_true(s.took >= 38);
	assert_true(s.took < 1000);
}

static int idle_ready_calls, idle_timeout_calls;
static void on_idle_ready(struct np_source *src)
{
	(void)src;
	idle_ready_calls++;
}
static void on_idle_timeout(struct np_source *src)
{
	(void)src;
	idle_timeout_calls++;
}
static const struct np_source_ops idle_ops = { on_idle_ready, on_idle_timeout };

static void test_idle_source_calls_idle_ready_then_idle_timeout(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	struct np_source src;
	idle_ready_calls = idle_timeout_calls = 0;
	assert_int_equal(netpoll_add(np, &src, sv[0], &idle_ops), 0);
	netpoll_turn(np, 0); /* the initial EPOLLOUT is not a read */
	assert_int_equal(idle_ready_calls, 0);
	assert_int_equal(write(sv[1], "a", 1), 1);
	netpoll_turn(np, 100);
	assert_int_equal(idle_ready_calls, 1);
	netpoll_set_idle_deadline(&src, netpoll_now(np) + 30);
	for (int i = 0; i < 50 && !idle_timeout_calls; i++)
		netpoll_turn(np, 100);
	assert_int_equal(idle_timeout_calls, 1);
	netpoll_remove(&src);
	close(sv[0]);
	close(sv[1]);
}

struct drainer {
	struct np_source src;
	size_t total;
	ssize_t last;
	bool done;
};

static void read_to_end(struct coro *co, void *arg)
{
	(void)co;
	struct drainer *d = arg;
	char buf[4];
	for (;;) {
		ssize_t n = conn_read(&d->src, buf, sizeof buf, netpoll_now(np) + 2000);
		d->last = n;
		if (n <= 0)
			break;
		d->total += (size_t)n;
	}
	d->done = true;
}

static void test_data_then_close_is_read_to_the_end(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	struct drainer d = { 0 };
	assert_int_equal(netpoll_add(np, &d.src, sv[0], NULL), 0);
	/* Data and the close arrive together: one edge for both. */
	assert_int_equal(write(sv[1], "0123456789", 10), 10);
	shutdown(sv[1], SHUT_WR);
	start(read_to_end, &d);
	turn_until(&d.done, 50);
	assert_true(d.done);
	assert_int_equal(d.total, 10);
	assert_int_equal(d.last, 0);
	netpoll_remove(&d.src);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_waits_then_wakes_on_data),
		cmocka_unit_test(test_read_deadline_returns_etimedout),
		cmocka_unit_test(test_many_waiters_wake_in_one_pass),
		cmocka_unit_test(test_remove_wakes_waiter_with_ecanceled),
		cmocka_unit_test(test_writev_waits_for_a_slow_peer_and_delivers_in_order),
		cmocka_unit_test(test_sleep_resumes_after_its_time),
		cmocka_unit_test(test_idle_source_calls_idle_ready_then_idle_timeout),
		cmocka_unit_test(test_data_then_close_is_read_to_the_end),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
