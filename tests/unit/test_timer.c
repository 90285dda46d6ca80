/* Unit tests for the timing wheel: order, cancel, re-arm, wrap-around. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "timer.h"

struct probe {
	struct timer t;
	int fired;
	uint64_t at; /* wheel time when it fired */
};

static uint64_t clock_now;

static void probe_fired(struct timer *t)
{
	struct probe *p = (struct probe *)t;
	p->fired++;
	p->at = clock_now;
}

static struct timer_wheel wheel;

static void run_until(uint64_t ms)
{
	while (clock_now < ms) {
		clock_now++;
		timer_wheel_advance(&wheel, clock_now);
	}
}

static void test_timer_fires_not_before_deadline(void **state)
{
	(void)state;
	clock_now = 1000;
	timer_wheel_init(&wheel, clock_now);
	struct probe p = { 0 };
	timer_init(&p.t, probe_fired);
	timer_arm(&wheel, &p.t, 1050);
	run_until(1049);
	assert_int_equal(p.fired, 0);
	run_until(1050 + TIMER_TICK_MS);
	assert_int_equal(p.fired, 1);
	assert_true(p.at >= 1050 && p.at < 1050 + TIMER_TICK_MS);
	assert_false(timer_armed(&p.t));
}

static void test_timer_cancel_prevents_firing(void **state)
{
	(void)state;
	clock_now = 0;
	timer_wheel_init(&wheel, 0);
	struct probe a = { 0 }, b = { 0 };
	timer_init(&a.t, probe_fired);
	timer_init(&b.t, probe_fired);
	timer_arm(&wheel, &a.t, 100);
	timer_arm(&wheel, &b.t, 100);
	timer_cancel(&a.t);
	timer_cancel(&a.t); /* twice is harmless */
	run_until(200);
	assert_int_equal(a.fired, 0);
	assert_int_equal(b.fired, 1);
}

static void test_timer_rearm_moves_deadline(void **state)
{
	(void)state;
	clock_now = 0;
	timer_wheel_init(&wheel, 0);
	struct probe p = { 0 };
	timer_init(&p.t, probe_fired);
	timer_arm(&wheel, &p.t, 100);
	run_until(50);
	timer_arm(&wheel, &p.t, 300); /* a keep-alive reset */
	run_until(250);
	assert_int_equal(p.fired, 0);
	run_until(400);
	assert_int_equal(p.fired, 1);
	assert_true(p.at >= 300);
}

static void test_timer_longer_than_one_revolution(void **state)
{
	(void)state;
	clock_now = 0;
	timer_wheel_init(&wheel, 0);
	uint64_t far = (uint64_t)TIMER_SLOTS * TIMER_TICK_MS * 3 + 17;
	struct probe p = { 0 };
	timer_init(&p.t, probe_fired);
	timer_arm(&wheel, &p.t, far);
	run_until(far - 1);
	assert_int_equal(p.fired, 0);
	run_until(far + TIMER_TICK_MS);
	assert_int_equal(p.fired, 1);
}

static void test_timer_big_clock_jump_fires_all_due(void **state)
{
	(void)state;
	timer_wheel_init(&wheel, 0);
	struct probe p[10] = { 0 };
	for (int i = 0; i < 10; i++) {
		timer_init(&p[i].t, probe_fired);
		timer_arm(&wheel, &p[i].t, (uint64_t)(i + 1) * 5000);
	}
	clock_now = 1000000; /* the machine slept */
	assert_int_equal(timer_wheel_advance(&wheel, clock_now), 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(p[i].fired, 1);
}

static void test_timer_next_ms_points_at_earliest(void **state)
{
	(void)state;
	timer_wheel_init(&wheel, 0);
	assert_int_equal(timer_wheel_next_ms(&wheel, 0), -1);
	struct probe a = { 0 }, b = { 0 };
	timer_init(&a.t, probe_fired);
	timer_init(&b.t, probe_fired);
	timer_arm(&wheel, &a.t, 800);
	timer_arm(&wheel, &b.t, 200);
	int next = timer_wheel_next_ms(&wheel, 0);
	assert_true(next >= 200 && next < 200 + (int)TIMER_TICK_MS);
	timer_cancel(&b.t);
	/* A cancelled slot may cause one early wake-up, never a late one. */
	next = timer_wheel_next_ms(&wheel, 0);
	assert_true(next <= 800 + (int)TIMER_TICK_MS);
}

/* The slot by slot scan the wheel once did: the reference. */
static int next_ms_by_scan(const struct timer_wheel *w, uint64_t now_ms)
{
	for (uint64_t k = 1; k <= TIMER_SLOTS; k++) {
		uint64_t tick = w->tick + k;
		unsigned slot = (unsigned)(tick % TIMER_SLOTS);
		if (w->busy[slot / 64] & (1ull << (slot % 64))) {
			uint64_t at = tick * TIMER_TICK_MS;
			return at <= now_ms ? 0 : (int)(at - now_ms);
		}
	}
	return -1;
}

/* Timers armed and cancelled at random, the clock moving on: the next
 * deadline always equals the full scan's, wherever the busy slots lie
 * against the wheel's position (before it, after it, in its own word). */
static void test_timer_next_ms_matches_a_full_scan(void **state)
{
	(void)state;
	static struct probe many[64];
	uint64_t now = 123457;
	unsigned seed = 12345;
	timer_wheel_init(&wheel, now);
	memset(many, 0, sizeof many);
	for (int i = 0; i < 64; i++)
		timer_init(&many[i].t, probe_fired);
	for (int round = 0; round < 20000; round++) {
		seed = seed * 1103515245u + 12345u;
		struct probe *p = &many[(seed >> 8) % 64];
		unsigned r = (seed >> 16) % 100;
		if (r < 45)
			timer_arm(&wheel, &p->t, now + 1 + (seed >> 3) % (TIMER_SLOTS * TIMER_TICK_MS * 2));
		else if (r < 60)
			timer_cancel(&p->t);
		else
			timer_wheel_advance(&wheel, now += (seed >> 20) % 300);
		assert_int_equal(timer_wheel_next_ms(&wheel, now), next_ms_by_scan(&wheel, now));
	}
	/* One timer alone, almost a revolution ahead: its slot is in the
	 * wheel's own word, just before the wheel's position. */
	for (int i = 0; i < 64; i++)
		timer_cancel(&many[i].t);
	timer_wheel_init(&wheel, 0);
	timer_wheel_advance(&wheel, now = 9 * TIMER_TICK_MS); /* position 10 */
	for (uint64_t k = TIMER_SLOTS - 8; k < TIMER_SLOTS; k++) {
		timer_arm(&wheel, &many[0].t, now + k * TIMER_TICK_MS);
		assert_true(timer_wheel_next_ms(&wheel, now) > 0);
		assert_int_equal(timer_wheel_next_ms(&wheel, now), next_ms_by_scan(&wheel, now));
		timer_cancel(&many[0].t);
		/* Two revolutions on: the cancelled timer's stale bit is gone. */
		timer_wheel_advance(&wheel, now += TIMER_TICK_MS * TIMER_SLOTS * 2);
	}
}

/* A callback that cancels another due timer must not make it fire: two
 * timers due together, each cancelling the other; exactly one fires. */
static struct probe pair[2];
static void cancel_other(struct timer *t)
{
	probe_fired(t);
	struct probe *other = (struct probe *)t == &pair[0] ? &pair[1] : &pair[0];
	timer_cancel(&other->t);
}

static void test_timer_callback_may_cancel_another_due_timer(void **state)
{
	(void)state;
	clock_now = 0;
	timer_wheel_init(&wheel, 0);
	memset(pair, 0, sizeof pair);
	timer_init(&pair[0].t, cancel_other);
	timer_init(&pair[1].t, cancel_other);
	timer_arm(&wheel, &pair[0].t, 40);
	timer_arm(&wheel, &pair[1].t, 40);
	run_until(100);
	assert_int_equal(pair[0].fired + pair[1].fired, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_fires_not_before_deadline),
		cmocka_unit_test(test_timer_cancel_prevents_firing),
		cmocka_unit_test(test_timer_rearm_moves_deadline),
		cmocka_unit_test(test_timer_longer_than_one_revolution),
		cmocka_unit_test(test_timer_big_clock_jump_fires_all_due),
		cmocka_unit_test(test_timer_next_ms_points_at_earliest),
		cmocka_unit_test(test_timer_callback_may_cancel_another_due_timer),
		cmocka_unit_test(test_timer_next_ms_matches_a_full_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
