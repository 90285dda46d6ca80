/* coro: stackful coroutines with our own context switch (coro_*.S) and a
 * pool of guard-paged stacks. Knows stacks and registers only: nothing of
 * fds, epoll or HTTP. One pool per worker thread; not thread-safe. */
#ifndef GARCOM_CORO_H
#define GARCOM_CORO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct coro;
struct coro_pool;

typedef void (*coro_fn)(struct coro *co, void *arg);

/* stack_size: usable bytes per stack (rounded up to pages; a PROT_NONE guard
 * page is added below). max_idle: stacks kept mapped for reuse once freed. */
struct coro_pool *coro_pool_create(size_t stack_size, unsigned max_idle);
void coro_pool_destroy(struct coro_pool *pool);
/* Stacks mapped now (in use + idle), for tests and metrics. */
size_t coro_pool_mapped(const struct coro_pool *pool);

/* NULL when no stack can be mapped. The coroutine does not run until resumed. */
struct coro *coro_create(struct coro_pool *pool, coro_fn fn, void *arg);

/* Run co until it yields or returns. Returns the value it yields (0 when it
 * returns). `value` is what its pending coro_yield() returns. */
intptr_t coro_resume(struct coro *co, intptr_t value);

/* Called from inside co: go back to whoever resumed it. */
intptr_t coro_yield(struct coro *co, intptr_t value);

bool coro_finished(const struct coro *co);

/* Give the stack back to the pool. co must be finished or never resumed. */
void coro_destroy(struct coro *co);

/* A pointer slot for the owner (e.g. the connection a coroutine serves). */
void *coro_data(const struct coro *co);
void coro_set_data(struct coro *co, void *data);

/* The coroutine running now, or NULL on the scheduler's own stack. */
struct coro *coro_current(void);

#endif
