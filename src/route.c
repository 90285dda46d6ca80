/* route: see route.h. Server names as nginx ranks them: an exact name first,
 * then the longest "*.suffix", then the longest "prefix.*"; else the
 * address's default server. */
#include "route.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "path.h"
#include "static.h"

struct site {
	const struct config_server *cfg;
	struct static_root root;       /* dirfd -1: no root (proxy only) */
	struct static_root *loc_roots; /* per location; dirfd -1: the server's */
};

struct route_addr {
	const struct config_listen *addr;
	struct site **sites; /* servers on this address, in config order */
	size_t nsites;
	struct site *default_site;
};

struct route_table {
	struct site *sites;
	size_t nsites;
	struct route_addr *addrs;
	size_t naddrs;
};

/* ---- building ---- */

static int open_root(struct static_root *root, const char *path, const struct config_server *s)
{
	root->dirfd = -1;
	if (!path)
		return 0;
	int r = static_root_open(root, path, s->index, s->nindex);
	if (r < 0)
		log_error("root %s: %s", path, strerror(-r));
	return r;
}

static int add_addr(struct route_table *t, const struct config_listen *a, struct site *site)
{
	struct route_addr *ra = NULL;
	for (size_t i = 0; i < t->naddrs; i++)
		if (config_listen_equal(t->addrs[i].addr, a))
			ra = &t->addrs[i];
	if (!ra) {
		ra = &t->addrs[t->naddrs++];
		ra->addr = a;
		ra->sites = calloc(t->nsites, sizeof *ra->sites);
		if (!ra->sites)
			return -1;
	}
	ra->sites[ra->nsites++] = site;
	if (!ra->default_site || (site->cfg->is_default && !ra->default_site->cfg->is_default))
		ra->default_site = site;
	return 0;
}

struct route_table *route_build(const struct config *cfg, bool log_warnings)
{
	struct route_table *t = calloc(1, sizeof *t);
	size_t nlistens = 0;
	for (size_t i = 0; i < cfg->nservers; i++)
		nlistens += cfg->servers[i].nlistens;
	if (!t || !(t->sites = calloc(cfg->nservers + 1, sizeof *t->sites)) ||
	    !(t->addrs = calloc(nlistens + 1, sizeof *t->addrs)))
		goto fail;
	t->nsites = cfg->nservers;
	for (size_t i = 0; i < cfg->nservers; i++) {
		const struct config_server *s = &cfg->servers[i];
		struct site *site = &t->sites[i];
		site->cfg = s;
		site->loc_roots = calloc(s->nlocations + 1, sizeof *site->loc_roots);
		if (!site->loc_roots || open_root(&site->root, s->root, s) < 0)
			goto fail;
		for (size_t k = 0; k < s->nlocations; k++) {
			const struct config_location *loc = &s->locations[k];
			if (loc->proxy && log_warnings)
				log_warn("%s:%d: proxy is not supported yet: %s answers 502", loc->file,
					 loc->line, loc->prefix);
			if (open_root(&site->loc_roots[k], loc->root, s) < 0)
				goto fail;
		}
		for (size_t k = 0; k < s->nlistens; k++)
			if (add_addr(t, &s->listens[k], site) < 0)
				goto fail;
	}
	return t;
fail:
	route_free(t);
	return NULL;
}

void route_free(struct route_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nsites && t->sites; i++) {
		struct site *site = &t->sites[i];
		static_root_close(&site->root);
		for (size_t k = 0; site->loc_roots && k < site->cfg->nlocations; k++)
			static_root_close(&site->loc_roots[k]);
		free(site->loc_roots);
	}
	for (size_t i = 0; i < t->naddrs; i++)
		free(t->addrs[i].sites);
	free(t->sites);
	free(t->addrs);
	free(t);
}

const struct route_addr *route_addr_for(const struct route_table *t,
					const struct config_listen *addr)
{
	for (size_t i = 0; i < t->naddrs; i++)
		if (config_listen_equal(t->addrs[i].addr, addr))
			return &t->addrs[i];
	return NULL;
}

/* ---- matching ---- */

/* How well name matches host: 0 no, else higher is better. */
static size_t name_rank(const char *name, const char *host, size_t len)
{
	size_t n = strlen(name);
	if (name[0] == '*' && name[1] == '.') /* *.example.com: suffix, ranks by length */
		return len > n - 1 && strncasecmp(host + len - (n - 1), name + 1, n - 1) == 0
			       ? 2 * 65536 + n
			       : 0;
	if (n >= 2 && name[n - 1] == '*' && name[n - 2] == '.') /* example.* */
		return len > n - 1 && strncasecmp(host, name, n - 1) == 0 ? 65536 + n : 0;
	return len == n && strncasecmp(host, name, n) == 0 ? 3 * 65536 : 0;
}

static const struct site *route_server(const struct route_addr *ra, const struct http_request *req)
{
	const char *host = req->buf + req->host.off;
	size_t len = req->host.len;
	/* Host without its port; a bracketed IPv6 literal keeps its colons. */
	const char *colon = len && host[0] != '[' ? memchr(host, ':', len) : NULL;
	if (colon)
		len = (size_t)(colon - host);
	if (len && host[len - 1] == '.')
		len--; /* "example.com." is example.com */
	const struct site *best = ra->default_site;
	size_t best_rank = 0;
	for (size_t i = 0; i < ra->nsites && len; i++) {
		const struct config_server *s = ra->sites[i]->cfg;
		for (size_t k = 0; k < s->nnames; k++) {
			size_t r = name_rank(s->names[k], host, len);
			if (r > best_rank) {
				best_rank = r;
				best = ra->sites[i];
			}
		}
	}
	return best;
}

/* Longest matching prefix of the decoded path ("/" + rel); exact ones match
 * the whole path only. -1: none. */
static int route_location(const struct config_server *s, const struct clean_path *cp)
{
	char path[PATH_BUF + 2];
	size_t pl = 0;
	path[pl++] = '/';
	if (!(cp->len == 1 && cp->rel[0] == '.')) {
		memcpy(path + pl, cp->rel, cp->len);
		pl += cp->len;
		if (cp->trailing_slash)
			path[pl++] = '/';
	}
	size_t best = 0;
	int found = -1;
	for (size_t i = 0; i < s->nlocations; i++) {
		const struct config_location *loc = &s->locations[i];
		size_t n = strlen(loc->prefix);
		bool hit = loc->exact ? (n == pl && memcmp(path, loc->prefix, n) == 0)
				      : (n <= pl && memcmp(path, loc->prefix, n) == 0);
		if (hit && n > best) {
			best = n;
			found = (int)i;
		}
	}
	return found;
}

int route_handle(const struct route_addr *ra, const struct http_request *req,
		 struct http_reply *reply, struct http_out *out)
{
	struct clean_path cp;
	enum path_result pr = path_clean(req->buf + req->target.off, req->target.len, &cp);
	if (pr != PATH_OK) {
		http_reply_error(reply, pr == PATH_TOO_LONG ? 414 : 400);
		return 0;
	}
	const struct site *site = route_server(ra, req);
	int loc = route_location(site->cfg, &cp);
	const struct static_root *root = &site->root;
	if (loc >= 0) {
		if (site->cfg->locations[loc].proxy) {
			/* The reverse proxy is not built yet: say so plainly. */
			http_reply_error(reply, 502);
			return 0;
		}
		if (site->loc_roots[loc].dirfd >= 0)
			root = &site->loc_roots[loc];
	}
	if (root->dirfd < 0) {
		http_reply_error(reply, 404);
		return 0;
	}
	return static_serve(root, req, &cp, reply, out);
}
