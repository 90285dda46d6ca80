/* config_check: what a value means, for both syntaxes: the main file
 * (libconfig, config_schema.c) and the site files (INI, sites.c). Each
 * check is told where the value was written (struct config_at): a setting,
 * or a line of a site file; the message is the same, only FILE:LINE
 * differs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* vasprintf, strtok_r */
#endif
#include "config_walk.h"

#include <limits.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BLANKS " \t\r\n\v\f"

/* ---- errors */

void config_vreport(const struct config_at *at, const char *fmt, va_list ap)
{
	struct config_line_errors *errs = at->errs;
	struct config_line_error *e;
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0) {
		at->ld->oom = true;
		return;
	}
	if (at->s != NULL) {
		config_fail(at->ld, at->s, "%s", msg);
		free(msg);
		return;
	}
	e = config_grow(at->ld, errs->v, &errs->n, sizeof(*e));
	if (e == NULL) {
		free(msg);
		return;
	}
	errs->v = e;
	e[errs->n] = (struct config_line_error){ at->line, errs->n, msg };
	errs->n++;
}

void config_report(const struct config_at *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_vreport(at, fmt, ap);
	va_end(ap);
}

static int by_line(const void *a, const void *b)
{
	const struct config_line_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void config_tell_line_errors(struct loader *ld, const config_setting_t *s,
			     const char *file, struct config_line_errors *errs)
{
	if (errs->n > 0)
		qsort(errs->v, errs->n, sizeof(*errs->v), by_line);
	for (size_t i = 0; i < errs->n; i++) {
		config_fail_at(ld, s, file, (unsigned)errs->v[i].line, "%s",
			       errs->v[i].msg);
		free(errs->v[i].msg);
	}
	free(errs->v);
	*errs = (struct config_line_errors){ 0 };
}

/* Where the value is: the upstream made for a proxy URL is told there. */
static const char *at_file(const struct config_at *at)
{
	return at->s ? config_intern(at->ld, config_setting_source_file(at->s)) : at->file;
}

static int at_line(const struct config_at *at)
{
	return at->s ? (int)config_setting_source_line(at->s) : at->line;
}

/* ---- static files */

void config_check_expires_seconds(const struct config_at *at, const char *name,
				  int64_t v, uint64_t max, long *expires)
{
	char hi[32];

	if (v < 0 || (uint64_t)v > max) {
		config_fmt_duration(hi, sizeof(hi), max * 1000);
		config_report(at, "'%s' must be between 0 and %s (or \"max\")", name, hi);
		return;
	}
	*expires = (long)v;
}

/* "off" is EXPIRES_OFF for a server and a location alike, so a location
 * can turn off what its server sets. */
void config_check_expires(const struct config_at *at, const char *name,
			  const char *text, uint64_t max, long *expires)
{
	uint64_t ms;

	if (strcmp(text, "off") == 0) {
		*expires = EXPIRES_OFF;
	} else if (strcmp(text, "max") == 0) {
		*expires = LONG_MAX;
	} else if (config_parse_duration_ms(text, &ms) < 0) {
		config_report(at,
			      "'%s' must be \"off\", \"max\", seconds or a duration like "
			      "\"7d\" (not \"%s\")",
			      name, text);
	} else if (ms % 1000 != 0) {
		config_report(at, "'%s' must be whole seconds (not \"%s\")", name, text);
	} else {
		config_check_expires_seconds(at, name,
					     ms / 1000 > max ? -1 : (int64_t)(ms / 1000),
					     max, expires);
	}
}

int config_one_of(const struct config_at *at, const char *name, const char *text,
		  const char *const *names, size_t n)
{
	char list[256];
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(text, names[i]) == 0)
			return (int)i;
	}
	list[0] = '\0';
	for (size_t i = 0; i < n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					i ? ", " : "", names[i]);
	config_report(at, "'%s' must be one of %s (not \"%s\")", name, list, text);
	return -1;
}

void config_check_follow_symlinks(const struct config_at *at, const char *name,
				  const char *text, int8_t *out)
{
	/* in the order of enum follow_symlinks */
	static const char *const names[] = { "inside", "always", "never" };
	int i = config_one_of(at, name, text, names, sizeof(names) / sizeof(names[0]));

	if (i >= 0)
		*out = (int8_t)i;
}

void config_check_root(const struct config_at *at, const char *dir, const char *text,
		       char **root)
{
	const char *why;
	char *abs;

	if (text[0] == '/') {
		abs = strdup(text);
	} else if (dir != NULL) {
		abs = config_join_path(dir, text);
	} else {
		config_report(at, "root '%s': cannot find the configuration's directory",
			      text);
		return;
	}
	if (abs == NULL) {
		at->ld->oom = true;
		return;
	}
	config_normalize_path(abs);
	free(*root);
	*root = abs;
	why = config_dir_problem(abs);
	if (!why)
		return;
	if (strcmp(text, abs) == 0)
		config_report(at, "root '%s' %s", text, why);
	else
		config_report(at, "root '%s' (%s) %s", text, abs, why);
}

/* ---- servers and locations */

void config_add_listen_text(const struct config_at *at, struct config_server *srv,
			    const char *text)
{
	struct config_listen l;

	if (config_parse_listen(text, &l) < 0)
		config_report(at,
			      "invalid listen address '%s' (expected IP:PORT, "
			      "[IPv6]:PORT, *:PORT or PORT, port 1-65535)",
			      text);
	else if (config_add_listen(at->ld, &srv->listens, &srv->nlistens, &l) > 0)
		config_report(at, "duplicate listen address '%s'", text);
}

void config_add_server_name(const struct config_at *at, struct config_server *srv,
			    const char *name)
{
	if (config_has_name(srv->names, srv->nnames, name))
		config_report(at, "duplicate server name '%s'", name);
	else
		config_add_string(at->ld, &srv->names, &srv->nnames, name);
}

void config_add_index(const struct config_at *at, struct config_server *srv,
		      const char *name)
{
	if (*name == '\0' || strchr(name, '/') != NULL)
		config_report(at, "index '%s' must be a file name, without '/'", name);
	else
		config_add_string(at->ld, &srv->index, &srv->nindex, name);
}

void config_server_defaults(struct config_server *srv, const char *file, int line)
{
	srv->stat = (struct config_static){ .follow_symlinks = FOLLOW_INSIDE,
					    .serve_dotfiles = 0,
					    .autoindex = 0,
					    .precompressed = 0,
					    .expires = EXPIRES_OFF };
	srv->preserve_host = true;
	srv->via = true;
	srv->file = file;
	srv->line = line;
}

void config_location_defaults(struct config_location *loc, const char *file, int line)
{
	/* not set: the server's */
	loc->stat = (struct config_static){ .follow_symlinks = -1,
					    .serve_dotfiles = -1,
					    .autoindex = -1,
					    .precompressed = -1,
					    .expires = EXPIRES_INHERIT };
	loc->preserve_host = -1;
	loc->via = -1;
	loc->file = file;
	loc->line = line;
}

/* What a location needs once all its keys are read. */
void config_check_location(const struct config_at *at, const struct config_at *prefix_at,
			   const struct config_server *srv,
			   const struct config_location *loc, bool server_has_root)
{
	const char *prefix = loc->prefix ? loc->prefix : "";

	if (loc->root != NULL && loc->proxy != NULL)
		config_report(at, "location '%s' has both 'root' and 'proxy'", prefix);
	if (loc->root == NULL && loc->proxy == NULL && !server_has_root)
		config_report(at, "location '%s' has no 'root' and its server has none",
			      prefix);
	if (loc->prefix == NULL)
		return;
	for (const struct config_location *o = srv->locations; o < loc; o++) {
		if (o->prefix != NULL && o->exact == loc->exact &&
		    strcmp(o->prefix, loc->prefix) == 0) {
			config_report(prefix_at, "duplicate location '%s' (also at %s:%d)",
				      loc->prefix, o->file, o->line);
			return;
		}
	}
}

static const struct config_listen *shared_listen(const struct config_server *a,
						 const struct config_server *b)
{
	for (size_t i = 0; i < a->nlistens; i++) {
		for (size_t j = 0; j < b->nlistens; j++) {
			if (config_listen_equal(&a->listens[i], &b->listens[j]))
				return &a->listens[i];
		}
	}
	return NULL;
}

/* Two servers on one address, in the main file or any site file, must
 * differ in name, or a request could go to either. */
static void check_names(const struct config_server_at *at, const struct config *cfg,
			const struct config_server *srv)
{
	for (const struct config_server *o = cfg->servers; o < srv; o++) {
		const struct config_listen *l = shared_listen(srv, o);

		if (l == NULL)
			continue;
		if (srv->nnames == 0 && o->nnames == 0)
			config_report(&at->server,
				      "second server without '%s' on %s (the first is at "
				      "%s:%d)",
				      at->names_key, l->text, o->file, o->line);
		for (size_t i = 0; i < srv->nnames; i++) {
			if (config_has_name(o->names, o->nnames, srv->names[i]))
				config_report(&at->names,
					      "duplicate server name '%s' on %s (also at "
					      "%s:%d)",
					      srv->names[i], l->text, o->file, o->line);
		}
		if (srv->is_default && o->is_default)
			config_report(&at->is_default,
				      "second default server on %s (the first is at %s:%d)",
				      l->text, o->file, o->line);
	}
}

void config_check_server(const struct config_server_at *at, struct config *cfg,
			 struct config_server *srv, bool has_index, bool has_root)
{
	bool catch_all = false;

	if (!has_index)
		config_add_string(at->server.ld, &srv->index, &srv->nindex, "index.html");
	for (size_t i = 0; i < srv->nlocations; i++) {
		const struct config_location *loc = &srv->locations[i];

		if (!loc->exact && loc->prefix && strcmp(loc->prefix, "/") == 0)
			catch_all = true;
	}
	/* A request that no location takes is served from the root. */
	if (srv->root == NULL && !catch_all && !has_root)
		config_report(&at->server, "server has no 'root' (nor a location '/')");
	check_names(at, cfg, srv);
}

/* ---- error pages */

bool config_has_status(const struct config_server *srv, int status)
{
	for (size_t i = 0; i < srv->nerror_pages; i++) {
		if (srv->error_pages[i].status == status)
			return true;
	}
	return false;
}

/* nginx's error_page; in the main file as strings, since a libconfig name
 * cannot start with a digit. */
void config_add_error_page(const struct config_at *at, struct config_server *srv,
			   const char *name, const char *text)
{
	struct loader *ld = at->ld;
	char *copy = config_xstrdup(ld, text), *save, **tok = NULL;
	size_t ntok = 0;
	bool bad = false;

	if (copy == NULL)
		return;
	/* at most one word per two bytes of text */
	tok = calloc(strlen(text) / 2 + 1, sizeof(*tok));
	if (tok == NULL) {
		ld->oom = true;
		goto out;
	}
	for (char *t = strtok_r(copy, BLANKS, &save); t != NULL;
	     t = strtok_r(NULL, BLANKS, &save))
		tok[ntok++] = t;
	for (size_t i = 0; i + 1 < ntok && !bad; i++)
		bad = tok[i][0] == '/';
	if (ntok < 2 || bad) {
		config_report(at,
			      "'%s' entry \"%s\" must be one or more statuses then a URI, "
			      "like \"500 502 /50x.html\"",
			      name, text);
		goto out;
	}
	for (size_t i = 0; i + 1 < ntok; i++) {
		size_t digits = strspn(tok[i], "0123456789");
		int status = digits == 3 && tok[i][3] == '\0' ? atoi(tok[i]) : 0;
		bool twice = config_has_status(srv, status);

		for (size_t j = 0; j < i && !twice; j++)
			twice = strcmp(tok[j], tok[i]) == 0;
		if (status < 300 || status > 599) {
			config_report(at,
				      "'%s' entry \"%s\": status '%s' must be a number "
				      "from 300 to 599",
				      name, text, tok[i]);
			bad = true;
		} else if (twice) {
			config_report(at, "'%s': status %d is listed twice", name, status);
			bad = true;
		}
	}
	if (tok[ntok - 1][0] != '/') {
		config_report(at, "'%s' entry \"%s\": the URI must start with '/' (not \"%s\")",
			      name, text, tok[ntok - 1]);
		bad = true;
	}
	for (size_t i = 0; i + 1 < ntok && !bad; i++) {
		struct config_error_page *p = config_grow(ld, srv->error_pages,
							  &srv->nerror_pages, sizeof(*p));

		if (p == NULL)
			break;
		srv->error_pages = p;
		p[srv->nerror_pages].status = atoi(tok[i]);
		p[srv->nerror_pages].uri = config_xstrdup(ld, tok[ntok - 1]);
		srv->nerror_pages++;
	}
out:
	free(tok);
	free(copy);
}

/* ---- upstreams and proxies */

void config_upstream_defaults(const struct config_at *at, struct config_upstream *up)
{
	up->keepalive = 32;
	up->keepalive_timeout_ms = 60000;
	up->connect_timeout_ms = 5000;
	up->send_timeout_ms = 60000;
	up->read_timeout_ms = 60000;
	up->max_fails = 1;
	up->fail_timeout_ms = 10000;
	up->balance = BALANCE_ROUND_ROBIN;
	up->file = at_file(at);
	up->line = at_line(at);
}

int config_add_upstream_server(struct loader *ld, struct config_upstream *up,
			       const struct config_listen *l, unsigned weight)
{
	size_t n = up->nservers;
	unsigned *w;
	int r = config_add_listen(ld, &up->servers, &up->nservers, l);

	if (r != 0)
		return r;
	w = config_grow(ld, up->weights, &n, sizeof(*w));
	if (w == NULL) {
		up->nservers--;
		return -1;
	}
	up->weights = w;
	w[n] = weight;
	return 0;
}

int config_add_resolved(struct loader *ld, struct config_upstream *up, const char *host,
			const char *port, const char *text, unsigned weight)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);

	if (rc != 0)
		return rc;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		struct config_listen l = { .addrlen = ai->ai_addrlen };

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(l.addr))
			continue;
		memcpy(&l.addr, ai->ai_addr, ai->ai_addrlen);
		strcpy(l.text, text);
		if (config_add_upstream_server(ld, up, &l, weight) < 0)
			break;
	}
	freeaddrinfo(res);
	return 0;
}

/* proxy = "http://HOST[:PORT][/PATH]": the upstream made for it, with the
 * defaults and the addresses HOST has now, waits in ld->implicit; one per
 * URL, however many locations (in any file) use it. */
static void proxy_url(const struct config_at *at, struct config_location *loc,
		      const char *url)
{
	struct loader *ld = at->ld;
	struct config_proxy_url u;
	struct config_upstream *up;
	struct config_listen l;
	char text[sizeof(l.text)], port[8];
	const char *why;

	if (config_parse_proxy_url(url, &u, &why) < 0) {
		config_report(at, "proxy '%s': %s", url, why);
		return;
	}
	free(loc->proxy_path);
	loc->proxy_path = u.path ? config_xstrdup(ld, u.path) : NULL;
	for (size_t i = 0; i < ld->nimplicit; i++) {
		if (strcmp(ld->implicit[i].name, url) == 0)
			return;
	}
	if ((size_t)snprintf(text, sizeof(text), u.ipv6 ? "[%s]:%u" : "%s:%u", u.host,
			     u.port) >= sizeof(text)) {
		config_report(at, "proxy '%s': HOST:PORT must be shorter than %zu bytes",
			      url, sizeof(text));
		return;
	}
	up = config_grow(ld, ld->implicit, &ld->nimplicit, sizeof(*up));
	if (up == NULL)
		return;
	ld->implicit = up;
	up += ld->nimplicit;
	config_upstream_defaults(at, up);
	up->implicit = true;
	up->name = config_xstrdup(ld, url);
	if (up->name == NULL)
		return;
	ld->nimplicit++;
	snprintf(port, sizeof(port), "%u", u.port);
	if (config_parse_listen(text, &l) == 0) { /* a literal */
		if (config_is_wildcard(&l))
			config_report(at, "proxy '%s' must name a host, not a wildcard",
				      url);
		else
			config_add_upstream_server(ld, up, &l, 1);
	} else {
		int rc = config_add_resolved(ld, up, u.host, port, text, 1);

		if (rc != 0)
			config_report(at, "proxy '%s': %s", url, gai_strerror(rc));
	}
}

bool config_set_proxy(const struct config_at *at, struct config_location *loc,
		      const char *v)
{
	free(loc->proxy);
	loc->proxy = config_xstrdup(at->ld, v);
	if (strncasecmp(v, "http://", 7) == 0 || strncasecmp(v, "https://", 8) == 0) {
		proxy_url(at, loc, v);
		return false;
	}
	if (strstr(v, "://") != NULL || *v == '\0') {
		config_report(at,
			      "proxy '%s' must be an http:// URL or the name of an upstream",
			      v);
		return false;
	}
	return true;
}

bool config_check_upstream_name(const struct config_at *at, const struct config *cfg,
				const char *name)
{
	const char *names[32], *hint;
	size_t n = 0;

	for (size_t i = 0; i < cfg->nupstreams; i++) {
		const char *u = cfg->upstreams[i].name;

		if (u != NULL && strcmp(u, name) == 0)
			return true;
		if (u != NULL && n < 32)
			names[n++] = u;
	}
	hint = config_suggest(name, names, n);
	if (hint != NULL)
		config_report(at, "proxy '%s' names no upstream (did you mean '%s'?)", name,
			      hint);
	else
		config_report(at, "proxy '%s' names no upstream", name);
	return false;
}
