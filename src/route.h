/* route: request -> server (by listen address and Host) -> location (by
 * longest prefix of the decoded path) -> handler. Built once per worker from
 * the config model; knows the request model, not sockets or epoll. */
#ifndef GARCOM_ROUTE_H
#define GARCOM_ROUTE_H

#include "config.h"
#include "http.h"

struct route_table;
struct route_addr; /* the servers listening on one address */

struct netpoll;

/* Opens every document root, sets up the upstreams. NULL (and a logged
 * reason) on failure. */
struct route_table *route_build(const struct config *cfg, struct netpoll *np);
void route_free(struct route_table *t);

/* The HTTP layer's limits and timeouts, from the configuration (one place:
 * every field matters, a zero is a limit of zero). */
struct http_limits route_http_limits(const struct config *cfg);

const struct route_addr *route_addr_for(const struct route_table *t,
					const struct config_listen *addr);

/* The access logs: write what is buffered (the worker does, at least once
 * a second); reopen after logrotate (SIGUSR1). */
void route_flush_logs(struct route_table *t);
/* Any access log line buffered and not written yet? */
bool route_logs_pending(const struct route_table *t);
void route_reopen_logs(struct route_table *t);

int route_handle(const struct route_addr *ra, const struct http_request *req,
		 struct http_reply *reply, struct http_out *out);

/* The access log of a request refused before routing (NULL: off): the
 * server its Host header names if that was read (req may be NULL), else
 * the address's default server, as nginx chooses. */
struct access_log *route_reject_log(const struct route_addr *ra, const struct http_request *req);

#endif
