/* netpoll: see netpoll.h. One turn = epoll_wait for a batch of events ->
 * mark every woken coroutine runnable -> resume them all in one pass ->
 * fire expired deadlines (their coroutines run in the same pass) -> the
 * before-sleep hook. Coroutines are resumed only from here. */
#include "netpoll.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "coro.h"

struct wake {
	struct coro *co;
	intptr_t value;
};

struct runq {
	struct wake *items;
	unsigned len, cap;
};

struct netpoll {
	int epfd;
	unsigned batch;
	bool stop;
	uint64_t now_ms;
	uint64_t now_us; /* the same reading, in microseconds */
	int64_t wall_sec;
	struct epoll_event *events;
	struct runq run, next; /* `next` fills while `run` is dispatched */
	void (*before_sleep)(void *);
	void *before_sleep_arg;
	struct timer_wheel wheel;
};

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

static void update_clock(struct netpoll *np)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	np->now_us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	np->now_ms = np->now_us / 1000;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	np->wall_sec = ts.tv_sec;
}

struct netpoll *netpoll_create(unsigned events_batch)
{
	struct netpoll *np = calloc(1, sizeof *np);
	if (!np)
		return NULL;
	np->batch = events_batch ? events_batch : 512;
	np->events = calloc(np->batch, sizeof *np->events);
	np->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!np->events || np->epfd < 0) {
		free(np->events);
		free(np);
		return NULL;
	}
	update_clock(np);
	timer_wheel_init(&np->wheel, np->now_ms);
	return np;
}

void netpoll_destroy(struct netpoll *np)
{
	if (!np)
		return;
	close(np->epfd);
	free(np->events);
	free(np->run.items);
	free(np->next.items);
	free(np);
}

static void runq_push(struct runq *q, struct coro *co, intptr_t value)
{
	if (q->len == q->cap) {
		/* Grows to the peak number of runnable coroutines, then never
		 * again: no allocation in steady state. */
		unsigned cap = q->cap ? q->cap * 2 : 256;
		struct wake *items = realloc(q->items, cap * sizeof *items);
		if (!items)
			abort(); /* cannot lose a wake-up; nothing sane to do */
		q->items = items;
		q->cap = cap;
	}
	q->items[q->len++] = (struct wake){ co, value };
}

void netpoll_spawn(struct netpoll *np, struct coro *co, intptr_t value)
{
	runq_push(&np->next, co, value);
}

/* The waiter of src is done waiting: queue it once. */
static void wake_waiter(struct np_source *src, intptr_t value)
{
	src->wait = 0;
	timer_cancel(&src->timer);
	struct np_source *other = src->partner;
	if (other) { /* one wake-up for the pair */
		other->wait = 0;
		other->partner = NULL;
		src->partner = NULL;
		timer_cancel(&other->timer);
	}
	runq_push(&src->np->next, src->co, value);
}

static void source_timer_fired(struct timer *t)
{
	struct np_source *src = container_of(t, struct np_source, timer);
	if (src->co) {
		if (src->wait)
			wake_waiter(src, -ETIMEDOUT);
	} else if (src->ops && src->ops->idle_timeout) {
		src->ops->idle_timeout(src);
	}
}

int netpoll_add(struct netpoll *np, struct np_source *src, int fd,
		const struct np_source_ops *ops)
{
	src->fd = fd;
	src->ready = 0;
	src->wait = 0;
	src->co = NULL;
	src->np = np;
	src->ops = ops;
	src->partner = NULL;
	timer_init(&src->timer, source_timer_fired);
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = src,
	};
	return epoll_ctl(np->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void netpoll_remove(struct np_source *src)
{
	/* No EPOLL_CTL_DEL: the caller closes the fd next, which removes it
	 * from the epoll set, and events of this turn were all read already. */
	if (src->co && src->wait)
		wake_waiter(src, -ECANCELED);
	timer_cancel(&src->timer);
	src->ops = NULL;
}

int netpoll_wait(struct np_source *src, unsigned flags, uint64_t deadline_ms)
{
	if (src->ready & (flags | NP_ERROR))
		return 0;
	struct coro *co = coro_current();
	src->co = co; /* whoever waits on a source serves it */
	src->wait = (uint8_t)flags;
	if (deadline_ms != NP_NO_DEADLINE)
		timer_arm(&src->np->wheel, &src->timer, deadline_ms);
	int r = (int)coro_yield(co, 0);
	src->wait = 0;
	timer_cancel(&src->timer);
	return r;
}

int netpoll_wait_either(struct np_source *a, struct np_source *b, uint64_t deadline_ms)
{
	if ((a->ready | b->ready) & (NP_READABLE | NP_ERROR))
		return 0;
	struct coro *co = coro_current();
	a->co = b->co = co;
	a->wait = b->wait = NP_READABLE;
	a->partner = b;
	b->partner = a;
	if (deadline_ms != NP_NO_DEADLINE)
		timer_arm(&a->np->wheel, &a->timer, deadline_ms);
	int r = (int)coro_yield(co, 0);
	a->wait = b->wait = 0;
	a->partner = b->partner = NULL;
	timer_cancel(&a->timer);
	timer_cancel(&b->timer);
	return r;
}

struct sleeper {
	struct timer timer;
	struct coro *co;
	struct netpoll *np;
};

static void sleeper_fired(struct timer *t)
{
	struct sleeper *s = container_of(t, struct sleeper, timer);
	runq_push(&s->np->next, s->co, 0);
}

int netpoll_sleep(struct netpoll *np, uint64_t ms)
{
	struct sleeper s = { .co = coro_current(), .np = np };
	timer_init(&s.timer, sleeper_fired);
	timer_arm(&np->wheel, &s.timer, np->now_ms + ms);
	coro_yield(s.co, 0);
	timer_cancel(&s.timer);
	return 0;
}

void netpoll_set_idle_deadline(struct np_source *src, uint64_t deadline_ms)
{
	timer_arm(&src->np->wheel, &src->timer, deadline_ms);
}

uint64_t netpoll_now(const struct netpoll *np)
{
	return np->now_ms;
}

uint64_t netpoll_now_us(const struct netpoll *np)
{
	return np->now_us;
}

uint64_t netpoll_clock_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int64_t netpoll_wall_sec(const struct netpoll *np)
{
	return np->wall_sec;
}

void netpoll_set_before_sleep(struct netpoll *np, void (*fn)(void *), void *arg)
{
	np->before_sleep = fn;
	np->before_sleep_arg = arg;
}

static void mark_ready(struct epoll_event *ev)
{
	struct np_source *src = ev->data.ptr;
	uint8_t f = 0;
	if (ev->events & EPOLLIN)
		f |= NP_READABLE;
	if (ev->events & EPOLLOUT)
		f |= NP_WRITABLE;
	if (ev->events & EPOLLRDHUP)
		f |= NP_RDHUP | NP_READABLE;
	if (ev->events & (EPOLLERR | EPOLLHUP))
		f |= NP_ERROR | NP_READABLE | NP_WRITABLE;
	src->ready |= f;
	if (!src->co) {
		if ((f & NP_READABLE) && src->ops && src->ops->idle_ready)
			src->ops->idle_ready(src);
	} else if (src->wait && (src->ready & (src->wait | NP_ERROR))) {
		wake_waiter(src, 0);
	}
}

/* Resume everything queued, including what wakes during the pass. */
static int dispatch(struct netpoll *np)
{
	int resumed = 0;
	while (np->next.len) {
		struct runq tmp = np->run;
		np->run = np->next;
		np->next = tmp;
		np->next.len = 0;
		for (unsigned i = 0; i < np->run.len; i++) {
			struct coro *co = np->run.items[i].co;
			coro_resume(co, np->run.items[i].value);
			resumed++;
			if (coro_finished(co))
				coro_destroy(co);
		}
		np->run.len = 0;
	}
	return resumed;
}

int netpoll_turn(struct netpoll *np, int timeout_ms)
{
	int resumed = dispatch(np); /* spawned since the last turn */
	int next = timer_wheel_next_ms(&np->wheel, np->now_ms);
	if (next >= 0 && (timeout_ms < 0 || next < timeout_ms))
		timeout_ms = next;
	int n = epoll_wait(np->epfd, np->events, (int)np->batch, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	update_clock(np);
	for (int i = 0; i < n; i++)
		mark_ready(&np->events[i]);
	resumed += dispatch(np);
	timer_wheel_advance(&np->wheel, np->now_ms);
	resumed += dispatch(np);
	if (np->before_sleep)
		np->before_sleep(np->before_sleep_arg);
	return resumed;
}

int netpoll_run(struct netpoll *np)
{
	np->stop = false;
	while (!np->stop) {
		int r = netpoll_turn(np, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

void netpoll_stop(struct netpoll *np)
{
	np->stop = true;
}

unsigned netpoll_runnable(const struct netpoll *np)
{
	return np->next.len;
}
