/* route: see route.h. Server names as nginx ranks them: an exact name first,
 * then the longest "*.suffix", then the longest "prefix.*"; else the
 * address's default server. */
#include "route.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "accesslog.h"
#include "filecache.h"
#include "log.h"
#include "metrics.h"
#include "mime.h"
#include <llhttp.h>
#include "proxy.h"
#include "upstream.h"
#include "path.h"
#include "static.h"

/* Bytes of small files a worker keeps in memory, whatever the entry count. */
#define FILE_CACHE_MAX_BYTES (64u << 20)

struct site {
	const struct config_server *cfg;
	struct static_loc files;      /* the server's own root and options */
	struct static_loc *loc_files; /* per location, merged with the server's */
	struct proxy_loc *loc_proxy;  /* per location; .up NULL: not a proxy */
	struct access_log *log;       /* NULL: access_log = "off" */
};

struct route_addr {
	const struct config_listen *addr;
	struct site **sites; /* servers on this address, in config order */
	size_t nsites;
	struct site *default_site;
};

struct route_table {
	struct access_log **logs; /* one per distinct access_log path */
	size_t nlogs;
	struct file_cache *cache;
	struct upstream *upstreams; /* this worker's, same order as the config */
	size_t nupstreams;
	struct buf_pool *proxy_bufs;
	struct site *sites;
	size_t nsites, site_cap;
	struct route_addr *addrs;
	size_t naddrs;
};

/* ---- building ---- */

/* The server's access log, shared with earlier servers naming the same file. */
static struct access_log *open_log(struct route_table *t, const struct config *cfg, size_t i)
{
	const char *path = cfg->servers[i].access_log;
	for (size_t k = 0; k < i; k++)
		if (cfg->servers[k].access_log && strcmp(cfg->servers[k].access_log, path) == 0)
			return t->sites[k].log;
	struct access_log *log = access_log_open(path, cfg->access_log_json);
	if (!log) {
		int e = errno;
		log_error("access_log %s: %s; %s", path, strerror(e), log_file_hint(e));
		return NULL;
	}
	t->logs[t->nlogs++] = log;
	return log;
}

struct http_limits route_http_limits(const struct config *cfg)
{
	return (struct http_limits){
		.header_size = cfg->limits.header_size,
		.uri_size = cfg->limits.uri_size,
		.headers = cfg->limits.headers,
		.header_timeout_ms = cfg->timeouts.header_ms,
		.body_timeout_ms = cfg->timeouts.body_ms,
		.keepalive_timeout_ms = cfg->timeouts.keepalive_ms,
		.send_timeout_ms = cfg->timeouts.send_ms,
		.requests_per_connection = cfg->limits.requests_per_connection,
		.body_size = cfg->limits.body_size,
	};
}

void route_flush_logs(struct route_table *t)
{
	for (size_t i = 0; i < t->nlogs; i++)
		access_log_flush(t->logs[i]);
}

bool route_logs_pending(const struct route_table *t)
{
	for (size_t i = 0; i < t->nlogs; i++)
		if (access_log_pending(t->logs[i]))
			return true;
	return false;
}

void route_reopen_logs(struct route_table *t)
{
	for (size_t i = 0; i < t->nlogs; i++)
		access_log_reopen(t->logs[i]);
}

/* A location's options: its own where set, else the server's. */
static struct config_static merge(const struct config_static *loc, const struct config_static *srv)
{
	struct config_static m = *srv;
	if (loc->follow_symlinks >= 0)
		m.follow_symlinks = loc->follow_symlinks;
	if (loc->serve_dotfiles >= 0)
		m.serve_dotfiles = loc->serve_dotfiles;
	if (loc->autoindex >= 0)
		m.autoindex = loc->autoindex;
	if (loc->precompressed >= 0)
		m.precompressed = loc->precompressed;
	if (loc->expires != EXPIRES_INHERIT)
		m.expires = loc->expires;
	return m;
}

static int open_files(struct static_loc *sl, const char *path, const struct config_server *s,
		      const struct config_static *opts, struct file_cache *cache)
{
	int r = static_loc_init(sl, path, s, opts, cache);
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
		ra->sites = calloc(t->site_cap, sizeof *ra->sites);
		if (!ra->sites)
			return -1;
	}
	ra->sites[ra->nsites++] = site;
	if (!ra->default_site || (site->cfg->is_default && !ra->default_site->cfg->is_default))
		ra->default_site = site;
	return 0;
}

struct route_table *route_build(const struct config *cfg, struct netpoll *np)
{
	struct route_table *t = calloc(1, sizeof *t);
	size_t nlistens = 0;
	for (size_t i = 0; i < cfg->nservers; i++)
		nlistens += cfg->servers[i].nlistens;
	if (!t || !(t->sites = calloc(cfg->nservers + 1, sizeof *t->sites)) ||
	    !(t->addrs = calloc(nlistens + 1, sizeof *t->addrs)))
		goto fail;
	t->site_cap = cfg->nservers;
	t->logs = calloc(cfg->nservers + 1, sizeof *t->logs);
	if (!t->logs)
		goto fail;
	/* Bodies held in memory: bounded in total too, not only per file. */
	t->cache = fc_create(cfg->file_cache_entries, cfg->file_cache_valid_ms,
			     cfg->file_cache_max_size, FILE_CACHE_MAX_BYTES);
	if (!t->cache)
		goto fail;
	fc_set_type_fn(t->cache, mime_type);
	t->upstreams = upstream_create_all(cfg, np);
	t->nupstreams = cfg->nupstreams;
	/* Upstream responses are read through one of these at a time. */
	t->proxy_bufs = buf_pool_create(16384, 128);
	if (!t->upstreams || !t->proxy_bufs)
		goto fail;
	if (cfg->nmime) {
		const char **exts = calloc(cfg->nmime, sizeof *exts);
		const char **types = calloc(cfg->nmime, sizeof *types);
		for (size_t i = 0; exts && types && i < cfg->nmime; i++) {
			exts[i] = cfg->mime[i].ext;
			types[i] = cfg->mime[i].type;
		}
		int r = exts && types ? mime_set_extra(exts, types, cfg->nmime) : -1;
		free(exts);
		free(types);
		if (r < 0)
			goto fail;
	}
	for (size_t i = 0; i < cfg->nservers; i++) {
		const struct config_server *s = &cfg->servers[i];
		struct site *site = &t->sites[i];
		site->cfg = s;
		site->files.root.dirfd = -1;
		t->nsites = i + 1; /* route_free() closes what is opened so far */
		if (s->access_log && !(site->log = open_log(t, cfg, i)))
			goto fail;
		site->loc_files = calloc(s->nlocations + 1, sizeof *site->loc_files);
		for (size_t k = 0; site->loc_files && k < s->nlocations; k++)
			site->loc_files[k].root.dirfd = -1;
		if (!site->loc_files || open_files(&site->files, s->root, s, &s->stat, t->cache) < 0)
			goto fail;
		site->loc_proxy = calloc(s->nlocations + 1, sizeof *site->loc_proxy);
		if (!site->loc_proxy)
			goto fail;
		for (size_t k = 0; k < s->nlocations; k++) {
			const struct config_location *loc = &s->locations[k];
			if (loc->upstream) {
				struct proxy_loc *pl = &site->loc_proxy[k];
				pl->cfg = loc;
				pl->up = &t->upstreams[loc->upstream - cfg->upstreams];
				pl->global = cfg;
				pl->preserve_host = loc->preserve_host >= 0 ? loc->preserve_host
									    : s->preserve_host;
				pl->via = loc->via >= 0 ? loc->via : s->via;
				pl->bufs = t->proxy_bufs;
			}
			struct config_static opts = merge(&loc->stat, &s->stat);
			struct static_loc *sl = &site->loc_files[k];
			if (open_files(sl, loc->root, s, &opts, t->cache) < 0)
				goto fail;
			if (sl->root.dirfd < 0) { /* no root of its own: the server's */
				sl->root.dirfd = site->files.root.dirfd;
				sl->borrowed = true;
			}
			sl->error_loc = &site->files;
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
		static_loc_close(&site->files);
		for (size_t k = 0; site->loc_files && k < site->cfg->nlocations; k++)
			static_loc_close(&site->loc_files[k]);
		free(site->loc_files);
		free(site->loc_proxy);
	}
	for (size_t i = 0; i < t->naddrs; i++)
		free(t->addrs[i].sites);
	free(t->sites);
	free(t->addrs);
	fc_destroy(t->cache);
	buf_pool_destroy(t->proxy_bufs);
	for (size_t i = 0; i < t->nlogs; i++)
		access_log_close(t->logs[i]);
	free(t->logs);
	upstream_free_all(t->upstreams, t->nupstreams);
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

/* Inlined into route_handle, the hot caller, all the same for the rare one
 * (route_reject_log). */
static inline __attribute__((always_inline)) const struct site *
route_server(const struct route_addr *ra, const struct http_request *req)
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

/* The prefix starts the decoded path "/" + rel (+ "/" if it had one; the
 * root's rel is "."), or is all of it when exact: compared piece by piece,
 * without building the path. */
static bool prefix_matches(const char *prefix, size_t n, bool exact, const struct clean_path *cp)
{
	size_t rel_len = cp->len == 1 && cp->rel[0] == '.' ? 0 : cp->len;
	size_t path_len = 1 + rel_len + (rel_len && cp->trailing_slash);
	if (exact ? n != path_len : n > path_len)
		return false;
	if (n == 0)
		return true;
	if (prefix[0] != '/')
		return false;
	size_t in_rel = n - 1 < rel_len ? n - 1 : rel_len;
	if (memcmp(prefix + 1, cp->rel, in_rel) != 0)
		return false;
	return n - 1 == in_rel || prefix[n - 1] == '/'; /* else it reaches the final '/' */
}

/* Longest matching prefix of the decoded path; exact ones match the whole
 * path only. -1: none. */
static int route_location(const struct config_server *s, const struct clean_path *cp)
{
	size_t best = 0;
	int found = -1;
	for (size_t i = 0; i < s->nlocations; i++) {
		const struct config_location *loc = &s->locations[i];
		size_t n = strlen(loc->prefix);
		if (n > best && prefix_matches(loc->prefix, n, loc->exact, cp)) {
			best = n;
			found = (int)i;
		}
	}
	return found;
}

/* A status location: the metrics of all workers, Prometheus text format. */
static int status_page(const struct http_request *req, struct http_reply *reply,
		       struct http_out *out)
{
	if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
		http_reply_error(reply, 405);
		reply->headers = "Allow: GET, HEAD\r\nContent-Type: text/html; charset=utf-8\r\n";
		reply->headers_len = strlen(reply->headers);
		return 0;
	}
	size_t room = http_scratch_room(out) / 2;
	char *body = http_scratch(out, room);
	size_t n = body ? metrics_render(body, room) : 0;
	if (!n) {
		http_reply_error(reply, 500);
		return 0;
	}
	*reply = (struct http_reply){ .status = 200 };
	reply->headers = "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
			 "Cache-Control: no-store\r\n";
	reply->headers_len = strlen(reply->headers);
	http_reply_mem(reply, body, n);
	return 0;
}

int route_handle(const struct route_addr *ra, const struct http_request *req,
		 struct http_reply *reply, struct http_out *out)
{
	const struct site *site = route_server(ra, req);
	if (site->log)
		http_set_log(out, site->log);
	struct clean_path cp;
	enum path_result pr = path_clean(req->buf + req->target.off, req->target.len, &cp);
	if (pr != PATH_OK) {
		http_reply_error(reply, pr == PATH_TOO_LONG ? 414 : 400);
		return 0;
	}
	int loc = route_location(site->cfg, &cp);
	const struct static_loc *files = &site->files;
	if (loc >= 0) {
		if (site->cfg->locations[loc].status)
			return status_page(req, reply, out);
		if (site->loc_proxy[loc].up)
			return proxy_serve(&site->loc_proxy[loc], req, &cp, reply, out);
		files = &site->loc_files[loc];
	}
	if (files->root.dirfd < 0)
		return static_error(files, req, 404, reply, out);
	return static_serve(files, req, &cp, reply, out);
}

struct access_log *route_reject_log(const struct route_addr *ra, const struct http_request *req)
{
	return (req ? route_server(ra, req) : ra->default_site)->log;
}
