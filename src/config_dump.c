/* config_dump: prints the effective configuration (every key, defaults
 * filled in) in the main file's syntax, for `garcom -T`. What it prints loads
 * again with config_load and gives the same model. */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

/* libconfig reads \" \\ \f \n \r \t and \xNN; bytes from 0x80 are kept. */
static void put_escaped(FILE *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
}

static void put_string(FILE *out, const char *s)
{
	fputc('"', out);
	put_escaped(out, s);
	fputc('"', out);
}

static void put_strings(FILE *out, char *const *v, size_t n)
{
	fputs("[ ", out);
	for (size_t i = 0; i < n; i++) {
		put_string(out, v[i]);
		fputs(i + 1 < n ? ", " : " ", out);
	}
	fputc(']', out);
}

/* The L suffix: without it libconfig 1.5 keeps only 32 bits. */
static void put_int(FILE *out, uint64_t v)
{
	fprintf(out, "%llu%s", (unsigned long long)v, v > INT_MAX ? "L" : "");
}

static void put_size(FILE *out, uint64_t v)
{
	static const char units[] = "gmk";

	for (int i = 0; i < 3; i++) {
		uint64_t u = 1ULL << (10 * (3 - i));

		if (v != 0 && v % u == 0) {
			fprintf(out, "\"%llu%c\"", (unsigned long long)(v / u), units[i]);
			return;
		}
	}
	put_int(out, v);
}

static void put_duration(FILE *out, uint64_t ms)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			fprintf(out, "\"%llu%s\"", (unsigned long long)(ms / units[i].ms),
				units[i].name);
			return;
		}
	}
	fprintf(out, "\"%llums\"", (unsigned long long)ms);
}

static void put_optional(FILE *out, const char *key, const char *v)
{
	if (v == NULL) {
		fprintf(out, "# %s: not set\n", key);
		return;
	}
	fprintf(out, "%s = ", key);
	put_string(out, v);
	fputs(";\n", out);
}

static void put_listens(FILE *out, const struct config_listen *v, size_t n)
{
	fputs("[ ", out);
	for (size_t i = 0; i < n; i++) {
		/* A host name that resolved to several addresses shows once. */
		if (i > 0 && strcmp(v[i].text, v[i - 1].text) == 0)
			continue;
		if (i > 0)
			fputs(", ", out);
		put_string(out, v[i].text);
	}
	fputs(" ]", out);
}

static const char *const follow_names[] = { "inside", "always", "never" };

static void put_expires(FILE *out, long v)
{
	if (v == EXPIRES_OFF)
		fputs("\"off\"", out);
	else if (v == LONG_MAX)
		fputs("\"max\"", out);
	else if (v == 0)
		fputs("0", out);
	else
		put_duration(out, (uint64_t)v * 1000);
}

/* A location shows only what it sets; the rest is its server's. */
static void put_location_static(FILE *out, const struct config_static *st)
{
	static const char *const bools[] = { "false", "true" };

	if (st->follow_symlinks >= 0)
		fprintf(out, " follow_symlinks = \"%s\";",
			follow_names[st->follow_symlinks]);
	if (st->serve_dotfiles >= 0)
		fprintf(out, " serve_dotfiles = %s;", bools[st->serve_dotfiles != 0]);
	if (st->autoindex >= 0)
		fprintf(out, " autoindex = %s;", bools[st->autoindex != 0]);
	if (st->precompressed >= 0)
		fprintf(out, " precompressed = %s;", bools[st->precompressed != 0]);
	if (st->expires != EXPIRES_INHERIT) {
		fputs(" expires = ", out);
		put_expires(out, st->expires);
		fputc(';', out);
	}
}

static void put_location(FILE *out, const struct config_location *loc, bool last)
{
	fputs("\t\t\t{ prefix = ", out);
	put_string(out, loc->prefix);
	fprintf(out, "; exact = %s;", loc->exact ? "true" : "false");
	if (loc->root != NULL) {
		fputs(" root = ", out);
		put_string(out, loc->root);
		fputc(';', out);
	}
	if (loc->proxy != NULL) {
		fputs(" proxy = ", out);
		put_string(out, loc->proxy);
		fputc(';', out);
	}
	put_location_static(out, &loc->stat);
	fprintf(out, " }%s\n", last ? "" : ",");
}

static void put_server_static(FILE *out, const struct config_static *st)
{
	fprintf(out, "\t\tfollow_symlinks = \"%s\";\n", follow_names[st->follow_symlinks]);
	fprintf(out, "\t\tserve_dotfiles = %s;\n", st->serve_dotfiles ? "true" : "false");
	fprintf(out, "\t\tautoindex = %s;\n", st->autoindex ? "true" : "false");
	fprintf(out, "\t\tprecompressed = %s;\n", st->precompressed ? "true" : "false");
	fputs("\t\texpires = ", out);
	put_expires(out, st->expires);
	fputs(";\n", out);
}

/* One entry per URI, as written: "500 502 503 504 /50x.html". Only
 * neighbours are joined, so the order of the statuses is kept. */
static void put_error_pages(FILE *out, const struct config_error_page *v, size_t n)
{
	fputs("\t\terror_pages = [", out);
	for (size_t i = 0, j; i < n; i = j) {
		fputs(i == 0 ? " \"" : ", \"", out);
		for (j = i; j < n && strcmp(v[j].uri, v[i].uri) == 0; j++)
			fprintf(out, "%d ", v[j].status);
		put_escaped(out, v[i].uri);
		fputc('"', out);
	}
	fputs(" ];\n", out);
}

static void put_server(FILE *out, const struct config_server *srv, bool last)
{
	fputs("\t{\n\t\tlisten = ", out);
	put_listens(out, srv->listens, srv->nlistens);
	fputs(";\n\t\tserver_names = ", out);
	put_strings(out, srv->names, srv->nnames);
	fprintf(out, ";\n\t\tdefault = %s;\n", srv->is_default ? "true" : "false");
	if (srv->root != NULL) {
		fputs("\t\troot = ", out);
		put_string(out, srv->root);
		fputs(";\n", out);
	}
	fputs("\t\tindex = ", out);
	put_strings(out, srv->index, srv->nindex);
	fputs(";\n\t\taccess_log = ", out);
	put_string(out, srv->access_log ? srv->access_log : "off");
	fputs(";\n", out);
	put_server_static(out, &srv->stat);
	put_error_pages(out, srv->error_pages, srv->nerror_pages);
	fputs("\t\tlocations = (\n", out);
	for (size_t i = 0; i < srv->nlocations; i++)
		put_location(out, &srv->locations[i], i + 1 == srv->nlocations);
	fprintf(out, "\t\t);\n\t}%s\n", last ? "" : ",");
}

static void put_upstream(FILE *out, const struct config_upstream *up, bool last)
{
	fputs("\t{\n\t\tname = ", out);
	put_string(out, up->name);
	fputs(";\n\t\tservers = ", out);
	put_listens(out, up->servers, up->nservers);
	fprintf(out, ";\n\t\tkeepalive = %u;\n\t\tconnect_timeout = ", up->keepalive);
	put_duration(out, up->connect_timeout_ms);
	fputs(";\n\t\tread_timeout = ", out);
	put_duration(out, up->read_timeout_ms);
	fprintf(out, ";\n\t}%s\n", last ? "" : ",");
}

void config_dump(const struct config *cfg, FILE *out)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };

	fputs("# effective configuration of ", out);
	put_string(out, cfg->path);
	fputc('\n', out);
	if (cfg->workers == 0)
		fputs("workers = \"auto\";\n", out);
	else
		fprintf(out, "workers = %u;\n", cfg->workers);
	fprintf(out, "master_process = %s;\n", cfg->master_process ? "true" : "false");
	fprintf(out, "events_batch = %u;\n", cfg->events_batch);
	fputs("coroutine_stack = ", out);
	put_size(out, cfg->coroutine_stack);
	fputs(";\n", out);
	put_optional(out, "user", cfg->user);
	put_optional(out, "group", cfg->group);
	put_optional(out, "pid_file", cfg->pid_file);
	put_optional(out, "error_log", cfg->error_log);
	fprintf(out, "log_level = \"%s\";\n", levels[cfg->log_level]);
	put_optional(out, "sites", cfg->sites);
	fprintf(out, "file_cache_entries = %u;\nfile_cache_valid = ",
		cfg->file_cache_entries);
	put_duration(out, cfg->file_cache_valid_ms);
	fputs(";\nfile_cache_max_size = ", out);
	put_size(out, cfg->file_cache_max_size);
	fputs(";\n", out);
	put_optional(out, "mime_types", cfg->mime_types);
	if (cfg->mime_types != NULL)
		fprintf(out, "# (%zu extensions read from it)\n", cfg->nmime);

	fputs("\ntimeouts = {\n\theader = ", out);
	put_duration(out, cfg->timeouts.header_ms);
	fputs(";\n\tbody = ", out);
	put_duration(out, cfg->timeouts.body_ms);
	fputs(";\n\tkeepalive = ", out);
	put_duration(out, cfg->timeouts.keepalive_ms);
	fputs(";\n\tsend = ", out);
	put_duration(out, cfg->timeouts.send_ms);
	fputs(";\n\tshutdown = ", out);
	put_duration(out, cfg->timeouts.shutdown_ms);
	fputs(";\n};\n", out);

	fprintf(out, "\nlimits = {\n\tmax_connections = %u;\n\theader_size = ",
		cfg->limits.max_connections);
	put_size(out, cfg->limits.header_size);
	fputs(";\n\tbody_size = ", out);
	put_size(out, cfg->limits.body_size);
	fputs(";\n\trequests_per_connection = ", out);
	put_int(out, cfg->limits.requests_per_connection);
	fputs(";\n};\n\nservers = (\n", out);
	for (size_t i = 0; i < cfg->nservers; i++)
		put_server(out, &cfg->servers[i], i + 1 == cfg->nservers);
	fputs(");\n\nupstreams = (\n", out);
	for (size_t i = 0; i < cfg->nupstreams; i++)
		put_upstream(out, &cfg->upstreams[i], i + 1 == cfg->nupstreams);
	fputs(");\n", out);
}
