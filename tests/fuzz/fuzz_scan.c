/* fuzz_scan: the request-head scanner (src/http_scan.c) against the llhttp
 * path it stands in for (http_parse_head(), the parser and checks
 * http_serve() uses).
 *
 * Input: one byte choosing the limits (uri_size, headers, header_size),
 * then the bytes a client sent, read from an offset in the buffer as a
 * pipelined request would be.
 *
 * Oracle: whenever the scanner takes a head, the llhttp path takes the
 * same one and fills the request alike: where it ends, method, version,
 * keep-alive, no body, the target, Host, and every header's name and value
 * (offsets of empty spans aside, which nothing reads). A head the scanner
 * declines is llhttp's to judge, so declining is never wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_scan.h"

#define PREFIX 3 /* the head starts mid-buffer, after an earlier request */

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_scan: the scanner and llhttp differ: %s\n", what);
	abort();
}

static void same_span(struct http_span a, struct http_span b, const char *what)
{
	if (a.len != b.len || (a.len && a.off != b.off))
		fail(what);
}

static struct http_request scanned, parsed;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 1)
		return 0;
	static const size_t uri[] = { 8, 64, 4096 }, size_limit[] = { 64, 512, 8192 };
	static const unsigned headers[] = { 2, 8, HTTP_MAX_HEADERS };
	struct http_limits lim = {
		.uri_size = uri[data[0] % 3],
		.headers = headers[data[0] / 3 % 3],
		.header_size = size_limit[data[0] / 9 % 3],
	};
	size_t n = size - 1;
	char *buf = malloc(PREFIX + n);
	memset(buf, 'x', PREFIX);
	memcpy(buf + PREFIX, data + 1, n);

	size_t end = http_scan_request(buf, PREFIX, PREFIX + n, &lim, &scanned);
	if (end) {
		if (http_parse_head(buf, PREFIX, PREFIX + n, &lim, &parsed) != end)
			fail("where the head ends (or llhttp refuses it)");
		const struct http_request *a = &scanned, *b = &parsed;
		if (a->method != b->method || a->major != b->major || a->minor != b->minor)
			fail("method or version");
		if (a->keep_alive != b->keep_alive)
			fail("keep-alive");
		if (a->has_body != b->has_body || a->chunked != b->chunked ||
		    a->content_length != b->content_length || a->upgrade != b->upgrade ||
		    a->expect_continue != b->expect_continue)
			fail("body, upgrade or expect");
		same_span(a->target, b->target, "target");
		same_span(a->host, b->host, "host");
		if (a->nheaders != b->nheaders || a->names != b->names)
			fail("header count or names");
		for (unsigned i = 0; i < a->nheaders; i++) {
			same_span(a->headers[i].name, b->headers[i].name, "a header name");
			same_span(a->headers[i].value, b->headers[i].value, "a header value");
		}
	}
	free(buf);
	return 0;
}
