/* upstream: the servers a proxy location sends to, per worker: choosing one
 * (weighted round robin or least connections, skipping those marked down
 * after max_fails failures), connecting without blocking the worker, and a
 * LIFO pool of idle keep-alive connections. Knows sockets and the
 * netpoller; nothing of HTTP. */
#ifndef GARCOM_UPSTREAM_H
#define GARCOM_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "netpoll.h"

struct upstream_server {
	const struct config_listen *addr;
	int weight, current; /* smooth weighted round robin, as nginx */
	unsigned active;     /* requests in progress (least_conn) */
	unsigned fails;
	uint64_t fail_since, down_until;
	struct upstream_conn *idle; /* most recently used first */
};

struct upstream {
	const struct config_upstream *cfg;
	struct netpoll *np;
	struct upstream_server *servers;
	unsigned nservers;
	unsigned nidle;
};

struct upstream_conn {
	struct np_source src; /* first: the netpoller's callbacks cast back */
	struct upstream *up;
	struct upstream_server *server;
	struct upstream_conn *next, **pprev; /* while idle */
	bool reused;
};

/* One struct upstream per config upstream, same order. */
struct upstream *upstream_create_all(const struct config *cfg, struct netpoll *np);

/* Closes the idle pooled connections and frees what upstream_create_all
 * made. No connection may be in use. */
void upstream_free_all(struct upstream *ups, size_t n);

/* A server not in `tried` (bit i = server i), not marked down; NULL if none. */
struct upstream_server *upstream_pick(struct upstream *up, uint64_t tried, uint64_t now_ms);
unsigned upstream_index(const struct upstream *up, const struct upstream_server *s);

/* An idle pooled connection to s (reused = true), or a new one, connected
 * within connect_timeout. From a coroutine. Returns 0 or -errno
 * (-ETIMEDOUT, -ECONNREFUSED ...). `fresh`: never take a pooled one. */
int upstream_connect(struct upstream *up, struct upstream_server *s, bool fresh,
		     struct upstream_conn **out);

/* Done with uc: back to the pool when `reusable` and there is room, else
 * closed. */
void upstream_release(struct upstream_conn *uc, bool reusable);

/* Passive health: a failure (refused, timed out, broken response). */
void upstream_failed(struct upstream *up, struct upstream_server *s, uint64_t now_ms);
void upstream_succeeded(struct upstream_server *s);

#endif
