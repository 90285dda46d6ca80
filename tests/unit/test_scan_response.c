/* Unit tests for http_scan_response(): the upstream response heads it must
 * take (what relay() then handles without llhttp), with every field, and
 * the ones it must leave to llhttp. That it agrees with llhttp on what it
 * takes is tests/fuzz/fuzz_scan_response.c's part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "http_scan.h"

static struct http_header h[HTTP_MAX_HEADERS];
static struct http_response resp;

/* Scans text from offset pos; returns where the head ends (0: declined). */
static size_t scan_at(const char *text, size_t pos, bool head_req, unsigned max)
{
	memset(&resp, 0xa5, sizeof resp);
	return http_scan_response(text, pos, strlen(text), head_req, h, max, &resp);
}

static size_t scan(const char *text)
{
	return scan_at(text, 0, false, HTTP_MAX_HEADERS);
}

static void expect_span(const char *base, struct http_span s, const char *text)
{
	assert_int_equal(s.len, strlen(text));
	assert_memory_equal(base + s.off, text, s.len);
}

static const char NGINX[] = "HTTP/1.1 200 OK\r\n"
			    "Server: nginx/1.22.1\r\n"
			    "Date: Sat, 28 Nov 2026 13:00:00 GMT\r\n"
			    "Content-Type: text/html\r\n"
			    "Content-Length: 12\r\n"
			    "Connection: keep-alive\r\n"
			    "ETag: \"6565a0c0-c\"\r\n"
			    "\r\n"
			    "hello world\n";

static void test_common_head_is_taken_with_every_field(void **state)
{
	(void)state;
	size_t end = scan(NGINX);
	assert_int_equal(end, strlen(NGINX) - 12);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.minor, 1);
	assert_true(resp.has_length);
	assert_int_equal(resp.content_length, 12);
	assert_true(resp.keep_alive);
	assert_int_equal(resp.nheaders, 6);
	expect_span(NGINX, h[0].name, "Server");
	expect_span(NGINX, h[0].value, "nginx/1.22.1");
	expect_span(NGINX, h[3].name, "Content-Length");
	expect_span(NGINX, h[3].value, "12");
	expect_span(NGINX, h[5].name, "ETag");
	expect_span(NGINX, h[5].value, "\"6565a0c0-c\"");
}

static void test_head_after_an_earlier_response_and_value_whitespace(void **state)
{
	(void)state;
	const char *text = "12345HTTP/1.1 404 \r\nX-A:  a b \t\r\nX-Empty:\r\n"
			   "Content-Length: 007\r\n\r\n";
	assert_int_equal(scan_at(text, 5, false, HTTP_MAX_HEADERS), strlen(text));
	assert_int_equal(resp.status, 404);
	assert_int_equal(resp.content_length, 7);
	assert_int_equal(resp.nheaders, 3);
	expect_span(text, h[0].value, "a b");
	assert_int_equal(h[1].value.len, 0);
}

static void test_keep_alive_follows_version_and_connection(void **state)
{
	(void)state;
	assert_true(scan("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
	assert_true(resp.keep_alive);
	assert_true(scan("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n"));
	assert_false(resp.keep_alive);
	assert_true(scan("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
	assert_int_equal(resp.minor, 0);
	assert_false(resp.keep_alive);
	assert_true(scan("HTTP/1.0 200 OK\r\nconnection: keep-alive\r\nContent-Length: 0\r\n\r\n"));
	assert_true(resp.keep_alive);
}

static void test_bodiless_answers_need_no_length(void **state)
{
	(void)state;
	assert_true(scan("HTTP/1.1 204 No Content\r\n\r\n"));
	assert_false(resp.has_length);
	assert_true(resp.keep_alive);
	assert_true(scan("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"));
	assert_true(resp.has_length);
	assert_int_equal(resp.content_length, 99);
	/* To HEAD: taken; the same to GET would be read until the close. */
	const char *no_length = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
	assert_true(scan_at(no_length, 0, true, HTTP_MAX_HEADERS));
	assert_true(resp.keep_alive);
	assert_false(scan(no_length));
}

static void test_other_status_lines_are_declined(void **state)
{
	(void)state;
	static const char *const lines[] = {
		"HTTP/1.1 100 Continue\r\n",
		"HTTP/1.1 101 Switching Protocols\r\n",
		"HTTP/1.1 103 Early Hints\r\n",
		"HTTP/1.1 199 x\r\n",
		"HTTP/1.1 600 x\r\n",
		"HTTP/1.1 2000 OK\r\n",
		"HTTP/1.1 20 OK\r\n",
		"HTTP/1.1 200\r\n",
		"HTTP/2.0 200 OK\r\n",
		"HTTP/1.2 200 OK\r\n",
		"http/1.1 200 OK\r\n",
		"HTTP/1.1  200 OK\r\n",
		"HTTP/1.1 200 O\x7fK\r\n",
		"HTTP/1.1 200 OK\n",
	};
	char text[256];
	assert_true(scan("HTTP/1.1 599 x\r\nContent-Length: 0\r\n\r\n")); /* the control */
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
		strcpy(text, lines[i]);
		strcat(text, "Content-Length: 0\r\n\r\n");
		assert_int_equal(scan(text), 0);
	}
}

static void test_framing_and_hop_headers_are_declined(void **state)
{
	(void)state;
	static const char *const fields[] = {
		"Transfer-Encoding: chunked\r\n",
		"Upgrade: websocket\r\n",
		"Proxy-Connection: keep-alive\r\n",
		"Content-Length: 5\r\n",             /* a second one */
		"Connection: close, x-secret\r\n",
		"Connection: keep-alive\r\nConnection: keep-alive\r\n",
		"X-Fold: a\r\n b\r\n",
		"X-Bare: a\n",
		"X-High: \xc3\xa9\r\n",
		"X-Nul: a\x01z\r\n",
		"X-Space : a\r\n",
		": empty name\r\n",
	};
	char text[256];
	assert_true(scan("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")); /* the control */
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		strcpy(text, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n");
		strcat(text, fields[i]);
		strcat(text, "\r\nhello");
		assert_int_equal(scan(text), 0);
	}
}

static void test_only_a_plain_bounded_length_is_taken(void **state)
{
	(void)state;
	static const char *const lengths[] = {
		"", "+5", "-1", "5 ", "5, 6", "0x10", "1 2",
		"1234567890123456789", /* 19 digits: longer than taken */
	};
	char text[256];
	assert_true(scan("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")); /* the control */
	for (size_t i = 0; i < sizeof lengths / sizeof *lengths; i++) {
		strcpy(text, "HTTP/1.1 200 OK\r\nContent-Length: ");
		strcat(text, lengths[i]);
		strcat(text, "\r\n\r\n");
		assert_int_equal(scan(text), 0);
	}
	assert_true(scan("HTTP/1.1 200 OK\r\nContent-Length: 123456789012345678\r\n\r\n"));
	assert_int_equal(resp.content_length, 123456789012345678ULL);
}

static void test_partial_or_too_many_lines_are_declined(void **state)
{
	(void)state;
	size_t whole = strlen(NGINX) - 12;
	char text[sizeof NGINX];
	for (size_t n = 0; n < whole; n++) {
		memcpy(text, NGINX, n);
		text[n] = '\0';
		assert_int_equal(scan(text), 0);
	}
	assert_int_equal(scan_at(NGINX, 0, false, 6), whole);
	assert_int_equal(scan_at(NGINX, 0, false, 5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_common_head_is_taken_with_every_field),
		cmocka_unit_test(test_head_after_an_earlier_response_and_value_whitespace),
		cmocka_unit_test(test_keep_alive_follows_version_and_connection),
		cmocka_unit_test(test_bodiless_answers_need_no_length),
		cmocka_unit_test(test_other_status_lines_are_declined),
		cmocka_unit_test(test_framing_and_hop_headers_are_declined),
		cmocka_unit_test(test_only_a_plain_bounded_length_is_taken),
		cmocka_unit_test(test_partial_or_too_many_lines_are_declined),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
