/* test_config: the main configuration file, from text on disk to the model:
 * every key, the defaults, each error message exactly, the value grammars,
 * and config_dump's output loading again. Runs from the repository root. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define TMPDIR_TEMPLATE "/tmp/test_config.XXXXXX"
#include "tmpdir.h"

/* Loads tmp/name; *errs gets what config_load wrote (free it). */
static int load_path(const char *path, struct config **cfg, char **errs)
{
	size_t len;
	FILE *f = open_memstream(errs, &len);
	int n;

	assert_non_null(f);
	n = config_load(path, cfg, f);
	fclose(f);
	if (n == 0)
		assert_non_null(*cfg);
	else
		assert_null(*cfg);
	return n;
}

static int load(const char *name, struct config **cfg, char **errs)
{
	return load_path(at(name), cfg, errs);
}

/* "PATH:" prefixed lines, as config_load writes them. */
static char *expect(const char *fmt, ...)
{
	char *s;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&s, fmt, ap) >= 0);
	va_end(ap);
	return s;
}

static void assert_errors(const char *name, const char *text, int count, const char *want)
{
	struct config *cfg;
	char *errs;

	write_file(name, text);
	assert_int_equal(load(name, &cfg, &errs), count);
	assert_string_equal(errs, want);
	free(errs);
}

static struct config *load_ok(const char *name, const char *text)
{
	struct config *cfg;
	char *errs;

	if (text != NULL) /* else the file is there already */
		write_file(name, text);
	int n = load(name, &cfg, &errs);
	if (n != 0)
		fprintf(stderr, "%s", errs);
	assert_int_equal(n, 0);
	free(errs);
	return cfg;
}

static const char full_conf[] =
	"workers = 4;\n"
	"master_process = false;\n"
	"events_batch = 128;\n"
	"coroutine_stack = \"128k\";\n"
	"user = \"www-data\"; group = \"www-group\";\n"
	"pid_file = \"/run/garcom.pid\";\n"
	"error_log = \"/var/log/garcom/error.log\";\n"
	"log_level = \"debug\";\n"
	"sites = \"/etc/garcom/sites.d/*.ini\";\n"
	"timeouts = { header = 5; body = \"500ms\"; keepalive = 1.5; send = \"2m\";\n"
	"             shutdown = \"1h\"; };\n"
	"limits = { max_connections = 0; header_size = \"16k\"; body_size = \"1g\";\n"
	"           uri_size = \"2k\"; headers = 50; requests_per_connection = 100; };\n"
	"servers = (\n"
	"  {\n"
	"    listen = [ \"0.0.0.0:8080\", \"[::]:8080\" ];\n"
	"    server_names = [ \"example.com\", \"*.example.com\" ];\n"
	"    default = true;\n"
	"    root = \"www\";\n"
	"    index = [ \"index.html\", \"index.htm\" ];\n"
	"    access_log = \"/var/log/garcom/access.log\";\n"
	"    locations = (\n"
	"      { prefix = \"/api/\"; proxy = \"app\"; },\n"
	"      { prefix = \"/assets/\"; root = \"assets/\"; expires = \"7d\"; },\n"
	"      { prefix = \"/favicon.ico\"; exact = true; expires = \"max\"; },\n"
	"      { prefix = \"/old/\"; proxy = \"http://127.0.0.1:9100\"; expires = 30; }\n"
	"    );\n"
	"  },\n"
	"  { listen = \"127.0.0.1:8081\"; server_names = \"other.example\"; root = "
	"\"/\";\n"
	"    access_log = \"off\"; }\n"
	");\n"
	"upstreams = (\n"
	"  { name = \"app\"; servers = [ \"127.0.0.1:9000\", \"[::1]:9001\" ];\n"
	"    keepalive = 8; connect_timeout = 2; read_timeout = \"90s\"; }\n"
	");\n";

static void write_full(void)
{
	mkdir_in("www");
	mkdir_in("assets");
	write_file("full.conf", full_conf);
}

static uint16_t port_of(const struct config_listen *l)
{
	if (l->addr.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port);
}

static void test_full_config_sets_every_key(void **state)
{
	struct config *cfg;
	char *errs;

	(void)state;
	write_full();
	assert_int_equal(load("full.conf", &cfg, &errs), 0);
	assert_string_equal(errs, "");
	free(errs);

	assert_string_equal(cfg->path, at("full.conf"));
	assert_int_equal(cfg->workers, 4);
	assert_false(cfg->master_process);
	assert_int_equal(cfg->events_batch, 128);
	assert_int_equal(cfg->coroutine_stack, 128 * 1024);
	assert_string_equal(cfg->user, "www-data");
	assert_string_equal(cfg->group, "www-group");
	assert_string_equal(cfg->pid_file, "/run/garcom.pid");
	assert_string_equal(cfg->error_log, "/var/log/garcom/error.log");
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	assert_string_equal(cfg->sites, "/etc/garcom/sites.d/*.ini");
	assert_int_equal(cfg->timeouts.header_ms, 5000);
	assert_int_equal(cfg->timeouts.body_ms, 500);
	assert_int_equal(cfg->timeouts.keepalive_ms, 1500);
	assert_int_equal(cfg->timeouts.send_ms, 120000);
	assert_int_equal(cfg->timeouts.shutdown_ms, 3600000);
	assert_int_equal(cfg->limits.max_connections, 0);
	assert_int_equal(cfg->limits.header_size, 16384);
	assert_int_equal(cfg->limits.uri_size, 2048);
	assert_int_equal(cfg->limits.headers, 50);
	assert_int_equal(cfg->limits.body_size, 1ULL << 30);
	assert_int_equal(cfg->limits.requests_per_connection, 100);

	assert_int_equal(cfg->nservers, 2);
	const struct config_server *s = &cfg->servers[0];
	assert_int_equal(s->nlistens, 2);
	assert_string_equal(s->listens[0].text, "0.0.0.0:8080");
	assert_int_equal(s->listens[0].addr.ss_family, AF_INET);
	assert_int_equal(port_of(&s->listens[0]), 8080);
	assert_string_equal(s->listens[1].text, "[::]:8080");
	assert_int_equal(s->listens[1].addr.ss_family, AF_INET6);
	assert_int_equal(s->nnames, 2);
	assert_string_equal(s->names[0], "example.com");
	assert_string_equal(s->names[1], "*.example.com");
	assert_true(s->is_default);
	assert_string_equal(s->root, at("www"));
	assert_int_equal(s->nindex, 2);
	assert_string_equal(s->index[0], "index.html");
	assert_string_equal(s->index[1], "index.htm");
	assert_string_equal(s->access_log, "/var/log/garcom/access.log");
	assert_string_equal(s->file, at("full.conf"));
	assert_int_equal(s->line, 15);
	assert_int_equal(s->nlocations, 4);
	assert_string_equal(s->locations[0].prefix, "/api/");
	assert_false(s->locations[0].exact);
	assert_null(s->locations[0].root);
	assert_string_equal(s->locations[0].proxy, "app");
	assert_int_equal(s->locations[0].stat.expires, EXPIRES_INHERIT);
	assert_int_equal(s->locations[0].line, 23);
	assert_string_equal(s->locations[1].root, at("assets"));
	assert_null(s->locations[1].proxy);
	assert_int_equal(s->locations[1].stat.expires, 7 * 86400);
	assert_true(s->locations[2].exact);
	assert_int_equal(s->locations[2].stat.expires, LONG_MAX);
	assert_string_equal(s->locations[3].proxy, "http://127.0.0.1:9100");
	assert_int_equal(s->locations[3].stat.expires, 30);

	s = &cfg->servers[1];
	assert_int_equal(s->nlistens, 1);
	assert_int_equal(s->nnames, 1);
	assert_string_equal(s->names[0], "other.example");
	assert_false(s->is_default);
	assert_string_equal(s->root, "/");
	assert_null(s->access_log);
	assert_int_equal(s->nindex, 1);
	assert_string_equal(s->index[0], "index.html");

	/* "app", then the one made for /old/'s URL */
	assert_int_equal(cfg->nupstreams, 2);
	const struct config_upstream *u = &cfg->upstreams[0];
	assert_string_equal(u->name, "app");
	assert_false(u->implicit);
	assert_int_equal(u->nservers, 2);
	assert_string_equal(u->servers[0].text, "127.0.0.1:9000");
	assert_int_equal(port_of(&u->servers[1]), 9001);
	assert_int_equal(u->keepalive, 8);
	assert_int_equal(u->connect_timeout_ms, 2000);
	assert_int_equal(u->read_timeout_ms, 90000);
	assert_int_equal(u->line, 33);
	assert_true(cfg->upstreams[1].implicit);
	assert_string_equal(cfg->upstreams[1].name, "http://127.0.0.1:9100");
	assert_ptr_equal(cfg->servers[0].locations[0].upstream, &cfg->upstreams[0]);
	assert_ptr_equal(cfg->servers[0].locations[3].upstream, &cfg->upstreams[1]);
	assert_null(cfg->servers[0].locations[1].upstream);
	config_free(cfg);
}

static void test_defaults_fill_a_minimal_config(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"min.conf", "servers = ( { listen = \"8080\"; root = \".\"; } );\n");

	assert_int_equal(cfg->workers, 0);
	assert_true(cfg->master_process);
	assert_int_equal(cfg->events_batch, 512);
	assert_int_equal(cfg->coroutine_stack, 64 * 1024);
	assert_null(cfg->user);
	assert_null(cfg->group);
	assert_null(cfg->pid_file);
	assert_string_equal(cfg->error_log, "stderr");
	assert_int_equal(cfg->log_level, LOG_INFO);
	assert_null(cfg->sites);
	assert_int_equal(cfg->timeouts.header_ms, 10000);
	assert_int_equal(cfg->timeouts.body_ms, 30000);
	assert_int_equal(cfg->timeouts.keepalive_ms, 75000);
	assert_int_equal(cfg->timeouts.send_ms, 60000);
	assert_int_equal(cfg->timeouts.shutdown_ms, 30000);
	assert_int_equal(cfg->limits.max_connections, 10000);
	assert_int_equal(cfg->limits.header_size, 8192);
	assert_int_equal(cfg->limits.uri_size, 4096);
	assert_int_equal(cfg->limits.headers, 100);
	assert_int_equal(cfg->limits.body_size, 1 << 20);
	assert_int_equal(cfg->limits.requests_per_connection, 10000);
	assert_int_equal(cfg->nservers, 1);
	assert_string_equal(cfg->servers[0].listens[0].text, "8080");
	assert_int_equal(cfg->servers[0].nnames, 0);
	assert_false(cfg->servers[0].is_default);
	assert_string_equal(cfg->servers[0].root, tmp);
	assert_int_equal(cfg->servers[0].nindex, 1);
	assert_string_equal(cfg->servers[0].index[0], "index.html");
	assert_null(cfg->servers[0].access_log);
	assert_int_equal(cfg->nupstreams, 0);
	config_free(cfg);
}

static const char server[] = "servers = ( { listen = \"8080\"; root = \"/\"; } );\n";

static void test_misspelled_key_suggests_the_known_one(void **state)
{
	(void)state;
	char *want = expect("%s:1: unknown key 'wokers' (did you mean 'workers'?)\n",
			    at("c.conf"));
	char text[256];

	snprintf(text, sizeof(text), "wokers = 4;\n%s", server);
	assert_errors("c.conf", text, 1, want);
	free(want);
}

static void test_unknown_key_far_from_every_key_has_no_hint(void **state)
{
	(void)state;
	char *want = expect("%s:2: unknown key 'colour'\n", at("c.conf"));
	char text[256];

	snprintf(text, sizeof(text), "%scolour = \"blue\";\n", server);
	assert_errors("c.conf", text, 1, want);
	free(want);
}

static void test_wrong_type_names_the_expected_type(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	char *want = expect("%s:1: 'events_batch' must be an integer\n"
			    "%s:2: 'master_process' must be a boolean (true or false)\n"
			    "%s:3: 'coroutine_stack' must be a size (bytes, or a string "
			    "like \"64k\")\n"
			    "%s:4: 'listen' must be a string or an array of strings\n",
			    f, f, f, f);

	/* a float is not an integer, nor 1 a boolean */
	assert_errors("c.conf",
		      "events_batch = 512.0;\n"
		      "master_process = 1;\n"
		      "coroutine_stack = 1.5;\n"
		      "servers = ( { listen = [ 80, 81 ]; root = \"/\"; } );\n",
		      4, want);
	free(want);
}

static void test_out_of_range_value_gives_the_range(void **state)
{
	(void)state;
	char *want = expect("%s:1: 'events_batch' must be between 1 and 65536\n"
			    "%s:2: 'coroutine_stack' must be between 16k and 64m\n"
			    "%s:3: 'workers' must be \"auto\" or between 1 and 1024\n"
			    "%s:4: 'header' must be between 1ms and 1d\n"
			    "%s:5: 'log_level' must be one of error, warn, info, debug "
			    "(not \"loud\")\n"
			    "%s:6: 'headers' must be between 1 and 100\n"
			    "%s:6: 'uri_size' must be between 256 and 1m\n",
			    at("c.conf"), at("c.conf"), at("c.conf"), at("c.conf"),
			    at("c.conf"), at("c.conf"), at("c.conf"));
	char text[512];

	snprintf(text, sizeof(text),
		 "events_batch = 0;\ncoroutine_stack = \"8k\";\nworkers = 2000;\n"
		 "timeouts = { header = -1; };\nlog_level = \"loud\";\n"
		 "limits = { headers = 101; uri_size = 100; };\n%s",
		 server);
	assert_errors("c.conf", text, 7, want);
	free(want);
}

/* Errors found late (a proxy naming no upstream, known only once the whole
 * file is read) still print at their place in the file. */
static void test_every_error_is_reported_in_line_order(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	char *want = expect(
		"%s:1: unknown key 'wokers' (did you mean 'workers'?)\n"
		"%s:2: 'events_batch' must be an integer\n"
		"%s:4: server has no 'listen'\n"
		"%s:5: root 'missing' (%s/missing) does not exist\n"
		"%s:7: proxy 'ap' names no upstream (did you mean 'app'?)\n"
		"%s:8: 'prefix' must start with '/' (not \"x\")\n"
		"%s:11: unknown key 'heder' (did you mean 'header'?)\n"
		"%s:13: upstream server '0.0.0.0:1' must name a host, not a wildcard\n",
		f, f, f, f, tmp, f, f, f, f);

	assert_errors("c.conf",
		      "wokers = 4;\n"
		      "events_batch = \"x\";\n"
		      "servers = (\n"
		      "  {\n"
		      "    root = \"missing\";\n"
		      "    locations = (\n"
		      "      { prefix = \"/a\"; proxy = \"ap\"; },\n"
		      "      { prefix = \"x\"; root = \"/\"; }\n"
		      "    );\n"
		      "  });\n"
		      "timeouts = { heder = 1; };\n"
		      "upstreams = ( { name = \"app\";\n"
		      "  servers = [ \"0.0.0.0:1\" ]; } );\n",
		      8, want);
	free(want);
}

static void test_syntax_error_gives_file_and_line(void **state)
{
	(void)state;
	char *want = expect("%s:3: syntax error\n", at("c.conf"));

	assert_errors("c.conf", "workers = 4;\n\nevents_batch = = 3;\n", 1, want);
	free(want);
}

static void test_missing_file_is_reported(void **state)
{
	(void)state;
	struct config *cfg;
	char *errs;
	char *want =
		expect("%s: cannot read: No such file or directory\n", at("nope.conf"));

	assert_int_equal(load("nope.conf", &cfg, &errs), 1);
	assert_string_equal(errs, want);
	free(errs);
	free(want);
}

/* The tests run from the repository root, so only include_dir can find
 * part.conf next to main.conf. */
static void test_include_is_relative_to_the_config_directory(void **state)
{
	(void)state;
	mkdir_in("conf");
	write_file("conf/part.conf", "events_batch = 64;\n");
	write_file("conf/main.conf",
		   "@include \"part.conf\"\n"
		   "servers = ( { listen = \"8080\"; root = \".\"; } );\n");
	struct config *cfg;
	char *errs;

	assert_int_equal(load("conf/main.conf", &cfg, &errs), 0);
	free(errs);
	assert_int_equal(cfg->events_batch, 64);
	config_free(cfg);

	/* an error in the included file names that file, as opened */
	write_file("conf/part.conf", "\nevents_batch = 0;\n");
	char *want = expect("%s:2: 'events_batch' must be between 1 and 65536\n",
			    at("conf/part.conf"));
	assert_int_equal(load("conf/main.conf", &cfg, &errs), 1);
	assert_string_equal(errs, want);
	free(errs);
	free(want);

	/* a missing one names the file and where it was looked for */
	write_file("conf/main.conf", "servers = ( { listen = \"8080\"; root = \".\"; } );\n"
				     "@include \"missing.conf\"\n");
	want = expect("%s:2: cannot open include file \"missing.conf\" (looked for %s)\n",
		      at("conf/main.conf"), at("conf/missing.conf"));
	assert_int_equal(load("conf/main.conf", &cfg, &errs), 1);
	assert_string_equal(errs, want);
	free(errs);
	free(want);
}

/* libconfig 1.5 would open a directory named by @include and its scanner
 * would end the process on the read error (exit 2; on a reload, the
 * master's). Found by tests/fuzz (regressions/config/include-directory):
 * it is an error with file and line. */
static void test_include_of_a_directory_is_an_error_not_an_exit(void **state)
{
	(void)state;
	mkdir_in("conf");
	mkdir_in("conf/sub");
	struct config *cfg;
	char *errs, *want;

	/* "sub", and "" (the directory itself) */
	write_file("conf/main.conf", "servers = ( { listen = \"8080\"; root = \".\"; } );\n"
				     "  @include \"sub\"\n");
	want = expect("%s:2: @include \"sub\": %s is a directory\n", at("conf/main.conf"),
		      at("conf/sub"));
	assert_int_equal(load("conf/main.conf", &cfg, &errs), 1);
	assert_string_equal(errs, want);
	free(errs);
	free(want);
	write_file("conf/main.conf", "@include \"\"\n");
	want = expect("%s:1: @include \"\": %s/ is a directory\n", at("conf/main.conf"),
		      at("conf"));
	assert_int_equal(load("conf/main.conf", &cfg, &errs), 1);
	assert_string_equal(errs, want);
	free(errs);
	free(want);

	/* in an included file too */
	write_file("conf/part.conf", "events_batch = 64;\n@include \"sub\"\n");
	write_file("conf/main.conf", "@include \"part.conf\"\n"
				     "servers = ( { listen = \"8080\"; root = \".\"; } );\n");
	want = expect("%s:2: @include \"sub\": %s is a directory\n", at("conf/part.conf"),
		      at("conf/sub"));
	assert_int_equal(load("conf/main.conf", &cfg, &errs), 1);
	assert_string_equal(errs, want);
	free(errs);
	free(want);
}

/* libconfig 1.5 keeps only the low 32 bits of 4294967296 (0, which is "no
 * limit" for max_connections); the loader reads the literal itself. */
static void test_64bit_integer_is_not_silently_truncated(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"big.conf", "limits = { body_size = 4294967296; };\n"
			    "upstreams = ( { name = \"a\"; servers = \"127.0.0.1:1\";\n"
			    "  keepalive = 0x10; } );\n" /* hex still reads as hex */
			    "servers = ( { listen = \"8080\"; root = \"/\"; } );\n");

	assert_int_equal(cfg->limits.body_size, 4294967296ULL);
	assert_int_equal(cfg->upstreams[0].keepalive, 16);
	config_free(cfg);

	cfg = load_ok("big.conf",
		      "limits = { body_size = 5000000000L; };\n"
		      "servers = ( { listen = \"8080\"; root = \"/\"; } );\n");
	assert_int_equal(cfg->limits.body_size, 5000000000ULL);
	config_free(cfg);

	const char *f = at("c.conf");
	char *want = expect(
		"%s:1: 'max_connections' must be between 0 and 100000000\n"
		"%s:2: 'requests_per_connection' must be between 0 and 4294967295\n"
		"%s:3: 'events_batch' must be between 1 and 65536\n"
		"%s:4: 'header' is too large\n",
		f, f, f, f);
	assert_errors("c.conf",
		      "limits = { max_connections = 4294967296;\n"
		      "  requests_per_connection = 0x100000000; };\n"
		      "events_batch = 4294967808; # the low half is 512\n"
		      "timeouts = { header = 99999999999999999999; };\n"
		      "servers = ( { listen = \"8080\"; root = \"/\"; } );\n",
		      4, want);
	free(want);
}

static void test_size_grammar(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int rc;
		uint64_t bytes;
	} cases[] = {
		{ "64k", 0, 65536 },
		{ "1m", 0, 1048576 },
		{ "65536", 0, 65536 },
		{ "1g", 0, 1073741824 },
		{ "2G", 0, 2147483648ULL },
		{ "0", 0, 0 },
		{ "12q", -1, 0 },
		{ "", -1, 0 },
		{ "k", -1, 0 },
		{ "-1", -1, 0 },
		{ " 1k", -1, 0 },
		{ "1k ", -1, 0 },
		{ "1kb", -1, 0 },
		{ "1.5k", -1, 0 },
		{ "99999999999999999999", -1, 0 },
		{ "17179869184g", -1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;

		assert_int_equal(config_parse_size(cases[i].text, &v), cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(v, cases[i].bytes);
	}
}

static void test_duration_grammar(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int rc;
		uint64_t ms;
	} cases[] = {
		{ "500ms", 0, 500 },  { "10s", 0, 10000 },    { "2m", 0, 120000 },
		{ "1h", 0, 3600000 }, { "7d", 0, 604800000 }, { "10", 0, 10000 },
		{ "1.5", 0, 1500 },   { "1.5s", 0, 1500 },    { "0.25m", 0, 15000 },
		{ "0", 0, 0 },        { "10x", -1, 0 },       { "", -1, 0 },
		{ "s", -1, 0 },       { "1.", -1, 0 },        { ".5", -1, 0 },
		{ "-1s", -1, 0 },     { "10 s", -1, 0 },      { "10S", -1, 0 },
		{ "1h30m", -1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;

		assert_int_equal(config_parse_duration_ms(cases[i].text, &v),
				 cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(v, cases[i].ms);
	}
}

static void test_size_and_duration_keys_take_every_form(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"c.conf",
		"coroutine_stack = 65536;\n"
		"limits = { header_size = \"1m\"; body_size = 0; };\n"
		"timeouts = { header = 1.5; body = \"500ms\"; keepalive = \"2m\";\n"
		"  send = \"1h\"; shutdown = 10; };\n"
		"upstreams = ( { name = \"a\"; servers = \"127.0.0.1:1\";\n"
		"  connect_timeout = 0.25; read_timeout = \"1d\"; } );\n"
		"servers = ( { listen = \"8080\"; root = \"/\"; } );\n");

	assert_int_equal(cfg->coroutine_stack, 65536);
	assert_int_equal(cfg->limits.header_size, 1 << 20);
	assert_int_equal(cfg->limits.body_size, 0);
	assert_int_equal(cfg->timeouts.header_ms, 1500);
	assert_int_equal(cfg->timeouts.body_ms, 500);
	assert_int_equal(cfg->timeouts.keepalive_ms, 120000);
	assert_int_equal(cfg->timeouts.send_ms, 3600000);
	assert_int_equal(cfg->timeouts.shutdown_ms, 10000);
	assert_int_equal(cfg->upstreams[0].connect_timeout_ms, 250);
	assert_int_equal(cfg->upstreams[0].read_timeout_ms, 86400000);
	config_free(cfg);

	const char *f = at("e.conf");
	char *want = expect(
		"%s:1: 'coroutine_stack' must be a size: bytes, or a number with k, m or "
		"g (not \"12q\")\n"
		"%s:2: 'header' must be a duration: seconds, or a number with ms, s, m, "
		"h or d (not \"10x\")\n"
		"%s:3: 'body' must be a duration (seconds, or a string like \"500ms\")\n",
		f, f, f);
	assert_errors("e.conf",
		      "coroutine_stack = \"12q\";\n"
		      "timeouts = { header = \"10x\";\n"
		      "  body = true; };\n"
		      "servers = ( { listen = \"8080\"; root = \"/\"; } );\n",
		      3, want);
	free(want);
}

static void test_listen_grammar(void **state)
{
	(void)state;
	struct config_listen l;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&l.addr;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&l.addr;
	char buf[INET6_ADDRSTRLEN];

	assert_int_equal(config_parse_listen("127.0.0.1:80", &l), 0);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(l.addrlen, sizeof(struct sockaddr_in));
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(ntohs(sin->sin_port), 80);
	assert_string_equal(l.text, "127.0.0.1:80");

	assert_int_equal(config_parse_listen("[::1]:80", &l), 0);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(l.addrlen, sizeof(struct sockaddr_in6));
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	assert_int_equal(ntohs(sin6->sin6_port), 80);
	assert_string_equal(l.text, "[::1]:80");

	assert_int_equal(config_parse_listen("[::]:8080", &l), 0);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr));
	assert_string_equal(inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf)),
			    "::");

	struct config_listen any;
	assert_int_equal(config_parse_listen("0.0.0.0:80", &any), 0);
	assert_int_equal(config_parse_listen("*:80", &l), 0);
	assert_string_equal(l.text, "*:80");
	assert_true(config_listen_equal(&l, &any));
	assert_int_equal(config_parse_listen("80", &l), 0);
	assert_string_equal(l.text, "80");
	assert_true(config_listen_equal(&l, &any));
	assert_int_equal(config_parse_listen("65535", &l), 0);
	assert_int_equal(ntohs(sin->sin_port), 65535);

	static const char *const bad[] = {
		"0",
		"*:0",
		"1.2.3.4:0",
		"70000",
		"1.2.3.4:70000",
		"1.2.3.4:",
		"1.2.3.4",
		"[::1:80",
		"::1]:80",
		"::1:80",
		"[::1]",
		"[::1]80",
		"localhost:8080",
		"127.1:80",
		"1.2.3.4:80x",
		"1.2.3.4:+80",
		"",
		"[]:80",
		"*",
		":80",
		"1.2.3.4:000080",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (config_parse_listen(bad[i], &l) == 0)
			fail_msg("'%s' parsed", bad[i]);
	}
}

static void test_missing_root_is_an_error_at_its_line(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	write_file("file", "");
	char *want = expect("%s:3: root '/nonexistent/www' does not exist\n"
			    "%s:4: root 'file' (%s) is not a directory\n",
			    f, f, at("file"));

	assert_errors("c.conf",
		      "servers = ( {\n"
		      "  listen = \"8080\";\n"
		      "  root = \"/nonexistent/www\";\n"
		      "  locations = ( { prefix = \"/a\"; root = \"file\"; } );\n"
		      "} );\n",
		      2, want);
	free(want);
}

static void test_relative_root_resolves_against_the_config_directory(void **state)
{
	(void)state;
	mkdir_in("conf");
	mkdir_in("www");
	mkdir_in("www/sub");
	struct config *cfg = load_ok(
		"conf/c.conf", "servers = ( { listen = \"8080\"; root = \"../www/\";\n"
			       "  locations = ( { prefix = \"/s/\"; root = "
			       "\"./../www//sub/.\"; } ); } );\n");

	assert_string_equal(cfg->servers[0].root, at("www"));
	assert_string_equal(cfg->servers[0].locations[0].root, at("www/sub"));
	config_free(cfg);
}

static void test_proxy_to_missing_upstream_is_an_error(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	char *want = expect("%s:2: proxy 'backend' names no upstream\n"
			    "%s:3: proxy 'ftp://x' must be an http:// URL or the name "
			    "of an upstream\n",
			    f, f);

	assert_errors(
		"c.conf",
		"servers = ( { listen = \"8080\"; root = \"/\"; locations = (\n"
		"  { prefix = \"/a\"; proxy = \"backend\"; },\n"
		"  { prefix = \"/b\"; proxy = \"ftp://x\"; } ); } );\n"
		"upstreams = ( { name = \"app\"; servers = \"127.0.0.1:9000\"; } );\n",
		2, want);
	free(want);

	/* defined after its user: fine */
	struct config *cfg = load_ok(
		"ok.conf",
		"servers = ( { listen = \"8080\"; locations = (\n"
		"  { prefix = \"/\"; proxy = \"app\"; } ); } );\n"
		"upstreams = ( { name = \"app\"; servers = \"127.0.0.1:9000\"; } );\n");
	assert_null(cfg->servers[0].root);
	config_free(cfg);
}

static void test_duplicate_server_name_on_one_address_is_an_error(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	char *want =
		expect("%s:3: duplicate server name 'A.example' on *:80 (also at %s:1)\n"
		       "%s:4: second server without 'server_names' on [::]:81 "
		       "(the first is at %s:2)\n",
		       f, f, f, f);

	assert_errors("c.conf",
		      "servers = ( { listen = \"0.0.0.0:80\"; server_names = [ "
		      "\"a.example\" ]; root = \"/\"; },\n"
		      "  { listen = \"[::]:81\"; root = \"/\"; },\n"
		      "  { listen = [ \"8080\", \"*:80\" ]; server_names = "
		      "\"A.example\"; root = \"/\"; },\n"
		      "  { listen = \"[::]:81\"; root = \"/\"; } );\n",
		      2, want);
	free(want);

	/* the same name on another address is another site */
	struct config *cfg =
		load_ok("ok.conf", "servers = ( { listen = \"127.0.0.1:80\"; "
				   "server_names = \"a\"; root = \"/\"; },\n"
				   "  { listen = \"127.0.0.2:80\"; server_names = \"a\"; "
				   "root = \"/\"; } );\n");
	config_free(cfg);
}

static void test_structure_errors_name_what_is_missing(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	char *want = expect("%s:1: at least one server is required\n"
			    "%s:2: upstream has no 'servers'\n"
			    "%s:3: duplicate upstream 'u' (also at %s:2)\n"
			    "%s:4: upstream has no 'name'\n",
			    f, f, f, f, f);

	assert_errors("c.conf",
		      "servers = ( );\n"
		      "upstreams = ( { name = \"u\"; },\n"
		      "  { name = \"u\"; servers = \"127.0.0.1:1\"; },\n"
		      "  { servers = \"127.0.0.1:2\"; } );\n",
		      4, want);
	free(want);

	want = expect("%s:1: server has no 'root' (nor a location '/')\n"
		      "%s:1: location '/a' has no 'root' and its server has none\n"
		      "%s:2: 'index' must not be empty\n",
		      f, f, f);
	assert_errors(
		"c.conf",
		"servers = ( { listen = \"80\"; locations = ( { prefix = \"/a\"; } );\n"
		"  index = [ ]; } );\n",
		3, want);
	free(want);
}

static void test_expires_takes_off_max_and_durations(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"c.conf", "servers = ( { listen = \"80\"; root = \"/\"; locations = (\n"
			  "  { prefix = \"/a\"; expires = \"off\"; },\n"
			  "  { prefix = \"/b\"; expires = \"max\"; },\n"
			  "  { prefix = \"/c\"; expires = \"12h\"; },\n"
			  "  { prefix = \"/d\"; expires = \"30m\"; },\n"
			  "  { prefix = \"/e\"; expires = \"10s\"; },\n"
			  "  { prefix = \"/f\"; expires = 60; } ); } );\n");
	const struct config_location *l = cfg->servers[0].locations;

	assert_int_equal(l[0].stat.expires, EXPIRES_OFF);
	assert_int_equal(l[1].stat.expires, LONG_MAX);
	assert_int_equal(l[2].stat.expires, 43200);
	assert_int_equal(l[3].stat.expires, 1800);
	assert_int_equal(l[4].stat.expires, 10);
	assert_int_equal(l[5].stat.expires, 60);
	config_free(cfg);

	const char *f = at("e.conf");
	char *want = expect("%s:2: 'expires' must be whole seconds (not \"500ms\")\n"
			    "%s:3: 'expires' must be between 0 and 3650d (or \"max\")\n"
			    "%s:4: 'expires' must be \"off\", \"max\", seconds or a "
			    "duration like \"7d\" (not \"soon\")\n",
			    f, f, f);
	assert_errors("e.conf",
		      "servers = ( { listen = \"80\"; root = \"/\"; locations = (\n"
		      "  { prefix = \"/a\"; expires = \"500ms\"; },\n"
		      "  { prefix = \"/b\"; expires = -1; },\n"
		      "  { prefix = \"/c\"; expires = \"soon\"; } ); } );\n",
		      3, want);
	free(want);
}

static void assert_static_equal(const struct config_static *st, int follow,
				int dotfiles, int autoindex, int precompressed, long expires)
{
	assert_int_equal(st->follow_symlinks, follow);
	assert_int_equal(st->serve_dotfiles, dotfiles);
	assert_int_equal(st->autoindex, autoindex);
	assert_int_equal(st->precompressed, precompressed);
	assert_int_equal(st->expires, expires);
}

static void test_new_keys_have_their_defaults(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"min.conf", "servers = ( { listen = \"8080\"; root = \".\";\n"
			    "  locations = ( { prefix = \"/a/\"; } ); } );\n");
	const struct config_server *s = &cfg->servers[0];

	assert_static_equal(&s->stat, FOLLOW_INSIDE, 0, 0, 0, EXPIRES_OFF);
	assert_null(s->error_pages);
	assert_int_equal(s->nerror_pages, 0);
	/* a location that sets nothing takes each from its server */
	assert_static_equal(&s->locations[0].stat, -1, -1, -1, -1, EXPIRES_INHERIT);
	assert_int_equal(cfg->file_cache_entries, 10000);
	assert_int_equal(cfg->file_cache_valid_ms, 1000);
	assert_int_equal(cfg->file_cache_max_size, 64 * 1024);
	assert_null(cfg->mime_types);
	assert_null(cfg->mime);
	assert_int_equal(cfg->nmime, 0);
	config_free(cfg);
}

static void test_static_keys_set_on_a_server_are_overridden_per_location(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"c.conf",
		"servers = ( { listen = \"8080\"; root = \"/\";\n"
		"  follow_symlinks = \"never\"; serve_dotfiles = true; autoindex = true;\n"
		"  precompressed = true; expires = \"1h\";\n"
		"  locations = (\n"
		"    { prefix = \"/a/\"; follow_symlinks = \"always\"; serve_dotfiles = false;\n"
		"      autoindex = false; precompressed = false; expires = \"off\"; },\n"
		"    { prefix = \"/b/\"; follow_symlinks = \"inside\"; expires = \"max\"; },\n"
		"    { prefix = \"/c/\"; expires = 0; autoindex = true; },\n"
		"    { prefix = \"/d/\"; } ); } );\n");
	const struct config_server *s = &cfg->servers[0];

	assert_static_equal(&s->stat, FOLLOW_NEVER, 1, 1, 1, 3600);
	assert_static_equal(&s->locations[0].stat, FOLLOW_ALWAYS, 0, 0, 0, EXPIRES_OFF);
	assert_static_equal(&s->locations[1].stat, FOLLOW_INSIDE, -1, -1, -1, LONG_MAX);
	assert_static_equal(&s->locations[2].stat, -1, -1, 1, -1, 0);
	assert_static_equal(&s->locations[3].stat, -1, -1, -1, -1, EXPIRES_INHERIT);
	config_free(cfg);
}

static void test_follow_symlinks_takes_inside_always_or_never(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	char *want = expect(
		"%s:1: 'follow_symlinks' must be one of inside, always, never (not "
		"\"yes\")\n"
		"%s:2: 'follow_symlinks' must be a string\n"
		"%s:3: 'follow_symlinks' must be one of inside, always, never (not "
		"\"Never\")\n"
		"%s:4: 'serve_dotfiles' must be a boolean (true or false)\n"
		"%s:4: 'expires' must be between 0 and 3650d (or \"max\")\n",
		f, f, f, f, f);

	assert_errors("c.conf",
		      "servers = ( { listen = \"80\"; root = \"/\"; follow_symlinks = \"yes\";\n"
		      "  locations = ( { prefix = \"/a\"; follow_symlinks = true; },\n"
		      "    { prefix = \"/b\"; follow_symlinks = \"Never\"; } );\n"
		      "  serve_dotfiles = \"no\"; expires = \"3651d\"; } );\n",
		      5, want);
	free(want);
}

static void test_error_pages_take_statuses_then_a_uri(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"c.conf", "servers = ( { listen = \"80\"; root = \"/\";\n"
			  "  error_pages = [ \"404 /404.html\",\n"
			  "    \" 500  502\\t503 504 /50x.html \", \"300 599 /odd\" ]; },\n"
			  "  { listen = \"81\"; root = \"/\"; error_pages = \"404 /nf\"; },\n"
			  "  { listen = \"82\"; root = \"/\"; error_pages = [ ]; } );\n");
	const struct config_server *s = &cfg->servers[0];
	static const struct {
		int status;
		const char *uri;
	} want[] = { { 404, "/404.html" }, { 500, "/50x.html" }, { 502, "/50x.html" },
		     { 503, "/50x.html" }, { 504, "/50x.html" }, { 300, "/odd" },
		     { 599, "/odd" } };

	assert_int_equal(s->nerror_pages, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < s->nerror_pages; i++) {
		assert_int_equal(s->error_pages[i].status, want[i].status);
		assert_string_equal(s->error_pages[i].uri, want[i].uri);
	}
	/* a single string is an array of one */
	assert_int_equal(cfg->servers[1].nerror_pages, 1);
	assert_int_equal(cfg->servers[1].error_pages[0].status, 404);
	assert_string_equal(cfg->servers[1].error_pages[0].uri, "/nf");
	assert_int_equal(cfg->servers[2].nerror_pages, 0);
	config_free(cfg);
}

static void test_error_pages_bad_entries_are_errors_at_their_line(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	char *want = expect(
		"%s:2: 'error_pages' entry \"99 /x.html\": status '99' must be a number "
		"from 300 to 599\n"
		"%s:3: 'error_pages' entry \"600 /x.html\": status '600' must be a number "
		"from 300 to 599\n"
		"%s:4: 'error_pages' entry \"404 404.html\": the URI must start with '/' "
		"(not \"404.html\")\n"
		"%s:5: 'error_pages' entry \"404\" must be one or more statuses then a "
		"URI, like \"500 502 /50x.html\"\n"
		"%s:6: 'error_pages' entry \"/a.html /b.html\" must be one or more "
		"statuses then a URI, like \"500 502 /50x.html\"\n"
		"%s:7: 'error_pages' entry \"abc 4040 /x\": status 'abc' must be a number "
		"from 300 to 599\n"
		"%s:7: 'error_pages' entry \"abc 4040 /x\": status '4040' must be a "
		"number from 300 to 599\n"
		"%s:8: 'error_pages' entry \"\" must be one or more statuses then a URI, "
		"like \"500 502 /50x.html\"\n"
		"%s:9: 'error_pages': status 404 is listed twice\n"
		"%s:10: 'error_pages': status 410 is listed twice\n"
		"%s:11: 'error_pages' must be a string or an array of strings\n",
		f, f, f, f, f, f, f, f, f, f, f);

	assert_errors("c.conf",
		      "servers = ( { listen = \"80\"; root = \"/\"; error_pages = [\n"
		      "    \"99 /x.html\",\n"
		      "    \"600 /x.html\",\n"
		      "    \"404 404.html\",\n"
		      "    \"404\",\n"
		      "    \"/a.html /b.html\",\n"
		      "    \"abc 4040 /x\",\n"
		      "    \"\",\n"
		      "    \"404 /a.html\", \"404 /b.html\",\n"
		      "    \"410 410 /gone.html\" ]; },\n"
		      "  { listen = \"81\"; root = \"/\"; error_pages = [ 404 ]; } );\n",
		      11, want);
	free(want);
}

static void test_file_cache_keys_take_their_ranges(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"c.conf", "file_cache_entries = 0;\n"
			  "file_cache_valid = \"250ms\";\n"
			  "file_cache_max_size = \"64m\";\n"
			  "servers = ( { listen = \"80\"; root = \"/\"; } );\n");

	assert_int_equal(cfg->file_cache_entries, 0);
	assert_int_equal(cfg->file_cache_valid_ms, 250);
	assert_int_equal(cfg->file_cache_max_size, 64 << 20);
	config_free(cfg);

	cfg = load_ok("c.conf", "file_cache_entries = 1000000;\n"
				"file_cache_valid = \"1d\";\n"
				"file_cache_max_size = 0;\n"
				"servers = ( { listen = \"80\"; root = \"/\"; } );\n");
	assert_int_equal(cfg->file_cache_entries, 1000000);
	assert_int_equal(cfg->file_cache_valid_ms, 86400000);
	assert_int_equal(cfg->file_cache_max_size, 0);
	config_free(cfg);

	const char *f = at("e.conf");
	char *want = expect("%s:1: 'file_cache_entries' must be between 0 and 1000000\n"
			    "%s:2: 'file_cache_valid' must be between 1ms and 1d\n"
			    "%s:3: 'file_cache_max_size' must be between 0 and 64m\n",
			    f, f, f);
	assert_errors("e.conf",
		      "file_cache_entries = 1000001;\n"
		      "file_cache_valid = 0;\n"
		      "file_cache_max_size = \"65m\";\n"
		      "servers = ( { listen = \"80\"; root = \"/\"; } );\n",
		      3, want);
	free(want);

	want = expect("%s:1: 'file_cache_entries' must be between 0 and 1000000\n"
		      "%s:2: 'file_cache_valid' must be between 1ms and 1d\n"
		      "%s:3: 'file_cache_max_size' must be between 0 and 64m\n",
		      f, f, f);
	assert_errors("e.conf",
		      "file_cache_entries = -1;\n"
		      "file_cache_valid = \"2d\";\n"
		      "file_cache_max_size = -1;\n"
		      "servers = ( { listen = \"80\"; root = \"/\"; } );\n",
		      3, want);
	free(want);

	want = expect("%s:1: 'file_cache_entries' must be an integer\n"
		      "%s:2: 'file_cache_valid' must be a duration: seconds, or a number "
		      "with ms, s, m, h or d (not \"often\")\n"
		      "%s:3: 'file_cache_max_size' must be a size (bytes, or a string like "
		      "\"64k\")\n",
		      f, f, f);
	assert_errors("e.conf",
		      "file_cache_entries = \"many\";\n"
		      "file_cache_valid = \"often\";\n"
		      "file_cache_max_size = true;\n"
		      "servers = ( { listen = \"80\"; root = \"/\"; } );\n",
		      3, want);
	free(want);
}

static void assert_mime(const struct config *cfg, size_t i, const char *ext,
			const char *type)
{
	assert_true(i < cfg->nmime);
	assert_string_equal(cfg->mime[i].ext, ext);
	assert_string_equal(cfg->mime[i].type, type);
}

/* Relative to the configuration's directory, not the working one. */
static void test_mime_types_file_loads_its_pairs(void **state)
{
	(void)state;
	mkdir_in("conf");
	write_file("conf/mime.types",
		   "# a comment, then a blank line\n"
		   "\n"
		   "text/html\t\thtml htm\n"
		   "application/x-nothing\n"
		   "   \t\n"
		   "image/PNG PNG Png  # trailing comment\n"
		   "text/x-old   foo\n"
		   "application/vnd.ms-excel xls   xlb\n"
		   "text/x-new FOO\n"
		   "text/plain txt");
	struct config *cfg = load_ok("conf/c.conf",
				     "mime_types = \"mime.types\";\n"
				     "servers = ( { listen = \"80\"; root = \"/\"; } );\n");

	assert_string_equal(cfg->mime_types, at("conf/mime.types"));
	assert_int_equal(cfg->nmime, 7);
	assert_mime(cfg, 0, "html", "text/html");
	assert_mime(cfg, 1, "htm", "text/html");
	/* the case of the type is kept; the extension is folded */
	assert_mime(cfg, 2, "png", "image/PNG");
	assert_mime(cfg, 3, "xls", "application/vnd.ms-excel");
	assert_mime(cfg, 4, "xlb", "application/vnd.ms-excel");
	/* a later line wins, and takes the place of its extension */
	assert_mime(cfg, 5, "foo", "text/x-new");
	/* no newline at the end of the file, no charset added */
	assert_mime(cfg, 6, "txt", "text/plain");
	config_free(cfg);
}

static void test_mime_types_malformed_line_names_the_mime_file(void **state)
{
	(void)state;
	const char *f = at("c.conf"), *m = at("bad.types");
	char *want = expect("%s:1: 'events_batch' must be between 1 and 65536\n"
			    "%s:3: 'textplain' is not a media type like \"text/plain\"\n"
			    "%s:4: extension 'a/b' must not contain '/'\n"
			    "%s:5: 'text/plain;charset=utf-8' is not a media type like "
			    "\"text/plain\"\n"
			    "%s:6: '/x' is not a media type like \"text/plain\"\n"
			    "%s:3: 'log_level' must be one of error, warn, info, debug "
			    "(not \"x\")\n",
			    f, m, m, m, m, f);

	write_file("bad.types", "text/html html\n"
				"\n"
				"textplain txt\n"
				"application/gzip gz tar.gz a/b tgz\n"
				"text/plain;charset=utf-8 txt\n"
				"/x y\n");
	assert_errors("c.conf",
		      "events_batch = 0;\n"
		      "mime_types = \"bad.types\";\n"
		      "log_level = \"x\";\n"
		      "servers = ( { listen = \"80\"; root = \"/\"; } );\n",
		      6, want);
	free(want);
}

static void test_mime_types_unreadable_file_names_the_config_line(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	char *want = expect("%s:2: mime_types: cannot read %s: No such file or "
			    "directory\n",
			    f, at("none/mime.types"));

	assert_errors("c.conf",
		      "servers = ( { listen = \"80\"; root = \"/\"; } );\n"
		      "mime_types = \"none/./mime.types\";\n",
		      1, want);
	free(want);

	mkdir_in("dir");
	want = expect("%s:1: mime_types: cannot read %s: Is a directory\n", f,
		      at("dir"));
	assert_errors("c.conf",
		      "mime_types = \"dir\";\n"
		      "servers = ( { listen = \"80\"; root = \"/\"; } );\n",
		      1, want);
	free(want);

	want = expect("%s:1: 'mime_types' must not be empty\n"
		      "%s:2: unknown key 'mime_types'\n",
		      f, f);
	assert_errors("c.conf",
		      "mime_types = \"\";\n"
		      "servers = ( { listen = \"80\"; root = \"/\"; mime_types = \"x\"; } );\n",
		      2, want);
	free(want);
}

/* ---- the reverse proxy: upstreams, proxy URLs, trusted_proxies */

static void test_upstream_defaults_fill_every_key(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"c.conf", "servers = ( { listen = \"80\"; root = \"/\"; } );\n"
			  "upstreams = ( { name = \"app\"; servers = \"127.0.0.1:9000\"; } );\n");
	const struct config_upstream *u = &cfg->upstreams[0];

	assert_int_equal(cfg->nupstreams, 1);
	assert_int_equal(u->nservers, 1);
	assert_non_null(u->weights);
	assert_int_equal(u->weights[0], 1);
	assert_int_equal(u->keepalive, 32);
	assert_int_equal(u->keepalive_timeout_ms, 60000);
	assert_int_equal(u->connect_timeout_ms, 5000);
	assert_int_equal(u->send_timeout_ms, 60000);
	assert_int_equal(u->read_timeout_ms, 60000);
	assert_int_equal(u->max_fails, 1);
	assert_int_equal(u->fail_timeout_ms, 10000);
	assert_int_equal(u->balance, BALANCE_ROUND_ROBIN);
	assert_false(u->implicit);
	config_free(cfg);

	cfg = load_ok("set.conf",
		      "servers = ( { listen = \"80\"; root = \"/\"; } );\n"
		      "upstreams = ( { name = \"app\"; servers = \"127.0.0.1:9000\";\n"
		      "  keepalive = 0; keepalive_timeout = \"90s\"; connect_timeout = 1;\n"
		      "  send_timeout = \"2m\"; read_timeout = 3.5; max_fails = 0;\n"
		      "  fail_timeout = \"500ms\"; balance = \"least_conn\"; } );\n");
	u = &cfg->upstreams[0];
	assert_int_equal(u->keepalive, 0);
	assert_int_equal(u->keepalive_timeout_ms, 90000);
	assert_int_equal(u->connect_timeout_ms, 1000);
	assert_int_equal(u->send_timeout_ms, 120000);
	assert_int_equal(u->read_timeout_ms, 3500);
	assert_int_equal(u->max_fails, 0);
	assert_int_equal(u->fail_timeout_ms, 500);
	assert_int_equal(u->balance, BALANCE_LEAST_CONN);
	config_free(cfg);
}

/* A string is weight 1; a group in a list ( ) gives its own. libconfig takes
 * groups only in lists, not in arrays [ ]. */
static void test_upstream_weights_come_from_strings_and_groups(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"c.conf",
		"servers = ( { listen = \"80\"; root = \"/\"; } );\n"
		"upstreams = (\n"
		"  { name = \"a\"; servers = ( \"127.0.0.1:9000\",\n"
		"      { address = \"127.0.0.1:9001\"; weight = 3; },\n"
		"      { address = \"[::1]:9002\"; },\n"
		"      { address = \"127.0.0.1:9003\"; weight = 1000; } ); },\n"
		"  { name = \"b\"; servers = [ \"127.0.0.1:9000\", \"127.0.0.2:9000\" ]; } );\n");
	const struct config_upstream *u = &cfg->upstreams[0];

	assert_int_equal(u->nservers, 4);
	assert_string_equal(u->servers[0].text, "127.0.0.1:9000");
	assert_string_equal(u->servers[1].text, "127.0.0.1:9001");
	assert_string_equal(u->servers[2].text, "[::1]:9002");
	assert_int_equal(u->servers[2].addr.ss_family, AF_INET6);
	assert_int_equal(port_of(&u->servers[3]), 9003);
	assert_int_equal(u->weights[0], 1);
	assert_int_equal(u->weights[1], 3);
	assert_int_equal(u->weights[2], 1);
	assert_int_equal(u->weights[3], 1000);
	u = &cfg->upstreams[1];
	assert_int_equal(u->nservers, 2);
	assert_int_equal(u->weights[0], 1);
	assert_int_equal(u->weights[1], 1);
	config_free(cfg);
}

static void test_upstream_server_entry_errors_are_at_their_line(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	char *want = expect(
		"%s:3: 'weight' must be between 1 and 1000\n"
		"%s:4: 'weight' must be between 1 and 1000\n"
		"%s:5: upstream server has no 'address'\n"
		"%s:6: unknown key 'wieght' (did you mean 'weight'?)\n"
		"%s:7: 'weight' must be an integer\n"
		"%s:8: each entry of 'servers' must be a string \"HOST:PORT\" or a group "
		"{ address = \"HOST:PORT\"; weight = N; }\n"
		"%s:9: duplicate upstream server '127.0.0.1:9000'\n"
		"%s:10: 'address' must not be empty\n"
		"%s:11: 'servers' must be a string, an array of strings or a list of "
		"strings and groups\n"
		"%s:12: 'servers' must be a string, an array of strings or a list of "
		"strings and groups\n"
		"%s:13: 'servers' must not be empty\n",
		f, f, f, f, f, f, f, f, f, f, f);

	assert_errors("c.conf",
		      "servers = ( { listen = \"80\"; root = \"/\"; } );\n"
		      "upstreams = ( { name = \"a\"; servers = (\n"
		      "    { address = \"127.0.0.1:9001\"; weight = 0; },\n"
		      "    { address = \"127.0.0.1:9002\"; weight = 1001; },\n"
		      "    { weight = 3; },\n"
		      "    { address = \"127.0.0.1:9003\"; wieght = 2; },\n"
		      "    { address = \"127.0.0.1:9004\"; weight = \"2\"; },\n"
		      "    9000,\n"
		      "    \"127.0.0.1:9000\", { address = \"127.0.0.1:9000\"; },\n"
		      "    { address = \"\"; } ); },\n"
		      "  { name = \"b\"; servers = [ 1, 2 ]; },\n"
		      "  { name = \"c\"; servers = 5; },\n"
		      "  { name = \"d\"; servers = ( ); } );\n",
		      11, want);
	free(want);
}

static void test_server_names_may_be_empty_but_not_hold_an_empty_name(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	struct config *cfg;
	char *want;

	cfg = load_ok("c.conf", "servers = ( { listen = \"80\"; root = \"/\";\n"
				"  server_names = [ ]; index = \"i.html\"; } );\n");
	assert_int_equal(cfg->servers[0].nnames, 0);
	assert_int_equal(cfg->servers[0].nindex, 1);
	config_free(cfg);

	want = expect("%s:2: 'server_names' must not hold an empty name\n"
		      "%s:3: 'index' must not be empty\n"
		      "%s:4: 'listen' must not be empty\n",
		      f, f, f);
	assert_errors("c.conf",
		      "servers = ( { root = \"/\";\n server_names = [ \"a\", \"\" ];\n"
		      " index = [ ];\n listen = [ ]; } );\n",
		      3, want);
	free(want);
}

static void test_access_log_format_is_combined_or_json(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	const char *srv = "servers = ( { listen = \"80\"; root = \"/\"; } );\n";
	char *text, *want;
	struct config *cfg;

	cfg = load_ok("c.conf", srv);
	assert_false(cfg->access_log_json);
	config_free(cfg);
	assert_true(asprintf(&text, "access_log_format = \"json\";\n%s", srv) >= 0);
	cfg = load_ok("c.conf", text);
	assert_true(cfg->access_log_json);
	config_free(cfg);
	free(text);

	want = expect("%s:1: 'access_log_format' must be one of combined, json (not "
		      "\"JSON\")\n",
		      f);
	assert_true(asprintf(&text, "access_log_format = \"JSON\";\n%s", srv) >= 0);
	assert_errors("c.conf", text, 1, want);
	free(text);
	free(want);
}

static void test_upstream_balance_takes_round_robin_or_least_conn(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	char *want = expect(
		"%s:2: 'balance' must be one of round_robin, least_conn (not \"random\")\n"
		"%s:3: 'balance' must be one of round_robin, least_conn (not "
		"\"Least_Conn\")\n"
		"%s:4: 'balance' must be a string\n",
		f, f, f);

	assert_errors("c.conf",
		      "servers = ( { listen = \"80\"; root = \"/\"; } );\n"
		      "upstreams = ( { name = \"a\"; servers = \"127.0.0.1:1\"; balance = \"random\"; },\n"
		      "  { name = \"b\"; servers = \"127.0.0.1:1\"; balance = \"Least_Conn\"; },\n"
		      "  { name = \"c\"; servers = \"127.0.0.1:1\"; balance = 1; } );\n",
		      3, want);
	free(want);
}

static void test_upstream_max_fails_and_fail_timeout_take_their_ranges(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"ok.conf", "servers = ( { listen = \"80\"; root = \"/\"; } );\n"
			   "upstreams = ( { name = \"a\"; servers = \"127.0.0.1:1\";\n"
			   "  max_fails = 1000; fail_timeout = \"1d\"; },\n"
			   "  { name = \"b\"; servers = \"127.0.0.1:1\";\n"
			   "  max_fails = 0; fail_timeout = \"1ms\"; } );\n");
	assert_int_equal(cfg->upstreams[0].max_fails, 1000);
	assert_int_equal(cfg->upstreams[0].fail_timeout_ms, 86400000);
	assert_int_equal(cfg->upstreams[1].max_fails, 0);
	assert_int_equal(cfg->upstreams[1].fail_timeout_ms, 1);
	config_free(cfg);

	const char *f = at("c.conf");
	char *want = expect("%s:3: 'max_fails' must be between 0 and 1000\n"
			    "%s:4: 'max_fails' must be between 0 and 1000\n"
			    "%s:5: 'fail_timeout' must be between 1ms and 1d\n"
			    "%s:6: 'fail_timeout' must be between 1ms and 1d\n"
			    "%s:7: 'keepalive_timeout' must be between 1ms and 1d\n"
			    "%s:8: 'send_timeout' must be a duration: seconds, or a number "
			    "with ms, s, m, h or d (not \"soon\")\n"
			    "%s:9: 'max_fails' must be an integer\n",
			    f, f, f, f, f, f, f);
	assert_errors("c.conf",
		      "servers = ( { listen = \"80\"; root = \"/\"; } );\n"
		      "upstreams = (\n"
		      "  { name = \"a\"; servers = \"127.0.0.1:1\"; max_fails = 1001; },\n"
		      "  { name = \"b\"; servers = \"127.0.0.1:1\"; max_fails = -1; },\n"
		      "  { name = \"c\"; servers = \"127.0.0.1:1\"; fail_timeout = 0; },\n"
		      "  { name = \"d\"; servers = \"127.0.0.1:1\"; fail_timeout = \"25h\"; },\n"
		      "  { name = \"e\"; servers = \"127.0.0.1:1\"; keepalive_timeout = \"0s\"; },\n"
		      "  { name = \"f\"; servers = \"127.0.0.1:1\"; send_timeout = \"soon\"; },\n"
		      "  { name = \"g\"; servers = \"127.0.0.1:1\"; max_fails = 1.5; } );\n",
		      7, want);
	free(want);
}

static const char *addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *a = ss->ss_family == AF_INET
				? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
				: (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	assert_non_null(inet_ntop(ss->ss_family, a, buf, (socklen_t)len));
	return buf;
}

/* An http:// URL gets an upstream of its own, named by the URL, with one
 * server and the defaults; its path, when it has one, is kept apart. */
static void test_proxy_url_forms_make_an_upstream_and_keep_the_path(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"c.conf", "servers = ( { listen = \"80\"; root = \"/\"; locations = (\n"
			  "  { prefix = \"/a/\"; proxy = \"http://127.0.0.1:9100\"; },\n"
			  "  { prefix = \"/b/\"; proxy = \"http://[::1]:8080\"; },\n"
			  "  { prefix = \"/c/\"; proxy = \"http://127.0.0.1\"; },\n"
			  "  { prefix = \"/d/\"; proxy = \"http://127.0.0.2:81/app/\"; },\n"
			  "  { prefix = \"/e/\"; proxy = \"http://127.0.0.3/\"; },\n"
			  "  { prefix = \"/f/\"; proxy = \"HTTP://[::1]/x\"; },\n"
			  "  { prefix = \"/g/\"; proxy = \"http://localhost:8081/\"; } ); } );\n");
	const struct config_location *l = cfg->servers[0].locations;
	static const struct {
		const char *server; /* the text of its one server */
		int family;
		uint16_t port;
		const char *path;
	} want[] = {
		{ "127.0.0.1:9100", AF_INET, 9100, NULL },
		{ "[::1]:8080", AF_INET6, 8080, NULL },
		{ "127.0.0.1:80", AF_INET, 80, NULL },
		{ "127.0.0.2:81", AF_INET, 81, "/app/" },
		{ "127.0.0.3:80", AF_INET, 80, "/" },
		{ "[::1]:80", AF_INET6, 80, "/x" },
		{ "localhost:8081", 0, 8081, "/" },
	};

	assert_int_equal(cfg->nupstreams, 7);
	for (size_t i = 0; i < 7; i++) {
		const struct config_upstream *u = l[i].upstream;

		assert_ptr_equal(u, &cfg->upstreams[i]);
		assert_true(u->implicit);
		assert_string_equal(u->name, l[i].proxy);
		assert_string_equal(u->servers[0].text, want[i].server);
		if (want[i].family != 0) {
			assert_int_equal(u->nservers, 1);
			assert_int_equal(u->servers[0].addr.ss_family, want[i].family);
		}
		assert_true(u->nservers >= 1); /* a name: each of its addresses */
		assert_int_equal(port_of(&u->servers[0]), want[i].port);
		assert_int_equal(u->weights[0], 1);
		assert_int_equal(u->keepalive, 32);
		assert_int_equal(u->keepalive_timeout_ms, 60000);
		assert_int_equal(u->connect_timeout_ms, 5000);
		assert_int_equal(u->send_timeout_ms, 60000);
		assert_int_equal(u->read_timeout_ms, 60000);
		assert_int_equal(u->max_fails, 1);
		assert_int_equal(u->fail_timeout_ms, 10000);
		assert_int_equal(u->balance, BALANCE_ROUND_ROBIN);
		assert_string_equal(u->file, at("c.conf"));
		assert_int_equal(u->line, (int)i + 2);
		if (want[i].path == NULL)
			assert_null(l[i].proxy_path);
		else
			assert_string_equal(l[i].proxy_path, want[i].path);
	}
	char buf[INET6_ADDRSTRLEN];
	assert_string_equal(addr_text(&cfg->upstreams[3].servers[0].addr, buf, sizeof(buf)),
			    "127.0.0.2");
	config_free(cfg);
}

static void test_proxy_url_errors_say_what_is_wrong(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	/* the resolver's own words, whatever this machine's are */
	int rc = getaddrinfo("nonexistent.invalid", "80", &hints, &res);

	assert_int_not_equal(rc, 0);
	char *want = expect(
		"%s:2: proxy 'https://127.0.0.1/': https upstreams are not supported\n"
		"%s:3: proxy 'http://127.0.0.1/a?b=1': a query (?...) is not allowed in "
		"the URL\n"
		"%s:4: proxy 'http://127.0.0.1/a#top': a fragment (#...) is not allowed "
		"in the URL\n"
		"%s:5: proxy 'http://user:pw@127.0.0.1/': user info (USER@) is not "
		"allowed in the URL\n"
		"%s:6: proxy 'http://127.0.0.1:0/': the port must be a number from 1 to "
		"65535\n"
		"%s:7: proxy 'http://127.0.0.1:65536': the port must be a number from 1 "
		"to 65535\n"
		"%s:8: proxy 'http://127.0.0.1:http/': the port must be a number from 1 "
		"to 65535\n"
		"%s:9: proxy 'http://127.0.0.1:/': the port must be a number from 1 to "
		"65535\n"
		"%s:10: proxy 'http:///app': the URL has no host\n"
		"%s:11: proxy 'http://::1:8080/': an IPv6 address must be in brackets: "
		"http://[ADDRESS]:PORT\n"
		"%s:12: proxy 'http://[::g]:80/': the host in [ ] is not an IPv6 address\n"
		"%s:13: proxy 'http://[::1/': an IPv6 address is written [ADDRESS] or "
		"[ADDRESS]:PORT\n"
		"%s:14: proxy 'http://127.1/': the host is not a valid IPv4 address\n"
		"%s:15: proxy 'http://0.0.0.0:80/' must name a host, not a wildcard\n"
		"%s:16: proxy 'http://a b/': the URL may hold only printable ASCII "
		"characters, without spaces\n"
		"%s:17: proxy 'http://a!b/': the host must be an IPv4 address, an [IPv6] "
		"address or a name\n"
		"%s:18: proxy 'http://nonexistent.invalid/': %s\n",
		f, f, f, f, f, f, f, f, f, f, f, f, f, f, f, f, f, gai_strerror(rc));

	assert_errors("c.conf",
		      "servers = ( { listen = \"80\"; root = \"/\"; locations = (\n"
		      "  { prefix = \"/a\"; proxy = \"https://127.0.0.1/\"; },\n"
		      "  { prefix = \"/b\"; proxy = \"http://127.0.0.1/a?b=1\"; },\n"
		      "  { prefix = \"/c\"; proxy = \"http://127.0.0.1/a#top\"; },\n"
		      "  { prefix = \"/d\"; proxy = \"http://user:pw@127.0.0.1/\"; },\n"
		      "  { prefix = \"/e\"; proxy = \"http://127.0.0.1:0/\"; },\n"
		      "  { prefix = \"/f\"; proxy = \"http://127.0.0.1:65536\"; },\n"
		      "  { prefix = \"/g\"; proxy = \"http://127.0.0.1:http/\"; },\n"
		      "  { prefix = \"/h\"; proxy = \"http://127.0.0.1:/\"; },\n"
		      "  { prefix = \"/i\"; proxy = \"http:///app\"; },\n"
		      "  { prefix = \"/j\"; proxy = \"http://::1:8080/\"; },\n"
		      "  { prefix = \"/k\"; proxy = \"http://[::g]:80/\"; },\n"
		      "  { prefix = \"/l\"; proxy = \"http://[::1/\"; },\n"
		      "  { prefix = \"/m\"; proxy = \"http://127.1/\"; },\n"
		      "  { prefix = \"/n\"; proxy = \"http://0.0.0.0:80/\"; },\n"
		      "  { prefix = \"/o\"; proxy = \"http://a b/\"; },\n"
		      "  { prefix = \"/p\"; proxy = \"http://a!b/\"; },\n"
		      "  { prefix = \"/q\"; proxy = \"http://nonexistent.invalid/\"; } ); } );\n",
		      17, want);
	free(want);
	if (res != NULL)
		freeaddrinfo(res);

	/* a location that proxies has no root of its own */
	want = expect("%s:2: location '/a' has both 'root' and 'proxy'\n", f);
	assert_errors("c.conf",
		      "servers = ( { listen = \"80\"; root = \"/\"; locations = (\n"
		      "  { prefix = \"/a\"; root = \"/\"; proxy = \"http://127.0.0.1/\"; } ); } );\n",
		      1, want);
	free(want);
}

/* cfg->upstreams grows as URLs are met, in servers read before and after
 * the upstreams list: every location must point into its final place. */
static void test_proxy_urls_and_named_upstreams_mixed_point_at_their_upstream(void **state)
{
	(void)state;
	char text[8192], *p = text;
	const char *end = text + sizeof(text);

	p += snprintf(p, (size_t)(end - p), "servers = ( { listen = \"80\"; root = \"/\"; "
					    "locations = (\n");
	for (int i = 0; i < 24; i++) {
		if (i % 3 == 1)
			p += snprintf(p, (size_t)(end - p),
				      "  { prefix = \"/n%d/\"; proxy = \"%s\"; },\n", i,
				      i % 2 ? "one" : "two");
		else
			p += snprintf(p, (size_t)(end - p),
				      "  { prefix = \"/u%d/\"; proxy = "
				      "\"http://127.0.0.%d:%d/p%d/\"; },\n",
				      i, 1 + i % 5, 9000 + i, i);
	}
	p += snprintf(p, (size_t)(end - p),
		      "  { prefix = \"/again/\"; proxy = \"http://127.0.0.1:9000/p0/\"; } ); },\n"
		      "  { listen = \"81\"; root = \"/\"; locations = (\n"
		      "    { prefix = \"/\"; proxy = \"http://[::1]:9999\"; },\n"
		      "    { prefix = \"/one/\"; proxy = \"one\"; } ); } );\n"
		      "upstreams = ( { name = \"one\"; servers = \"127.0.0.1:1\"; },\n"
		      "  { name = \"two\"; servers = \"127.0.0.1:2\"; } );\n");
	assert_true(p < end);
	struct config *cfg = load_ok("c.conf", text);

	/* two named ones, then the 16 URLs of server 0 and the one of server 1 */
	assert_int_equal(cfg->nupstreams, 2 + 16 + 1);
	assert_string_equal(cfg->upstreams[0].name, "one");
	assert_string_equal(cfg->upstreams[1].name, "two");
	for (size_t i = 0; i < cfg->nupstreams; i++)
		assert_int_equal(cfg->upstreams[i].implicit, i >= 2);
	for (size_t s = 0; s < cfg->nservers; s++) {
		for (size_t j = 0; j < cfg->servers[s].nlocations; j++) {
			const struct config_location *l = &cfg->servers[s].locations[j];

			assert_non_null(l->upstream);
			assert_true(l->upstream >= cfg->upstreams &&
				    l->upstream < cfg->upstreams + cfg->nupstreams);
			assert_string_equal(l->upstream->name, l->proxy);
		}
	}
	const struct config_location *l = cfg->servers[0].locations;
	assert_ptr_equal(l[0].upstream, &cfg->upstreams[2]);
	assert_string_equal(l[0].upstream->servers[0].text, "127.0.0.1:9000");
	assert_string_equal(l[0].proxy_path, "/p0/");
	assert_ptr_equal(l[1].upstream, &cfg->upstreams[0]);
	assert_null(l[1].proxy_path);
	assert_ptr_equal(l[4].upstream, &cfg->upstreams[1]);
	/* the same URL twice: one upstream */
	assert_ptr_equal(l[24].upstream, l[0].upstream);
	assert_ptr_equal(cfg->servers[1].locations[0].upstream, &cfg->upstreams[18]);
	assert_ptr_equal(cfg->servers[1].locations[1].upstream, &cfg->upstreams[0]);
	config_free(cfg);
}

static void test_preserve_host_and_via_are_inherited_from_the_server(void **state)
{
	(void)state;
	struct config *cfg = load_ok(
		"c.conf", "servers = ( { listen = \"80\"; root = \"/\"; locations = (\n"
			  "    { prefix = \"/a/\"; proxy = \"http://127.0.0.1:1\"; },\n"
			  "    { prefix = \"/b/\"; proxy = \"http://127.0.0.1:1\";\n"
			  "      preserve_host = false; via = true; } ); },\n"
			  "  { listen = \"81\"; root = \"/\"; preserve_host = false; via = false;\n"
			  "    locations = (\n"
			  "    { prefix = \"/a/\"; proxy = \"http://127.0.0.1:1\"; },\n"
			  "    { prefix = \"/b/\"; proxy = \"http://127.0.0.1:1\";\n"
			  "      preserve_host = true; } ); } );\n");
	const struct config_server *s = cfg->servers;

	assert_true(s[0].preserve_host);
	assert_true(s[0].via);
	assert_int_equal(s[0].locations[0].preserve_host, -1);
	assert_int_equal(s[0].locations[0].via, -1);
	assert_int_equal(s[0].locations[1].preserve_host, 0);
	assert_int_equal(s[0].locations[1].via, 1);
	assert_false(s[1].preserve_host);
	assert_false(s[1].via);
	assert_int_equal(s[1].locations[0].preserve_host, -1);
	assert_int_equal(s[1].locations[0].via, -1);
	assert_int_equal(s[1].locations[1].preserve_host, 1);
	assert_int_equal(s[1].locations[1].via, -1);
	/* one URL, one upstream */
	assert_int_equal(cfg->nupstreams, 1);
	config_free(cfg);

	const char *f = at("e.conf");
	char *want = expect("%s:1: 'via' must be a boolean (true or false)\n"
			    "%s:2: 'preserve_host' must be a boolean (true or false)\n",
			    f, f);
	assert_errors("e.conf",
		      "servers = ( { listen = \"80\"; root = \"/\"; via = \"yes\";\n"
		      "  locations = ( { prefix = \"/a/\"; preserve_host = 1; } ); } );\n",
		      2, want);
	free(want);
}

static void assert_cidr(const struct config_cidr *c, int family, const char *addr,
			unsigned prefix)
{
	char buf[INET6_ADDRSTRLEN];

	assert_int_equal(c->addr.ss_family, family);
	assert_string_equal(addr_text(&c->addr, buf, sizeof(buf)), addr);
	assert_int_equal(c->prefix, prefix);
}

static void test_trusted_proxies_take_addresses_and_networks(void **state)
{
	(void)state;
	struct config *cfg = load_ok("none.conf", server);

	assert_null(cfg->trusted_proxies);
	assert_int_equal(cfg->ntrusted_proxies, 0);
	config_free(cfg);

	cfg = load_ok("c.conf", "trusted_proxies = [ \"10.0.0.0/8\", \"192.168.1.7\",\n"
				"  \"::1/128\", \"fd00::/8\", \"0.0.0.0/0\", \"::/0\",\n"
				"  \"2001:db8::1\", \"172.16.0.0/12\", \"192.168.1.128/25\" ];\n"
				"servers = ( { listen = \"80\"; root = \"/\"; } );\n");
	assert_int_equal(cfg->ntrusted_proxies, 9);
	assert_cidr(&cfg->trusted_proxies[0], AF_INET, "10.0.0.0", 8);
	assert_cidr(&cfg->trusted_proxies[1], AF_INET, "192.168.1.7", 32);
	assert_cidr(&cfg->trusted_proxies[2], AF_INET6, "::1", 128);
	assert_cidr(&cfg->trusted_proxies[3], AF_INET6, "fd00::", 8);
	assert_cidr(&cfg->trusted_proxies[4], AF_INET, "0.0.0.0", 0);
	assert_cidr(&cfg->trusted_proxies[5], AF_INET6, "::", 0);
	assert_cidr(&cfg->trusted_proxies[6], AF_INET6, "2001:db8::1", 128);
	assert_cidr(&cfg->trusted_proxies[7], AF_INET, "172.16.0.0", 12);
	assert_cidr(&cfg->trusted_proxies[8], AF_INET, "192.168.1.128", 25);
	config_free(cfg);

	/* a single string is an array of one */
	cfg = load_ok("one.conf", "trusted_proxies = \"127.0.0.1\";\n"
				  "servers = ( { listen = \"80\"; root = \"/\"; } );\n");
	assert_int_equal(cfg->ntrusted_proxies, 1);
	assert_cidr(&cfg->trusted_proxies[0], AF_INET, "127.0.0.1", 32);
	config_free(cfg);
}

static void test_trusted_proxies_bad_entries_are_errors_at_their_line(void **state)
{
	(void)state;
	const char *f = at("c.conf");
	char *want = expect(
		"%s:2: trusted_proxies entry '10.0.0.0/33': the prefix must be 0-32 for "
		"IPv4\n"
		"%s:3: trusted_proxies entry '::1/129': the prefix must be 0-128 for "
		"IPv6\n"
		"%s:4: trusted_proxies entry '10.0.0.1/8' has bits set beyond /8 (the "
		"network is 10.0.0.0/8)\n"
		"%s:5: trusted_proxies entry '192.168.1.129/25' has bits set beyond /25 "
		"(the network is 192.168.1.128/25)\n"
		"%s:6: trusted_proxies entry 'fd00::1/8' has bits set beyond /8 (the "
		"network is fd00::/8)\n"
		"%s:7: trusted_proxies entry '10.0.0.0/0' has bits set beyond /0 (the "
		"network is 0.0.0.0/0)\n"
		"%s:8: invalid trusted_proxies entry 'garbage' (expected an IPv4 or IPv6 "
		"address, alone or with /PREFIX)\n"
		"%s:9: invalid trusted_proxies entry '10.0.0.0/' (expected an IPv4 or "
		"IPv6 address, alone or with /PREFIX)\n"
		"%s:10: invalid trusted_proxies entry '10.0.0.0/x' (expected an IPv4 or "
		"IPv6 address, alone or with /PREFIX)\n"
		"%s:11: invalid trusted_proxies entry '10.1/16' (expected an IPv4 or IPv6 "
		"address, alone or with /PREFIX)\n"
		"%s:12: invalid trusted_proxies entry '' (expected an IPv4 or IPv6 "
		"address, alone or with /PREFIX)\n"
		"%s:13: duplicate trusted_proxies entry '10.0.0.0/8'\n",
		f, f, f, f, f, f, f, f, f, f, f, f);

	assert_errors("c.conf",
		      "trusted_proxies = [ \"10.0.0.0/8\",\n"
		      "  \"10.0.0.0/33\",\n"
		      "  \"::1/129\",\n"
		      "  \"10.0.0.1/8\",\n"
		      "  \"192.168.1.129/25\",\n"
		      "  \"fd00::1/8\",\n"
		      "  \"10.0.0.0/0\",\n"
		      "  \"garbage\",\n"
		      "  \"10.0.0.0/\",\n"
		      "  \"10.0.0.0/x\",\n"
		      "  \"10.1/16\",\n"
		      "  \"\",\n"
		      "  \"10.0.0.0/8\" ];\n"
		      "servers = ( { listen = \"80\"; root = \"/\"; } );\n",
		      12, want);
	free(want);

	want = expect("%s:1: 'trusted_proxies' must be a string or an array of strings\n",
		      f);
	assert_errors("c.conf",
		      "trusted_proxies = 10;\n"
		      "servers = ( { listen = \"80\"; root = \"/\"; } );\n",
		      1, want);
	free(want);
}

static void test_timeouts_tunnel_defaults_to_an_hour(void **state)
{
	(void)state;
	struct config *cfg = load_ok("min.conf", server);

	assert_int_equal(cfg->timeouts.tunnel_ms, 3600000);
	config_free(cfg);
	cfg = load_ok("c.conf", "timeouts = { tunnel = \"30m\"; };\n"
				"servers = ( { listen = \"80\"; root = \"/\"; } );\n");
	assert_int_equal(cfg->timeouts.tunnel_ms, 1800000);
	config_free(cfg);

	const char *f = at("e.conf");
	char *want = expect("%s:1: 'tunnel' must be between 1ms and 1d\n", f);
	assert_errors("e.conf",
		      "timeouts = { tunnel = \"2d\"; };\n"
		      "servers = ( { listen = \"80\"; root = \"/\"; } );\n",
		      1, want);
	free(want);
}

static void assert_strings_equal(char **a, size_t na, char **b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		assert_string_equal(a[i], b[i]);
}

static void assert_listens_equal(const struct config_listen *a, size_t na,
				 const struct config_listen *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_true(config_listen_equal(&a[i], &b[i]));
		assert_string_equal(a[i].text, b[i].text);
	}
}

static void assert_optional_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_static_same(const struct config_static *a,
			       const struct config_static *b)
{
	assert_static_equal(a, b->follow_symlinks, b->serve_dotfiles, b->autoindex,
			    b->precompressed, b->expires);
}

/* Everything but where each piece was read. */
static void assert_configs_equal(const struct config *a, const struct config *b)
{
	assert_int_equal(a->workers, b->workers);
	assert_int_equal(a->master_process, b->master_process);
	assert_int_equal(a->events_batch, b->events_batch);
	assert_int_equal(a->coroutine_stack, b->coroutine_stack);
	assert_optional_equal(a->user, b->user);
	assert_optional_equal(a->group, b->group);
	assert_optional_equal(a->pid_file, b->pid_file);
	assert_string_equal(a->error_log, b->error_log);
	assert_int_equal(a->log_level, b->log_level);
	/* -T prints the site files' servers with the others and leaves the
	 * glob as a comment, so that loading it does not read them twice. */
	assert_null(b->sites);
	assert_memory_equal(&a->timeouts, &b->timeouts, sizeof(a->timeouts));
	assert_int_equal(a->limits.max_connections, b->limits.max_connections);
	assert_int_equal(a->limits.header_size, b->limits.header_size);
	assert_int_equal(a->limits.uri_size, b->limits.uri_size);
	assert_int_equal(a->limits.headers, b->limits.headers);
	assert_int_equal(a->limits.body_size, b->limits.body_size);
	assert_int_equal(a->limits.requests_per_connection,
			 b->limits.requests_per_connection);
	assert_int_equal(a->file_cache_entries, b->file_cache_entries);
	assert_int_equal(a->file_cache_valid_ms, b->file_cache_valid_ms);
	assert_int_equal(a->file_cache_max_size, b->file_cache_max_size);
	assert_optional_equal(a->mime_types, b->mime_types);
	assert_int_equal(a->nmime, b->nmime);
	for (size_t i = 0; i < a->nmime; i++) {
		assert_string_equal(a->mime[i].ext, b->mime[i].ext);
		assert_string_equal(a->mime[i].type, b->mime[i].type);
	}
	assert_int_equal(a->nservers, b->nservers);
	for (size_t i = 0; i < a->nservers; i++) {
		const struct config_server *x = &a->servers[i], *y = &b->servers[i];

		assert_listens_equal(x->listens, x->nlistens, y->listens, y->nlistens);
		assert_strings_equal(x->names, x->nnames, y->names, y->nnames);
		assert_int_equal(x->is_default, y->is_default);
		assert_optional_equal(x->root, y->root);
		assert_strings_equal(x->index, x->nindex, y->index, y->nindex);
		assert_optional_equal(x->access_log, y->access_log);
		assert_int_equal(x->preserve_host, y->preserve_host);
		assert_int_equal(x->via, y->via);
		assert_static_same(&x->stat, &y->stat);
		assert_int_equal(x->nerror_pages, y->nerror_pages);
		for (size_t j = 0; j < x->nerror_pages; j++) {
			assert_int_equal(x->error_pages[j].status, y->error_pages[j].status);
			assert_string_equal(x->error_pages[j].uri, y->error_pages[j].uri);
		}
		assert_int_equal(x->nlocations, y->nlocations);
		for (size_t j = 0; j < x->nlocations; j++) {
			const struct config_location *p = &x->locations[j];
			const struct config_location *q = &y->locations[j];

			assert_string_equal(p->prefix, q->prefix);
			assert_int_equal(p->exact, q->exact);
			assert_optional_equal(p->root, q->root);
			assert_optional_equal(p->proxy, q->proxy);
			assert_optional_equal(p->proxy_path, q->proxy_path);
			assert_int_equal(p->preserve_host, q->preserve_host);
			assert_int_equal(p->via, q->via);
			/* the same upstream, at the same place */
			if (p->upstream == NULL || q->upstream == NULL)
				assert_ptr_equal(p->upstream, q->upstream);
			else
				assert_int_equal(p->upstream - a->upstreams,
						 q->upstream - b->upstreams);
			assert_static_same(&p->stat, &q->stat);
		}
	}
	assert_int_equal(a->nupstreams, b->nupstreams);
	for (size_t i = 0; i < a->nupstreams; i++) {
		const struct config_upstream *x = &a->upstreams[i], *y = &b->upstreams[i];

		assert_string_equal(x->name, y->name);
		assert_listens_equal(x->servers, x->nservers, y->servers, y->nservers);
		assert_memory_equal(x->weights, y->weights, x->nservers * sizeof(*x->weights));
		assert_int_equal(x->keepalive, y->keepalive);
		assert_int_equal(x->keepalive_timeout_ms, y->keepalive_timeout_ms);
		assert_int_equal(x->connect_timeout_ms, y->connect_timeout_ms);
		assert_int_equal(x->send_timeout_ms, y->send_timeout_ms);
		assert_int_equal(x->read_timeout_ms, y->read_timeout_ms);
		assert_int_equal(x->max_fails, y->max_fails);
		assert_int_equal(x->fail_timeout_ms, y->fail_timeout_ms);
		assert_int_equal(x->balance, y->balance);
		assert_int_equal(x->implicit, y->implicit);
	}
	assert_int_equal(a->ntrusted_proxies, b->ntrusted_proxies);
	for (size_t i = 0; i < a->ntrusted_proxies; i++) {
		assert_int_equal(a->trusted_proxies[i].prefix, b->trusted_proxies[i].prefix);
		assert_memory_equal(&a->trusted_proxies[i].addr, &b->trusted_proxies[i].addr,
				    sizeof(a->trusted_proxies[i].addr));
	}
}

static char *dump_to(const struct config *cfg, const char *name)
{
	char *text;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	config_dump(cfg, f);
	fclose(f);
	write_file(name, text);
	return text;
}

/* Remove from text the line that starts with prefix, if any. */
static void drop_line(char *text, const char *prefix)
{
	for (char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			char *end = strchr(p, '\n');
			memmove(p, end ? end + 1 : p + strlen(p), strlen(end ? end + 1 : p + strlen(p)) + 1);
			return;
		}
	}
}

static void round_trip(const char *name)
{
	struct config *a, *b;
	char *errs, *first, *second;

	assert_int_equal(load(name, &a, &errs), 0);
	assert_string_equal(errs, "");
	free(errs);
	first = dump_to(a, "dump1.conf");
	assert_int_equal(load("dump1.conf", &b, &errs), 0);
	assert_string_equal(errs, "");
	free(errs);
	assert_configs_equal(a, b);
	/* and the dump of the reloaded model is the same text, but for its
	 * first line that names the file */
	second = dump_to(b, "dump2.conf");
	/* The one line allowed to differ: the site glob, a comment in the
	 * first dump, unset in the second. */
	drop_line(first, "# sites");
	drop_line(second, "# sites");
	assert_string_equal(strchr(first, '\n'), strchr(second, '\n'));
	free(first);
	free(second);
	config_free(a);
	config_free(b);
}

/* Every one of want[] stands somewhere in text. */
static void assert_contains_all(const char *text, const char *const *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(text, want[i]) == NULL)
			fail_msg("no \"%s\" in:\n%s", want[i], text);
}

static void test_dump_loads_again_with_equal_values(void **state)
{
	(void)state;
	write_full();
	round_trip("full.conf");
	write_file("min.conf", "servers = ( { listen = \"8080\"; root = \".\"; } );\n");
	round_trip("min.conf");
	write_file("odd.conf",
		   "limits = { body_size = 5000000001L; header_size = 1500; };\n"
		   "timeouts = { header = 1.25; };\n"
		   "error_log = \"/tmp/a \\\"quoted\\\" \\\\ name\\n\";\n"
		   "servers = ( { listen = \"80\"; server_names = \"x\"; root = \"/\"; } "
		   ");\n");
	round_trip("odd.conf");
}

static void test_dump_shows_the_new_keys_and_loads_again(void **state)
{
	(void)state;
	write_file("mime.types", "text/html html HTM\ntext/x-a a\ntext/x-b A\n");
	write_file("new.conf",
		   "file_cache_entries = 0; file_cache_valid = \"1500ms\";\n"
		   "file_cache_max_size = 1000; mime_types = \"mime.types\";\n"
		   "servers = ( { listen = \"80\"; root = \"/\"; follow_symlinks = \"always\";\n"
		   "  serve_dotfiles = true; autoindex = true; precompressed = true;\n"
		   "  expires = 90;\n"
		   "  error_pages = [ \"404 /nf.html\", \"500 502 /50x.html\", \"503 /50x.html\",\n"
		   "    \"403 /\\\"q\\\".html\" ];\n"
		   "  locations = ( { prefix = \"/a/\"; follow_symlinks = \"never\";\n"
		   "    serve_dotfiles = false; autoindex = false; precompressed = false;\n"
		   "    expires = \"off\"; },\n"
		   "   { prefix = \"/b/\"; expires = 0; }, { prefix = \"/c/\"; expires = \"max\"; },\n"
		   "   { prefix = \"/d/\"; } ); },\n"
		   "  { listen = \"81\"; root = \"/\"; expires = \"max\"; } );\n");
	round_trip("new.conf");

	/* the defaults are there to see in a minimal file's dump */
	struct config *cfg = load_ok(
		"min.conf", "servers = ( { listen = \"8080\"; root = \"/\";\n"
			    "  locations = ( { prefix = \"/a/\"; } ); } );\n");
	char *text = dump_to(cfg, "dump.conf");
	static const char *const shown[] = {
		"\nfile_cache_entries = 10000;\n",
		"\nfile_cache_valid = \"1s\";\n",
		"\nfile_cache_max_size = \"64k\";\n",
		"\n# mime_types: not set\n",
		"\n\t\tfollow_symlinks = \"inside\";\n",
		"\n\t\tserve_dotfiles = false;\n",
		"\n\t\tautoindex = false;\n",
		"\n\t\tprecompressed = false;\n",
		"\n\t\texpires = \"off\";\n",
		"\n\t\terror_pages = [ ];\n",
		/* a location shows only what it sets */
		"\n\t\t\t{ prefix = \"/a/\"; exact = false; }\n",
	};
	assert_contains_all(text, shown, sizeof(shown) / sizeof(shown[0]));
	free(text);
	config_free(cfg);

	/* and what was set reads as it was written */
	cfg = load_ok("new.conf", NULL);
	text = dump_to(cfg, "dump.conf");
	static const char *const set[] = {
		"\nfile_cache_valid = \"1500ms\";\n",
		"\nfile_cache_max_size = 1000;\n",
		"\t\texpires = \"90s\";\n",
		"\t\terror_pages = [ \"404 /nf.html\", \"500 502 503 /50x.html\", "
		"\"403 /\\\"q\\\".html\" ];\n",
		"{ prefix = \"/a/\"; exact = false; follow_symlinks = \"never\"; "
		"serve_dotfiles = false; autoindex = false; precompressed = false; "
		"expires = \"off\"; }",
		"{ prefix = \"/b/\"; exact = false; expires = 0; }",
		"{ prefix = \"/c/\"; exact = false; expires = \"max\"; }",
	};
	assert_contains_all(text, set, sizeof(set) / sizeof(set[0]));
	free(text);
	config_free(cfg);
}

/* Implicit upstreams are not written as blocks: the URLs make them again,
 * at the same places, and every new key reads back as it was. */
static void test_dump_of_the_proxy_keys_loads_again_with_equal_values(void **state)
{
	(void)state;
	write_file("proxy.conf",
		   "trusted_proxies = [ \"10.0.0.0/8\", \"192.168.1.7\", \"::1/128\", "
		   "\"fd00::/8\" ];\n"
		   "timeouts = { tunnel = \"90m\"; };\n"
		   "servers = ( { listen = \"80\"; root = \"/\"; preserve_host = false;\n"
		   "  locations = (\n"
		   "    { prefix = \"/a/\"; proxy = \"http://127.0.0.1:9100\"; via = false; },\n"
		   "    { prefix = \"/b/\"; proxy = \"app\"; preserve_host = true; },\n"
		   "    { prefix = \"/c/\"; proxy = \"http://[::1]:8080/\"; },\n"
		   "    { prefix = \"/d/\"; proxy = \"http://127.0.0.1:9100\"; },\n"
		   "    { prefix = \"/e/\"; proxy = \"http://127.0.0.2/x/y\"; } ); },\n"
		   "  { listen = \"81\"; root = \"/\"; via = false;\n"
		   "    locations = ( { prefix = \"/\"; proxy = \"lb\"; } ); } );\n"
		   "upstreams = (\n"
		   "  { name = \"app\"; servers = ( \"127.0.0.1:9000\",\n"
		   "      { address = \"[::1]:9001\"; weight = 5; } );\n"
		   "    keepalive = 4; keepalive_timeout = \"30s\"; send_timeout = \"1500ms\";\n"
		   "    max_fails = 3; fail_timeout = \"1m\"; balance = \"least_conn\"; },\n"
		   "  { name = \"lb\"; servers = [ \"127.0.0.3:80\" ]; } );\n");
	round_trip("proxy.conf");

	struct config *cfg = load_ok("proxy.conf", NULL);
	char *text = dump_to(cfg, "dump.conf");
	static const char *const set[] = {
		"\ntrusted_proxies = [ \"10.0.0.0/8\", \"192.168.1.7/32\", \"::1/128\", "
		"\"fd00::/8\" ];\n",
		"\n\ttunnel = \"90m\";\n",
		"\n\t\tpreserve_host = false;\n\t\tvia = true;\n",
		"\n\t\tpreserve_host = true;\n\t\tvia = false;\n",
		"{ prefix = \"/a/\"; exact = false; proxy = \"http://127.0.0.1:9100\"; "
		"via = false; }",
		"{ prefix = \"/b/\"; exact = false; proxy = \"app\"; preserve_host = true; }",
		"{ prefix = \"/e/\"; exact = false; proxy = \"http://127.0.0.2/x/y\"; }",
		"\t\tservers = (\n"
		"\t\t\t{ address = \"127.0.0.1:9000\"; weight = 1; },\n"
		"\t\t\t{ address = \"[::1]:9001\"; weight = 5; }\n"
		"\t\t);\n"
		"\t\tbalance = \"least_conn\";\n"
		"\t\tkeepalive = 4;\n"
		"\t\tkeepalive_timeout = \"30s\";\n"
		"\t\tconnect_timeout = \"5s\";\n"
		"\t\tsend_timeout = \"1500ms\";\n"
		"\t\tread_timeout = \"1m\";\n"
		"\t\tmax_fails = 3;\n"
		"\t\tfail_timeout = \"1m\";\n",
		/* the other one shows its defaults */
		"\t\tname = \"lb\";\n"
		"\t\tservers = (\n"
		"\t\t\t{ address = \"127.0.0.3:80\"; weight = 1; }\n"
		"\t\t);\n"
		"\t\tbalance = \"round_robin\";\n"
		"\t\tkeepalive = 32;\n"
		"\t\tkeepalive_timeout = \"1m\";\n"
		"\t\tconnect_timeout = \"5s\";\n"
		"\t\tsend_timeout = \"1m\";\n"
		"\t\tread_timeout = \"1m\";\n"
		"\t\tmax_fails = 1;\n"
		"\t\tfail_timeout = \"10s\";\n"
		"\t}\n);\n",
	};
	assert_contains_all(text, set, sizeof(set) / sizeof(set[0]));
	/* no block for an upstream made from a URL */
	if (strstr(text, "name = \"http") != NULL)
		fail_msg("an implicit upstream written as a block in:\n%s", text);
	/* two named, and one per URL: /a/ and /d/ share theirs */
	assert_int_equal(cfg->nupstreams, 2 + 3);
	free(text);
	config_free(cfg);

	/* the defaults are there to see in a minimal file's dump */
	cfg = load_ok("min.conf", server);
	text = dump_to(cfg, "dump.conf");
	static const char *const shown[] = {
		"\ntrusted_proxies = [ ];\n",
		"\n\ttunnel = \"1h\";\n",
		"\n\t\tpreserve_host = true;\n\t\tvia = true;\n",
		"\nupstreams = (\n);\n",
	};
	assert_contains_all(text, shown, sizeof(shown) / sizeof(shown[0]));
	free(text);
	config_free(cfg);
}

static void test_repository_config_loads_without_errors(void **state)
{
	(void)state;
	struct config *cfg;
	char *errs;
	char cwd[PATH_MAX];

	assert_int_equal(load_path("conf/garcom.conf", &cfg, &errs), 0);
	assert_string_equal(errs, "");
	free(errs);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	strcat(cwd, "/www");
	assert_int_equal(cfg->workers, 0);
	assert_string_equal(cfg->error_log, "stderr");
	assert_int_equal(cfg->log_level, LOG_INFO);
	assert_null(cfg->user);
	assert_null(cfg->group);
	assert_null(cfg->pid_file);
	assert_int_equal(cfg->nservers, 1);
	assert_int_equal(cfg->servers[0].nlistens, 1);
	assert_string_equal(cfg->servers[0].listens[0].text, "127.0.0.1:8080");
	assert_string_equal(cfg->servers[0].root, cwd);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_full_config_sets_every_key),
		T(test_defaults_fill_a_minimal_config),
		T(test_misspelled_key_suggests_the_known_one),
		T(test_unknown_key_far_from_every_key_has_no_hint),
		T(test_wrong_type_names_the_expected_type),
		T(test_out_of_range_value_gives_the_range),
		T(test_every_error_is_reported_in_line_order),
		T(test_syntax_error_gives_file_and_line),
		T(test_missing_file_is_reported),
		T(test_include_is_relative_to_the_config_directory),
		T(test_include_of_a_directory_is_an_error_not_an_exit),
		T(test_64bit_integer_is_not_silently_truncated),
		T(test_size_grammar),
		T(test_duration_grammar),
		T(test_size_and_duration_keys_take_every_form),
		T(test_listen_grammar),
		T(test_missing_root_is_an_error_at_its_line),
		T(test_relative_root_resolves_against_the_config_directory),
		T(test_proxy_to_missing_upstream_is_an_error),
		T(test_duplicate_server_name_on_one_address_is_an_error),
		T(test_structure_errors_name_what_is_missing),
		T(test_expires_takes_off_max_and_durations),
		T(test_new_keys_have_their_defaults),
		T(test_static_keys_set_on_a_server_are_overridden_per_location),
		T(test_follow_symlinks_takes_inside_always_or_never),
		T(test_error_pages_take_statuses_then_a_uri),
		T(test_error_pages_bad_entries_are_errors_at_their_line),
		T(test_file_cache_keys_take_their_ranges),
		T(test_mime_types_file_loads_its_pairs),
		T(test_mime_types_malformed_line_names_the_mime_file),
		T(test_mime_types_unreadable_file_names_the_config_line),
		T(test_dump_loads_again_with_equal_values),
		T(test_dump_shows_the_new_keys_and_loads_again),
		T(test_upstream_defaults_fill_every_key),
		T(test_upstream_weights_come_from_strings_and_groups),
		T(test_upstream_server_entry_errors_are_at_their_line),
		T(test_upstream_balance_takes_round_robin_or_least_conn),
		T(test_access_log_format_is_combined_or_json),
		T(test_server_names_may_be_empty_but_not_hold_an_empty_name),
		T(test_upstream_max_fails_and_fail_timeout_take_their_ranges),
		T(test_proxy_url_forms_make_an_upstream_and_keep_the_path),
		T(test_proxy_url_errors_say_what_is_wrong),
		T(test_proxy_urls_and_named_upstreams_mixed_point_at_their_upstream),
		T(test_preserve_host_and_via_are_inherited_from_the_server),
		T(test_trusted_proxies_take_addresses_and_networks),
		T(test_trusted_proxies_bad_entries_are_errors_at_their_line),
		T(test_timeouts_tunnel_defaults_to_an_hour),
		T(test_dump_of_the_proxy_keys_loads_again_with_equal_values),
		T(test_repository_config_loads_without_errors),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
