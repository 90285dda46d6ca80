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
 * tests/fuzz/fuzz_scan.c checks both paths agree on every head it takes.
 * The same for the proxy's upstream responses: a final status, a
 * Content-Length or no body, plain header lines (fuzz_scan_response.c). */
#ifndef GARCOM_HTTP_SCAN_H
#define GARCOM_HTTP_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

/* A Connection header as the scanners take it: absent, or one token. */
enum http_scan_conn { HTTP_SCAN_CONN_NONE, HTTP_SCAN_CONN_CLOSE, HTTP_SCAN_CONN_KEEP_ALIVE };

/* Scans the head at base[pos] (bytes up to base[end] available). Returns
 * where it ends, blank line included, with req filled and its spans as
 * offsets into base (req->buf is left to the caller), or 0: declined,
 * req's contents undefined, parse with llhttp. */
size_t http_scan_request(const char *base, size_t pos, size_t end,
			 const struct http_limits *lim, struct http_request *req);

/* A response head as the proxy relays it (relay() in proxy.c): the
 * status line, the header lines, and how the body is framed. */
struct http_response {
	int status;
	uint8_t minor;           /* HTTP/1.minor */
	bool has_length;         /* a Content-Length line */
	uint64_t content_length; /* its value, 0 without one */
	bool keep_alive;         /* llhttp_should_keep_alive() after it */
	uint16_t nheaders;       /* in the caller's h[] */
};

/* The upstream's response head at base[pos] (bytes up to base[end]), to a
 * HEAD request or not: a final status (200..599), whole, its body framed
 * by Content-Length or absent (HEAD, 204, 304), and no Transfer-Encoding,
 * Upgrade or Connection list. Returns where the head ends with resp and
 * h[0..max) filled as the llhttp path would (spans are offsets into base),
 * or 0: declined, parse with llhttp. */
size_t http_scan_response(const char *base, size_t pos, size_t end, bool head_req,
			  struct http_header *h, unsigned max, struct http_response *resp);

#endif
