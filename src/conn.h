/* conn: blocking-style I/O on a non-blocking fd for code running in a
 * coroutine. On EAGAIN it clears the source's ready flag, waits through the
 * netpoller (with a deadline) and carries on. Knows nothing of HTTP. */
#ifndef GARCOM_CONN_H
#define GARCOM_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "netpoll.h"

/* The absolute deadline `ms` from now, on the netpoller's clock. */
static inline uint64_t conn_deadline(const struct np_source *src, unsigned ms)
{
	return netpoll_now(src->np) + ms;
}

/* Wait until a or b has something to read (or is closed), at most
 * timeout_ms. Returns 0 or -ETIMEDOUT. (Both ends of a tunnel.) */
static inline int conn_wait_either(struct np_source *a, struct np_source *b, unsigned timeout_ms)
{
	return netpoll_wait_either(a, b, conn_deadline(a, timeout_ms));
}

/* Read at most n bytes. Returns >0 bytes, 0 at end of stream, or -errno
 * (-ETIMEDOUT when the deadline passes, -ECANCELED). */
ssize_t conn_read(struct np_source *src, void *buf, size_t n, uint64_t deadline_ms);

/* Read what is there now: >0, 0 at end of stream, -EAGAIN when nothing is
 * (never waits), or -errno. */
ssize_t conn_try_read(struct np_source *src, void *buf, size_t n);

/* Send small writes at once (no Nagle). Returns 0 or -errno. */
int conn_set_nodelay(struct np_source *src);

/* False when the socket is known drained: the next data brings an event. */
static inline bool conn_readable(const struct np_source *src)
{
	return src->ready & (NP_READABLE | NP_ERROR);
}

/* Write all of iov (which it modifies). The peer must take some bytes every
 * timeout_ms (nginx's send_timeout), else -ETIMEDOUT. `more`: more data
 * follows at once (MSG_MORE), so a head and a file's first bytes share a
 * segment. Returns 0 or -errno. */
int conn_writev(struct np_source *src, struct iovec *iov, int iovcnt, bool more,
		unsigned timeout_ms);

/* sendfile count bytes of fd from *off (advanced), same timeout rule.
 * Returns 0 or -errno; -ENODATA if the file shrank under us. */
int conn_sendfile(struct np_source *src, int fd, off_t *off, uint64_t count, unsigned timeout_ms);

/* Fixed-size buffers handed out per active connection and taken back when
 * it goes idle: no malloc on the request path once warm. */
struct buf_pool;
struct buf_pool *buf_pool_create(size_t buf_size, unsigned max_idle);
void buf_pool_destroy(struct buf_pool *pool);
void *buf_pool_get(struct buf_pool *pool);
void buf_pool_put(struct buf_pool *pool, void *buf);
size_t buf_pool_size(const struct buf_pool *pool);

#endif
