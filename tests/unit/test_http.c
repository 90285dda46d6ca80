/* Unit tests for the HTTP layer's pieces that stand alone: the request-head
 * scanner (against the llhttp path it stands in for) and the decimal
 * formatter of response heads and log lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <llhttp.h>

#include "http.h"
#include "http_scan.h"

static const struct http_limits limits = {
	.header_size = 1024, .uri_size = 64, .headers = 4,
};

static struct http_request scanned, parsed;

/* The scanner takes the head whole, and llhttp reads it the same way. */
static size_t expect_taken(const char *head)
{
	size_t n = strlen(head);
	size_t end = http_scan_request(head, 0, n, &limits, &scanned);
	assert_int_not_equal(end, 0);
	assert_int_equal(http_parse_head(head, 0, n, &limits, &parsed), end);
	assert_int_equal(scanned.method, parsed.method);
	assert_int_equal(scanned.minor, parsed.minor);
	assert_int_equal(scanned.keep_alive, parsed.keep_alive);
	assert_int_equal(scanned.nheaders, parsed.nheaders);
	assert_int_equal(scanned.target.off, parsed.target.off);
	assert_int_equal(scanned.target.len, parsed.target.len);
	assert_int_equal(scanned.host.len, parsed.host.len);
	return end;
}

static void expect_declined(const char *head)
{
	assert_int_equal(http_scan_request(head, 0, strlen(head), &limits, &scanned), 0);
}

static void test_scan_takes_the_common_heads(void **state)
{
	(void)state;
	const char *wrk = "GET /small.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
	assert_int_equal(expect_taken(wrk), strlen(wrk));
	assert_true(scanned.keep_alive);
	assert_memory_equal(wrk + scanned.host.off, "127.0.0.1:8080", 14);

	/* Pipelined: only the first head, ending at its blank line. */
	const char *two = "HEAD /a?b=c HTTP/1.1\r\nhost: x\r\n\r\nGET / HTTP/1.1\r\n";
	assert_int_equal(expect_taken(two), strlen(two) - strlen("GET / HTTP/1.1\r\n"));
	assert_int_equal(scanned.method, HTTP_HEAD);

	expect_taken("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	assert_false(scanned.keep_alive);
	expect_taken("GET / HTTP/1.0\r\n\r\n");
	assert_false(scanned.keep_alive);
	expect_taken("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	assert_true(scanned.keep_alive);
	/* Trailing whitespace is not part of a value. */
	expect_taken("GET / HTTP/1.1\r\nHost: a\r\nX-A: b c  \r\n\r\n");
	assert_int_equal(scanned.headers[1].value.len, 3);
}

static void test_scan_leaves_the_rest_to_llhttp(void **state)
{
	(void)state;
	expect_declined("GET / HTTP/1.1\r\nHost: a\r\n");         /* not all here */
	expect_declined("POST / HTTP/1.1\r\nHost: a\r\n\r\n");    /* other methods */
	expect_declined("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"); /* blank line first */
	expect_declined("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_declined("GET /#f HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_declined("GET / HTTP/1.2\r\nHost: a\r\n\r\n");
	expect_declined("GET / HTTP/1.1\nHost: a\r\n\r\n");
	expect_declined("GET / HTTP/1.1\r\n\r\n");                        /* no Host */
	expect_declined("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"); /* two */
	expect_declined("GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n");      /* obs-fold */
	expect_declined("GET / HTTP/1.1\r\nHost : a\r\n\r\n");
	expect_declined("GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n");
	expect_declined("GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n");
	expect_declined("GET / HTTP/1.1\r\nHost: \xc3\xa9\r\n\r\n");
	/* What llhttp gives meaning to. */
	expect_declined("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
	expect_declined("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
	expect_declined("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n");
	expect_declined("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n");
	expect_declined("GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: close\r\n\r\n");
	expect_declined("GET / HTTP/1.1\r\nHost: a\r\nConnection: close, x\r\n\r\n");
	expect_declined("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\t\r\n\r\n");
	/* Limits: llhttp's path answers 414 and 431. */
	char target[128];
	snprintf(target, sizeof target, "GET /%065d HTTP/1.1\r\nHost: a\r\n\r\n", 0);
	expect_declined(target);
	expect_declined("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
}

static void expect_decimal(uint64_t v, const char *text)
{
	char buf[32];
	memset(buf, '#', sizeof buf);
	char *end = http_put_u64(buf, v);
	assert_int_equal(end - buf, strlen(text));
	assert_memory_equal(buf, text, strlen(text));
	assert_int_equal(*end, '#'); /* nothing written past the digits */
}

static void test_put_u64_at_every_length(void **state)
{
	(void)state;
	expect_decimal(0, "0");
	expect_decimal(9, "9");
	expect_decimal(10, "10");
	expect_decimal(99, "99");
	expect_decimal(100, "100");
	expect_decimal(1024, "1024");
	expect_decimal(9999, "9999");
	expect_decimal(10000, "10000");
	expect_decimal(99999, "99999");
	expect_decimal(100000, "100000");
	expect_decimal(1048576, "1048576");
	expect_decimal(UINT64_MAX, "18446744073709551615");
	char want[32];
	for (uint64_t v = 1; v < UINT64_MAX / 10; v = v * 10 + 7) {
		snprintf(want, sizeof want, "%llu", (unsigned long long)v);
		expect_decimal(v, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_takes_the_common_heads),
		cmocka_unit_test(test_scan_leaves_the_rest_to_llhttp),
		cmocka_unit_test(test_put_u64_at_every_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
