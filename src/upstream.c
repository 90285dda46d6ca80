/* upstream: see upstream.h. */
#include "upstream.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coro.h"
#include "log.h"
#include "metrics.h"

static void conn_free(struct upstream_conn *uc)
{
	netpoll_remove(&uc->src);
	close(uc->src.fd);
	free(uc);
}

static void unlink_idle(struct upstream_conn *uc)
{
	*uc->pprev = uc->next;
	if (uc->next)
		uc->next->pprev = uc->pprev;
	uc->next = NULL;
	uc->pprev = NULL;
	uc->up->nidle--;
}

/* An idle connection that becomes readable was closed by the upstream (or
 * sent bytes nobody asked for): either way it is done. */
static void idle_event(struct np_source *src)
{
	struct upstream_conn *uc = (struct upstream_conn *)src;
	unlink_idle(uc);
	conn_free(uc);
}

static const struct np_source_ops idle_ops = {
	.idle_ready = idle_event,
	.idle_timeout = idle_event,
};

struct upstream *upstream_create_all(const struct config *cfg, struct netpoll *np)
{
	struct upstream *ups = calloc(cfg->nupstreams + 1, sizeof *ups);
	if (!ups)
		return NULL;
	for (size_t i = 0; i < cfg->nupstreams; i++) {
		const struct config_upstream *c = &cfg->upstreams[i];
		struct upstream *up = &ups[i];
		up->cfg = c;
		up->np = np;
		up->nservers = (unsigned)c->nservers;
		up->servers = calloc(c->nservers + 1, sizeof *up->servers);
		if (!up->servers) {
			upstream_free_all(ups, i);
			return NULL; /* at start-up: the worker gives up */
		}
		for (size_t k = 0; k < c->nservers; k++) {
			up->servers[k].addr = &c->servers[k];
			up->servers[k].weight = c->weights ? (int)c->weights[k] : 1;
		}
	}
	return ups;
}

void upstream_free_all(struct upstream *ups, size_t n)
{
	if (!ups)
		return;
	for (size_t i = 0; i < n; i++) {
		for (unsigned k = 0; ups[i].servers && k < ups[i].nservers; k++) {
			while (ups[i].servers[k].idle) {
				struct upstream_conn *uc = ups[i].servers[k].idle;
				unlink_idle(uc);
				conn_free(uc);
			}
		}
		free(ups[i].servers);
	}
	free(ups);
}

unsigned upstream_index(const struct upstream *up, const struct upstream_server *s)
{
	return (unsigned)(s - up->servers);
}

static bool usable(const struct upstream *up, struct upstream_server *s, uint64_t now)
{
	if (s->down_until > now)
		return false;
	if (s->down_until && s->down_until <= now) {
		s->down_until = 0; /* fail_timeout passed: try it again */
		s->fails = 0;
	}
	(void)up;
	return true;
}

struct upstream_server *upstream_pick(struct upstream *up, uint64_t tried, uint64_t now)
{
	struct upstream_server *best = NULL;
	int total = 0;
	for (unsigned i = 0; i < up->nservers; i++) {
		struct upstream_server *s = &up->servers[i];
		if ((i < 64 && (tried >> i) & 1) || !usable(up, s, now))
			continue;
		if (up->cfg->balance == BALANCE_LEAST_CONN) {
			/* fewest active per weight; ties by round robin below */
			if (!best || (uint64_t)s->active * (unsigned)best->weight <
					     (uint64_t)best->active * (unsigned)s->weight)
				best = s;
			continue;
		}
		s->current += s->weight;
		total += s->weight;
		if (!best || s->current > best->current)
			best = s;
	}
	if (best && up->cfg->balance != BALANCE_LEAST_CONN)
		best->current -= total;
	return best;
}

void upstream_failed(struct upstream *up, struct upstream_server *s, uint64_t now)
{
	const struct config_upstream *c = up->cfg;
	metrics_add(M_UPSTREAM_ERRORS, 1);
	if (!c->max_fails)
		return;
	if (now - s->fail_since > c->fail_timeout_ms) {
		s->fail_since = now;
		s->fails = 0;
	}
	if (++s->fails >= c->max_fails) {
		s->down_until = now + c->fail_timeout_ms;
		log_warn("upstream %s: server %s marked down for %u ms", c->name, s->addr->text,
			 c->fail_timeout_ms);
	}
}

void upstream_succeeded(struct upstream_server *s)
{
	s->fails = 0;
}

static int connect_new(struct upstream *up, struct upstream_server *s, struct upstream_conn **out)
{
	const struct config_listen *a = s->addr;
	int fd = socket(a->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct upstream_conn *uc = calloc(1, sizeof *uc);
	if (!uc) {
		close(fd);
		return -ENOMEM;
	}
	uc->up = up;
	uc->server = s;
	metrics_add(M_UPSTREAM_CONNECTS, 1);
	if (netpoll_add(up->np, &uc->src, fd, &idle_ops) < 0) {
		close(fd);
		free(uc);
		return -ENOMEM;
	}
	uc->src.co = coro_current(); /* in use: no idle callbacks */
	int r = 0;
	if (connect(fd, (const struct sockaddr *)&a->addr, a->addrlen) < 0) {
		r = -errno;
		if (r == -EINPROGRESS) {
			uint64_t deadline = netpoll_now(up->np) + up->cfg->connect_timeout_ms;
			r = netpoll_wait(&uc->src, NP_WRITABLE, deadline);
			if (r == 0) {
				int err = 0;
				socklen_t len = sizeof err;
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
				r = -err;
			}
		}
	}
	if (r < 0) {
		conn_free(uc);
		return r;
	}
	*out = uc;
	return 0;
}

int upstream_connect(struct upstream *up, struct upstream_server *s, bool fresh,
		     struct upstream_conn **out)
{
	if (!fresh && s->idle) {
		struct upstream_conn *uc = s->idle;
		unlink_idle(uc);
		uc->reused = true;
		uc->src.co = coro_current();
		*out = uc;
		return 0;
	}
	return connect_new(up, s, out);
}

/* Still marked readable: the last read filled its buffer, so the socket
 * may hold more than the response framed (edge-triggered epoll will not
 * say so again). Bytes there would be read as the next request's answer,
 * maybe another client's: look (no wait). Rare: a read that stops short
 * clears the mark. */
static bool bytes_waiting(struct upstream_conn *uc)
{
	if (!(uc->src.ready & NP_READABLE))
		return false;
	char c;
	ssize_t n = recv(uc->src.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		uc->src.ready &= (uint8_t)~NP_READABLE;
		return false;
	}
	return true; /* bytes, the peer's close, or an error */
}

void upstream_release(struct upstream_conn *uc, bool reusable)
{
	struct upstream *up = uc->up;
	/* Bytes waiting on an idle connection: it is not clean. */
	if (!reusable || up->nidle >= up->cfg->keepalive ||
	    (uc->src.ready & (NP_RDHUP | NP_ERROR)) || bytes_waiting(uc)) {
		conn_free(uc);
		return;
	}
	struct upstream_server *s = uc->server;
	uc->src.co = NULL;
	uc->next = s->idle;
	if (uc->next)
		uc->next->pprev = &uc->next;
	uc->pprev = &s->idle;
	s->idle = uc;
	up->nidle++;
	netpoll_set_idle_deadline(&uc->src, netpoll_now(up->np) + up->cfg->keepalive_timeout_ms);
}
