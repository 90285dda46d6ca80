/* Unit tests for request-target cleaning, opening beneath a root, HTTP dates
 * and content types. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "date.h"
#include "mime.h"
#include "path.h"

static enum path_result clean(const char *t, struct clean_path *cp)
{
	return path_clean(t, strlen(t), cp);
}

static void expect_clean(const char *target, const char *rel)
{
	struct clean_path cp;
	assert_int_equal(clean(target, &cp), PATH_OK);
	assert_string_equal(cp.rel, rel);
}

static void test_path_resolves_dots_and_slashes(void **state)
{
	(void)state;
	expect_clean("/", ".");
	expect_clean("/index.html", "index.html");
	expect_clean("//a///b/", "a/b");
	expect_clean("/a/./b/../c", "a/c");
	expect_clean("/a/b/..", "a");
	expect_clean("/a/%2e%2e/b", "b");
	expect_clean("/sp%20ace", "sp ace");
	expect_clean("http://example.com/x?y", "x");
	expect_clean("http://example.com", ".");
	expect_clean("https://example.com/x", "x");
	expect_clean("HTTPS://example.com", ".");
	expect_clean("/a#frag", "a");
}

static void test_path_above_root_is_refused(void **state)
{
	(void)state;
	struct clean_path cp;
	assert_int_equal(clean("/../etc/passwd", &cp), PATH_ESCAPES);
	assert_int_equal(clean("/%2e%2e/etc/passwd", &cp), PATH_ESCAPES);
	assert_int_equal(clean("/..%2fetc", &cp), PATH_ESCAPES);
	assert_int_equal(clean("/a/../../b", &cp), PATH_ESCAPES);
}

static void test_path_decodes_once_only(void **state)
{
	(void)state;
	/* %252e is "%2e" literally after one decode: a file name, not "..". */
	expect_clean("/%252e%252e/x", "%2e%2e/x");
}

static void test_path_bad_escapes_and_nul_are_refused(void **state)
{
	(void)state;
	struct clean_path cp;
	assert_int_equal(clean("/a%00b", &cp), PATH_BAD);
	assert_int_equal(clean("/a%zz", &cp), PATH_BAD);
	assert_int_equal(clean("/a%2", &cp), PATH_BAD);
	assert_int_equal(clean("a", &cp), PATH_BAD);
	assert_int_equal(clean("*", &cp), PATH_BAD);
}

/* Plain paths take a shortcut; "%61" for an 'a' sends the same path the
 * long way (decode, then the segment walk). Both must agree, on every path
 * made of these pieces. */
static void test_path_shortcut_agrees_with_the_full_walk(void **state)
{
	(void)state;
	static const char *pieces[] = { "a", "/", ".", "b.c", "..", "/.", "x/" };
	unsigned seed = 7;
	for (int round = 0; round < 20000; round++) {
		char plain[64] = "/", slow[80];
		int np = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 6;
		for (int i = 0; i < np; i++) {
			seed = seed * 1103515245u + 12345u;
			strcat(plain, pieces[(seed >> 16) % 7]);
		}
		char *a = strchr(plain, 'a');
		if (!a)
			continue;
		snprintf(slow, sizeof slow, "%.*s%%61%s", (int)(a - plain), plain, a + 1);
		struct clean_path x, y;
		enum path_result rx = clean(plain, &x), ry = clean(slow, &y);
		assert_int_equal(rx, ry);
		if (rx != PATH_OK)
			continue;
		assert_string_equal(x.rel, y.rel);
		assert_int_equal(x.len, y.len);
		assert_int_equal(x.trailing_slash, y.trailing_slash);
		assert_int_equal(x.has_dot_segment, y.has_dot_segment);
	}
}

static void test_path_query_and_trailing_slash(void **state)
{
	(void)state;
	struct clean_path cp;
	assert_int_equal(clean("/dir/?a=1&b=%2F", &cp), PATH_OK);
	assert_string_equal(cp.rel, "dir");
	assert_true(cp.trailing_slash);
	assert_int_equal(cp.query_len, 9);
	assert_memory_equal(cp.query, "a=1&b=%2F", 9);
	assert_int_equal(clean("/dir", &cp), PATH_OK);
	assert_false(cp.trailing_slash);
	assert_null(cp.query);
	/* A fragment ends the query; an empty query is still a query. */
	assert_int_equal(clean("/a?b=1#c?d", &cp), PATH_OK);
	assert_string_equal(cp.rel, "a");
	assert_int_equal(cp.query_len, 3);
	assert_memory_equal(cp.query, "b=1", 3);
	assert_int_equal(clean("/?", &cp), PATH_OK);
	assert_string_equal(cp.rel, ".");
	assert_non_null(cp.query);
	assert_int_equal(cp.query_len, 0);
	assert_int_equal(clean("/a#b?c", &cp), PATH_OK);
	assert_string_equal(cp.rel, "a");
	assert_null(cp.query);
	/* The same, absolute-form (the long way). */
	assert_int_equal(clean("http://h/a?b=1#c?d", &cp), PATH_OK);
	assert_string_equal(cp.rel, "a");
	assert_int_equal(cp.query_len, 3);
}

static void test_path_dotfiles_flagged_but_not_well_known(void **state)
{
	(void)state;
	struct clean_path cp;
	assert_int_equal(clean("/.git/config", &cp), PATH_OK);
	assert_true(cp.has_dot_segment);
	assert_int_equal(clean("/a/.env", &cp), PATH_OK);
	assert_true(cp.has_dot_segment);
	assert_int_equal(clean("/.well-known/acme", &cp), PATH_OK);
	assert_false(cp.has_dot_segment);
	assert_int_equal(clean("/a/.well-known/x", &cp), PATH_OK);
	assert_true(cp.has_dot_segment);
	assert_int_equal(clean("/a.b/c.d", &cp), PATH_OK);
	assert_false(cp.has_dot_segment);
}

static void test_path_too_long_is_refused(void **state)
{
	(void)state;
	char *t = malloc(PATH_BUF + 10);
	t[0] = '/';
	memset(t + 1, 'a', PATH_BUF + 8);
	struct clean_path cp;
	assert_int_equal(path_clean(t, PATH_BUF + 9, &cp), PATH_TOO_LONG);
	free(t);
}

static void test_open_beneath_refuses_symlink_out_of_root(void **state)
{
	(void)state;
	char dir[] = "/tmp/garcom-path-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char p[256];
	snprintf(p, sizeof p, "%s/root", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/secret", dir);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	snprintf(p, sizeof p, "%s/root/inside", dir);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	snprintf(p, sizeof p, "%s/root/out", dir);
	assert_int_equal(symlink("../secret", p), 0);
	snprintf(p, sizeof p, "%s/root/in", dir);
	assert_int_equal(symlink("inside", p), 0);
	snprintf(p, sizeof p, "%s/root", dir);
	int root = open(p, O_PATH | O_DIRECTORY);
	assert_true(root >= 0);

	int fd = path_open_beneath(root, "in", O_RDONLY);
	assert_true(fd >= 0); /* a symlink that stays inside is followed */
	close(fd);
	assert_int_equal(path_open_beneath(root, "out", O_RDONLY), -EXDEV);
	assert_int_equal(path_open_beneath(root, "missing", O_RDONLY), -ENOENT);
	close(root);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_date_format_and_parse_round_trip(void **state)
{
	(void)state;
	char buf[HTTP_DATE_LEN + 1];
	date_format(784111777, buf);
	assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
	time_t t;
	assert_int_equal(date_parse(buf, strlen(buf), &t), 0);
	assert_int_equal(t, 784111777);
	assert_int_equal(date_parse("Sun, 06 Nov 1994 08:49:37 UTC", 29, &t), -1);
	assert_int_equal(date_parse("yesterday", 9, &t), -1);
	/* The two obsolete formats a recipient must still read (RFC 9110
	 * 5.6.7), for the same instant. */
	static const char *const same[] = {
		"Sunday, 06-Nov-94 08:49:37 GMT", /* rfc850-date */
		"Sun Nov  6 08:49:37 1994",       /* asctime-date */
	};
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		t = 0;
		assert_int_equal(date_parse(same[i], strlen(same[i]), &t), 0);
		assert_int_equal(t, 784111777);
	}
	assert_int_equal(date_parse("Sun Nov 16 08:49:37 1994", 24, &t), 0);
	assert_int_equal(t, 784111777 + 10 * 86400);
	/* A two-digit year is this century's unless that is more than 50
	 * years ahead ("94" above is 1994). */
	assert_int_equal(date_parse("Monday, 01-Jan-01 00:00:00 GMT", 30, &t), 0);
	assert_int_equal(t, 978307200);
	static const char *const bad[] = {
		"Sunday, 06-Nov-94 08:49:37 UTC", "Sunday, 06 Nov 94 08:49:37 GMT",
		"Sunday, 06-Xyz-94 08:49:37 GMT", "Sun Nov  6 08:49:37 19x4",
		"Sun Nov  6 08-49-37 1994",       "Sun Nov 36 08:49:37 1994",
		"Sun, 06 Nov 1994 25:49:37 GMT",  "Sunday 06-Nov-94 08:49:37 GMT",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(date_parse(bad[i], strlen(bad[i]), &t), -1);
	assert_string_equal(date_cached(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
	assert_string_equal(date_cached(784111778), "Sun, 06 Nov 1994 08:49:38 GMT");
}

static void test_mime_types_by_extension(void **state)
{
	(void)state;
	assert_string_equal(mime_type("a/index.html", 12), "text/html; charset=utf-8");
	assert_string_equal(mime_type("x.MJS", 5), "text/javascript; charset=utf-8");
	assert_string_equal(mime_type("f.woff2", 7), "font/woff2");
	assert_string_equal(mime_type("noext", 5), "application/octet-stream");
	assert_string_equal(mime_type("dir.d/noext", 11), "application/octet-stream");
	assert_string_equal(mime_type("x.unknown", 9), "application/octet-stream");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_resolves_dots_and_slashes),
		cmocka_unit_test(test_path_above_root_is_refused),
		cmocka_unit_test(test_path_decodes_once_only),
		cmocka_unit_test(test_path_bad_escapes_and_nul_are_refused),
		cmocka_unit_test(test_path_query_and_trailing_slash),
		cmocka_unit_test(test_path_shortcut_agrees_with_the_full_walk),
		cmocka_unit_test(test_path_dotfiles_flagged_but_not_well_known),
		cmocka_unit_test(test_path_too_long_is_refused),
		cmocka_unit_test(test_open_beneath_refuses_symlink_out_of_root),
		cmocka_unit_test(test_date_format_and_parse_round_trip),
		cmocka_unit_test(test_mime_types_by_extension),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
