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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static char tmp[32]; /* a fresh directory per test */

static int setup(void **state)
{
	(void)state;
	strcpy(tmp, "/tmp/test_config.XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* tmp/name, in one of 16 buffers used in turn: a test keeps a few at once. */
static const char *at(const char *name)
{
	static char bufs[16][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 16];

	snprintf(b, PATH_MAX, "%s/%s", tmp, name);
	return b;
}

static void mkdir_in(const char *name)
{
	assert_int_equal(mkdir(at(name), 0755), 0);
}

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(at(name), "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

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
	"           requests_per_connection = 100; };\n"
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
	assert_int_equal(s->locations[0].expires, -1);
	assert_int_equal(s->locations[0].line, 23);
	assert_string_equal(s->locations[1].root, at("assets"));
	assert_null(s->locations[1].proxy);
	assert_int_equal(s->locations[1].expires, 7 * 86400);
	assert_true(s->locations[2].exact);
	assert_int_equal(s->locations[2].expires, LONG_MAX);
	assert_string_equal(s->locations[3].proxy, "http://127.0.0.1:9100");
	assert_int_equal(s->locations[3].expires, 30);

	s = &cfg->servers[1];
	assert_int_equal(s->nlistens, 1);
	assert_int_equal(s->nnames, 1);
	assert_string_equal(s->names[0], "other.example");
	assert_false(s->is_default);
	assert_string_equal(s->root, "/");
	assert_null(s->access_log);
	assert_int_equal(s->nindex, 1);
	assert_string_equal(s->index[0], "index.html");

	assert_int_equal(cfg->nupstreams, 1);
	const struct config_upstream *u = &cfg->upstreams[0];
	assert_string_equal(u->name, "app");
	assert_int_equal(u->nservers, 2);
	assert_string_equal(u->servers[0].text, "127.0.0.1:9000");
	assert_int_equal(port_of(&u->servers[1]), 9001);
	assert_int_equal(u->keepalive, 8);
	assert_int_equal(u->connect_timeout_ms, 2000);
	assert_int_equal(u->read_timeout_ms, 90000);
	assert_int_equal(u->line, 33);
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
			    "(not \"loud\")\n",
			    at("c.conf"), at("c.conf"), at("c.conf"), at("c.conf"),
			    at("c.conf"));
	char text[512];

	snprintf(text, sizeof(text),
		 "events_batch = 0;\ncoroutine_stack = \"8k\";\nworkers = 2000;\n"
		 "timeouts = { header = -1; };\nlog_level = \"loud\";\n%s",
		 server);
	assert_errors("c.conf", text, 5, want);
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
			    "%s:3: proxy 'https://x' must be an http:// URL or the name "
			    "of an upstream\n",
			    f, f);

	assert_errors(
		"c.conf",
		"servers = ( { listen = \"8080\"; root = \"/\"; locations = (\n"
		"  { prefix = \"/a\"; proxy = \"backend\"; },\n"
		"  { prefix = \"/b\"; proxy = \"https://x\"; } ); } );\n"
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

	assert_int_equal(l[0].expires, -1);
	assert_int_equal(l[1].expires, LONG_MAX);
	assert_int_equal(l[2].expires, 43200);
	assert_int_equal(l[3].expires, 1800);
	assert_int_equal(l[4].expires, 10);
	assert_int_equal(l[5].expires, 60);
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
	assert_optional_equal(a->sites, b->sites);
	assert_memory_equal(&a->timeouts, &b->timeouts, sizeof(a->timeouts));
	assert_int_equal(a->limits.max_connections, b->limits.max_connections);
	assert_int_equal(a->limits.header_size, b->limits.header_size);
	assert_int_equal(a->limits.body_size, b->limits.body_size);
	assert_int_equal(a->limits.requests_per_connection,
			 b->limits.requests_per_connection);
	assert_int_equal(a->nservers, b->nservers);
	for (size_t i = 0; i < a->nservers; i++) {
		const struct config_server *x = &a->servers[i], *y = &b->servers[i];

		assert_listens_equal(x->listens, x->nlistens, y->listens, y->nlistens);
		assert_strings_equal(x->names, x->nnames, y->names, y->nnames);
		assert_int_equal(x->is_default, y->is_default);
		assert_optional_equal(x->root, y->root);
		assert_strings_equal(x->index, x->nindex, y->index, y->nindex);
		assert_optional_equal(x->access_log, y->access_log);
		assert_int_equal(x->nlocations, y->nlocations);
		for (size_t j = 0; j < x->nlocations; j++) {
			const struct config_location *p = &x->locations[j];
			const struct config_location *q = &y->locations[j];

			assert_string_equal(p->prefix, q->prefix);
			assert_int_equal(p->exact, q->exact);
			assert_optional_equal(p->root, q->root);
			assert_optional_equal(p->proxy, q->proxy);
			assert_int_equal(p->expires, q->expires);
		}
	}
	assert_int_equal(a->nupstreams, b->nupstreams);
	for (size_t i = 0; i < a->nupstreams; i++) {
		const struct config_upstream *x = &a->upstreams[i], *y = &b->upstreams[i];

		assert_string_equal(x->name, y->name);
		assert_listens_equal(x->servers, x->nservers, y->servers, y->nservers);
		assert_int_equal(x->keepalive, y->keepalive);
		assert_int_equal(x->connect_timeout_ms, y->connect_timeout_ms);
		assert_int_equal(x->read_timeout_ms, y->read_timeout_ms);
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
	assert_string_equal(strchr(first, '\n'), strchr(second, '\n'));
	free(first);
	free(second);
	config_free(a);
	config_free(b);
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
		T(test_dump_loads_again_with_equal_values),
		T(test_repository_config_loads_without_errors),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
