/* proxy: a request relayed to an upstream server and the answer relayed
 * back, both streamed: bodies pass span by span with back-pressure from
 * the blocking coroutine, never held whole. Knows the request model, the
 * streaming reply API and the upstream pool; not epoll. */
#ifndef GARCOM_PROXY_H
#define GARCOM_PROXY_H

#include "config.h"
#include "http.h"
#include "http_scan.h"
#include "path.h"
#include "upstream.h"

struct buf_pool;

/* One proxy location, resolved for this worker. */
struct proxy_loc {
	const struct config_location *cfg;
	struct upstream *up;
	const struct config *global;  /* trusted_proxies, timeouts */
	bool preserve_host, via;      /* merged with the server's */
	struct buf_pool *bufs;        /* upstream read buffers */
};

int proxy_serve(const struct proxy_loc *pl, const struct http_request *req,
		const struct clean_path *cp, struct http_reply *reply, struct http_out *out);

/* The llhttp path alone, for tests that hold http_scan_response() to it:
 * runs relay()'s parser over base[pos..end) as one read. True when that is
 * exactly one whole final response head (status 200 or more, not chunked),
 * with resp and h[] filled as relay() reads them (minor 0xff: not
 * HTTP/1.x). */
bool proxy_parse_response_head(const char *base, size_t pos, size_t end, bool head_req,
			       struct http_header *h, struct http_response *resp);

#endif
