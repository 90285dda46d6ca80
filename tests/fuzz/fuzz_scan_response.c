/* fuzz_scan_response: the proxy's response-head scanner
 * (http_scan_response() in src/http_scan.c) against the llhttp path it
 * stands in for (relay()'s parser and callbacks in src/proxy.c, run by
 * proxy_parse_response_head()).
 *
 * Input: one byte choosing a response to a HEAD request or not and the
 * header-line limit, then the bytes an upstream sent, read from an offset
 * in the buffer as after an earlier response on a kept connection.
 *
 * Oracle: whenever the scanner takes a head, llhttp run over the same
 * bytes up to where the scanner says it ends reads exactly one whole final
 * head there, and the two agree on every field: status, version, every
 * header's name and value (offsets of empty spans aside, which nothing
 * reads), Content-Length, and whether the connection stays open after the
 * message. A head the scanner declines is llhttp's to judge, so declining
 * is never wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_scan.h"
#include "proxy.h"

#define PREFIX 3 /* the head starts mid-buffer, after an earlier response */

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_scan_response: the scanner and llhttp differ: %s\n", what);
	abort();
}

static void same_span(struct http_span a, struct http_span b, const char *what)
{
	if (a.len != b.len || (a.len && a.off != b.off))
		fail(what);
}

static struct http_header hs[HTTP_MAX_HEADERS], hp[HTTP_MAX_HEADERS];

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 1)
		return 0;
	static const unsigned max_headers[] = { 2, 8, HTTP_MAX_HEADERS };
	bool head_req = data[0] & 1;
	unsigned max = max_headers[(data[0] >> 1) % 3];
	size_t n = size - 1;
	char *buf = malloc(PREFIX + n);
	memset(buf, 'x', PREFIX);
	memcpy(buf + PREFIX, data + 1, n);

	struct http_response a, b;
	size_t end = http_scan_response(buf, PREFIX, PREFIX + n, head_req, hs, max, &a);
	if (end) {
		if (end <= PREFIX || end > PREFIX + n)
			fail("the head's end is outside the bytes");
		/* relay() reads up to HTTP_MAX_HEADERS lines: a scanner within
		 * a lower max is within that too. */
		if (!proxy_parse_response_head(buf, PREFIX, end, head_req, hp, &b))
			fail("where the head ends (or llhttp refuses it)");
		if (a.status != b.status || a.minor != b.minor)
			fail("status or version");
		if (a.has_length != b.has_length || a.content_length != b.content_length)
			fail("Content-Length");
		if (a.keep_alive != b.keep_alive)
			fail("keep-alive");
		if (a.nheaders != b.nheaders || a.nheaders > max)
			fail("header count");
		for (unsigned i = 0; i < a.nheaders; i++) {
			same_span(hs[i].name, hp[i].name, "a header name");
			same_span(hs[i].value, hp[i].value, "a header value");
		}
	}
	free(buf);
	return 0;
}
