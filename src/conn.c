/* conn: see conn.h. Edge-triggered rules: a read shorter than asked drained
 * the socket (the next data brings a new event), a short write filled it. */
#include "conn.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

ssize_t conn_read(struct np_source *src, void *buf, size_t n, uint64_t deadline_ms)
{
	for (;;) {
		if (!(src->ready & (NP_READABLE | NP_ERROR))) {
			int w = netpoll_wait(src, NP_READABLE, deadline_ms);
			if (w < 0)
				return w;
		}
		ssize_t r = read(src->fd, buf, n);
		if (r > 0) {
			/* Drained; but after RDHUP no new edge comes, so keep
			 * reading until the 0 that ends the stream. */
			if ((size_t)r < n && !(src->ready & (NP_RDHUP | NP_ERROR)))
				src->ready &= (uint8_t)~NP_READABLE;
			return r;
		}
		if (r == 0)
			return 0;
		if (errno == EAGAIN) {
			src->ready &= (uint8_t)~NP_READABLE;
			src->ready &= (uint8_t)~NP_ERROR;
			continue;
		}
		if (errno != EINTR)
			return -errno;
	}
}

int conn_set_nodelay(struct np_source *src)
{
	int one = 1;
	return setsockopt(src->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ? -errno : 0;
}

ssize_t conn_try_read(struct np_source *src, void *buf, size_t n)
{
	if (!(src->ready & (NP_READABLE | NP_ERROR)))
		return -EAGAIN;
	for (;;) {
		ssize_t r = read(src->fd, buf, n);
		if (r >= 0) {
			if (r > 0 && (size_t)r < n && !(src->ready & (NP_RDHUP | NP_ERROR)))
				src->ready &= (uint8_t)~NP_READABLE;
			return r;
		}
		if (errno == EAGAIN) {
			src->ready &= (uint8_t)~(NP_READABLE | NP_ERROR);
			return -EAGAIN;
		}
		if (errno != EINTR)
			return -errno;
	}
}

/* After a write-side call failed: 0 to try again (EAGAIN clears the flag,
 * so the next turn waits), else -errno. */
static int write_failed(struct np_source *src)
{
	if (errno == EAGAIN) {
		src->ready &= (uint8_t)~(NP_WRITABLE | NP_ERROR);
		return 0;
	}
	return errno == EINTR ? 0 : -errno;
}

/* Wait (at most timeout_ms) until src takes bytes again. */
static int writable(struct np_source *src, unsigned timeout_ms)
{
	if (src->ready & (NP_WRITABLE | NP_ERROR))
		return 0;
	return netpoll_wait(src, NP_WRITABLE, netpoll_now(src->np) + timeout_ms);
}

int conn_writev(struct np_source *src, struct iovec *iov, int iovcnt, bool more,
		unsigned timeout_ms)
{
	while (iovcnt > 0) {
		int w = writable(src, timeout_ms);
		if (w < 0)
			return w;
		int n = iovcnt > IOV_MAX ? IOV_MAX : iovcnt;
		ssize_t r;
		if (more) {
			struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
			r = sendmsg(src->fd, &mh, MSG_MORE | MSG_NOSIGNAL);
		} else {
			r = writev(src->fd, iov, n);
		}
		if (r < 0) {
			if ((w = write_failed(src)) < 0)
				return w;
			continue;
		}
		size_t left = (size_t)r;
		while (iovcnt > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
			/* Short write: the socket buffer is full. */
			src->ready &= (uint8_t)~NP_WRITABLE;
		}
	}
	return 0;
}

int conn_sendfile(struct np_source *src, int fd, off_t *off, uint64_t count, unsigned timeout_ms)
{
	while (count > 0) {
		int w = writable(src, timeout_ms);
		if (w < 0)
			return w;
		/* Bounded chunks: one huge file must not hold the worker. */
		size_t chunk = count > (1u << 20) ? (1u << 20) : (size_t)count;
		ssize_t r = sendfile(src->fd, fd, off, chunk);
		if (r < 0) {
			if ((w = write_failed(src)) < 0)
				return w;
			continue;
		}
		if (r == 0)
			return -ENODATA;
		count -= (uint64_t)r;
		if ((size_t)r < chunk)
			src->ready &= (uint8_t)~NP_WRITABLE;
	}
	return 0;
}

struct buf_pool {
	size_t size;
	unsigned idle, max_idle;
	void **free; /* LIFO: the most recently used buffer is warm in cache */
};

struct buf_pool *buf_pool_create(size_t buf_size, unsigned max_idle)
{
	struct buf_pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->size = buf_size;
	p->max_idle = max_idle;
	p->free = calloc(max_idle ? max_idle : 1, sizeof *p->free);
	if (!p->free) {
		free(p);
		return NULL;
	}
	return p;
}

void buf_pool_destroy(struct buf_pool *p)
{
	if (!p)
		return;
	while (p->idle)
		free(p->free[--p->idle]);
	free(p->free);
	free(p);
}

void *buf_pool_get(struct buf_pool *p)
{
	if (p->idle)
		return p->free[--p->idle];
	return malloc(p->size);
}

void buf_pool_put(struct buf_pool *p, void *buf)
{
	if (!buf)
		return;
	if (p->idle < p->max_idle)
		p->free[p->idle++] = buf;
	else
		free(buf);
}

size_t buf_pool_size(const struct buf_pool *p)
{
	return p->size;
}
