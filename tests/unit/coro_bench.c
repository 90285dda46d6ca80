/* coro_bench: how long a resume+yield round trip and a pooled
 * create+run+destroy take. A measuring tool, not a test: it checks nothing.
 * cc -std=gnu11 -O2 -Isrc tests/unit/coro_bench.c src/coro.c src/coro_x86_64.S */

#include <stdio.h>
#include <time.h>

#include "coro.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void ping(struct coro *co, void *arg)
{
	intptr_t v = 0;

	(void)arg;
	for (;;)
		v = coro_yield(co, v + 1);
}

static void once(struct coro *co, void *arg)
{
	(void)co;
	++*(long *)arg;
}

int main(void)
{
	enum { ROUNDS = 20000000, CYCLES = 5000000 };
	struct coro_pool *pool = coro_pool_create(64 * 1024, 16);
	struct coro *co = coro_create(pool, ping, NULL);
	intptr_t v = 0;
	long runs = 0;
	double t0, t1;

	coro_resume(co, 0);
	t0 = now_ns();
	for (int i = 0; i < ROUNDS; i++)
		v = coro_resume(co, v);
	t1 = now_ns();
	printf("resume+yield round trip: %.2f ns (%ld)\n", (t1 - t0) / ROUNDS, (long)v);

	t0 = now_ns();
	for (int i = 0; i < CYCLES; i++) {
		struct coro *c = coro_create(pool, once, &runs);

		coro_resume(c, 0);
		coro_destroy(c);
	}
	t1 = now_ns();
	printf("create+resume+destroy (pooled stack): %.2f ns (%ld)\n", (t1 - t0) / CYCLES,
	       runs);
	/* ping never finishes: its stack goes back unfinished, which
	 * coro_destroy tolerates for a never-again-resumed coroutine */
	coro_pool_destroy(pool);
	return 0;
}
