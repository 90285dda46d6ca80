/* netpoll: one epoll instance per worker, edge-triggered, and the scheduler
 * of the coroutines that wait on it. Knows fds, deadlines and which coroutine
 * waits on what; nothing of HTTP or configuration.
 *
 * Each fd is registered once (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
 * events only set "ready" flags in its np_source. I/O code clears a flag when
 * the kernel says EAGAIN and only then waits, so a coroutine whose fd is
 * already ready never yields. */
#ifndef GARCOM_NETPOLL_H
#define GARCOM_NETPOLL_H

#include <stdbool.h>
#include <stdint.h>

#include "timer.h"

struct coro;
struct netpoll;
struct np_source;

enum {
	NP_READABLE = 1,
	NP_WRITABLE = 2,
	NP_RDHUP = 4, /* peer shut its side: reads will drain then return 0 */
	NP_ERROR = 8, /* EPOLLERR/EPOLLHUP: every wait returns at once */
};

/* What happens to a source while no coroutine serves it. */
struct np_source_ops {
	/* Readable (or closed) while no coroutine: start one (netpoll_spawn). */
	void (*idle_ready)(struct np_source *src);
	/* Its timer expired while no coroutine serves it. */
	void (*idle_timeout)(struct np_source *src);
};

struct np_source {
	int fd;
	uint8_t ready;      /* NP_* flags the kernel reported, not yet used up */
	uint8_t wait;       /* flags the waiting coroutine wants; 0 = none */
	struct coro *co;    /* coroutine serving this source, or NULL */
	struct netpoll *np;
	const struct np_source_ops *ops;
	struct np_source *partner; /* waited on together (netpoll_wait_either) */
	struct timer timer; /* the waiter's deadline, or the idle deadline */
};

#define NP_NO_DEADLINE UINT64_MAX

struct netpoll *netpoll_create(unsigned events_batch);
void netpoll_destroy(struct netpoll *np);

/* Register src->fd (already non-blocking). ops may be NULL. */
int netpoll_add(struct netpoll *np, struct np_source *src, int fd,
		const struct np_source_ops *ops);
/* Forget src before its fd is closed. A coroutine waiting on it is woken
 * with -ECANCELED. */
void netpoll_remove(struct np_source *src);

/* Make a coroutine runnable (new ones, or wakes from outside a wait); it
 * is resumed with `value` in the next dispatch pass. */
void netpoll_spawn(struct netpoll *np, struct coro *co, intptr_t value);

/* From a coroutine: wait until src is ready for `flags` (NP_READABLE and/or
 * NP_WRITABLE) or the deadline (absolute ms, netpoll_now clock) passes.
 * Returns 0, -ETIMEDOUT or -ECANCELED. Returns at once if already ready. */
int netpoll_wait(struct np_source *src, unsigned flags, uint64_t deadline_ms);

/* From a coroutine: wait until a or b is readable (or closed), or the
 * deadline passes. Returns 0 or -ETIMEDOUT / -ECANCELED. (A tunnel.) */
int netpoll_wait_either(struct np_source *a, struct np_source *b, uint64_t deadline_ms);

/* From a coroutine: sleep ms milliseconds. Returns 0. */
int netpoll_sleep(struct netpoll *np, uint64_t ms);

/* Arm the source's timer for an idle source (no coroutine): ops->idle_timeout
 * runs at deadline_ms. Replaces any earlier deadline. */
void netpoll_set_idle_deadline(struct np_source *src, uint64_t deadline_ms);

/* Milliseconds since an arbitrary start; refreshed once per loop turn. */
uint64_t netpoll_now(const struct netpoll *np);
/* The same per-turn reading in microseconds (when a turn's events arrived). */
uint64_t netpoll_now_us(const struct netpoll *np);
/* The monotonic clock read now, in microseconds (vDSO: no system call), on
 * the same scale as netpoll_now_us. For durations that end mid-turn. */
uint64_t netpoll_clock_us(void);
/* Wall clock seconds, refreshed with netpoll_now. */
int64_t netpoll_wall_sec(const struct netpoll *np);

/* Called after each dispatch pass, before sleeping (flush, bookkeeping). */
void netpoll_set_before_sleep(struct netpoll *np, void (*fn)(void *), void *arg);

/* One turn: wait for events (at most timeout_ms, -1 = until the next
 * timer), dispatch every woken coroutine, fire expired timers. Returns the
 * number of coroutines resumed, or -errno from epoll_wait. */
int netpoll_turn(struct netpoll *np, int timeout_ms);
/* Turn until netpoll_stop() is called. */
int netpoll_run(struct netpoll *np);
void netpoll_stop(struct netpoll *np);

/* Coroutine bookkeeping, for tests and metrics. */
unsigned netpoll_runnable(const struct netpoll *np);

#endif
