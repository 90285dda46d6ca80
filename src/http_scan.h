/* http_scan: the common request head read in one pass, without llhttp.
 *
 * Most requests are a GET or HEAD with an origin-form target, HTTP/1.0 or
 * 1.1, a few plain header lines and no body, and arrive whole in one read.
 * For those llhttp's state machine and its callbacks are most of a
 * request's cost. This scanner accepts only a strict subset of what the
 * llhttp path accepts, and for that subset fills the request exactly as it
 * would: anything else - a partial head, a body, an unusual byte, a limit
 * reached, a header llhttp gives meaning to (Content-Length, Connection
 * lists, Upgrade...) - is declined and goes to llhttp as before.
 * tests/fuzz/fuzz_scan.c checks both paths agree on every head it takes. */
#ifndef GARCOM_HTTP_SCAN_H
#define GARCOM_HTTP_SCAN_H

#include <stddef.h>

#include "http.h"

/* A Connection header as the scanners take it: absent, or one token. */
enum http_scan_conn { HTTP_SCAN_CONN_NONE, HTTP_SCAN_CONN_CLOSE, HTTP_SCAN_CONN_KEEP_ALIVE };

/* Scans the head at base[pos] (bytes up to base[end] available). Returns
 * where it ends, blank line included, with req filled and its spans as
 * offsets into base (req->buf is left to the caller), or 0: declined,
 * req's contents undefined, parse with llhttp. */
size_t http_scan_request(const char *base, size_t pos, size_t end,
			 const struct http_limits *lim, struct http_request *req);

#endif
