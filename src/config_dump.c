/* config_dump: prints the effective configuration (every key, defaults
 * filled in) in the main file's syntax, for `garcom -T`. What it prints loads
 * again with config_load and gives the same model. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
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

/* A size or a duration with its unit is a string in the main file. */
static void put_size(FILE *out, uint64_t v)
{
	char text[32];

	config_fmt_size(text, sizeof(text), v);
	if (isdigit((unsigned char)text[strlen(text) - 1]))
		put_int(out, v); /* bytes */
	else
		fprintf(out, "\"%s\"", text);
}

static void put_duration(FILE *out, uint64_t ms)
{
	char text[32];

	config_fmt_duration(text, sizeof(text), ms);
	fprintf(out, "\"%s\"", text);
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

static const char *const bools[] = { "false", "true" };

/* A location shows only what it sets; the rest is its server's. */
static void put_location_static(FILE *out, const struct config_static *st)
{
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
	if (loc->status)
		fputs(" status = true;", out);
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
	if (loc->preserve_host >= 0)
		fprintf(out, " preserve_host = %s;", bools[loc->preserve_host != 0]);
	if (loc->via >= 0)
		fprintf(out, " via = %s;", bools[loc->via != 0]);
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
	fprintf(out, ";\n\t\tpreserve_host = %s;\n\t\tvia = %s;\n",
		bools[srv->preserve_host], bools[srv->via]);
	put_server_static(out, &srv->stat);
	put_error_pages(out, srv->error_pages, srv->nerror_pages);
	fputs("\t\tlocations = (\n", out);
	for (size_t i = 0; i < srv->nlocations; i++)
		put_location(out, &srv->locations[i], i + 1 == srv->nlocations);
	fprintf(out, "\t\t);\n\t}%s\n", last ? "" : ",");
}

/* Every server with its weight, the default 1 included. */
static void put_upstream_servers(FILE *out, const struct config_upstream *up)
{
	fputs("(", out);
	for (size_t i = 0; i < up->nservers; i++) {
		/* A host name that resolved to several addresses shows once. */
		if (i > 0 && strcmp(up->servers[i].text, up->servers[i - 1].text) == 0)
			continue;
		fputs(i > 0 ? ",\n\t\t\t{ address = " : "\n\t\t\t{ address = ", out);
		put_string(out, up->servers[i].text);
		fprintf(out, "; weight = %u; }", up->weights[i]);
	}
	fputs("\n\t\t)", out);
}

static void put_upstream(FILE *out, const struct config_upstream *up, bool last)
{
	static const char *const balances[] = { "round_robin", "least_conn" };

	fputs("\t{\n\t\tname = ", out);
	put_string(out, up->name);
	fputs(";\n\t\tservers = ", out);
	put_upstream_servers(out, up);
	fprintf(out, ";\n\t\tbalance = \"%s\";\n\t\tkeepalive = %u;\n",
		balances[up->balance], up->keepalive);
	fputs("\t\tkeepalive_timeout = ", out);
	put_duration(out, up->keepalive_timeout_ms);
	fputs(";\n\t\tconnect_timeout = ", out);
	put_duration(out, up->connect_timeout_ms);
	fputs(";\n\t\tsend_timeout = ", out);
	put_duration(out, up->send_timeout_ms);
	fputs(";\n\t\tread_timeout = ", out);
	put_duration(out, up->read_timeout_ms);
	fprintf(out, ";\n\t\tmax_fails = %u;\n\t\tfail_timeout = ", up->max_fails);
	put_duration(out, up->fail_timeout_ms);
	fprintf(out, ";\n\t}%s\n", last ? "" : ",");
}

static void put_trusted_proxies(FILE *out, const struct config_cidr *v, size_t n)
{
	fputs("trusted_proxies = [", out);
	for (size_t i = 0; i < n; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&v[i].addr;
		const void *a = sa->sa_family == AF_INET
					? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
					: (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		char text[INET6_ADDRSTRLEN];

		if (inet_ntop(sa->sa_family, a, text, sizeof(text)) == NULL)
			text[0] = '\0';
		fprintf(out, "%s\"%s/%u\"", i > 0 ? ", " : " ", text, v[i].prefix);
	}
	fputs(" ];\n", out);
}

void config_dump(const struct config *cfg, FILE *out)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	size_t named;

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
	fprintf(out, "access_log_format = \"%s\";\n", cfg->access_log_json ? "json" : "combined");
	if (cfg->sites) {
		/* Their servers are printed with the others below: loading this
		 * output must not read the site files a second time. */
		fputs("# sites = ", out);
		put_string(out, cfg->sites);
		fputs(";  (merged below)\n", out);
	} else {
		put_optional(out, "sites", cfg->sites);
	}
	fprintf(out, "file_cache_entries = %u;\nfile_cache_valid = ",
		cfg->file_cache_entries);
	put_duration(out, cfg->file_cache_valid_ms);
	fputs(";\nfile_cache_max_size = ", out);
	put_size(out, cfg->file_cache_max_size);
	fputs(";\n", out);
	put_optional(out, "mime_types", cfg->mime_types);
	if (cfg->mime_types != NULL)
		fprintf(out, "# (%zu extensions read from it)\n", cfg->nmime);
	put_trusted_proxies(out, cfg->trusted_proxies, cfg->ntrusted_proxies);

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
	fputs(";\n\ttunnel = ", out);
	put_duration(out, cfg->timeouts.tunnel_ms);
	fputs(";\n};\n", out);

	fprintf(out, "\nlimits = {\n\tmax_connections = %u;\n\theader_size = ",
		cfg->limits.max_connections);
	put_size(out, cfg->limits.header_size);
	fputs(";\n\turi_size = ", out);
	put_size(out, cfg->limits.uri_size);
	fprintf(out, ";\n\theaders = %u;\n\tbody_size = ", cfg->limits.headers);
	put_size(out, cfg->limits.body_size);
	fputs(";\n\trequests_per_connection = ", out);
	put_int(out, cfg->limits.requests_per_connection);
	fputs(";\n};\n\nservers = (\n", out);
	for (size_t i = 0; i < cfg->nservers; i++)
		put_server(out, &cfg->servers[i], i + 1 == cfg->nservers);
	/* The upstreams made for proxy URLs are not blocks of their own: the
	 * URLs above make them again, after the named ones. */
	for (named = 0; named < cfg->nupstreams; named++) {
		if (cfg->upstreams[named].implicit)
			break;
	}
	fputs(");\n\nupstreams = (\n", out);
	for (size_t i = 0; i < named; i++)
		put_upstream(out, &cfg->upstreams[i], i + 1 == named);
	fputs(");\n", out);
	for (size_t i = named; i < cfg->nupstreams; i++) {
		const struct config_upstream *up = &cfg->upstreams[i];

		fputs("# proxy ", out);
		put_string(out, up->name);
		fputs(": an upstream of its own, servers = [ ", out);
		put_string(out, up->nservers ? up->servers[0].text : "");
		fputs(" ], the other keys at their defaults\n", out);
	}
}
