/* test_sites: INI site files named by the main file's `sites` glob, from
 * text on disk to the model, and each error message exactly, with the site
 * file's name and line. Every test works in a fresh directory under /tmp. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define TMPDIR_TEMPLATE "/tmp/test_sites.XXXXXX"
#include "tmpdir.h"

/* A main file reading sites.d/ *.ini, with one server of its own on
 * 127.0.0.1:8080 named main.example and an upstream "app". */
static void write_main(void)
{
	mkdir_in("www");
	mkdir_in("sites.d");
	write_file("garcom.conf",
		   "sites = \"sites.d/*.ini\";\n"
		   "servers = ( { listen = \"127.0.0.1:8080\";\n"
		   "  server_names = [ \"main.example\" ]; root = \"www\"; } );\n"
		   "upstreams = ( { name = \"app\"; servers = [ \"127.0.0.1:9000\" ]; } );\n");
}

static int load(struct config **cfg, char **errs)
{
	size_t len;
	FILE *f = open_memstream(errs, &len);
	int n;

	assert_non_null(f);
	n = config_load(at("garcom.conf"), cfg, f);
	fclose(f);
	if (n == 0)
		assert_non_null(*cfg);
	else
		assert_null(*cfg);
	return n;
}

static struct config *load_ok(void)
{
	struct config *cfg;
	char *errs;
	int n = load(&cfg, &errs);

	if (n != 0)
		fprintf(stderr, "%s", errs);
	assert_int_equal(n, 0);
	free(errs);
	return cfg;
}

static char *expect(const char *fmt, ...)
{
	char *s;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&s, fmt, ap) >= 0);
	va_end(ap);
	return s;
}

/* Writes sites.d/name, loads, and compares all errors with want. */
static void assert_site_errors(const char *name, const char *text, int count,
			       const char *want)
{
	struct config *cfg;
	char *errs;

	write_file(name, text);
	assert_int_equal(load(&cfg, &errs), count);
	assert_string_equal(errs, want);
	free(errs);
}

static void test_good_site_adds_a_server_and_its_location(void **state)
{
	(void)state;
	write_main();
	write_file("sites.d/shop.ini",
		   "; the shop\n"
		   "[server]\n"
		   "listen = 127.0.0.1:8080, [::1]:8081   ; two addresses\n"
		   "server_name = shop.example www.shop.example\n"
		   "root = /tmp\n"
		   "index = index.html index.htm\n"
		   "access_log = /var/log/shop.log\n"
		   "expires = 7d\n"
		   "autoindex = true\n"
		   "error_page = 404 /404.html\n"
		   "error_page = 500 502 /50x.html\n"
		   "\n"
		   "[location /api/]\n"
		   "proxy = http://127.0.0.1:9001/v1/\n"
		   "[location /app]\n"
		   "proxy = app\n"
		   "exact = true\n"
		   "via = false\n"
		   "[location /static/]\n"
		   "root = /\n"
		   "expires = 1h\n");
	struct config *cfg = load_ok();

	assert_int_equal(cfg->nservers, 2);
	const struct config_server *srv = &cfg->servers[1];
	assert_string_equal(srv->file, at("sites.d/shop.ini"));
	assert_int_equal(srv->line, 2);
	assert_int_equal(srv->nlistens, 2);
	assert_string_equal(srv->listens[0].text, "127.0.0.1:8080");
	assert_string_equal(srv->listens[1].text, "[::1]:8081");
	assert_int_equal(srv->nnames, 2);
	assert_string_equal(srv->names[1], "www.shop.example");
	assert_string_equal(srv->root, "/tmp");
	assert_int_equal(srv->nindex, 2);
	assert_string_equal(srv->index[1], "index.htm");
	assert_string_equal(srv->access_log, "/var/log/shop.log");
	assert_int_equal(srv->stat.expires, 7 * 86400);
	assert_int_equal(srv->stat.autoindex, 1);
	assert_int_equal(srv->nerror_pages, 3);
	assert_int_equal(srv->error_pages[2].status, 502);
	assert_string_equal(srv->error_pages[2].uri, "/50x.html");
	assert_int_equal(srv->nlocations, 3);
	const struct config_location *api = &srv->locations[0];
	assert_string_equal(api->prefix, "/api/");
	assert_string_equal(api->proxy, "http://127.0.0.1:9001/v1/");
	assert_string_equal(api->proxy_path, "/v1/");
	assert_non_null(api->upstream);
	assert_true(api->upstream->implicit);
	assert_int_equal(api->line, 13);
	const struct config_location *app = &srv->locations[1];
	assert_true(app->exact);
	assert_non_null(app->upstream);
	assert_string_equal(app->upstream->name, "app");
	assert_int_equal(app->via, 0);
	assert_int_equal(app->preserve_host, -1);
	assert_int_equal(srv->locations[2].stat.expires, 3600);
	assert_string_equal(srv->locations[2].root, "/");
	config_free(cfg);
}

static void test_several_servers_in_one_file(void **state)
{
	(void)state;
	write_main();
	write_file("sites.d/two.ini", "[server]\n"
				      "listen = 8081\n"
				      "root = /tmp\n"
				      "[location /a/]\n"
				      "root = /\n"
				      "[server]\n"
				      "listen = 8082\n"
				      "root = /\n"
				      "[location /b/]\n"
				      "autoindex = true\n");
	struct config *cfg = load_ok();

	assert_int_equal(cfg->nservers, 3);
	assert_int_equal(cfg->servers[1].line, 1);
	assert_int_equal(cfg->servers[1].nlocations, 1);
	assert_string_equal(cfg->servers[1].locations[0].prefix, "/a/");
	assert_int_equal(cfg->servers[2].line, 6);
	assert_int_equal(cfg->servers[2].nlocations, 1);
	assert_string_equal(cfg->servers[2].locations[0].prefix, "/b/");
	assert_int_equal(cfg->servers[2].locations[0].stat.autoindex, 1);
	/* defaults as in the main file */
	assert_int_equal(cfg->servers[2].nindex, 1);
	assert_string_equal(cfg->servers[2].index[0], "index.html");
	assert_true(cfg->servers[2].via);
	config_free(cfg);
}

static void test_too_long_line_is_refused_not_split(void **state)
{
	char text[600], *want;

	(void)state;
	write_main();
	/* A line of 190 bytes is taken whole. */
	memset(text, 0, sizeof(text));
	strcpy(text, "[server]\nlisten = 8081\nroot = /tmp\nserver_name = ");
	memset(text + strlen(text), 'n', 190 - strlen("server_name = "));
	strcat(text, "\n");
	write_file("sites.d/ok.ini", text);
	struct config *cfg = load_ok();
	assert_int_equal(strlen(cfg->servers[1].names[0]), 190 - strlen("server_name = "));
	config_free(cfg);
	assert_int_equal(remove(at("sites.d/ok.ini")), 0);

	/* 250 bytes: inih would cut it and read the rest as a new line. */
	memset(text, 0, sizeof(text));
	strcpy(text, "[server]\nlisten = 8081\nroot = /tmp\nserver_name = a");
	memset(text + strlen(text), 'x', 236);
	strcat(text, "=y\nindex = i.html\n");
	want = expect("%s:4: line too long\n", at("sites.d/long.ini"));
	assert_site_errors("sites.d/long.ini", text, 1, want);
	free(want);
}

static void test_unknown_key_says_what_was_meant(void **state)
{
	char *want;

	(void)state;
	write_main();
	want = expect("%s:3: unknown key 'rot' (did you mean 'root'?)\n"
		      "%s:4: unknown key 'colour'\n"
		      "%s:5: 'proxy' belongs in a [location PREFIX] section\n"
		      "%s:7: 'listen' belongs in a [server] section\n",
		      at("sites.d/a.ini"), at("sites.d/a.ini"), at("sites.d/a.ini"),
		      at("sites.d/a.ini"));
	assert_site_errors("sites.d/a.ini",
			   "[server]\nlisten = 8081\nrot = /tmp\ncolour = red\n"
			   "proxy = app\n[location /]\nlisten = 8082\nroot = /tmp\n",
			   4, want);
	free(want);
}

static void test_location_before_any_server(void **state)
{
	char *want;

	(void)state;
	write_main();
	want = expect("%s:1: [location /api/] comes before any [server]\n",
		      at("sites.d/a.ini"));
	assert_site_errors("sites.d/a.ini",
			   "[location /api/]\nproxy = app\n"
			   "[server]\nlisten = 8081\nroot = /tmp\n",
			   1, want);
	free(want);
}

static void test_bad_listen_and_bad_values(void **state)
{
	char *want;
	const char *f = at("sites.d/a.ini");

	(void)state;
	write_main();
	want = expect("%s:2: invalid listen address '1.2.3.4:99999' (expected IP:PORT, "
		      "[IPv6]:PORT, *:PORT or PORT, port 1-65535)\n"
		      "%s:3: 'autoindex' must be true or false (not \"yes\")\n"
		      "%s:4: 'expires' must be \"off\", \"max\", seconds or a duration "
		      "like \"7d\" (not \"soon\")\n"
		      "%s:5: duplicate key 'autoindex' (also at line 3)\n"
		      "%s:7: proxy 'ap' names no upstream (did you mean 'app'?)\n",
		      f, f, f, f, f);
	assert_site_errors("sites.d/a.ini",
			   "[server]\nlisten = 8081 1.2.3.4:99999\nautoindex = yes\n"
			   "expires = soon\nautoindex = false\n[location /]\nproxy = ap\n",
			   5, want);
	free(want);
}

static void test_relative_root_is_the_site_files_own(void **state)
{
	char *want;

	(void)state;
	write_main();
	mkdir_in("sites.d/shop");
	write_file("sites.d/a.ini", "[server]\nlisten = 8081\nroot = shop/./\n"
				    "[location /x/]\nroot = ../www\n");
	struct config *cfg = load_ok();
	assert_string_equal(cfg->servers[1].root, at("sites.d/shop"));
	assert_string_equal(cfg->servers[1].locations[0].root, at("www"));
	/* the main file's own root stays relative to the main file */
	assert_string_equal(cfg->servers[0].root, at("www"));
	config_free(cfg);

	want = expect("%s:3: root 'nope' (%s) does not exist\n", at("sites.d/a.ini"),
		      at("sites.d/nope"));
	assert_site_errors("sites.d/a.ini", "[server]\nlisten = 8081\nroot = nope\n", 1,
			   want);
	free(want);
}

static void test_errors_name_their_file_in_sorted_order(void **state)
{
	char *want;

	(void)state;
	write_main();
	write_file("sites.d/b.ini", "[server]\nlisten = 8082\nroot = /tmp\nfoo = 1\n");
	write_file("sites.d/a.ini", "[server]\nlisten = 8081\nroot = /tmp\n");
	write_file("sites.d/c.txt", "not read: the glob takes *.ini only\n");
	want = expect("%s:4: unknown key 'foo'\n", at("sites.d/b.ini"));
	struct config *cfg;
	char *errs;
	assert_int_equal(load(&cfg, &errs), 1);
	assert_string_equal(errs, want);
	free(errs);
	free(want);

	assert_int_equal(remove(at("sites.d/b.ini")), 0);
	cfg = load_ok();
	assert_int_equal(cfg->nservers, 2);
	assert_string_equal(cfg->servers[1].file, at("sites.d/a.ini"));
	config_free(cfg);
}

static void test_server_names_clash_across_files(void **state)
{
	char *want;
	const char *main = at("garcom.conf");

	(void)state;
	write_main();
	write_file("sites.d/a.ini", "[server]\nlisten = 127.0.0.1:8080\n"
				    "server_name = other.example MAIN.example\n"
				    "root = /tmp\n");
	want = expect("%s:3: duplicate server name 'MAIN.example' on 127.0.0.1:8080 "
		      "(also at %s:2)\n",
		      at("sites.d/a.ini"), main);
	assert_site_errors("sites.d/a.ini", "[server]\nlisten = 127.0.0.1:8080\n"
					    "server_name = other.example MAIN.example\n"
					    "root = /tmp\n",
			   1, want);
	free(want);

	write_file("sites.d/a.ini", "[server]\nlisten = 9000\nroot = /tmp\n");
	want = expect("%s:1: second server without 'server_name' on *:9000 (the first "
		      "is at %s:1)\n",
		      at("sites.d/b.ini"), at("sites.d/a.ini"));
	assert_site_errors("sites.d/b.ini", "[server]\nlisten = *:9000\nroot = /tmp\n", 1,
			   want);
	free(want);
}

static void test_inih_traps_continuations_comments_and_sections(void **state)
{
	char *want;
	const char *f = at("sites.d/a.ini");

	(void)state;
	write_main();
	/* an indented line continues a list; only ';' starts an inline
	 * comment; a long section name is not cut */
	write_file("sites.d/a.ini",
		   "\xEF\xBB\xBF[server]\r\n"
		   "listen = 8081\n"
		   "index = a.html\n"
		   "   b.html ; c.html\n"
		   "root = /tmp\n"
		   "[location /a/very/long/prefix/that/inih/would/cut/at/49/bytes/x/]\n"
		   "root = /tmp\n");
	struct config *cfg = load_ok();
	assert_int_equal(cfg->servers[1].nindex, 2);
	assert_string_equal(cfg->servers[1].index[1], "b.html");
	assert_string_equal(cfg->servers[1].locations[0].prefix,
			    "/a/very/long/prefix/that/inih/would/cut/at/49/bytes/x/");
	config_free(cfg);

	want = expect("%s:1: server has no 'listen'\n"
		      "%s:2: root '/tmp # not a comment' does not exist\n"
		      "%s:3: 'root' takes one value: this indented line would "
		      "continue it\n"
		      "%s:4: expected 'key = value' or a [section]\n"
		      "%s:5: unknown section [servers] (expected [server] or [location "
		      "PREFIX])\n"
		      "%s:7: section header without ']'\n",
		      f, f, f, f, f, f);
	assert_site_errors("sites.d/a.ini",
			   "[server]\nroot = /tmp # not a comment\n   /srv\n"
			   "listen\n[servers]\nroot = x\n[server\n",
			   6, want);
	free(want);
}

static void test_implicit_upstream_like_the_main_files(void **state)
{
	(void)state;
	write_main();
	/* the same URL in the main file and a site file: one upstream */
	write_file("garcom.conf",
		   "sites = \"sites.d/*.ini\";\n"
		   "servers = ( { listen = \"8080\"; root = \"www\";\n"
		   "  locations = ( { prefix = \"/m/\"; proxy = \"http://127.0.0.1:9000\"; } ); } );\n");
	write_file("sites.d/a.ini", "[server]\nlisten = 8081\nroot = /tmp\n"
				    "[location /s/]\nproxy = http://127.0.0.1:9000\n"
				    "[location /t/]\nproxy = http://127.0.0.1:9001/p\n");
	struct config *cfg = load_ok();
	assert_int_equal(cfg->nupstreams, 2);
	const struct config_upstream *m = cfg->servers[0].locations[0].upstream;
	const struct config_upstream *s = cfg->servers[1].locations[0].upstream;
	const struct config_upstream *t = cfg->servers[1].locations[1].upstream;
	assert_ptr_equal(m, s);
	assert_non_null(t);
	assert_true(t->implicit);
	assert_int_equal(t->nservers, 1);
	assert_int_equal(t->keepalive, m->keepalive);
	assert_int_equal(t->keepalive_timeout_ms, m->keepalive_timeout_ms);
	assert_int_equal(t->connect_timeout_ms, m->connect_timeout_ms);
	assert_int_equal(t->send_timeout_ms, m->send_timeout_ms);
	assert_int_equal(t->read_timeout_ms, m->read_timeout_ms);
	assert_int_equal(t->max_fails, m->max_fails);
	assert_int_equal(t->fail_timeout_ms, m->fail_timeout_ms);
	assert_int_equal(t->balance, m->balance);
	assert_string_equal(cfg->servers[1].locations[1].proxy_path, "/p");
	config_free(cfg);
}

static void test_glob_matching_nothing_and_no_main_servers(void **state)
{
	(void)state;
	write_main();
	struct config *cfg = load_ok(); /* sites.d/ is empty */
	assert_int_equal(cfg->nservers, 1);
	config_free(cfg);

	/* the main file may leave every server to the site files */
	write_file("garcom.conf", "sites = \"sites.d/*.ini\";\n");
	write_file("sites.d/a.ini", "[server]\nlisten = 8081\nroot = /tmp\n");
	cfg = load_ok();
	assert_int_equal(cfg->nservers, 1);
	config_free(cfg);
}

/* ---- the same bad value, in the main file and in a site file: the same
 * check (config_check.c) says the same thing, each at its own FILE:LINE.
 * A message's %s is the key as each syntax names it. */

struct same_case {
	const char *main_srv, *main_loc; /* settings of the main file's server, location */
	const char *main_listen;         /* instead of listen = "8080" */
	const char *site_srv, *site_loc; /* lines of the site file's */
	const char *want;                /* the message after "FILE:LINE: " */
	const char *main_key, *site_key; /* for a %s in want */
	int main_line, site_line;
};

/* Loads garcom.conf as written (with sites.d/a.ini, when `site` is given)
 * and checks its only error: at file:line, saying want. */
static void assert_one_error(const char *site, const char *file, int line,
			     const char *want)
{
	struct config *cfg;
	char *errs, *prefix;

	if (site != NULL)
		write_file("sites.d/a.ini", site);
	assert_int_equal(load(&cfg, &errs), 1);
	prefix = expect("%s:%d: ", at(file), line);
	if (strncmp(errs, prefix, strlen(prefix)) != 0)
		fail_msg("expected \"%s\" at %s, got: %s", want, prefix, errs);
	assert_string_equal(errs + strlen(prefix), want);
	free(prefix);
	free(errs);
}

static void check_same_message(const struct same_case *c)
{
	const char *upstream =
		"upstreams = ( { name = \"app\"; servers = [ \"127.0.0.1:9000\" ]; } );\n";
	char *main, *site, *want;

	/* the main file: listen on line 2, server settings on line 3, location
	 * ones on line 5 */
	main = expect("%sservers = ( { %s root = \"/tmp\";\n%s\n"
		      "  locations = ( { prefix = \"/l/\";\n%s\n } ); } );\n",
		      upstream, c->main_listen ? c->main_listen : "listen = \"8080\";",
		      c->main_srv ? c->main_srv : "",
		      c->main_loc ? c->main_loc : "");
	write_file("garcom.conf", main);
	want = expect(c->want, c->main_key);
	assert_one_error(NULL, "garcom.conf", c->main_line, want);
	free(want);
	free(main);

	/* a site file: server lines on line 4, location ones on line 6 */
	main = expect("sites = \"sites.d/*.ini\";\n%s", upstream);
	write_file("garcom.conf", main);
	site = expect("[server]\nlisten = 8081\nroot = /tmp\n%s\n[location /l/]\n%s\n",
		      c->site_srv ? c->site_srv : "", c->site_loc ? c->site_loc : "");
	want = expect(c->want, c->site_key);
	assert_one_error(site, "sites.d/a.ini", c->site_line, want);
	free(want);
	free(site);
	free(main);
}

#define SRV_CASE(m, s, w) { .main_srv = m, .site_srv = s, .want = w, \
	.main_line = 3, .site_line = 4 }
#define LOC_CASE(m, s, w) { .main_loc = m, .site_loc = s, .want = w, \
	.main_line = 5, .site_line = 6 }
#define EP(m, s, w) { .main_srv = "error_pages = [ \"" m "\" ];", \
	.site_srv = "error_page = " s, .want = w, .main_key = "error_pages", \
	.site_key = "error_page", .main_line = 3, .site_line = 4 }

static void test_same_bad_value_same_message_in_both_syntaxes(void **state)
{
	static const struct same_case cases[] = {
		SRV_CASE("expires = \"soon\";", "expires = soon",
			 "'expires' must be \"off\", \"max\", seconds or a duration "
			 "like \"7d\" (not \"soon\")\n"),
		LOC_CASE("expires = \"500ms\";", "expires = 500ms",
			 "'expires' must be whole seconds (not \"500ms\")\n"),
		SRV_CASE("expires = \"3651d\";", "expires = 3651d",
			 "'expires' must be between 0 and 3650d (or \"max\")\n"),
		LOC_CASE("follow_symlinks = \"sometimes\";", "follow_symlinks = sometimes",
			 "'follow_symlinks' must be one of inside, always, never (not "
			 "\"sometimes\")\n"),
		LOC_CASE("root = \"/nonexistent/garcom\";", "root = /nonexistent/garcom",
			 "root '/nonexistent/garcom' does not exist\n"),
		{ .main_listen = "listen = [ \"8080\", \"1.2.3.4:99999\" ];",
		  .site_srv = "listen = 1.2.3.4:99999",
		  .want = "invalid listen address '1.2.3.4:99999' (expected IP:PORT, "
			  "[IPv6]:PORT, *:PORT or PORT, port 1-65535)\n",
		  .main_line = 2, .site_line = 4 },
		{ .main_listen = "listen = [ \"8080\", \"*:8080\" ];",
		  .site_srv = "listen = *:8081", .want = "duplicate listen address '%s'\n",
		  .main_key = "*:8080", .site_key = "*:8081", .main_line = 2,
		  .site_line = 4 },
		SRV_CASE("index = \"a/b\";", "index = a/b",
			 "index 'a/b' must be a file name, without '/'\n"),
		SRV_CASE("server_names = [ \"a\", \"A\" ];", "server_name = a A",
			 "duplicate server name 'A'\n"),
		EP("404", "404",
		   "'%s' entry \"404\" must be one or more statuses then a URI, like "
		   "\"500 502 /50x.html\"\n"),
		EP("99 /x.html", "99 /x.html",
		   "'%s' entry \"99 /x.html\": status '99' must be a number from 300 "
		   "to 599\n"),
		EP("404 x.html", "404 x.html",
		   "'%s' entry \"404 x.html\": the URI must start with '/' (not "
		   "\"x.html\")\n"),
		EP("404 404 /x.html", "404 404 /x.html",
		   "'%s': status 404 is listed twice\n"),
		LOC_CASE("proxy = \"ftp://h\";", "proxy = ftp://h",
			 "proxy 'ftp://h' must be an http:// URL or the name of an "
			 "upstream\n"),
		LOC_CASE("proxy = \"https://h\";", "proxy = https://h",
			 "proxy 'https://h': https upstreams are not supported\n"),
		LOC_CASE("proxy = \"http://0.0.0.0:80\";", "proxy = http://0.0.0.0:80",
			 "proxy 'http://0.0.0.0:80' must name a host, not a wildcard\n"),
		LOC_CASE("proxy = \"ap\";", "proxy = ap",
			 "proxy 'ap' names no upstream (did you mean 'app'?)\n"),
		/* told at the location itself */
		{ .main_loc = "root = \"/tmp\"; proxy = \"app\";",
		  .site_loc = "root = /tmp\nproxy = app",
		  .want = "location '/l/' has both 'root' and 'proxy'\n",
		  .main_line = 4, .site_line = 5 },
	};

	(void)state;
	mkdir_in("sites.d");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_same_message(&cases[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_good_site_adds_a_server_and_its_location),
		T(test_several_servers_in_one_file),
		T(test_too_long_line_is_refused_not_split),
		T(test_unknown_key_says_what_was_meant),
		T(test_location_before_any_server),
		T(test_bad_listen_and_bad_values),
		T(test_relative_root_is_the_site_files_own),
		T(test_errors_name_their_file_in_sorted_order),
		T(test_server_names_clash_across_files),
		T(test_inih_traps_continuations_comments_and_sections),
		T(test_implicit_upstream_like_the_main_files),
		T(test_glob_matching_nothing_and_no_main_servers),
		T(test_same_bad_value_same_message_in_both_syntaxes),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
